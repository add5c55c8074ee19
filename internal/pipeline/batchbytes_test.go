package pipeline

import (
	"bytes"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/config"
)

// TestBatchBytesEndsBatches: with a backlog of 1000-byte records and
// batch_bytes 4KiB, a batch ends at the fifth record (the one that brings it
// past 4 KiB), long before batch_size; every record is still copied.
func TestBatchBytesEndsBatches(t *testing.T) {
	r := newEOSRig(t)
	const n, size = 60, 1000
	cfg := r.saramaConfig()
	p, err := sarama.NewSyncProducer([]string{r.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: "in", Value: sarama.ByteEncoder(bytes.Repeat([]byte{'a' + byte(i%26)}, size))}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	pl := r.start(time.Hour, func(c *config.Pipeline) { c.BatchSize, c.BatchBytes = 256, 4*config.KiB })
	r.awaitCommitted(n, 60*time.Second)
	h := pl.Status().BatchRecords
	for i, c := range h.Counts {
		if c > 0 && (i >= len(h.Bounds) || h.Bounds[i] > 5) {
			t.Errorf("%d batches of more than 5 records (bucket up to %v): %+v", c, h.Bounds[min(i, len(h.Bounds)-1)], h)
		}
	}
	if h.Count < n/5 || h.Sum != n {
		t.Errorf("%d batches of %v records in all, want at least %d batches of %d records", h.Count, h.Sum, n/5, n)
	}
}

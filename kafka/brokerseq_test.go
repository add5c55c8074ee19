package kafka

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestIdempotentRetryAfterABrokerCrashIsADuplicate writes with idempotent
// producers, takes the broker's data directory as a kill -9 leaves it (a
// copy made while the broker runs: no graceful save), starts a broker on
// it and resends batches the crashed broker had written. They must be
// answered as duplicates at their first offsets, not written again: an
// at-most-once pipeline's producer does exactly this after a broker crash.
func TestIdempotentRetryAfterABrokerCrashIsADuplicate(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, BrokerOptions{DataDir: dir})
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("t", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	admin.Close()

	// p1 writes before a graceful stop (seq_windows.json knows that
	// batch) and after it (it does not); p2 only after it.
	c := seqConn(t, b.Addr())
	p1 := initProducer(t, c)
	b1 := idemBatch(p1, 0, 3)
	wantOffset(t, c, b1, 0)
	b.Close()

	b = startBroker(t, BrokerOptions{DataDir: dir})
	c = seqConn(t, b.Addr())
	b2 := idemBatch(p1, 3, 2)
	wantOffset(t, c, b2, 3)
	p2 := initProducer(t, c)
	b3 := idemBatch(p2, 0, 4)
	wantOffset(t, c, b3, 5)

	crashed := filepath.Join(t.TempDir(), "crashed")
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = startBroker(t, BrokerOptions{DataDir: crashed})
	c = seqConn(t, b.Addr())
	wantOffset(t, c, b2, 3) // the retry the crash left unanswered
	wantOffset(t, c, b3, 5)
	wantOffset(t, c, b1, 0) // older, still in the window
	if hw := highWater(t, c); hw != 9 {
		t.Fatalf("high water %d after the retries, want 9: a retried batch was written again", hw)
	}
	// The producers go on where they were; a gap is still refused.
	wantOffset(t, c, idemBatch(p1, 5, 1), 9)
	wantOffset(t, c, idemBatch(p2, 4, 1), 10)
	if err := produceBatch(t, c, idemBatch(p2, 9, 1)); !errors.Is(err, sarama.ErrOutOfOrderSequenceNumber) {
		t.Fatalf("a sequence gap after the restart: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
}

// TestSaramaRetryAcrossABrokerCrashIsNotWrittenTwice is the same through
// sarama's idempotent producer: the broker writes its batch but the answer
// is lost (REQUEST_TIMED_OUT after the write), the broker "dies" (its
// directory as it was then), a broker starts on that directory at the same
// address, and the producer's retry must not add a second copy.
func TestSaramaRetryAcrossABrokerCrashIsNotWrittenTwice(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	b := startBroker(t, BrokerOptions{Listen: addr, DataDir: dir})
	c := seqConn(t, addr)
	if _, err := c.CreateTopics(&sarama.CreateTopicsRequest{Version: 1, Timeout: 10 * time.Second,
		TopicDetails: map[string]*sarama.TopicDetail{"t": {NumPartitions: 1, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	b.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut})

	crashed := filepath.Join(t.TempDir(), "crashed")
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Max = 10
	restarted := false
	cfg.Producer.Retry.BackoffFunc = func(int, int) time.Duration {
		if restarted { // still coming up: keep retrying
			return 50 * time.Millisecond
		}
		// The write is on disk, its answer was an error: crash here.
		restarted = true
		if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
			t.Error(err)
		}
		b.Close()
		b = startBroker(t, BrokerOptions{Listen: addr, DataDir: crashed})
		return 0
	}
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: 0, Value: sarama.StringEncoder("once")})
	if err != nil || !restarted {
		t.Fatalf("send: offset %d, err %v, broker restarted %v", off, err, restarted)
	}
	if hw := highWater(t, seqConn(t, addr)); off != 0 || hw != 1 {
		t.Fatalf("the retry was written at offset %d; high water %d, want 1 record", off, hw)
	}
}

type producerID struct {
	id    int64
	epoch int16
}

// seqConn opens one connection to the broker at addr, for requests whose
// producer id, epoch and sequence the test sets itself.
func seqConn(t *testing.T, addr string) *sarama.Broker {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	c := sarama.NewBroker(addr)
	if err := c.Open(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func initProducer(t *testing.T, c *sarama.Broker) producerID {
	t.Helper()
	r, err := c.InitProducerID(&sarama.InitProducerIDRequest{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.Err, sarama.ErrNoError) {
		t.Fatal(r.Err)
	}
	return producerID{r.ProducerID, r.ProducerEpoch}
}

// idemBatch is a batch of n records with sequences seq..seq+n-1.
func idemBatch(p producerID, seq int32, n int) *sarama.RecordBatch {
	now := time.Now()
	b := &sarama.RecordBatch{
		Version: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: p.id, ProducerEpoch: p.epoch, FirstSequence: seq,
	}
	for i := range n {
		b.Records = append(b.Records, &sarama.Record{OffsetDelta: int64(i), Value: []byte{byte(seq), byte(i)}})
	}
	return b
}

// produceBatch sends b to t/0 and returns the offset's error, if any.
func produceBatch(t *testing.T, c *sarama.Broker, b *sarama.RecordBatch) error {
	t.Helper()
	_, err := produceBatchAt(t, c, b)
	return err
}

func produceBatchAt(t *testing.T, c *sarama.Broker, b *sarama.RecordBatch) (int64, error) {
	t.Helper()
	req := &sarama.ProduceRequest{Version: 7, RequiredAcks: sarama.WaitForAll, Timeout: 10_000}
	req.AddBatch("t", 0, b)
	res, err := c.Produce(req)
	if err != nil {
		t.Fatal(err)
	}
	blk := res.GetBlock("t", 0)
	if blk == nil {
		t.Fatal("no answer for t/0")
	}
	if !errors.Is(blk.Err, sarama.ErrNoError) {
		return 0, blk.Err
	}
	return blk.Offset, nil
}

func wantOffset(t *testing.T, c *sarama.Broker, b *sarama.RecordBatch, want int64) {
	t.Helper()
	got, err := produceBatchAt(t, c, b)
	if err != nil {
		t.Fatalf("producer %d sequence %d: %v", b.ProducerID, b.FirstSequence, err)
	}
	if got != want {
		t.Fatalf("producer %d sequence %d written at offset %d, want %d (its first write)", b.ProducerID, b.FirstSequence, got, want)
	}
}

func highWater(t *testing.T, c *sarama.Broker) int64 {
	t.Helper()
	req := &sarama.OffsetRequest{Version: 1}
	req.AddBlock("t", 0, sarama.OffsetNewest, 1)
	res, err := c.GetAvailableOffsets(req)
	if err != nil {
		t.Fatal(err)
	}
	blk := res.GetBlock("t", 0)
	if blk == nil || !errors.Is(blk.Err, sarama.ErrNoError) {
		t.Fatalf("list offsets: %v", blk)
	}
	return blk.Offset
}

// TestSeqWindowMergeKeepsOlderSavedBatches: where the log lost a
// producer's older batches (deleted segments), the saved window still
// supplies them, behind the log's newer ones; a saved window of an older
// epoch gives nothing.
func TestSeqWindowMergeKeepsOlderSavedBatches(t *testing.T) {
	var saved, log seqWindow
	for i := range int32(4) {
		saved.push(1, seqEntry{FirstSeq: i * 10, NextSeq: i*10 + 10, Offset: int64(i) * 10})
	}
	log.push(1, seqEntry{FirstSeq: 30, NextSeq: 40, Offset: 30})
	log.push(1, seqEntry{FirstSeq: 40, NextSeq: 50, Offset: 40})
	m := withOlder(log, saved)
	var firsts []int32
	for _, e := range m.entries() {
		firsts = append(firsts, e.FirstSeq)
	}
	if !slices.Equal(firsts, []int32{0, 10, 20, 30, 40}) || m.NextSeq != 50 || m.Epoch != 1 {
		t.Fatalf("merged window %v next %d epoch %d", firsts, m.NextSeq, m.Epoch)
	}

	dir := t.TempDir()
	saved.PID, log.PID = 7, 7
	old := saved
	old.Epoch = 0
	raw, _ := json.Marshal(old)
	writeSeqWindowsT(t, dir, raw)
	if err := mergeSeqWindows(dir, []seqWindow{log}, zerolog.Nop()); err != nil {
		t.Fatal(err)
	}
	got := readSeqWindowsT(t, dir)
	if len(got) != 1 || got[0].Count != 2 || got[0].Epoch != 1 || got[0].NextSeq != 50 {
		t.Fatalf("after merging with an older epoch: %+v", got)
	}
}

// TestSeqWindowsSkipCompactedPartitions: a batch compaction rewrote no
// longer says which sequences it held, so such a partition is not rebuilt.
func TestSeqWindowsSkipCompactedPartitions(t *testing.T) {
	batch := func(off int64, n int32, seq int32) *kmsg.RecordBatch {
		return &kmsg.RecordBatch{FirstOffset: off, LastOffsetDelta: n - 1, NumRecords: n, ProducerID: 3, FirstSequence: seq}
	}
	sb := newSeqBuilder("t", 0)
	sb.add(batch(0, 2, 0))
	sb.add(batch(2, 3, 2))
	if w := sb.windows(zerolog.Nop()); len(w) != 1 || w[0].NextSeq != 5 || w[0].Count != 2 {
		t.Fatalf("plain partition: %+v", w)
	}
	sb.add(batch(7, 1, 7)) // a hole: offsets 5 and 6 compacted away
	if w := sb.windows(zerolog.Nop()); w != nil {
		t.Fatalf("compacted partition rebuilt: %+v", w)
	}
	sb = newSeqBuilder("t", 0)
	b := batch(0, 3, 0)
	b.NumRecords = 2 // a record compacted out of the batch
	sb.add(b)
	if w := sb.windows(zerolog.Nop()); w != nil {
		t.Fatalf("compacted batch rebuilt: %+v", w)
	}
}

func writeSeqWindowsT(t *testing.T, dir string, windows ...json.RawMessage) {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"version": 1, "windows": windows})
	if err := os.WriteFile(filepath.Join(dir, seqWindowsFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSeqWindowsT(t *testing.T, dir string) []seqWindow {
	t.Helper()
	raws, err := readSeqWindows(filepath.Join(dir, seqWindowsFile))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]seqWindow, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

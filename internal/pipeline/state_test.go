package pipeline

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wasmhost/wasmhost/internal/config"
)

// startWordCount runs the stateful word count plugin (one count per key in
// its state store, each new count produced to "out") in an exactly-once
// pipeline of the rig, until stop is called or the test ends. With
// trapEvery > 0 each instance traps at every trapEvery-th record, after
// changing the state.
func (r *eosRig) startWordCount(trapEvery int) (p *Pipeline, stop func()) {
	t := r.t
	t.Helper()
	log, producer, slot := r.parts("wordcount", "internal/e2e/testdata/plugins/wordcount")
	cfg := config.DefaultPipeline()
	cfg.Name, cfg.Plugin, cfg.Topics, cfg.Group = "copy", "wordcount", []string{"in"}, "copy"
	cfg.Guarantee, cfg.Config = config.ExactlyOnce, map[string]string{"to": "out", "trap_every": strconv.Itoa(trapEvery)}
	cfg.BatchSize, cfg.TransactionSize, cfg.TransactionWait = eosBatch, eosSpan, config.Duration{Duration: time.Hour}
	p, err := Start(cfg, Options{Client: r.client, Producer: producer, Plugin: slot, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	stop = func() {
		if !once.CompareAndSwap(false, true) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(stop)
	return p, stop
}

// produceKeyed writes n records with key "k" to "in".
func (r *eosRig) produceKeyed(n int) {
	r.t.Helper()
	cfg := r.saramaConfig()
	p, err := sarama.NewSyncProducer([]string{r.addr}, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("v")}
	}
	if err := p.SendMessages(msgs); err != nil {
		r.t.Fatal(err)
	}
}

// checkCounts reads "out" read_committed and checks it holds the counts
// 1..n of key "k", in order, each once.
func (r *eosRig) checkCounts(n int) {
	t := r.t
	t.Helper()
	cfg := r.saramaConfig()
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	c, err := sarama.NewConsumer([]string{r.addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("out", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got []int
	for more := true; more; {
		select {
		case m := <-pc.Messages():
			v, _ := strconv.Atoi(string(m.Value))
			got = append(got, v)
		case <-time.After(time.Second):
			more = false
		}
	}
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("count #%d is %d (around: %v)", i+1, v, got[max(i-3, 0):min(i+3, len(got))])
		}
	}
	if len(got) != n {
		t.Fatalf("%d committed counts, want %d", len(got), n)
	}
}

// TestStateAbortAndRestore: a transaction that aborts takes its state
// changes back with its outputs (the counts after it go on from the
// committed count, not from what the aborted batches counted), a call that
// traps takes back what it changed before the trap, and a new owner of the
// partition restores the committed count from the changelog.
func TestStateAbortAndRestore(t *testing.T) {
	r := newEOSRig(t)
	const n = 1000
	var prev atomic.Int64
	r.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.IllegalGeneration, Count: 1,
		When: func(req kmsg.Request) bool {
			off := req.(*kmsg.TxnOffsetCommitRequest).Topics[0].Partitions[0].Offset
			if off >= n/2 && off-prev.Load() >= 3*eosBatch {
				return true
			}
			prev.Store(off)
			return false
		}})
	r.produceKeyed(n)
	p, stop := r.startWordCount(97)
	r.awaitCommitted(n, 60*time.Second)
	if a := p.Stats().TxnAborted.Load(); a != 1 {
		t.Fatalf("%d transactions aborted, want 1", a)
	}
	if traps := p.Stats().Traps.Load(); traps < 3 {
		t.Fatalf("%d traps, want several", traps)
	}
	r.checkCounts(n)
	stop()

	// A new owner: the store is restored, and counting goes on.
	r.produceKeyed(10)
	p2, _ := r.startWordCount(0)
	r.awaitCommitted(n+10, 60*time.Second)
	if got := p2.Stats().StateRestored.Load(); got == 0 {
		t.Fatal("the second pipeline restored no changelog record")
	}
	r.checkCounts(n + 10)
}

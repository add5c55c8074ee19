package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/kafka"
)

// These tests run an exactly-once pipeline with the forward plugin against
// an embedded broker over TCP (kfake, whose fault injection they use),
// copying topic "in" (one partition) to "out".

const (
	eosBatch = 10  // batch_size: small, so a transaction spans many batches
	eosSpan  = 300 // transaction_size
)

type eosRig struct {
	t       *testing.T
	cluster *kfake.Cluster
	addr    string
	client  kafka.ClientOptions
}

func newEOSRig(t *testing.T) *eosRig {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	return &eosRig{t: t, cluster: c, addr: addr, client: kafka.ClientOptions{Brokers: []string{addr}, Version: "3.6.0"}}
}

func (r *eosRig) saramaConfig() *sarama.Config {
	cfg, err := kafka.NewSaramaConfig(r.client)
	if err != nil {
		r.t.Fatal(err)
	}
	return cfg
}

// produce writes values from..from+n-1 to "in".
func (r *eosRig) produce(from, n int) {
	r.t.Helper()
	cfg := r.saramaConfig()
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{r.addr}, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, 0, n)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: "in", Value: sarama.StringEncoder(fmt.Sprint(i))})
	}
	if err := p.SendMessages(msgs); err != nil {
		r.t.Fatal(err)
	}
}

// start runs the pipeline until the end of the test; opts change its
// config.
func (r *eosRig) start(wait time.Duration, opts ...func(*config.Pipeline)) *Pipeline {
	t := r.t
	t.Helper()
	log, producer, slot := r.parts("forward", "plugins/forward")

	cfg := config.DefaultPipeline()
	cfg.Name, cfg.Plugin, cfg.Topics, cfg.Group = "copy", "forward", []string{"in"}, "copy"
	cfg.Guarantee, cfg.Config = config.ExactlyOnce, map[string]string{"to": "out"}
	cfg.BatchSize, cfg.TransactionSize, cfg.TransactionWait = eosBatch, eosSpan, config.Duration{Duration: wait}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := Start(cfg, Options{Client: r.client, Producer: producer, Plugin: slot, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return p
}

// awaitCommitted waits for the group's committed offset of "in" to reach n.
func (r *eosRig) awaitCommitted(n int64, within time.Duration) {
	r.t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{r.addr}, r.saramaConfig())
	if err != nil {
		r.t.Fatal(err)
	}
	defer admin.Close()
	deadline := time.Now().Add(within)
	got := int64(-1)
	for time.Now().Before(deadline) {
		if res, err := admin.ListConsumerGroupOffsets("copy", map[string][]int32{"in": {0}}); err == nil {
			if b := res.GetBlock("in", 0); b != nil {
				if got = b.Offset; got == n {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("committed offset %d after %s, want %d", got, within, n)
}

// checkOutput reads "out" as a read_committed consumer and checks that it
// holds values 0..n-1, each once.
func (r *eosRig) checkOutput(n int) {
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
	seen := make(map[string]int, n)
	total := 0
	deadline := time.After(30 * time.Second)
	for total < n {
		select {
		case m := <-pc.Messages():
			seen[string(m.Value)]++
			total++
		case <-deadline:
			t.Fatalf("read %d committed output records, want %d", total, n)
		}
	}
	// Anything past n would be a duplicate or a stray.
	for more := true; more; {
		select {
		case m := <-pc.Messages():
			seen[string(m.Value)]++
			total++
		case <-time.After(500 * time.Millisecond):
			more = false
		}
	}
	for i := range n {
		if k := fmt.Sprint(i); seen[k] != 1 {
			t.Errorf("value %s copied %d times", k, seen[k])
		}
	}
	if total != n {
		t.Errorf("%d committed output records, want %d", total, n)
	}
}

// TestTransactionSpansBatches: with a backlog, a transaction holds many
// batches (one transaction per batch would commit n/eosBatch times), and
// with nothing more to read a transaction commits at once rather than after
// transaction_wait.
func TestTransactionSpansBatches(t *testing.T) {
	r := newEOSRig(t)
	commits := r.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Observe: true, Count: -1,
		When: func(req kmsg.Request) bool { return req.(*kmsg.EndTxnRequest).Commit }})
	const n = 3000
	r.produce(0, n)
	p := r.start(time.Hour)
	r.awaitCommitted(n, 60*time.Second)
	// The broker has the last commit once the offsets show it; the
	// pipeline counts it when CommitTxn returns, a moment later.
	got := p.Stats().TxnCommitted.Load()
	for deadline := time.Now().Add(30 * time.Second); uint64(commits.Hits()) != got && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got = p.Stats().TxnCommitted.Load()
	}
	t.Logf("%d records in %d transactions (batches of %d, transaction_size %d)", n, got, eosBatch, eosSpan)
	if got > n/eosBatch/2 {
		t.Errorf("%d transactions for %d records: not spanning batches (%d batches)", got, n, n/eosBatch)
	}
	if hits := commits.Hits(); uint64(hits) != got {
		t.Errorf("the broker saw %d committing EndTxn, the pipeline counted %d", hits, got)
	}
	if a := p.Stats().TxnAborted.Load(); a != 0 {
		t.Errorf("%d transactions aborted", a)
	}

	// One more record, with the partition otherwise idle: committed
	// without waiting for transaction_wait (an hour).
	r.produce(n, 1)
	r.awaitCommitted(n+1, 30*time.Second)
	r.checkOutput(n + 1)
}

// TestAbortRunsEveryBatchOfTheTransactionAgain fails the offset commit of a
// transaction that spans several batches, once: the transaction aborts,
// every one of its batches runs through the plugin again, and the committed
// output holds every record once.
func TestAbortRunsEveryBatchOfTheTransactionAgain(t *testing.T) {
	r := newEOSRig(t)
	const n = 3000
	// Fail the first TxnOffsetCommit past the middle of the input that
	// covers at least three batches; from and to are the transaction's
	// input range. When may run more than once per request.
	var prev, from, to atomic.Int64
	r.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: kerr.IllegalGeneration, Count: 1,
		When: func(req kmsg.Request) bool {
			off := req.(*kmsg.TxnOffsetCommitRequest).Topics[0].Partitions[0].Offset
			if off >= n/2 && off < n && off-prev.Load() >= 3*eosBatch {
				from.Store(prev.Load())
				to.Store(off)
				return true
			}
			prev.Store(off)
			return false
		}})
	r.produce(0, n)
	p := r.start(time.Hour)
	r.awaitCommitted(n, 60*time.Second)
	st := p.Stats()
	if a := st.TxnAborted.Load(); a != 1 {
		t.Fatalf("%d transactions aborted, want 1", a)
	}
	span := to.Load() - from.Load()
	t.Logf("aborted the transaction of offsets %d..%d (%d batches)", from.Load(), to.Load()-1, span/eosBatch)
	if in := st.In.Load(); in != n {
		t.Errorf("records in = %d, want %d", in, n)
	}
	// forward produces one record per input record: the plugin ran every
	// record once, and the aborted transaction's records once more.
	if out, want := st.Out.Load(), uint64(n+span); out != want {
		t.Errorf("plugin outputs = %d, want %d (%d records, and the %d of the aborted transaction again)", out, want, n, span)
	}
	r.checkOutput(n)
}

// parts makes what a rig's pipeline runs on, closed when the test ends: a
// test logger, the shared producer on a client of the rig's broker, and
// a slot holding plugin name built from the source directory dir.
func (r *eosRig) parts(name, dir string) (zerolog.Logger, *kafka.Producer, *Slot) {
	t := r.t
	t.Helper()
	ctx := context.Background()
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	client, err := sarama.NewClient([]string{r.addr}, r.saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	producer, err := kafka.NewProducer(client, kafka.ProducerOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = producer.Close(context.Background()) })
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	plugin, err := rt.Load(ctx, host.LoadOptions{Name: name, Path: testutil.BuildPlugin(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	slot := NewSlot(plugin, log)
	t.Cleanup(slot.Close)
	return log, producer, slot
}

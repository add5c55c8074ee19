package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wasmhost/wasmhost/internal/config"
)

// These tests fail the commit of a tick's transaction under exactly-once
// and check how the actor settles it (ticktxn.go). They run the counter
// example (records counted per key in the state store, each tick producing
// the window's counts to "out") over records of key "k": every record is
// counted in exactly one committed window, so the committed counts sum to
// the number of records.

const counterRecords = 500

// startCounter runs the counter example in an exactly-once pipeline of the
// rig, ticking every 50ms, until the test ends.
func (r *eosRig) startCounter() *Pipeline {
	t := r.t
	t.Helper()
	log, producer, slot := r.parts("counter", "examples/counter")
	cfg := config.DefaultPipeline()
	cfg.Name, cfg.Plugin, cfg.Topics, cfg.Group = "copy", "counter", []string{"in"}, "copy"
	cfg.Guarantee, cfg.Config = config.ExactlyOnce, map[string]string{"to": "out"}
	cfg.BatchSize, cfg.TransactionSize = eosBatch, eosSpan
	cfg.TickInterval = config.Duration{Duration: 50 * time.Millisecond}
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

// failTickCommit makes the broker answer the first committing EndTxn of a
// tick's transaction that produced counts with the error code, which the
// producer does not retry (UNKNOWN_SERVER_ERROR, PRODUCER_FENCED). Only
// ticks write to "out" (the counter's records produce nothing), so a
// transaction that added a partition of "out" is a tick's. With apply, the
// broker first commits the transaction, by the same EndTxn sent on another
// connection: the commit happened and its answer was lost, as when a
// broker dies after applying it. The returned flag is set once the commit
// was failed; errs gets the other connection's error, if any.
func (r *eosRig) failTickCommit(apply bool, code int16) (fired *atomic.Bool, errs <-chan error) {
	var mu sync.Mutex
	toOut := map[int64]bool{}
	r.cluster.ControlKey(int16(kmsg.AddPartitionsToTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.AddPartitionsToTxnRequest)
		for _, tp := range req.Topics {
			if tp.Topic == "out" {
				mu.Lock()
				toOut[req.ProducerID] = true
				mu.Unlock()
			}
		}
		return nil, nil, false // observed only: the broker handles it
	})
	fired = new(atomic.Bool)
	errc := make(chan error, 1)
	r.cluster.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.EndTxnRequest)
		mu.Lock()
		tick := toOut[req.ProducerID]
		delete(toOut, req.ProducerID)
		mu.Unlock()
		if !req.Commit || !tick || fired.Load() {
			return nil, nil, false
		}
		if apply {
			// The other connection's EndTxn comes through this function
			// too, and is handled by the broker: toOut no longer holds
			// its producer.
			r.cluster.SleepControl(func() {
				if err := r.endTxn(req); err != nil {
					errc <- err
				}
			})
		}
		fired.Store(true)
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = code
		if code == kerr.ProducerFenced.Code {
			// The actor waits for the group to tell whether a newer
			// owner exists: end its session, as a rebalance would.
			r.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Err: kerr.RebalanceInProgress, Count: 1})
		}
		return resp, nil, true
	})
	return fired, errc
}

// endTxn sends req, committing, on a connection of its own.
func (r *eosRig) endTxn(req *kmsg.EndTxnRequest) error {
	b := sarama.NewBroker(r.addr)
	if err := b.Open(r.saramaConfig()); err != nil {
		return err
	}
	defer b.Close()
	resp, err := b.EndTxn(&sarama.EndTxnRequest{Version: 3, TransactionalID: req.TransactionalID,
		ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch, TransactionResult: true})
	if err != nil {
		return err
	}
	if resp.Err != sarama.ErrNoError {
		return resp.Err
	}
	return nil
}

// awaitSettled waits for the tick's commit to have failed, every record to
// be consumed, and then three more ticks to commit: a window produced
// again after the failure would be produced by then.
func (r *eosRig) awaitSettled(p *Pipeline, fired *atomic.Bool, errs <-chan error) {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !fired.Load() {
		if time.Now().After(deadline) {
			t.Fatal("no tick's commit was failed within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.awaitCommitted(counterRecords, 60*time.Second)
	base := p.Stats().TxnCommitted.Load()
	for p.Stats().TxnCommitted.Load() < base+3 {
		if time.Now().After(deadline) {
			t.Fatal("no three ticks committed after the input")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-errs:
		t.Fatalf("committing the tick's transaction on another connection: %v", err)
	default:
	}
}

// countedTotal reads "out" read_committed and sums the counts of key "k":
// until they reach want, then until nothing more comes for a second.
func (r *eosRig) countedTotal(want int) int {
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
	total := 0
	deadline := time.After(30 * time.Second)
	for {
		wait := time.After(time.Second)
		if total < want {
			wait = deadline
		}
		select {
		case m := <-pc.Messages():
			n, err := windowCount(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		case <-wait:
			return total
		}
	}
}

// windowCount reads the count of a counter's record for key "k".
func windowCount(value []byte) (int, error) {
	var v struct {
		Key   string `json:"key"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(value, &v); err != nil || v.Key != "k" {
		return 0, fmt.Errorf("count record %q: %v", value, err)
	}
	return v.Count, nil
}

// TestTickCommitOfUnknownOutcome: the broker answers a tick's commit with
// an error, having committed it (read back, the tick's records committed
// everywhere: its changes stand, so no later tick produces its window
// again) or refused it (committed nowhere: its changes are taken back, and a
// later tick produces its window).
func TestTickCommitOfUnknownOutcome(t *testing.T) {
	for _, c := range []struct {
		name        string
		committed   bool
		wantAborted uint64
	}{
		{"committed despite its error", true, 0},
		{"failed", false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newEOSRig(t)
			fired, errs := r.failTickCommit(c.committed, kerr.UnknownServerError.Code)
			r.produceKeyed(counterRecords)
			p := r.startCounter()
			r.awaitSettled(p, fired, errs)
			if got := r.countedTotal(counterRecords); got != counterRecords {
				t.Fatalf("committed windows count %d records, want %d", got, counterRecords)
			}
			if a := p.Stats().TxnAborted.Load(); a != c.wantAborted {
				t.Errorf("%d transactions counted aborted, want %d", a, c.wantAborted)
			}
		})
	}
}

// TestTickCommittedInSomePartitionsOnly: a tick's commit fails and the
// read-back says its records committed in "out" but not in the changelog
// (staged: the embedded broker commits in some partitions only when it is
// killed while writing the markers). Only the changelog's records are sent
// again and the tick's changes stand: its window is not produced again (so
// the committed counts miss exactly the staged window, which the broker in
// fact aborted).
func TestTickCommittedInSomePartitionsOnly(t *testing.T) {
	r := newEOSRig(t)
	fired, errs := r.failTickCommit(false, kerr.UnknownServerError.Code)
	staged := stageCommittedInOut(t)
	r.produceKeyed(counterRecords)
	p := r.startCounter()
	r.awaitSettled(p, fired, errs)
	n := staged.Load()
	if n == 0 {
		t.Fatal("the tick's partitions were not read back")
	}
	if got := r.countedTotal(int(counterRecords - n)); int64(got) != counterRecords-n {
		t.Fatalf("committed windows count %d records, want %d (%d, less the staged window's %d)", got, counterRecords-n, counterRecords, n)
	}
	if a := p.Stats().TxnAborted.Load(); a != 1 {
		t.Errorf("%d transactions counted aborted, want 1", a)
	}
}

// stageCommittedInOut makes the first read-back of a transaction's
// partitions say that it committed in "out", whatever the broker did, and
// returns the counts of the records it said so of (once it has).
func stageCommittedInOut(t *testing.T) *atomic.Int64 {
	var staged atomic.Int64
	var once sync.Once
	read := readOutcomes
	t.Cleanup(func() { readOutcomes = read })
	readOutcomes = func(c sarama.Client, txid string, out []*sarama.ProducerMessage) (map[topicPartition]outcome, error) {
		done, err := read(c, txid, out)
		once.Do(func() {
			for _, m := range out {
				if m.Topic != "out" || err != nil {
					continue
				}
				v, _ := m.Value.Encode()
				n, cerr := windowCount(v)
				if cerr != nil {
					t.Error(cerr) // not Fatal: this is the actor's goroutine
				}
				staged.Add(int64(n))
				done[topicPartition{m.Topic, m.Partition}] = committedHere
			}
		})
		return done, err
	}
	return &staged
}

// TestTickLeftCommittedInSomePartitionsIsFinishedByTheNextOwner: a tick's
// commit fails with PRODUCER_FENCED and the session ends meanwhile, so the
// actor stops without settling it. The partition's next owner in this
// process reads the tick's partitions back before it restores the state,
// and finds it (staged) committed in "out" but not in the changelog: it
// sends the changelog's records, so the restored store agrees with what
// the tick produced and the window is not produced again (the committed
// counts miss exactly the staged window, which the broker in fact
// aborted).
func TestTickLeftCommittedInSomePartitionsIsFinishedByTheNextOwner(t *testing.T) {
	r := newEOSRig(t)
	fired, errs := r.failTickCommit(false, kerr.ProducerFenced.Code)
	staged := stageCommittedInOut(t)
	r.produceKeyed(counterRecords)
	p := r.startCounter()
	r.awaitSettled(p, fired, errs)
	n := staged.Load()
	if n == 0 {
		t.Fatal("the tick's partitions were not read back")
	}
	if got := r.countedTotal(int(counterRecords - n)); int64(got) != counterRecords-n {
		t.Fatalf("committed windows count %d records, want %d (%d, less the staged window's %d)", got, counterRecords-n, counterRecords, n)
	}
	if got := p.Stats().StateRestores.Load(); got != 2 {
		t.Errorf("%d state restores, want 2 (the first owner's and the next's)", got)
	}
}

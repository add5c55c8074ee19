package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// brokerKills is how many times each scenario kills the broker.
const brokerKills = 5

// kill9 kills the broker with SIGKILL and starts it again on the same
// address and data directory: whatever it had not written is gone, and
// whatever it was in the middle of (a transaction's commit) is cut short.
func (b *brokerProc) kill9(t *testing.T) *brokerProc {
	t.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.done
	return startBrokerProc(t, b.addr, b.dir)
}

// TestBrokerKill9 kills the broker with SIGKILL at random points while two
// daemons of one group copy a stream, and restarts it on its data: the
// guarantee must hold across every crash (exactly-once: nothing missing or
// duplicated under read_committed, and no committed offset past an input
// record without its output; at-most-once: nothing duplicated, not even a
// produce the broker wrote but died before answering, which the shared
// producer retries).
func TestBrokerKill9(t *testing.T) {
	for _, g := range guarantees {
		t.Run(g, func(t *testing.T) {
			t.Parallel() // each scenario has its own broker and daemons
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewPCG(uint64(seed), 0))
			t.Logf("seed %d", seed)
			b := startBrokerProc(t, freePort(t), t.TempDir())
			s := newStreamParts(t, b.addr, g, 8)
			s.brokerKilled = true
			ds := []*daemonProc{startDaemon(t, s.cfg), startDaemon(t, s.cfg)}
			for i := range brokerKills {
				before := highWater(t, b.addr, "out")
				waitFor(t, 90*time.Second, "progress before the broker is killed", func() bool {
					return highWater(t, b.addr, "out") >= before+200
				})
				time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
				t.Logf("broker kill -9 #%d", i+1)
				b = b.kill9(t)
			}
			s.finish(ds...)
			s.check(g)
			want := 0
			if g == "exactly-once" {
				want = 1 // the limit no client can close (README, Guarantees)
			}
			for _, d := range ds {
				if n := strings.Count(d.logs.String(), "exactly-once on the embedded broker"); n != want {
					t.Errorf("daemon warned %d times about exactly-once on the embedded broker, want %d", n, want)
				}
			}
		})
	}
}

// TestBrokerKill9Ticks kills the broker with SIGKILL while a daemon runs
// the counter example (its window in the state store) ticking under
// exactly-once: a tick's commit the crash cut short is settled from its
// partitions read back (pipeline/ticktxn.go), so every input record is
// counted in exactly one committed window.
func TestBrokerKill9Ticks(t *testing.T) {
	t.Parallel()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	b := startBrokerProc(t, freePort(t), t.TempDir())
	createTopics(t, b.addr, 4, "in", "counts")
	cfg := counterConfig(t, b.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	produced := keyedInput(ctx, b.addr)
	d := startDaemon(t, cfg)
	for i := range brokerKills {
		before := highWater(t, b.addr, "counts")
		waitFor(t, 90*time.Second, "windows before the broker is killed", func() bool {
			return highWater(t, b.addr, "counts") >= before+20
		})
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		t.Logf("broker kill -9 #%d", i+1)
		b = b.kill9(t)
	}
	cancel()
	<-produced
	hw := highWater(t, b.addr, "in")
	truth := map[string]int{}
	for _, m := range readAll(t, b.addr, "in", int(hw), 60*time.Second) {
		truth[string(m.Key)]++
	}
	waitFor(t, 120*time.Second, "every record counted in a committed window", func() bool {
		_, total := windowSums(t, b.addr)
		return total >= int(hw)
	})
	stopAll(t, d)
	t.Logf("%d records; ticks' commits of unknown outcome: %d settled committed, %d not committed, %d in part",
		hw, strings.Count(d.logs.String(), "the tick's transaction had committed"),
		strings.Count(d.logs.String(), "the tick's transaction had not committed"),
		strings.Count(d.logs.String(), "committed the tick's transaction in some partitions only"))
	by, total := windowSums(t, b.addr)
	for k, n := range truth {
		if by[k] != n {
			t.Errorf("key %s counted %d times, want %d", k, by[k], n)
		}
	}
	if len(by) != len(truth) || int64(total) != hw {
		t.Fatalf("%d keys, %d counted; want %d keys, %d", len(by), total, len(truth), hw)
	}
}

// keyedInput produces records of wcWords keys to "in" (each key to one of
// 4 partitions) in chunks until ctx ends, resending a chunk whole when the
// broker dies under it: a chunk may then be written twice, so the truth
// is what "in" holds.
func keyedInput(ctx context.Context, addr string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var p sarama.SyncProducer
		defer func() {
			if p != nil {
				_ = p.Close()
			}
		}()
		for i := 0; ctx.Err() == nil; {
			if p == nil {
				cfg := saramaConfig()
				cfg.Producer.Partitioner = sarama.NewManualPartitioner
				var err error
				if p, err = sarama.NewSyncProducer([]string{addr}, cfg); err != nil {
					p = nil
					time.Sleep(200 * time.Millisecond)
					continue
				}
			}
			msgs := make([]*sarama.ProducerMessage, 0, 100)
			for j := i; j < i+100; j++ {
				w := j % wcWords
				msgs = append(msgs, &sarama.ProducerMessage{Topic: "in", Partition: int32(w % 4),
					Key: sarama.StringEncoder(fmt.Sprintf("w%d", w)), Value: sarama.StringEncoder(fmt.Sprint(j))})
			}
			if err := p.SendMessages(msgs); err != nil {
				_ = p.Close()
				p = nil
				time.Sleep(200 * time.Millisecond)
				continue
			}
			i += len(msgs)
			time.Sleep(100 * time.Millisecond) // ~1,000 records/s
		}
	}()
	return done
}

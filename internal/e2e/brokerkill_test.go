package e2e

import (
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"
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

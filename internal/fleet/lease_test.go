package fleet

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/kafka"
)

const testSession = time.Second

// leaseCluster starts a one-node kfake cluster that accepts short sessions.
func leaseCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func startLeases(t *testing.T, c *kfake.Cluster, group string, n int, logs *testutil.SyncBuffer) []*Lease {
	t.Helper()
	out := make([]*Lease, n)
	for i := range out {
		l, err := StartLease(LeaseOptions{
			Client: kafka.ClientOptions{Brokers: c.ListenAddrs(), ClientID: "wasmhost-test" + string(rune('a'+i)), Version: "3.6.0"},
			Source: "users", Topic: "leases", Group: group, SessionTimeout: testSession,
			Logger: zerolog.New(logs),
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = l
	}
	t.Cleanup(func() { closeAll(out) })
	return out
}

// closeAll closes leases in parallel, waiting a little for each: one cut
// off from the brokers waits out a read timeout otherwise.
func closeAll(ls []*Lease) {
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = l.Close(ctx)
		})
	}
	wg.Wait()
}

// ticking reports whether l would let a tick through now.
func ticking(l *Lease) bool {
	if !l.Enter() {
		return false
	}
	l.Exit()
	return true
}

// holders lists the leases that let ticks through.
func holders(ls []*Lease) []int {
	var out []int
	for i, l := range ls {
		if ticking(l) {
			out = append(out, i)
		}
	}
	return out
}

// watchNeverTwo polls the leases every millisecond until stop and fails the
// test if two ever let ticks through at once.
func watchNeverTwo(t *testing.T, ls []*Lease) (stop func()) {
	var done atomic.Bool
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for !done.Load() {
			if h := holders(ls); len(h) > 1 {
				t.Errorf("leases %v let ticks through at the same time", h)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() { done.Store(true); <-finished }
}

func leaseWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitHolder(t *testing.T, ls []*Lease, timeout time.Duration, except int) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if h := holders(ls); len(h) == 1 && h[0] != except {
			return h[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no single lease holder (other than %d) within %s: %v", except, timeout, holders(ls))
	return -1
}

// TestLeaseOneHolderThenHandover: of three members exactly one ticks, the
// others are on standby; when the holder leaves, another takes over at once
// (a LeaveGroup, no session timeout to wait for).
func TestLeaseOneHolderThenHandover(t *testing.T) {
	c := leaseCluster(t)
	var logs testutil.SyncBuffer
	ls := startLeases(t, c, "g1", 3, &logs)
	stop := watchNeverTwo(t, ls)
	defer stop()
	leaseWaitFor(t, 20*time.Second, "all three in the group", func() bool {
		for _, l := range ls {
			if st := l.Status().State; st != LeaseHeld && st != LeaseStandby {
				return false
			}
		}
		return len(holders(ls)) == 1
	})
	h := holders(ls)[0]
	for i, l := range ls {
		st := l.Status()
		want := LeaseStandby
		if i == h {
			want = LeaseHeld
		}
		if st.State != want || st.Group != "g1" {
			t.Errorf("lease %d: status %+v, want state %s", i, st, want)
		}
	}
	start := time.Now()
	if err := ls[h].Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := waitHolder(t, ls, 10*time.Second, h)
	t.Logf("graceful handover from %d to %d took %s", h, next, time.Since(start))
	if st := ls[h].Status(); st.State != LeaseStopped {
		t.Errorf("closed lease: state %s", st.State)
	}
	if !strings.Contains(logs.String(), "source lease acquired") {
		t.Errorf("no acquisition logged:\n%s", logs.String())
	}
}

// TestLeaseRevokeWaitsForTheTick: a rebalance (a new member joins) revokes
// the lease; the gate closes only after the tick under way has handed its
// records over, no other member ticks before that, and the rebalance
// completes right after.
func TestLeaseRevokeWaitsForTheTick(t *testing.T) {
	c := leaseCluster(t)
	var logs testutil.SyncBuffer
	ls := startLeases(t, c, "g2", 2, &logs)
	h := waitHolder(t, ls, 20*time.Second, -1)
	if !ls[h].Enter() {
		t.Fatal("the holder's gate is closed")
	}
	var exited atomic.Bool
	exit := func() {
		if exited.CompareAndSwap(false, true) {
			ls[h].Exit()
		}
	}
	t.Cleanup(exit)
	ls = append(ls, startLeases(t, c, "g2", 1, &logs)...) // a rebalance
	// The holder's session ends while its tick runs (for less than the
	// rebalance timeout, 2 session timeouts here): the brokers must wait.
	deadline := time.Now().Add(testSession * 3 / 2)
	for time.Now().Before(deadline) {
		for i, l := range ls {
			if i != h && l.Status().State == LeaseHeld {
				t.Fatalf("lease %d holds the lease while %d is still ticking", i, h)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := ls[h].Status(); st.State != LeaseHeld {
		t.Errorf("holder mid-tick: state %s", st.State)
	}
	released := time.Now()
	exit()
	stop := watchNeverTwo(t, ls)
	defer stop()
	next := waitHolder(t, ls, 20*time.Second, -2)
	t.Logf("after the tick ended, %d held the lease within %s", next, time.Since(released))
}

// TestLeaseFencedWhenCutOff cuts the holder off from its coordinator (its
// heartbeats go unanswered, as in a network partition): it stops ticking
// before the brokers expire it, another member takes over after the session
// timeout, and at no moment do two tick.
func TestLeaseFencedWhenCutOff(t *testing.T) {
	c := leaseCluster(t)
	var logs testutil.SyncBuffer
	ls := startLeases(t, c, "g3", 2, &logs)
	h := waitHolder(t, ls, 20*time.Second, -1)
	member := ls[h].Status().Member
	stop := watchNeverTwo(t, ls)
	defer stop()
	cut := time.Now()
	var cutting atomic.Bool
	cutting.Store(true)
	t.Cleanup(func() { cutting.Store(false) })
	c.ControlKey(int16(kmsg.Heartbeat), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if cutting.Load() && req.(*kmsg.HeartbeatRequest).MemberID == member {
			return nil, nil, true // never answered
		}
		return nil, nil, false
	})
	for ticking(ls[h]) {
		time.Sleep(time.Millisecond)
	}
	fenced := time.Since(cut)
	next := waitHolder(t, ls, 10*testSession, h)
	took := time.Since(cut)
	t.Logf("cut-off holder stopped ticking after %s; %d took over after %s (session timeout %s)", fenced, next, took, testSession)
	if fenced > testSession {
		t.Errorf("the cut-off holder ticked for %s, past the session timeout %s", fenced, testSession)
	}
}

// TestLeaseStaysWithItsHolder: members joining and leaving do not move the
// lease from a holder that stays in the group.
func TestLeaseStaysWithItsHolder(t *testing.T) {
	c := leaseCluster(t)
	var logs testutil.SyncBuffer
	first := startLeases(t, c, "g4", 1, &logs)
	waitHolder(t, first, 20*time.Second, -1)
	ls := append(first, startLeases(t, c, "g4", 3, &logs)...)
	stop := watchNeverTwo(t, ls)
	defer stop()
	leaseWaitFor(t, 20*time.Second, "all four in the group", func() bool {
		for _, l := range ls {
			if st := l.Status().State; st != LeaseHeld && st != LeaseStandby {
				return false
			}
		}
		return true
	})
	if err := ls[2].Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	leaseWaitFor(t, 20*time.Second, "the group to settle again", func() bool {
		return ls[0].Held() && ls[1].Status().State == LeaseStandby && ls[3].Status().State == LeaseStandby
	})
	if st := ls[0].Status(); st.Acquired < 1 || !ls[0].Held() {
		t.Errorf("the first holder lost the lease: %+v", st)
	}
	for _, i := range []int{1, 3} {
		if st := ls[i].Status(); st.Acquired != 0 {
			t.Errorf("lease %d took the lease %d times", i, st.Acquired)
		}
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// The source of TestSourceRunsOncePerFleet: one record per tick.
const (
	fleetInterval = 200 * time.Millisecond
	fleetSession  = 6 * time.Second // the default, and Kafka's smallest
)

// fleetDaemon is a daemon subprocess of a fleet, with its status server.
type fleetDaemon struct {
	*daemonProc
	url string
	id  string
}

var statusPageLine = regexp.MustCompile(`"url":"(http://[^"]+)"`)

// startFleetDaemon runs a daemon on cfg (http.listen on port 0) and waits
// for its status server.
func startFleetDaemon(t *testing.T, cfg string) *fleetDaemon {
	t.Helper()
	d := &fleetDaemon{daemonProc: startDaemon(t, cfg)}
	waitFor(t, 60*time.Second, "the daemon's status server", func() bool {
		if m := statusPageLine.FindStringSubmatch(d.logs.String()); m != nil {
			d.url = m[1]
		}
		return d.url != ""
	})
	d.id = d.status(t).DaemonID
	return d
}

func (d *fleetDaemon) status(t *testing.T) observe.Status {
	t.Helper()
	code, body := httpGet(t, d.url+"/api/status")
	var st observe.Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("/api/status: %d %v\n%s", code, err, body)
	}
	return st
}

// lease is the state of the daemon's one source's lease.
func (d *fleetDaemon) lease(t *testing.T) string {
	st := d.status(t)
	if len(st.Sources) == 0 {
		return "not started"
	}
	if len(st.Sources) != 1 || st.Sources[0].Lease == nil {
		t.Fatalf("daemon %s: sources %+v, want one with a lease", d.id, st.Sources)
	}
	return st.Sources[0].Lease.State
}

// holders lists the daemons holding the lease, and reports whether every
// other one is on standby (in the group).
func holders(t *testing.T, ds []*fleetDaemon) (held []*fleetDaemon, settled bool) {
	settled = true
	for _, d := range ds {
		switch d.lease(t) {
		case fleet.LeaseHeld:
			held = append(held, d)
		case fleet.LeaseStandby:
		default:
			settled = false
		}
	}
	return held, settled
}

// TestSourceRunsOncePerFleet runs the users source on three daemons sharing
// a broker: exactly one ticks; after kill -9 of that one another takes over
// within the session timeout plus a rebalance; the records per second stay
// at the source's rate throughout (no double production); and status
// --fleet lists the three daemons, then the killed one as stale and a
// gracefully stopped one as stopped.
func TestSourceRunsOncePerFleet(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 1, "users")
	cfg := writeFile(t, filepath.Join(t.TempDir(), "fleet.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[fleet]
status_interval = "500ms"
stale_after = 6
lease_session_timeout = %q
[[sources]]
name = "users"
plugin = "users"
interval = %q
produce_topics = ["users"]
`, b.Addr(), pluginsDir(t, "users"), testutil.CacheDir(t), fleetSession, fleetInterval))

	ds := []*fleetDaemon{startFleetDaemon(t, cfg), startFleetDaemon(t, cfg), startFleetDaemon(t, cfg)}
	var holder *fleetDaemon
	waitFor(t, 60*time.Second, "one daemon holding the lease, two on standby", func() bool {
		held, settled := holders(t, ds)
		if len(held) > 1 {
			t.Fatalf("%d daemons hold the lease", len(held))
		}
		if len(held) == 1 && settled {
			holder = held[0]
		}
		return holder != nil
	})
	steadyFrom := time.Now()
	held := holder.status(t).Sources[0].Ticks
	waitFor(t, 30*time.Second, "status --fleet to list three running daemons", func() bool {
		out := fleetCLI(t, "--addr", ds[0].url)
		return strings.Count(out, " running ") == 3 && strings.Contains(out, "3 daemons reporting")
	})
	waitFor(t, 30*time.Second, "3 s of ticks", func() bool { return holder.status(t).Sources[0].Ticks >= held+15 })
	for _, d := range ds {
		if ticks := d.status(t).Sources[0].Ticks; d != holder && ticks != 0 {
			t.Errorf("daemon %s on standby ticked %d times", d.id, ticks)
		}
		want := `wasmhost_source_lease_held{pipeline="users"} 0`
		if d == holder {
			want = `wasmhost_source_lease_held{pipeline="users"} 1`
		}
		if _, m := httpGet(t, d.url+"/metrics"); !strings.Contains(m, want) {
			t.Errorf("daemon %s: /metrics lacks %s", d.id, want)
		}
	}

	// kill -9 the holder: another takes over once the brokers expire it.
	rest := slices.DeleteFunc(slices.Clone(ds), func(d *fleetDaemon) bool { return d == holder })
	killed := time.Now()
	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-holder.done
	var next *fleetDaemon
	waitFor(t, 4*fleetSession, "another daemon to hold the lease", func() bool {
		held, _ := holders(t, rest)
		if len(held) > 1 {
			t.Fatalf("%d daemons hold the lease", len(held))
		}
		if len(held) == 1 {
			next = held[0]
		}
		return next != nil
	})
	acquired := time.Since(killed)
	ticks := next.status(t).Sources[0].Ticks
	waitFor(t, 30*time.Second, "the new holder to tick a while", func() bool { return next.status(t).Sources[0].Ticks >= ticks+15 })
	steadyTo := time.Now()

	var before, after []time.Time
	for _, ts := range timestamps(t, b.Addr(), "users") {
		if ts.Before(killed) {
			before = append(before, ts)
		} else {
			after = append(after, ts)
		}
	}
	if len(after) == 0 {
		t.Fatal("no record after the kill")
	}
	failover := after[0].Sub(killed)
	t.Logf("fail-over: kill -9 of the holder at +0; another daemon held the lease after %s and its first record came %s after the kill (session timeout %s); %d records before, %d after",
		acquired.Round(time.Millisecond), failover.Round(time.Millisecond), fleetSession, len(before), len(after))
	if failover > 2*fleetSession {
		t.Errorf("the source was silent for %s after the kill, more than the session timeout %s and a rebalance", failover, fleetSession)
	}
	checkRate(t, "before the kill", before, steadyFrom, killed)
	checkRate(t, "after the take-over", after, after[0], steadyTo)

	// The killed daemon goes stale; one stopped with SIGTERM says so.
	waitFor(t, 30*time.Second, "status --fleet to show the killed daemon as stale", func() bool {
		return fleetRow(fleetCLI(t, "--addr", next.url), holder.id, "STALE")
	})
	var other *fleetDaemon
	for _, d := range rest {
		if d != next {
			other = d
		}
	}
	if code := other.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	waitFor(t, 30*time.Second, "status --fleet --kafka to show the stopped daemon as stopped", func() bool {
		out := fleetCLI(t, "--kafka", "--config", cfg)
		return fleetRow(out, other.id, " stopped ") && fleetRow(out, holder.id, "STALE") && fleetRow(out, next.id, " running ")
	})
}

// checkRate fails the test if any 2-second window of [from, to] holds more
// records than one source ticking every fleetInterval can produce: two
// daemons ticking would produce twice as many.
func checkRate(t *testing.T, what string, ts []time.Time, from, to time.Time) {
	t.Helper()
	const window = 2 * time.Second
	limit := int(window/fleetInterval) + 2 // a late tick and the one after it may fall in one window
	most, total := 0, 0
	for _, start := range ts {
		if start.Before(from) || start.After(to) {
			continue
		}
		total++
		n := 0
		for _, x := range ts {
			if !x.Before(start) && x.Before(start.Add(window)) {
				n++
			}
		}
		most = max(most, n)
	}
	rate := float64(total) / to.Sub(from).Seconds()
	t.Logf("%s: %d records in %s (%.1f/s; the source's rate %.1f/s), at most %d in a %s window (limit %d)",
		what, total, to.Sub(from).Round(time.Millisecond), rate, float64(time.Second)/float64(fleetInterval), most, window, limit)
	if most > limit {
		t.Errorf("%s: %d records in a %s window: more than one daemon ticked", what, most, window)
	}
}

// timestamps reads the one partition of topic up to its high watermark now
// and returns the records' timestamps (their producer's clock).
func timestamps(t *testing.T, addr, topic string) []time.Time {
	t.Helper()
	hwm := highWater(t, addr, topic)
	c, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []time.Time
	timeout := time.After(30 * time.Second)
	for int64(len(out)) < hwm {
		select {
		case m := <-pc.Messages():
			out = append(out, m.Timestamp)
		case <-timeout:
			t.Fatalf("read %d of %d records of %s", len(out), hwm, topic)
		}
	}
	return out
}

// fleetCLI runs `wasmhost status --fleet` with args and returns its output.
func fleetCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, append([]string{"status", "--fleet"}, args...)...)
	if code != 0 {
		t.Fatalf("status --fleet %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// fleetRow reports whether the fleet table has a row for daemon id that
// contains want.
func fleetRow(out, id, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, id) {
			return strings.Contains(l, want)
		}
	}
	return false
}

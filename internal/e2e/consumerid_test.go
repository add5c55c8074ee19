package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestTwoDaemonsHaveDistinctConsumerIDs runs two daemons in one consumer
// group, as a fleet does, and checks that a record can be traced to the
// daemon that handled it: each member's consumer id carries its daemon's
// id, and the print plugin's lines, the assignment log lines and
// /api/status name it.
func TestTwoDaemonsHaveDistinctConsumerIDs(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 4, "users")
	dir := pluginsDir(t, "print")
	path := writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[[pipelines]]
name = "print-users"
plugin = "print"
topics = ["users"]
`, b.Addr(), dir, testutil.CacheDir(t)))
	ds := []*monitored{runMonitored(t, path, nil), runMonitored(t, path, nil)}

	// Both members in the group, holding two partitions each.
	sts := make([]observe.Status, len(ds))
	waitFor(t, 60*time.Second, "each daemon to hold two partitions", func() bool {
		for i, d := range ds {
			sts[i] = d.status(t)
			if len(sts[i].Pipelines) != 1 || sts[i].Pipelines[0].Partitions != 2 {
				return false
			}
		}
		return true
	})
	consumers := map[string]string{} // consumer id -> daemon id
	for i, st := range sts {
		if len(st.DaemonID) != 36 || (i > 0 && st.DaemonID == sts[0].DaemonID) {
			t.Fatalf("daemon ids %q and %q", sts[0].DaemonID, st.DaemonID)
		}
		ms := st.Pipelines[0].Members
		if len(ms) != 1 {
			t.Fatalf("daemon %s: members %+v", st.DaemonID, ms)
		}
		want := "wasmhost-" + st.DaemonID[:8] + "-print-users-0"
		if ms[0].Consumer != want {
			t.Errorf("daemon %s: consumer %q, want %q", st.DaemonID, ms[0].Consumer, want)
		}
		consumers[ms[0].Consumer] = st.DaemonID
	}
	if len(consumers) != 2 {
		t.Fatalf("consumer ids %v are not distinct", consumers)
	}

	values := make([]string, 40)
	for i := range values {
		values[i] = fmt.Sprintf(`{"name":"user-%d"}`, i)
	}
	produceSpread(t, b.Addr(), "users", values)
	seen := map[string]bool{} // offsets printed, as "partition/offset"
	waitFor(t, 60*time.Second, "40 records printed", func() bool {
		clear(seen)
		for _, d := range ds {
			for _, l := range printedLines(t, d.logs.String()) {
				seen[fmt.Sprintf("%d/%s", *l.Partition, l.Message)] = true
			}
		}
		return len(seen) >= 40
	})
	for i, d := range ds {
		want := sts[i].Pipelines[0].Members[0].Consumer
		lines := printedLines(t, d.logs.String())
		if len(lines) == 0 {
			t.Errorf("daemon %s printed nothing", sts[i].DaemonID)
		}
		for _, l := range lines {
			if l.Consumer != want || l.Daemon != sts[i].DaemonID {
				t.Errorf("daemon %s printed a line as consumer %q of daemon %q, want %q", sts[i].DaemonID, l.Consumer, l.Daemon, want)
			}
		}
		assigned := 0
		for _, line := range strings.Split(d.logs.String(), "\n") {
			var ev struct{ Message, Consumer, Daemon string }
			if json.Unmarshal([]byte(line), &ev) != nil || ev.Message != "partitions assigned" {
				continue
			}
			assigned++
			if ev.Consumer != want || ev.Daemon != sts[i].DaemonID {
				t.Errorf("daemon %s logged an assignment as consumer %q of daemon %q, want %q", sts[i].DaemonID, ev.Consumer, ev.Daemon, want)
			}
		}
		if assigned == 0 {
			t.Errorf("daemon %s logged no assignment", sts[i].DaemonID)
		}
		out, stderr, code := runCLI(t, "status", "--addr", d.url)
		if code != 0 || !strings.Contains(out, "daemon "+sts[i].DaemonID) || !strings.Contains(out, want+"  ") {
			t.Errorf("wasmhost status of daemon %s (exit %d) lacks its id or consumer %s:\n%s%s", sts[i].DaemonID, code, want, out, stderr)
		}
	}
}

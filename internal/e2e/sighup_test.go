package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// pipelineTOML is a forward pipeline from "in" to the topic to.
func pipelineTOML(name, to string) string {
	return fmt.Sprintf(`
[[pipelines]]
name = %q
plugin = "forward"
topics = ["in"]
batch_wait = "5ms"
session_timeout = "2s"
config = { to = %q }
`, name, to)
}

// TestSIGHUPReconfigures changes the config of a running daemon: a
// pipeline removed, one added, one whose plugin config changes, then
// configs that must be rejected whole (invalid, a key needing a restart, a
// plugin that does not load), then a config file change picked up by
// reload.watch_config.
func TestSIGHUPReconfigures(t *testing.T) {
	t.Parallel()
	br := startBroker(t, "")
	createTopics(t, br.Addr(), 2, "in", "out1", "out2", "out1b", "out3")
	dir := t.TempDir()
	head := fmt.Sprintf(`
shutdown_timeout = "20s"
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
`, br.Addr(), pluginsDir(t, "forward"), testutil.CacheDir(t))
	cfgPath := filepath.Join(dir, "wasmhost.toml")
	pidFile := filepath.Join(dir, "wasmhost.pid")
	writeFile(t, cfgPath, head+pipelineTOML("p1", "out1")+pipelineTOML("p2", "out2"))
	d := startDaemonArgs(t, "--config", cfgPath, "--pid-file", pidFile)
	produceN(t, br.Addr(), "in", 0, 500)
	waitKeys(t, br.Addr(), "out1", 0, 500)
	waitKeys(t, br.Addr(), "out2", 0, 500)

	// p1 now writes to out1b, p2 is gone, p3 is new; sent by the CLI.
	writeFile(t, cfgPath, head+pipelineTOML("p1", "out1b")+pipelineTOML("p3", "out3"))
	waitFor(t, 20*time.Second, "the pid file", func() bool { _, err := os.Stat(pidFile); return err == nil })
	if out, err := exec.Command(wasmhostBinary(t), "reload", "--pid-file", pidFile).CombinedOutput(); err != nil {
		t.Fatalf("wasmhost reload: %v\n%s", err, out)
	}
	waitLog(t, d, "config reloaded", 1)
	logs := d.logs.String()
	for _, want := range []string{`"added":["p3"]`, `"removed":["p2"]`, `"changed":["p1"]`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the reload log line lacks %s", want)
		}
	}
	// The binary logs durations with their unit.
	if !regexp.MustCompile(`"took":"[0-9.]+(µs|ms|s)"`).MatchString(logs) {
		t.Fatalf("the reload log line's took has no unit:\n%s", logs)
	}
	produceN(t, br.Addr(), "in", 500, 500)
	waitKeys(t, br.Addr(), "out1b", 500, 500) // p1 goes on from its committed offset
	waitKeys(t, br.Addr(), "out3", 0, 1000)   // p3 is a new group: from the start
	if n := highWater(t, br.Addr(), "out2"); n != 500 {
		t.Fatalf("the removed pipeline wrote %d records, want 500 (none after the reload)", n)
	}
	if n := highWater(t, br.Addr(), "out1"); n != 500 {
		t.Fatalf("p1 wrote %d records to its old topic, want 500", n)
	}

	// Rejected whole, the running config stays.
	hup := func() {
		t.Helper()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	bad := []struct{ name, config, want string }{
		{"syntax", head + "[[pipelines]\n", "new config rejected"},
		{"invalid", head + pipelineTOML("p1", "out1b") + "batch_size = 0\n", "pipelines[0].batch_size"},
		{"needs a restart", strings.Replace(head, "[kafka]", "[kafka]\nclient_id = \"other\"", 1) + pipelineTOML("p1", "out1b"), "changing kafka.client_id needs a restart of the daemon"},
		{"plugin does not load", head + pipelineTOML("p1", "out1b") + strings.Replace(pipelineTOML("p4", "out3"), `"forward"`, `"missing"`, 1), "pipelines[1].plugin"},
	}
	for i, b := range bad {
		writeFile(t, cfgPath, b.config)
		hup()
		waitLog(t, d, "new config rejected", i+1)
		if !strings.Contains(d.logs.String(), b.want) {
			t.Fatalf("%s: the rejection does not say %q", b.name, b.want)
		}
	}
	if got := logCount(d, "config reloaded"); got != 1 {
		t.Fatalf("%d configs applied, want 1", got)
	}
	produceN(t, br.Addr(), "in", 1000, 300)
	waitKeys(t, br.Addr(), "out1b", 500, 800)
	waitKeys(t, br.Addr(), "out3", 0, 1300)

	// reload.watch_config: turned on by SIGHUP, then a file change is
	// enough to remove p3.
	writeFile(t, cfgPath, head+"[reload]\nwatch_config = true\ndelay = \"50ms\"\n"+pipelineTOML("p1", "out1b")+pipelineTOML("p3", "out3"))
	hup()
	waitLog(t, d, "config reloaded", 2)
	writeFile(t, cfgPath, head+"[reload]\nwatch_config = true\ndelay = \"50ms\"\n"+pipelineTOML("p1", "out1b"))
	waitLog(t, d, "config reloaded", 3)
	if !strings.Contains(d.logs.String(), `"removed":["p3"]`) {
		t.Fatal("the watched config change did not remove p3")
	}
	produceN(t, br.Addr(), "in", 1300, 200)
	waitKeys(t, br.Addr(), "out1b", 500, 1000)
	if n := highWater(t, br.Addr(), "out3"); n != 1300 {
		t.Fatalf("the removed p3 wrote %d records, want 1300", n)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("daemon exit code %d", code)
	}
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
}

// waitKeys waits until topic holds keys key-from..key-(from+n-1).
func waitKeys(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("keys %d..%d in %s", from, from+n-1, topic), func() bool {
		if highWater(t, addr, topic) < int64(n) {
			return false
		}
		got := keys(readAll(t, addr, topic, int(highWater(t, addr, topic)), 10*time.Second))
		for i := from; i < from+n; i++ {
			if !got[fmt.Sprintf("key-%d", i)] {
				return false
			}
		}
		return true
	})
}

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// addCPlugin builds the C plugin in host/testdata/plugins/src into dir as
// name.wasm.
func addCPlugin(t *testing.T, dir, name, src string) {
	t.Helper()
	out, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join(testutil.Root(t), "host", "testdata", "plugins", src), Out: t.TempDir()})
	if err != nil {
		t.Fatalf("building the C plugin %s (does scripts/setup-c.sh pass?): %v", src, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, name+".wasm"), string(b))
}

// peakRSS is the process's peak resident memory in KiB (VmHWM), 0 when
// unknown.
func peakRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int
		if _, err := fmt.Sscanf(l, "VmHWM: %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}

// TestRunawayRecursionDoesNotFreezeTheDaemon (issue 12): a plugin running
// away in branching recursion (no loop: 2^60 calls) beside a healthy
// pipeline. The healthy pipeline keeps copying, /healthz keeps answering
// while the attack runs, each attack is stopped at its call_timeout, and
// SIGTERM stops the daemon. Before calls were metered, the runaway call
// never reached Go again, the garbage collector waited on it to stop the
// world, and the whole daemon froze: healthz, the other pipeline, signals.
func TestRunawayRecursionDoesNotFreezeTheDaemon(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out")
	createTopics(t, b.Addr(), 1, "bad-in", "bad-out")
	plugins := pluginsDir(t, "forward")
	addCPlugin(t, plugins, "runaway", "runaway-c")
	httpAddr := freePort(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "c.toml"), fmt.Sprintf(`
[kafka]
brokers = [%[1]q]
[plugins]
dir = %[2]q
cache_dir = %[3]q
[http]
listen = %[4]q

[[pipelines]]
name = "healthy"
plugin = "forward"
topics = ["in"]
config = { to = "out" }

[[pipelines]]
name = "runaway"
plugin = "runaway"
topics = ["bad-in"]
batch_size = 1
config = { to = "bad-out" }
[pipelines.failure]
policy = "skip"
retries = 0
[pipelines.limits]
call_timeout = "2s"
`, b.Addr(), plugins, testutil.CacheDir(t), httpAddr))
	const rate = 4000
	feed := startFeed(t, b.Addr(), "in", rate)
	d := startDaemon(t, path)
	client := &http.Client{Timeout: 3 * time.Second}
	healthz := func() (time.Duration, error) {
		began := time.Now()
		resp, err := client.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			return time.Since(began), err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return time.Since(began), fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(began), nil
	}
	// The runaway pipeline holds its partition, so it takes the attacks as
	// soon as they are produced.
	waitFor(t, 60*time.Second, "the runaway pipeline's partition", func() bool {
		for _, l := range strings.Split(d.logs.String(), "\n") {
			if strings.Contains(l, `"pipeline":"runaway"`) && strings.Contains(l, "partitions assigned") {
				return true
			}
		}
		return false
	})
	// Caught up with the feed: from here it copies at the feed's rate.
	waitFor(t, 60*time.Second, "the healthy pipeline to catch up with the feed", func() bool {
		return highWater(t, b.Addr(), "out") >= feed.next.Load()-rate/2
	})
	window := 3 * time.Second
	copied := func() int64 {
		from := highWater(t, b.Addr(), "out")
		time.Sleep(window)
		return highWater(t, b.Addr(), "out") - from
	}
	before := copied()

	// Four attacks, one call each: 8 s of runaway calls at 2 s each.
	produceSpread(t, b.Addr(), "bad-in", []string{"recurse", "recurse-indirect", "recurse", "recurse-indirect"})
	// During the attack: the healthy pipeline copies, /healthz answers.
	stopPolling := make(chan struct{})
	polled := make(chan error, 1)
	var slowest time.Duration
	go func() {
		for {
			select {
			case <-stopPolling:
				polled <- nil
				return
			case <-time.After(200 * time.Millisecond):
			}
			d, err := healthz()
			slowest = max(slowest, d)
			if err != nil {
				polled <- fmt.Errorf("/healthz during the attack: %w", err)
				return
			}
		}
	}()
	during := copied()
	close(stopPolling)
	if err := <-polled; err != nil {
		t.Fatal(err)
	}
	if during == 0 {
		t.Fatalf("the healthy pipeline copied nothing during the attack (%d in %s before)", before, window)
	}
	waitFor(t, 60*time.Second, "the first runaway call to be stopped", func() bool {
		return strings.Contains(d.logs.String(), "plugin call timed out: stopped after 2s")
	})
	rss := peakRSS(d.cmd.Process.Pid)
	// SIGTERM while runaway calls are still running.
	stopped := time.Now()
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	feed.stop()
	t.Logf("healthy pipeline: %d records in %s before the attack, %d during it (%.0f%%); slowest /healthz %s; "+
		"daemon peak RSS %d MiB; %d bytes of log; stopped %s after SIGTERM",
		before, window, during, 100*float64(during)/float64(max(before, 1)), slowest.Round(time.Millisecond),
		rss>>10, len(d.logs.String()), time.Since(stopped).Round(time.Millisecond))
}

// TestMissingPluginFileExits2: a plugin file the configuration names that
// does not exist is a configuration error (exit code 2), and the error
// names the file.
func TestMissingPluginFileExits2(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 1, "in")
	path := writeFile(t, filepath.Join(t.TempDir(), "c.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
[[pipelines]]
name = "p"
plugin = "nosuch"
topics = ["in"]
`, b.Addr(), t.TempDir()))
	_, stderr, code := runCLI(t, "run", "--config", path)
	if code != 2 || !strings.Contains(stderr, "nosuch.wasm: no such file or directory") || strings.Contains(stderr, "()") {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
}

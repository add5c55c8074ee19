package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// daemonProc is the wasmhost binary running as a subprocess.
type daemonProc struct {
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error
	pidFile string // written by the daemon once its signal handlers are in place
}

func startDaemon(t *testing.T, configPath string) *daemonProc {
	t.Helper()
	return startDaemonArgs(t, "--config", configPath)
}

// startDaemonArgs runs `wasmhost run` with args and JSON logs.
func startDaemonArgs(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{logs: &syncBuffer{}, done: make(chan error, 1)}
	if !slices.Contains(args, "--pid-file") {
		d.pidFile = filepath.Join(t.TempDir(), "wasmhost.pid")
		args = append(slices.Clip(args), "--pid-file", d.pidFile)
	} else {
		d.pidFile = args[slices.Index(args, "--pid-file")+1]
	}
	d.cmd = exec.Command(wasmhostBinary(t), append(append([]string{"run"}, args...), "--log-format", "json")...)
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon %d log (last lines):\n%s", d.cmd.Process.Pid, tail(d.logs.String(), 40))
		}
	})
	return d
}

// stop sends SIGTERM and returns the exit code. It first waits for the
// daemon's pid file, which `run` writes once its signal handlers are in
// place (or for the exit): a SIGTERM that lands before that ends the
// process by the signal's default action (exit code -1), which a busy
// machine made happen when a test stopped a daemon it had just restarted.
func (d *daemonProc) stop(t *testing.T) int {
	t.Helper()
	if d.pidFile != "" {
		waitFor(t, 90*time.Second, "the daemon's pid file (its signal handlers)", func() bool {
			if _, err := os.Stat(d.pidFile); err == nil {
				return true
			}
			select {
			case err := <-d.done:
				d.done <- err // exited: stop's select below sees it
				return true
			default:
				return false
			}
		})
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("daemon did not exit after SIGTERM\n%s", d.logs)
	}
	return d.cmd.ProcessState.ExitCode()
}

// TestSIGTERMLosesNothing stops the daemon mid-stream with SIGTERM: it exits
// 0, every committed input offset is covered by output, and a restart
// finishes the stream with nothing missing.
func TestSIGTERMLosesNothing(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 4, "in", "out")
	cfgPath := copyConfig(t, b.Addr(), "batch_size = 64\n")
	const n = 20000
	produceN(t, b.Addr(), "in", 0, n)
	d := startDaemon(t, cfgPath)
	waitFor(t, 60*time.Second, "the daemon to copy some records", func() bool {
		return highWater(t, b.Addr(), "out") >= 2000
	})
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n%s", code, d.logs)
	}

	// Everything below a committed offset must have been copied.
	in := readAll(t, b.Addr(), "in", n, 30*time.Second)
	outKeys := keys(readAll(t, b.Addr(), "out", 1, 5*time.Second))
	commits := committed(t, b.Addr(), "wasmhost-copy", "in")
	lost := 0
	for _, m := range in {
		if m.Offset < commits[m.Partition] && !outKeys[string(m.Key)] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d records committed but never copied (commits %v)", lost, commits)
	}

	d = startDaemon(t, cfgPath)
	out := readAll(t, b.Addr(), "out", n, 90*time.Second)
	outKeys = keys(out)
	for i := range n {
		if !outKeys[fmt.Sprintf("key-%d", i)] {
			t.Fatalf("key-%d missing after restart (%d output records)\n%s", i, len(out), d.logs)
		}
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("second run: exit code %d", code)
	}
}

// TestBrokerCommandServesKafkaClients runs `wasmhost broker` and uses it with
// a plain Kafka client: topics, produce, consume, and a consumer group.
func TestBrokerCommandServesKafkaClients(t *testing.T) {
	addr := freePort(t)
	cmd := exec.Command(wasmhostBinary(t), "broker", "--listen", addr, "--data-dir", t.TempDir())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	waitFor(t, 20*time.Second, "the broker to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	createTopics(t, addr, 3, "t")
	produceN(t, addr, "t", 0, 300)
	if got := readAll(t, addr, "t", 300, 20*time.Second); len(got) != 300 {
		t.Fatalf("consumed %d of 300", len(got))
	}
	group, err := sarama.NewConsumerGroup([]string{addr}, "g", saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHandler{want: 300, done: make(chan struct{})}
	ctx, cancel := contextWithCancel(contextFor(t))
	go func() {
		for ctx.Err() == nil {
			_ = group.Consume(ctx, []string{"t"}, h)
		}
	}()
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("consumer group read %d of 300", h.n.Load())
	}
	cancel()
	_ = group.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("broker did not stop")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("broker exit code %d\n%s", code, logs.String())
	}
}

func tail(s string, n int) string {
	ls := lines(s)
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// TestSIGTERMWhileStarting stops the daemon while it is still loading a
// plugin (one whose initialisation runs until its time limit): it exits 0
// at once, saying it stopped while starting, instead of failing the load.
func TestSIGTERMWhileStarting(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 1, "in", "out")
	cfgPath := writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[[pipelines]]
name = "slow-start"
plugin = %q
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
[pipelines.grants]
env = { HOSTILE_INIT = "loop" }
[pipelines.limits]
call_timeout = "5m"
`, b.Addr(), t.TempDir(), testutil.CacheDir(t), testutil.BuildPlugin(t, "host/testdata/plugins/hostile")))
	d := startDaemon(t, cfgPath)
	waitFor(t, 90*time.Second, "the daemon to start loading the plugin", func() bool {
		return strings.Contains(d.logs.String(), `"message":"plugin version loading"`)
	})
	start := time.Now()
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM while starting\n%s", code, d.logs)
	}
	if took := time.Since(start); took > time.Minute {
		t.Errorf("took %s to stop: it waited for the load", took)
	}
	if !strings.Contains(d.logs.String(), `"message":"stopped while starting"`) {
		t.Errorf("the log does not say it stopped while starting:\n%s", d.logs)
	}
}

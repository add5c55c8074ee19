package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(wasmhostBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestBrokenConfigReportsEveryProblemWithExitCode2(t *testing.T) {
	path := writeFile(t, filepath.Join(t.TempDir(), "bad.toml"), `
shutdown_timeout = "soon"
[[pipelines]]
name = "p"
topics = []
guarantee = "twice"
batchsize = 10
`)
	_, stderr, code := runCLI(t, "run", "--config", path)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{path, "shutdown_timeout", "pipelines[0].plugin", "pipelines[0].topics", "pipelines[0].guarantee", "pipelines[0].batchsize"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"run", "--no-such-flag"}, {"frobnicate"}, {"version", "extra"}, {"run", "--config", "/does/not/exist.toml"},
		{"reload"}, {"reload", "--pid", "1", "--pid-file", "x"}, {"reload", "--pid-file", "/does/not/exist.pid"},
		{"broker", "--log-format", "xml"}, {"run", "--log-level", "loud"}} {
		if _, stderr, code := runCLI(t, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit code %d, stderr %q", args, code, stderr)
		}
	}
	out, _, code := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("plugin ABI %d", abi.Version)) {
		t.Fatalf("version: %d %q", code, out)
	}
	for _, c := range [][]string{{"--help"}, {"run", "--help"}, {"broker", "--help"}, {"topics", "setup", "--help"}, {"version", "--help"}, {"reload", "--help"}} {
		if out, _, code := runCLI(t, c...); code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d\n%s", c, code, out)
		}
	}
}

func TestTopicsSetupCreatesAndRecreates(t *testing.T) {
	b := startBroker(t, "")
	path := writeFile(t, filepath.Join(t.TempDir(), "c.toml"), `
[kafka]
brokers = ["`+b.Addr()+`"]
[[topics]]
name = "alpha"
partitions = 3
[[topics]]
name = "beta"
`)
	out, stderr, code := runCLI(t, "topics", "setup", "--config", path)
	if code != 0 || !strings.Contains(out, "alpha: created") || !strings.Contains(out, "beta: created") {
		t.Fatalf("first setup: %d\n%s\n%s", code, out, stderr)
	}
	out, _, code = runCLI(t, "topics", "setup", "--config", path)
	if code != 0 || !strings.Contains(out, "alpha: already exists") {
		t.Fatalf("second setup: %d\n%s", code, out)
	}
	produceN(t, b.Addr(), "alpha", 0, 10)
	// Not on a terminal, --recreate deletes only with --yes.
	if out, stderr, code := runCLI(t, "topics", "setup", "--recreate", "--config", path); code != 2 || out != "" || !strings.Contains(stderr, "--yes") {
		t.Fatalf("recreate without --yes: exit %d\n%s\n%s", code, out, stderr)
	}
	start := time.Now()
	out, stderr, code = runCLI(t, "topics", "setup", "--recreate", "--yes", "--config", path)
	if code != 0 || !strings.Contains(out, "alpha: created") {
		t.Fatalf("recreate: %d\n%s\n%s", code, out, stderr)
	}
	if got := readAll(t, b.Addr(), "alpha", 1, time.Second); len(got) != 0 {
		t.Fatalf("recreated topic still holds %d records (took %s)", len(got), time.Since(start))
	}
}

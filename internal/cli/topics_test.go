package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/kafka"
)

// TestTopicsSetupOutput runs `topics setup` against a broker over TCP and
// checks its output step by step, and that --recreate deletes nothing
// until it is confirmed: on a terminal by answering y, otherwise by --yes.
func TestTopicsSetupOutput(t *testing.T) {
	b, err := kafka.StartBroker(kafka.BrokerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	path := filepath.Join(t.TempDir(), "c.toml")
	cfg := fmt.Sprintf("[kafka]\nbrokers = [%q]\n[[topics]]\nname = \"alpha\"\npartitions = 3\n[[topics]]\nname = \"beta\"\n", b.Addr())
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	terminal := false
	defer func(f func(*cobra.Command) bool) { stdinIsTerminal = f }(stdinIsTerminal)
	stdinIsTerminal = func(*cobra.Command) bool { return terminal }
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRoot(&out, &errOut)
		root.SetIn(strings.NewReader(stdin))
		code := execute(root, append([]string{"topics", "setup", "--config", path}, args...), &errOut)
		return code, out.String(), errOut.String()
	}
	check := func(what string, code, wantCode int, out, want, errOut string) {
		t.Helper()
		if code != wantCode || !regexp.MustCompile(`^`+want+`$`).MatchString(out) {
			t.Errorf("%s: exit %d (want %d), output:\n%s\nwant (regexp):\n%s\nstderr: %s", what, code, wantCode, out, want, errOut)
		}
	}
	addr := regexp.QuoteMeta(b.Addr())

	code, out, errOut := run("")
	check("first setup", code, 0, out, `creating 2 topics on `+addr+`:
  alpha: created \(3 partitions, replication factor 1\)
  beta: created \(1 partition, replication factor 1\)
`, errOut)
	code, out, errOut = run("")
	check("second setup", code, 0, out, `creating 2 topics on `+addr+`:
  alpha: already exists \(3 partitions, replication factor 1\)
  beta: already exists \(1 partition, replication factor 1\)
`, errOut)
	produce(t, b.Addr(), "alpha", 5)

	// No terminal to ask on and no --yes: refused, as a usage error.
	code, out, errOut = run("y\n", "--recreate")
	check("--recreate without a terminal", code, ExitUsage, out, ``, errOut)
	if !strings.Contains(errOut, "would delete 2 topics (alpha, beta) on "+b.Addr()+" with every record in them: pass --yes") {
		t.Errorf("--recreate without a terminal: stderr %q", errOut)
	}
	// On a terminal: asked, and "no" (or nothing) deletes nothing.
	terminal = true
	code, out, errOut = run("n\n", "--recreate")
	check("--recreate answered n", code, ExitFailure, out, ``, errOut)
	if !strings.Contains(errOut, "Continue? [y/N]") || !strings.Contains(errOut, "nothing was deleted") {
		t.Errorf("--recreate answered n: stderr %q", errOut)
	}
	if n := count(t, b.Addr(), "alpha"); n != 5 {
		t.Fatalf("alpha holds %d records after refused recreates, want 5", n)
	}
	recreated := `deleting 2 topics on ` + addr + `:
  alpha: deleted
  beta: deleted
waiting for the deletions to complete: done in [0-9.]+(µs|ms|s)
creating 2 topics on ` + addr + `:
  alpha: created \(3 partitions, replication factor 1\)
  beta: created \(1 partition, replication factor 1\)
`
	code, out, errOut = run("y\n", "--recreate")
	check("--recreate answered y", code, 0, out, recreated, errOut)
	if n := count(t, b.Addr(), "alpha"); n != 0 {
		t.Fatalf("alpha holds %d records after a recreate, want 0", n)
	}
	// --yes asks nothing, terminal or not.
	terminal = false
	code, out, errOut = run("", "--recreate", "--yes")
	check("--recreate --yes", code, 0, out, recreated, errOut)
	if errOut != "" {
		t.Errorf("--recreate --yes wrote to stderr: %q", errOut)
	}
}

func produce(t *testing.T, addr, topic string, n int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range n {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// count is the number of records in topic: the sum of its partitions'
// high watermarks.
func count(t *testing.T, addr, topic string) int64 {
	t.Helper()
	c, err := sarama.NewClient([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		n += off
	}
	return n
}

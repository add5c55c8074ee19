package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// TestConfigCheck runs `wasmhost config check` on a good config against the
// embedded broker over TCP (exit 0, nothing started: no topic is created),
// then on a config with one problem of every kind: all are listed, under
// their keys, with exit code 2.
func TestConfigCheck(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 1, "in", "out")
	dir := t.TempDir()
	addPlugin(t, dir, "forward", "plugins/forward")
	addPlugin(t, dir, "users", "plugins/users")
	writeFile(t, filepath.Join(dir, "garbage.wasm"), "not wasm")

	good := writeFile(t, filepath.Join(dir, "good.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
[[topics]]
name = "made-by-run"
partitions = 1
[[pipelines]]
name = "copy"
plugin = "forward"
topics = ["in"]
produce_topics = ["out", "made-by-run"]
config = { to = "out" }
[[sources]]
name = "users"
plugin = "users"
interval = "1s"
produce_topics = ["in"]
`, b.Addr(), dir))
	out, stderr, code := runCLIIn(t, dir, "config", "check", "--config", good)
	if code != 0 || !strings.Contains(out, "no problems") || !strings.Contains(out, "ok    pipelines[0].plugin:") ||
		!strings.Contains(out, "ok    sources[0].plugin:") || !strings.Contains(out, "answer") {
		t.Fatalf("good config: exit %d\n%s%s", code, out, stderr)
	}
	if highWater(t, b.Addr(), "in") != 0 {
		t.Error("config check produced records: it started the source")
	}
	if topics := listTopics(t, b.Addr()); strings.Contains(topics, "made-by-run") {
		t.Errorf("config check created a topic: %s", topics)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
[[pipelines]]
name = "missing-file"
plugin = "nope"
topics = ["in"]
[[pipelines]]
name = "garbage"
plugin = "garbage"
topics = ["in"]
[[pipelines]]
name = "pinned"
plugin = "forward"
topics = ["no-such-topic"]
sha256 = "%s"
[pipelines.failure]
policy = "dead-letter"
dead_letter_topic = "no-dlq"
[[sources]]
name = "not-a-source"
plugin = "forward"
interval = "1s"
produce_topics = ["out"]
`, b.Addr(), dir, strings.Repeat("ab", 32)))
	out, stderr, code = runCLIIn(t, dir, "config", "check", "--config", bad)
	for _, want := range []string{
		"FAIL  pipelines[0].plugin:", "FAIL  pipelines[1].plugin:", "FAIL  pipelines[2].plugin:", "FAIL  sources[0].plugin:",
		"no tick handler", "sha256",
		`FAIL  pipelines[2].topics[0]: topic "no-such-topic" does not exist`,
		`FAIL  pipelines[2].failure.dead_letter_topic: topic "no-dlq" does not exist`,
		"6 problems",
	} {
		if !strings.Contains(out+stderr, want) {
			t.Errorf("bad config lacks %q: exit %d\n%s%s", want, code, out, stderr)
		}
	}
	if code != 2 {
		t.Errorf("bad config: exit %d, want 2", code)
	}

	// Brokers that do not answer, and a config that does not validate.
	gone := writeFile(t, filepath.Join(dir, "gone.toml"), fmt.Sprintf("[kafka]\nbrokers = [%q]\n", freePort(t)))
	out, stderr, code = runCLIIn(t, dir, "config", "check", "--config", gone, "--timeout", "1s")
	if code != 2 || !strings.Contains(out, "FAIL  kafka.brokers:") {
		t.Errorf("unreachable brokers: exit %d\n%s%s", code, out, stderr)
	}
	invalid := writeFile(t, filepath.Join(dir, "invalid.toml"), "[[pipelines]]\nname = \"x\"\nbatch_size = -1\n")
	if _, stderr, code = runCLIIn(t, dir, "config", "check", "--config", invalid); code != 2 || !strings.Contains(stderr, "pipelines[0]") {
		t.Errorf("invalid config: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("config check wrote a data directory")
	}
}

// listTopics names the topics the broker has, without creating any.
func listTopics(t *testing.T, addr string) string {
	t.Helper()
	cfg := saramaConfig()
	cfg.Metadata.AllowAutoTopicCreation = false
	c, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	names, err := c.Topics()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}

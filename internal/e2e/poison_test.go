package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// poisonAt says which records of partition 0 are poison: the hostile
// plugin fails "fail" records and traps on "panic" ones. Partition 1 is
// clean.
var poisonAt = map[int]string{20: "fail", 45: "panic", 70: "fail"}

const perPartition = 100

func producePoison(t *testing.T, addr string) {
	t.Helper()
	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var msgs []*sarama.ProducerMessage
	for part := int32(0); part < 2; part++ {
		for i := range perPartition {
			v := fmt.Sprintf("p%d-%d", part, i)
			if kind, ok := poisonAt[i]; ok && part == 0 {
				v = kind
			}
			msgs = append(msgs, &sarama.ProducerMessage{Topic: "in", Partition: part,
				Key: sarama.StringEncoder(fmt.Sprintf("k%d-%d", part, i)), Value: sarama.StringEncoder(v),
				Headers: []sarama.RecordHeader{{Key: []byte("origin"), Value: []byte("poison-test")}}})
		}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

func TestPoisonRecords(t *testing.T) {
	cases := []struct{ policy, guarantee string }{
		{"dead-letter", "at-least-once"},
		{"dead-letter", "exactly-once"},
		{"skip", "at-least-once"},
		{"stop", "at-least-once"},
	}
	for _, c := range cases {
		t.Run(c.policy+"/"+c.guarantee, func(t *testing.T) {
			t.Parallel()
			testPoison(t, c.policy, c.guarantee)
		})
	}
}

func testPoison(t *testing.T, policy, guarantee string) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out", "dlq")
	dlq := ""
	if policy == "dead-letter" {
		dlq = `dead_letter_topic = "dlq"`
	}
	path := daemonConfig(t, b.Addr(), t.TempDir(), fmt.Sprintf(`[[pipelines]]
name = "poison"
plugin = %q
topics = ["in"]
guarantee = %q
batch_size = 16
produce_topics = ["out"]
config = { to = "out" }
[pipelines.failure]
policy = %q
retries = 2
backoff = "10ms"
%s
`, testutil.BuildPlugin(t, "host/testdata/plugins/hostile"), guarantee, policy, dlq))
	d := runInProcess(t, path)
	producePoison(t, b.Addr())

	// The partition keeps moving past poison (or, with stop, halts at the
	// first one while partition 1 finishes).
	want := map[int32]int64{0: perPartition, 1: perPartition}
	if policy == "stop" {
		want[0] = 20
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("committed offsets %v", want), func() bool {
		got := committedNoFail(b.Addr(), "wasmhost-poison", "in")
		return got[0] == want[0] && got[1] == want[1]
	})
	d.stop()

	committedReads := guarantee == "exactly-once"
	good := 2*perPartition - len(poisonAt)
	if policy == "stop" {
		good = perPartition + 20
	}
	out := readAllWith(t, b.Addr(), "out", good, 20*time.Second, committedReads)
	if len(out) != good {
		t.Fatalf("%d records copied, want %d", len(out), good)
	}
	for _, m := range out {
		if _, poison := map[string]bool{"fail": true, "panic": true}[string(m.Value)]; poison {
			t.Fatalf("poison record %q was copied", m.Value)
		}
	}
	dead := readAllWith(t, b.Addr(), "dlq", len(poisonAt), 5*time.Second, committedReads)
	if policy != "dead-letter" {
		if len(dead) != 0 {
			t.Fatalf("%d dead letters with policy %s", len(dead), policy)
		}
		if policy == "skip" && countLines(d.logs.String(), "failure.policy = skip") != len(poisonAt) {
			t.Fatalf("skipped records not logged:\n%s", d.logs)
		}
		if policy == "stop" && countLines(d.logs.String(), "partition halted") != 1 {
			t.Fatalf("halt not logged once:\n%s", d.logs)
		}
		return
	}
	if len(dead) != len(poisonAt) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(poisonAt))
	}
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[string(x.Key)] = string(x.Value)
		}
		off, _ := strconv.Atoi(h[pipeline.HeaderOffset])
		kind, ok := poisonAt[off]
		if !ok || string(m.Value) != kind || string(m.Key) != fmt.Sprintf("k0-%d", off) || h["origin"] != "poison-test" {
			t.Errorf("dead letter %q/%q at offset %d does not keep the original record: %v", m.Key, m.Value, off, h)
		}
		for _, k := range []string{pipeline.HeaderError, pipeline.HeaderPlugin, pipeline.HeaderPluginSHA256, pipeline.HeaderPipeline,
			pipeline.HeaderTopic, pipeline.HeaderPartition, pipeline.HeaderAttempts, pipeline.HeaderFailedAt} {
			if h[k] == "" {
				t.Errorf("dead letter at offset %d lacks header %s", off, k)
			}
		}
		if h[pipeline.HeaderTopic] != "in" || h[pipeline.HeaderPartition] != "0" || len(h[pipeline.HeaderPluginSHA256]) != 64 {
			t.Errorf("dead letter headers %v", h)
		}
		if a, _ := strconv.Atoi(h[pipeline.HeaderAttempts]); a != 3 {
			t.Errorf("attempts = %q, want 3 (1 + 2 retries)", h[pipeline.HeaderAttempts])
		}
	}
}

func countLines(s, substr string) int {
	n := 0
	for _, l := range lines(s) {
		if contains(l, substr) {
			n++
		}
	}
	return n
}

// TestHaltedPartitionResumesOnNewVersion halts a partition with the stop
// policy, then drops in a plugin version that handles the record: the
// partition resumes from the record it halted at, and nothing is lost or
// copied twice. Under exactly-once the halt falls inside a transaction
// spanning batches: it commits up to the record and keeps the rest.
func TestHaltedPartitionResumesOnNewVersion(t *testing.T) {
	for _, g := range []string{"at-least-once", "exactly-once"} {
		t.Run(g, func(t *testing.T) {
			t.Parallel()
			testHaltResume(t, g)
		})
	}
}

func testHaltResume(t *testing.T, guarantee string) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "tag.wasm")
	writeFile(t, plugin, string(pluginBytes(t, "host/testdata/plugins/hostile")))
	path := writeFile(t, filepath.Join(t.TempDir(), "c.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[reload]
delay = "100ms"
[[pipelines]]
name = "poison"
plugin = "tag"
topics = ["in"]
guarantee = %q
batch_size = 16
produce_topics = ["out"]
config = { to = "out" }
[pipelines.failure]
policy = "stop"
retries = 0
`, b.Addr(), dir, testutil.CacheDir(t), guarantee))
	d := runInProcess(t, path)
	producePoison(t, b.Addr())
	waitFor(t, 60*time.Second, "partition 0 to halt at offset 20", func() bool {
		got := committedNoFail(b.Addr(), "wasmhost-poison", "in")
		return got[0] == 20 && got[1] == perPartition && countLines(d.logs.String(), "partition halted") == 1
	})

	// forward copies every value, poison included.
	replaceFile(t, plugin, pluginBytes(t, "plugins/forward"))
	waitFor(t, 60*time.Second, "partition 0 to resume and finish", func() bool {
		got := committedNoFail(b.Addr(), "wasmhost-poison", "in")
		return got[0] == perPartition && got[1] == perPartition
	})
	d.stop()
	if countLines(d.logs.String(), "resuming the halted partition") != 1 {
		t.Fatalf("resume not logged once:\n%s", d.logs)
	}
	out := readAllWith(t, b.Addr(), "out", 2*perPartition, 20*time.Second, guarantee == "exactly-once")
	seen := map[string]int{}
	for _, m := range out {
		seen[string(m.Key)]++
	}
	for part := range 2 {
		for i := range perPartition {
			if k := fmt.Sprintf("k%d-%d", part, i); seen[k] != 1 {
				t.Errorf("%s copied %d times", k, seen[k])
			}
		}
	}
}

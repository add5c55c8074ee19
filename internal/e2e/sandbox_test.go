package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// hostileRecords are handed to the hostile plugin in this order, each with
// the error its dead letter must carry. "ok-*" and "probe" go through.
var hostileRecords = []struct{ value, err string }{
	{"ok-1", ""},
	{"panic", "panic: hostile: asked to panic"},
	{"loop", "plugin call timed out: stopped after 2s"},
	{"sleep", "plugin call timed out: stopped after 2s"},
	{"bomb", "out of memory"},
	{"fail", "hostile: asked to fail"},
	{"forbidden", `topic "forbidden-topic" is not in this pipeline's produce_topics`},
	{"big", "over the 1048576-byte limit"},
	{"flood", "produced more than 1000 records in one call"},
	{"heavy", "produced more than 4194304 bytes in one call"},
	{"probe", ""},
	{strings.Repeat("x", 100<<10), "over the 65536-byte input limit; not handed to the plugin"},
	{"ok-2", ""},
}

// TestHostilePipelineIsContained runs one daemon with three pipelines: a
// healthy forward copy, a pipeline whose plugin is handed every attack the
// hostile plugin knows, and one whose plugin panics in init on every
// instance. The daemon stays up, the healthy pipeline copies everything,
// each attack ends as a dead letter carrying its cause, and nothing is
// produced where it should not be.
func TestHostilePipelineIsContained(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out")
	createTopics(t, b.Addr(), 1, "hostile-in", "hostile-out", "dlq", "forbidden-topic", "init-in", "init-out")
	path := writeFile(t, filepath.Join(t.TempDir(), "c.toml"), fmt.Sprintf(`
[kafka]
brokers = [%[1]q]
[plugins]
dir = %[2]q
cache_dir = %[3]q

[[pipelines]]
name = "healthy"
plugin = "forward"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }

[[pipelines]]
name = "hostile"
plugin = %[4]q
topics = ["hostile-in"]
batch_size = 16
produce_topics = ["hostile-out"]
config = { to = "hostile-out", dial = %[1]q, read = "/etc/passwd" }
[pipelines.failure]
policy = "dead-letter"
retries = 1
backoff = "10ms"
dead_letter_topic = "dlq"
[pipelines.limits]
memory = "16MiB"
call_timeout = "2s"
max_input_record = "64KiB"
max_outputs = 1000
max_output_bytes = "4MiB"

[[pipelines]]
name = "broken-init"
plugin = %[4]q
topics = ["init-in"]
produce_topics = ["init-out"]
config = { to = "init-out" }
[pipelines.grants]
env = { HOSTILE_INIT = "panic" }
`, b.Addr(), pluginsDir(t, "forward"), testutil.CacheDir(t), testutil.BuildPlugin(t, "host/testdata/plugins/hostile")))
	d := runInProcess(t, path)

	values := make([]string, len(hostileRecords))
	for i, r := range hostileRecords {
		values[i] = r.value
	}
	produceValues(t, b.Addr(), "hostile-in", values...)
	produceValues(t, b.Addr(), "init-in", "never handled")
	const n = 2000
	produceN(t, b.Addr(), "in", 0, n)

	waitFor(t, 60*time.Second, "the hostile pipeline to commit every record", func() bool {
		return committedNoFail(b.Addr(), "wasmhost-hostile", "hostile-in")[0] == int64(len(hostileRecords))
	})
	if out := readAll(t, b.Addr(), "out", n, 60*time.Second); len(keys(out)) != n {
		t.Fatalf("healthy pipeline copied %d distinct records of %d", len(keys(out)), n)
	}
	// Still up and still serving the hostile pipeline after all that.
	produceValues(t, b.Addr(), "hostile-in", "ok-3")
	checkHostileOutput(t, b.Addr())
	checkDeadLetters(t, b.Addr())
	if got := highWater(t, b.Addr(), "forbidden-topic"); got != 0 {
		t.Errorf("%d records written to forbidden-topic", got)
	}
	if got := highWater(t, b.Addr(), "init-out"); got != 0 {
		t.Errorf("%d records from a plugin that cannot start", got)
	}
	if got := committedNoFail(b.Addr(), "wasmhost-broken-init", "init-in"); got[0] > 0 {
		t.Errorf("broken-init committed %v without ever running", got)
	}
	select {
	case err := <-d.done:
		t.Fatalf("daemon exited: %v\n%s", err, d.logs)
	default:
	}
	d.stop()
	text := d.logs.String()
	for _, want := range []string{
		`"message":"cannot instantiate plugin"`, "panic: hostile: asked to panic in init", // broken-init, retried
		"plugin trapped", "plugin call timed out", `"message":"refused a produced record"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the log never says %q", want)
		}
	}
	if got := countLines(text, "sent to the dead-letter topic"); got != deadLetterCount() {
		t.Errorf("%d dead letters logged, want %d", got, deadLetterCount())
	}
}

func deadLetterCount() int {
	n := 0
	for _, r := range hostileRecords {
		if r.err != "" {
			n++
		}
	}
	return n
}

// checkHostileOutput: exactly the good records and the probe's report, in
// which every attempt to reach outside failed.
func checkHostileOutput(t *testing.T, addr string) {
	t.Helper()
	out := readAll(t, addr, "hostile-out", 4, 60*time.Second)
	var got []string
	var probe map[string]string
	for _, m := range out {
		if strings.HasPrefix(string(m.Value), "{") {
			if err := json.Unmarshal(m.Value, &probe); err != nil {
				t.Fatal(err)
			}
			got = append(got, "probe")
			continue
		}
		got = append(got, string(m.Value))
	}
	if strings.Join(got, ",") != "ok-1,probe,ok-2,ok-3" {
		t.Fatalf("hostile-out holds %v, want ok-1, probe, ok-2, ok-3", got)
	}
	for _, k := range []string{"read /etc/passwd", "list /", "write /tmp/hostile", "dial"} {
		if !strings.HasPrefix(probe[k], "error: ") {
			t.Errorf("probe %s: %q; want an error", k, probe[k])
		}
	}
	if probe["environ"] != "ok: " || probe["args"] != "ok: " {
		t.Errorf("probe saw environment %q and arguments %q", probe["environ"], probe["args"])
	}
}

// checkDeadLetters: one per attack, the original record with the headers
// saying what went wrong.
func checkDeadLetters(t *testing.T, addr string) {
	t.Helper()
	dead := readAll(t, addr, "dlq", deadLetterCount(), 30*time.Second)
	if len(dead) != deadLetterCount() {
		t.Fatalf("%d dead letters, want %d", len(dead), deadLetterCount())
	}
	for _, m := range dead {
		h := map[string]string{}
		for _, x := range m.Headers {
			h[string(x.Key)] = string(x.Value)
		}
		off, err := strconv.Atoi(h[pipeline.HeaderOffset])
		if err != nil || off >= len(hostileRecords) {
			t.Fatalf("dead letter with offset header %q", h[pipeline.HeaderOffset])
		}
		want := hostileRecords[off]
		if string(m.Value) != want.value || want.err == "" {
			t.Errorf("dead letter at offset %d holds %.20q", off, m.Value)
			continue
		}
		if !strings.Contains(h[pipeline.HeaderError], want.err) {
			t.Errorf("dead letter of %.20q says %q; want %q", want.value, h[pipeline.HeaderError], want.err)
		}
		if h[pipeline.HeaderPipeline] != "hostile" || h[pipeline.HeaderPlugin] == "" || h[pipeline.HeaderAttempts] == "" {
			t.Errorf("dead letter of %.20q lacks context: %v", want.value, h)
		}
	}
}

// produceValues produces one record per value to partition 0, in order.
func produceValues(t *testing.T, addr, topic string, values ...string) {
	t.Helper()
	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("h-%d", i)), Value: sarama.StringEncoder(v)}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

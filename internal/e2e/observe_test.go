package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/kafka"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// TestMetricsMatchWhatFlowed runs a pipeline whose plugin fails some records
// and traps on others, then checks that /metrics and /api/status count
// exactly what the test produced, what the plugin dropped into the
// dead-letter topic and where.
func TestMetricsMatchWhatFlowed(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 4, "in", "out", "dlq")
	dir := pluginsDir(t, "users")
	addPlugin(t, dir, "hostile", "host/testdata/plugins/hostile")
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[[pipelines]]
name = "copy"
plugin = "hostile"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
[pipelines.failure]
policy = "dead-letter"
dead_letter_topic = "dlq"
retries = 1
backoff = "10ms"
[[sources]]                # never ticks during the test: its series are there, at 0
name = "idle"
plugin = "users"
interval = "1h"
produce_topics = ["users"]
`, b.Addr(), dir, testutil.CacheDir(t)))
	d := runMonitored(t, path, nil)
	d.waitReady(t, 60*time.Second)

	// 1000 records: every 50th (from 7) fails, two make the plugin panic.
	const n = 1000
	values := make([]string, n)
	poison := map[int]bool{}
	for i := range values {
		values[i] = fmt.Sprintf("value-%d", i)
		switch {
		case i%50 == 7:
			values[i] = "fail"
			poison[i] = true
		case i == 333 || i == 777:
			values[i] = "panic"
			poison[i] = true
		}
	}
	bad := len(poison)
	produceSpread(t, b.Addr(), "in", values)
	if got := readAll(t, b.Addr(), "out", n-bad, 60*time.Second); len(got) != n-bad {
		t.Fatalf("%d records in out, want %d\n%s", len(got), n-bad, d.logs)
	}
	dlq := readAll(t, b.Addr(), "dlq", bad, 60*time.Second)
	if len(dlq) != bad {
		t.Fatalf("%d records in dlq, want %d", len(dlq), bad)
	}

	// Counters are final once the records are out; lag reaches 0 once the
	// offsets are committed and the probe has read them back.
	pipe := map[string]string{"pipeline": "copy"}
	var m metrics
	waitFor(t, 60*time.Second, "all offsets committed (lag 0 on 4 partitions)", func() bool {
		m = d.scrape(t)
		return m.sum("wasmhost_records_in_total", pipe) == n && m.series("wasmhost_consumer_lag") == 4 &&
			m.sum("wasmhost_consumer_lag", pipe) == 0 && m.series("wasmhost_consumer_processed_lag") == 4 &&
			m.sum("wasmhost_consumer_processed_lag", pipe) == 0
	})
	exact := map[string]float64{
		"wasmhost_records_in_total":                 n,
		"wasmhost_records_out_total":                n - float64(bad),
		"wasmhost_records_failed_total":             float64(bad),
		"wasmhost_records_dead_lettered_total":      float64(bad),
		"wasmhost_records_skipped_total":            0,
		"wasmhost_plugin_timeouts_total":            0,
		"wasmhost_plugin_log_lines_dropped_total":   0,
		"wasmhost_pipeline_partitions":              4,
		"wasmhost_pipeline_partitions_halted":       0,
		"wasmhost_pipeline_members_joined":          1,
		"wasmhost_producer_records_delivered_total": n, // the copies and the dead letters
		"wasmhost_producer_records_sent_total":      n,
		"wasmhost_producer_delivery_errors_total":   0,
		"wasmhost_producer_records_retried_total":   0,
		"wasmhost_producer_records_in_flight":       0,
		"wasmhost_ready":                            1,
	}
	for name, want := range exact {
		if got := m.sum(name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	idle := map[string]string{"pipeline": "idle", "plugin": "users"}
	if m.series("wasmhost_source_ticks_total") != 1 || m.sum("wasmhost_source_ticks_total", idle) != 0 ||
		m.sum("wasmhost_records_out_total", idle) != 0 {
		t.Errorf("the idle source's series are missing or not 0")
	}
	// Each panic traps its batch, then itself when retried alone.
	if traps := m.sum("wasmhost_plugin_traps_total", pipe); traps < 3 || traps > 4 {
		t.Errorf("wasmhost_plugin_traps_total = %v, want 3 or 4 (two panicking records)", traps)
	}
	calls := m.sum("wasmhost_plugin_call_duration_seconds", pipe)
	batches := m["wasmhost_plugin_batch_records"].GetMetric()[0].GetHistogram()
	if calls < 4 || float64(batches.GetSampleCount()) != calls || batches.GetSampleSum() < n {
		t.Errorf("%v calls timed, %d batches of %v records: want one batch per call and every record handed over",
			calls, batches.GetSampleCount(), batches.GetSampleSum())
	}
	if mem := m.sum("wasmhost_plugin_memory_bytes", pipe); mem < 1<<20 {
		t.Errorf("wasmhost_plugin_memory_bytes = %v, want the instances' memory", mem)
	}

	st := d.status(t)
	if len(st.Pipelines) != 1 {
		t.Fatalf("/api/status has %d pipelines", len(st.Pipelines))
	}
	p := st.Pipelines[0]
	version := p.Plugin.SHA256[:12]
	info := m["wasmhost_pipeline_info"].GetMetric()[0].GetLabel()
	if got := labelValues(info); got["plugin"] != "hostile" || got["plugin_version"] != version ||
		got["guarantee"] != "at-least-once" || got["group"] != "wasmhost-copy" {
		t.Errorf("wasmhost_pipeline_info labels %v (plugin version %s)", got, version)
	}

	// The errors name the records that went to the dead-letter topic.
	var fromDLQ, fromStatus []string
	for _, r := range dlq {
		h := headers(r.Headers)
		fromDLQ = append(fromDLQ, h["wasmhost.source.partition"]+"@"+h["wasmhost.source.offset"])
		if h["wasmhost.plugin.sha256"] != p.Plugin.SHA256 {
			t.Errorf("dead letter from plugin version %s, status says %s", h["wasmhost.plugin.sha256"], p.Plugin.SHA256)
		}
	}
	trapped := 0
	for _, e := range p.Errors {
		switch {
		case e.Kind == "failed" && e.Action == "dead-lettered":
			if e.Topic != "in" || e.Offset != e.LastOffset || e.PluginVersion != p.Plugin.SHA256 || e.Error == "" {
				t.Errorf("error event %+v", e)
			}
			fromStatus = append(fromStatus, fmt.Sprintf("%d@%d", e.Partition, e.Offset))
		case e.Kind == "trap" && e.Action == "retrying":
			trapped++
		default:
			t.Errorf("unexpected error event %+v", e)
		}
	}
	slices.Sort(fromDLQ)
	slices.Sort(fromStatus)
	if !slices.Equal(fromDLQ, fromStatus) {
		t.Errorf("errors in /api/status at %v, dead letters from %v", fromStatus, fromDLQ)
	}
	if float64(trapped) != m.sum("wasmhost_plugin_traps_total", pipe) {
		t.Errorf("%d trap events in /api/status, metrics count %v", trapped, m.sum("wasmhost_plugin_traps_total", pipe))
	}
	if p.Counts.In != n || p.Counts.DeadLettered != uint64(bad) || p.Lag != 0 || p.ProcessedLag != 0 || p.Partitions != 4 {
		t.Errorf("/api/status counts %+v, lag %d (processed %d), partitions %d", p.Counts, p.Lag, p.ProcessedLag, p.Partitions)
	}

	t.Run("record log lines carry their coordinates", func(t *testing.T) {
		checkRecordLogs(t, d.logs.String())
	})

	t.Run("a source's lines name it as source, not pipeline", func(t *testing.T) {
		seen := false
		for _, line := range strings.Split(d.logs.String(), "\n") {
			var ev map[string]any
			if json.Unmarshal([]byte(line), &ev) != nil || ev["message"] != "source started" {
				continue
			}
			seen = true
			if _, ok := ev["pipeline"]; ok || ev["source"] != "idle" {
				t.Errorf("source line %s", line)
			}
		}
		if !seen {
			t.Error(`no "source started" line`)
		}
	})

	t.Run("grafana dashboard uses only these metrics", func(t *testing.T) {
		checkDashboard(t, m)
	})

	t.Run("wasmhost status prints the same picture", func(t *testing.T) {
		out, stderr, code := runCLI(t, "status", "--addr", strings.TrimPrefix(d.url, "http://"))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{
			fmt.Sprintf("wasmhost e2e (ABI %d)", abi.Version), "· ready", "PIPELINES", "hostile@" + version, "at-least-once",
			"PARTITIONS of copy (group wasmhost-copy)", "SOURCES", "idle", "PLUGIN HISTORY", "loaded",
			"LATEST ERRORS", "dead-lettered", "hostile: asked to fail",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		for _, e := range fromStatus {
			part, off, _ := strings.Cut(e, "@")
			if !strings.Contains(out, "in/"+part+"@"+off) {
				t.Errorf("output lacks the failed record in/%s@%s", part, off)
			}
		}
		rows := regexp.MustCompile(`(?m)^wasmhost-[0-9a-f]{8}-copy-0\s+in\s+\d\s+\d+\s+\d+\s+\d+\s+0\s+0\s+running$`).FindAllString(out, -1)
		if len(rows) != 4 {
			t.Errorf("%d partition rows with lag 0, want 4:\n%s", len(rows), out)
		}
		raw, _, code := runCLI(t, "status", "--json", "--addr", d.url)
		var st struct{ Pipelines []struct{ Name string } }
		if err := json.Unmarshal([]byte(raw), &st); code != 0 || err != nil || len(st.Pipelines) != 1 || st.Pipelines[0].Name != "copy" {
			t.Errorf("status --json: exit %d, %v\n%s", code, err, raw)
		}
	})
}

// TestStatusCommandErrors: no address is a usage error (2), an address
// where no daemon answers a runtime one (1).
func TestStatusCommandErrors(t *testing.T) {
	off := writeFile(t, filepath.Join(t.TempDir(), "off.toml"), "")
	if _, stderr, code := runCLI(t, "status", "--config", off); code != 2 || !strings.Contains(stderr, "http.listen") {
		t.Errorf("no http.listen: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "status", "--addr", "nowhere"); code != 2 || !strings.Contains(stderr, "--addr") {
		t.Errorf("bad --addr: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, "status", "--addr", freePort(t)); code != 1 || !strings.Contains(stderr, "cannot reach the daemon") {
		t.Errorf("no daemon: exit %d, %q", code, stderr)
	}
}

func labelValues[L interface {
	GetName() string
	GetValue() string
}](ls []L) map[string]string {
	out := map[string]string{}
	for _, l := range ls {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func headers(hs []*sarama.RecordHeader) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		out[string(h.Key)] = string(h.Value)
	}
	return out
}

// checkRecordLogs checks that every JSON log line about an input record or
// a batch of them names its pipeline, plugin, topic and partition, and its
// offset (a batch: its first offset). The shared producer's lines about
// output records ("records delivered", "record delivery failed") are left
// out: kafka.Producer has no per-record context to name the pipeline with.
func checkRecordLogs(t *testing.T, logs string) {
	seen := 0
	for _, line := range strings.Split(logs, "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		_, rec := ev["offset"]
		_, batch := ev["first_offset"]
		if msg, _ := ev["message"].(string); !rec && !batch || strings.HasPrefix(msg, "record delivery") || msg == "records delivered" {
			continue
		}
		seen++
		for _, k := range []string{"pipeline", "plugin", "topic", "partition"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("log line without %s: %s", k, line)
			}
		}
	}
	if seen == 0 {
		t.Error("no log line about a failed record")
	}
}

var metricName = regexp.MustCompile(`\b(?:wasmhost|go|process)_[a-z0-9_]+`)

// checkDashboard checks that every metric the shipped Grafana dashboard
// queries is one the daemon serves, so the dashboard cannot silently go
// blank after a rename.
func checkDashboard(t *testing.T, m metrics) {
	raw, err := os.ReadFile(filepath.Join(testutil.Root(t), "examples", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("examples/grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatal("examples/grafana-dashboard.json has no title or no panels")
	}
	used := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				used++
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(name, suffix); ok && m[b] != nil {
						base = b
					}
				}
				if m[base] == nil {
					t.Errorf("panel %q queries %s, which /metrics does not serve", p.Title, name)
				}
			}
		}
	}
	if used < 10 {
		t.Errorf("the dashboard queries only %d metrics", used)
	}
}

// TestReadyzFollowsBrokersAndPlugins: /healthz answers from the start;
// /readyz is 503 while the brokers are unreachable and the plugins not
// loaded, 200 once they are and the group is joined, 503 again while the
// broker is down, and 200 after it comes back.
func TestReadyzFollowsBrokersAndPlugins(t *testing.T) {
	addr := freePort(t)
	data := t.TempDir()
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[[topics]]
name = "in"
partitions = 2
[[topics]]
name = "out"
[[pipelines]]
name = "copy"
plugin = "forward"
topics = ["in"]
consumers = 2
produce_topics = ["out"]
config = { to = "out" }
`, addr, pluginsDir(t, "forward"), testutil.CacheDir(t)))
	d := runMonitored(t, path, nil)

	if code, body := httpGet(t, d.url+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz before the brokers are up: %d %q", code, body)
	}
	ready, why := d.readyz(t)
	if ready || !strings.Contains(why, "kafka: not connected yet") || !strings.Contains(why, "plugins: not loaded yet") {
		t.Fatalf("/readyz with no broker: ready=%v %q", ready, why)
	}

	broker := startBrokerAt(t, addr, data)
	d.waitReady(t, 90*time.Second)
	st := d.status(t)
	if len(st.Plugins) != 1 || st.Plugins[0].Name != "forward" || st.Plugins[0].History[0].Event != "loaded" {
		t.Errorf("plugins in /api/status: %+v", st.Plugins)
	}

	broker.Close()
	waitFor(t, 60*time.Second, "/readyz to say the broker is gone", func() bool {
		ready, why = d.readyz(t)
		return !ready && strings.Contains(why, "kafka: ")
	})
	if code, _ := httpGet(t, d.url+"/healthz"); code != 200 {
		t.Fatalf("/healthz during the outage: %d", code)
	}

	startBrokerAt(t, addr, data)
	d.waitReady(t, 90*time.Second)

	d.stop()
	if !strings.Contains(d.logs.String(), "brokers available again") {
		t.Errorf("the outage and the recovery are not logged:\n%s", d.logs)
	}
}

// startBrokerAt starts an embedded broker on addr, retrying while the port
// is still held by a broker that just closed.
func startBrokerAt(t *testing.T, addr, dataDir string) *kafka.Broker {
	t.Helper()
	var b *kafka.Broker
	waitFor(t, 30*time.Second, "the broker to listen on "+addr, func() bool {
		var err error
		b, err = kafka.StartBroker(kafka.BrokerOptions{Listen: addr, DataDir: dataDir, Logger: zerolog.Nop()})
		return err == nil
	})
	t.Cleanup(b.Close)
	return b
}

// TestReloadsShowInStatus: a plugin swapped in, a plugin version refused, a
// config rejected and one applied (a pipeline added, then removed) all show
// in /api/status, /metrics and `wasmhost status`, and the pipelines listed
// follow the running config.
func TestReloadsShowInStatus(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out")
	plugins := pluginsDir(t, "forward", "print")
	dir := t.TempDir()
	conf := func(extra string) string {
		return fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[reload]
delay = "50ms"
[[pipelines]]
name = "copy"
plugin = "swapped"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
`, b.Addr(), plugins, testutil.CacheDir(t)) + extra
	}
	swapped := filepath.Join(plugins, "swapped.wasm")
	copyFile(t, filepath.Join(plugins, "forward.wasm"), swapped)
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), conf(""))
	reload := make(chan struct{}, 1)
	d := runMonitored(t, path, reload)
	d.waitReady(t, 60*time.Second)
	v1 := d.status(t).Pipelines[0].Plugin.SHA256

	// A new version of the file is swapped in.
	copyFile(t, filepath.Join(plugins, "print.wasm"), swapped+".tmp")
	if err := os.Rename(swapped+".tmp", swapped); err != nil {
		t.Fatal(err)
	}
	var v2 string
	waitFor(t, 60*time.Second, "the new plugin version in /api/status", func() bool {
		st := d.status(t)
		v2 = st.Pipelines[0].Plugin.SHA256
		return v2 != v1 && len(st.Plugins) == 1 && st.Plugins[0].SHA256 == v2 && st.Plugins[0].Reloads == 1
	})
	h := d.status(t).Plugins[0].History[0]
	if h.Event != "reloaded" || h.PreviousSHA256 != v1 || h.SHA256 != v2 || h.Seconds <= 0 {
		t.Errorf("reload event %+v, want %s -> %s", h, v1[:12], v2[:12])
	}

	// A broken file is refused; the running version stays.
	writeFile(t, swapped+".tmp", "not wasm")
	if err := os.Rename(swapped+".tmp", swapped); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the refused version in /api/status", func() bool {
		p := d.status(t).Plugins[0]
		return p.ReloadFailures == 1 && p.History[0].Event == "reload-failed" && p.SHA256 == v2
	})
	m := d.scrape(t)
	for _, c := range []struct {
		result string
		want   float64
	}{{"succeeded", 1}, {"failed", 1}} {
		if got := m.sum("wasmhost_plugin_reloads_total", map[string]string{"plugin": "swapped", "result": c.result}); got != c.want {
			t.Errorf("wasmhost_plugin_reloads_total{result=%q} = %v, want %v", c.result, got, c.want)
		}
	}
	if got := labelValues(m["wasmhost_pipeline_info"].GetMetric()[0].GetLabel())["plugin_version"]; got != v2[:12] {
		t.Errorf("wasmhost_pipeline_info plugin_version %s, want the new %s", got, v2[:12])
	}

	// A config that changes a key needing a restart is rejected whole.
	writeFile(t, path, strings.Replace(conf(""), "[kafka]", "[kafka]\nclient_id = \"other\"", 1))
	reload <- struct{}{}
	waitFor(t, 60*time.Second, "the rejected config in /api/status", func() bool {
		return d.status(t).ConfigReloads.Rejected == 1
	})
	if e := d.status(t).ConfigReloads.History[0]; e.Result != "rejected" || !strings.Contains(e.Error, "kafka.client_id") {
		t.Errorf("rejection %+v does not name kafka.client_id", e)
	}

	// A config adding a pipeline is applied, and the pipeline is listed.
	writeFile(t, path, conf(`
[[pipelines]]
name = "second"
plugin = "forward"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
`))
	reload <- struct{}{}
	waitFor(t, 60*time.Second, "two pipelines after the reload", func() bool {
		st := d.status(t)
		return st.ConfigReloads.Applied == 1 && len(st.Pipelines) == 2
	})
	// Removing it again takes it off the status and the metrics.
	writeFile(t, path, conf(""))
	reload <- struct{}{}
	waitFor(t, 60*time.Second, "one pipeline after the second reload", func() bool {
		st := d.status(t)
		return st.ConfigReloads.Applied == 2 && len(st.Pipelines) == 1 && st.Pipelines[0].Name == "copy"
	})
	m = d.scrape(t)
	if got := m.sum("wasmhost_config_reloads_total", map[string]string{"result": "applied"}); got != 2 {
		t.Errorf("wasmhost_config_reloads_total{result=applied} = %v, want 2", got)
	}
	if got := m.sum("wasmhost_config_reloads_total", map[string]string{"result": "rejected"}); got != 1 {
		t.Errorf("wasmhost_config_reloads_total{result=rejected} = %v, want 1", got)
	}
	if m.series("wasmhost_pipeline_info") != 1 {
		t.Errorf("%d pipelines in /metrics after the second one was removed", m.series("wasmhost_pipeline_info"))
	}

	out, stderr, code := runCLI(t, "status", "--addr", d.url)
	if code != 0 {
		t.Fatalf("wasmhost status: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"reloaded", "(was " + v1[:12] + ")", "reload-failed",
		"CONFIG RELOADS (2 applied, 1 rejected", "kafka.client_id"} {
		if !strings.Contains(out, want) {
			t.Errorf("wasmhost status lacks %q:\n%s", want, out)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

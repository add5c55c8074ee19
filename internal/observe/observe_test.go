package observe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestReadyOnceConnectedLoadedAndWorking(t *testing.T) {
	m := New(Options{Version: "test"})
	ready, why := m.Ready()
	want := []string{"kafka: not connected yet", "plugins: not loaded yet", "pipelines and sources: not started yet"}
	if ready || !slices.Equal(why, want) {
		t.Fatalf("new monitor: ready=%v why=%q, want %q", ready, why, want)
	}
	m.Connected()
	m.PluginsLoaded()
	if ready, why := m.Ready(); ready || !slices.Equal(why, want[2:]) {
		t.Fatalf("connected and loaded: ready=%v why=%q", ready, why)
	}
	m.Working()
	if ready, why := m.Ready(); !ready || len(why) != 0 {
		t.Fatalf("working: ready=%v why=%q", ready, why)
	}
	m.probe.end(errors.New("kafka: client has run out of available brokers to talk to"))
	if ready, why := m.Ready(); ready || len(why) != 1 || !strings.HasPrefix(why[0], "kafka: kafka: client has run out") {
		t.Fatalf("broker probe failed: ready=%v why=%q", ready, why)
	}
	m.probe.end(nil)
	m.ShuttingDown()
	if ready, why := m.Ready(); ready || !slices.Equal(why, []string{"shutting down"}) {
		t.Fatalf("shutting down: ready=%v why=%q", ready, why)
	}
}

func TestProbeThatHangsCountsAsUnavailable(t *testing.T) {
	var p probeState
	t0 := time.Now()
	p.begin(t0)
	if err := p.check(t0.Add(probeHung - time.Second)); err != nil {
		t.Fatalf("a probe under way for less than %s: %v", probeHung, err)
	}
	err := p.check(t0.Add(probeHung + 2*time.Second))
	if err == nil || err.Error() != "no answer for 7s" {
		t.Fatalf("a probe under way for 7s: %v", err)
	}
	p.end(nil)
	if err := p.check(t0.Add(time.Hour)); err != nil {
		t.Fatalf("after the probe answered: %v", err)
	}
}

func TestPluginHistory(t *testing.T) {
	m := New(Options{})
	m.PluginLoaded("enrich", "plugins/enrich.wasm", "aaaa", 30*time.Millisecond)
	m.PluginLoaded("enrich", "plugins/enrich.wasm", "aaaa", 10*time.Millisecond) // same version, another memory limit
	m.PluginReloadFailed("enrich", "plugins/enrich.wasm", errors.New("ABI version mismatch"))
	m.PluginReloaded("enrich", "plugins/enrich.wasm", "aaaa", "bbbb", 200*time.Millisecond)
	ps := m.Status().Plugins
	if len(ps) != 1 {
		t.Fatalf("%d plugins, want 1", len(ps))
	}
	p := ps[0]
	if p.SHA256 != "bbbb" || p.Reloads != 1 || p.ReloadFailures != 1 || len(p.History) != 3 {
		t.Fatalf("status %+v", p)
	}
	events := []string{p.History[0].Event, p.History[1].Event, p.History[2].Event}
	if !slices.Equal(events, []string{"reloaded", "reload-failed", "loaded"}) {
		t.Fatalf("history newest first = %v", events)
	}
	if h := p.History[0]; h.PreviousSHA256 != "aaaa" || h.Seconds != 0.2 {
		t.Errorf("reload event %+v", h)
	}
	if h := p.History[1]; h.PreviousSHA256 != "aaaa" || h.Error != "ABI version mismatch" {
		t.Errorf("failed reload event %+v", h)
	}
	for i := range 2 * maxHistory {
		m.PluginReloaded("enrich", "p", "x", fmt.Sprint(i), time.Millisecond)
	}
	if h := m.Status().Plugins[0].History; len(h) != maxHistory || h[0].SHA256 != fmt.Sprint(2*maxHistory-1) {
		t.Fatalf("history not bounded to the latest %d: %d events, newest %+v", maxHistory, len(h), h[0])
	}
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	res, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestHandlerServesPageAPIProbesAndMetrics(t *testing.T) {
	m := New(Options{Version: "v9", Brokers: []string{"k:9092"}})
	m.PluginReloadFailed("enrich", "plugins/enrich.wasm", errors.New("bad"))
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	if code, body := get(t, srv, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, srv, "/readyz"); code != 503 || !strings.Contains(body, "plugins: not loaded yet") {
		t.Errorf("/readyz before start: %d %q", code, body)
	}
	m.Connected()
	m.PluginsLoaded()
	m.Working()
	if code, body := get(t, srv, "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}

	code, body := get(t, srv, "/api/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("/api/status: %d %v", code, err)
	}
	if st.Version != "v9" || !st.Ready || st.Brokers[0] != "k:9092" || st.Pipelines == nil || st.NotReady == nil {
		t.Errorf("/api/status = %+v", st)
	}

	for path, want := range map[string]string{
		"/":                 `<script src="/static/app.js">`,
		"/static/app.js":    "/api/status",
		"/static/style.css": "canvas",
	} {
		if code, body := get(t, srv, path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, body without %q", path, code, want)
		}
	}
	if code, _ := get(t, srv, "/nothing-here"); code != 404 {
		t.Errorf("/nothing-here: %d, want 404", code)
	}

	code, body = get(t, srv, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	if v := fams["wasmhost_ready"].GetMetric()[0].GetGauge().GetValue(); v != 1 {
		t.Errorf("wasmhost_ready = %v", v)
	}
	var failed float64
	for _, mt := range fams["wasmhost_plugin_reloads_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range mt.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["plugin"] == "enrich" && labels["result"] == "failed" {
			failed = mt.GetCounter().GetValue()
		}
	}
	if failed != 1 {
		t.Errorf("wasmhost_plugin_reloads_total{plugin=enrich,result=failed} = %v, want 1", failed)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "wasmhost_build_info", "wasmhost_producer_records_sent_total"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
}

func TestConfigReloadsAndANilMonitor(t *testing.T) {
	m := New(Options{})
	m.ConfigReloaded(errors.New("changing kafka.client_id needs a restart of the daemon"))
	m.ConfigReloaded(nil)
	c := m.Status().ConfigReloads
	if c.Applied != 1 || c.Rejected != 1 || len(c.History) != 2 || c.History[0].Result != "applied" ||
		c.History[1].Result != "rejected" || !strings.Contains(c.History[1].Error, "kafka.client_id") {
		t.Fatalf("config reloads %+v", c)
	}
	// The daemon's own tests run its plugin set and work without a monitor.
	var none *Monitor
	none.AddPipeline(nil)
	none.RemovePipeline(nil)
	none.AddSource(nil)
	none.RemoveSource(nil)
	none.ConfigReloaded(nil)
	none.PluginLoaded("p", "p.wasm", "aa", time.Millisecond)
	none.PluginReloaded("p", "p.wasm", "aa", "bb", time.Millisecond)
	none.PluginReloadFailed("p", "p.wasm", errors.New("bad"))
}

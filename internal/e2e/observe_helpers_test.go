package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
	"github.com/wasmhost/wasmhost/internal/observe"
)

// monitored is a daemon run in-process with its monitoring server on a
// port the system picked.
type monitored struct {
	url  string // http://127.0.0.1:port
	logs *syncBuffer
	stop func() // stops the daemon and waits for it; safe to call twice
}

// runMonitored loads the config at path, which must set http.listen (port 0
// is fine), runs the daemon and returns once its HTTP server listens. A
// send on reload, when not nil, reloads the config file (as SIGHUP does).
func runMonitored(t *testing.T, path string, reload <-chan struct{}) *monitored {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := &monitored{logs: &syncBuffer{}}
	ctx, cancel := contextWithCancel(contextFor(t))
	addr := make(chan string, 1)
	done := make(chan error, 1)
	o := daemon.Options{Version: "e2e", OnHTTP: func(a string) { addr <- a }, Reload: reload, ConfigPath: path}
	if reload != nil {
		o.LoadConfig = func() (*config.Config, error) { return config.Load(path) }
	}
	go func() { done <- daemon.Run(ctx, cfg, zerolog.New(m.logs), o) }()
	select {
	case a := <-addr:
		m.url = "http://" + a
	case err := <-done:
		t.Fatalf("daemon exited before serving HTTP: %v\n%s", err, m.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start its HTTP server\n%s", m.logs)
	}
	var stopped bool
	m.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon: %v", err)
			}
		case <-time.After(45 * time.Second):
			t.Errorf("daemon did not stop\n%s", m.logs)
		}
	}
	t.Cleanup(m.stop)
	return m
}

// httpGet returns the status code and body of url.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(b)
}

func (m *monitored) readyz(t *testing.T) (bool, string) {
	t.Helper()
	code, body := httpGet(t, m.url+"/readyz")
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answered %d: %s", code, body)
	}
	return code == http.StatusOK, body
}

func (m *monitored) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	var why string
	deadline := time.Now().Add(timeout)
	for {
		ok, body := m.readyz(t)
		if ok {
			return
		}
		why = body
		if time.Now().After(deadline) {
			t.Fatalf("not ready after %s: %s\n%s", timeout, why, m.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *monitored) status(t *testing.T) observe.Status {
	t.Helper()
	code, body := httpGet(t, m.url+"/api/status")
	var st observe.Status
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil {
		t.Fatalf("/api/status: %d %v\n%s", code, err, body)
	}
	return st
}

// metrics scrapes /metrics and parses it as Prometheus text.
type metrics map[string]*dto.MetricFamily

func (m *monitored) scrape(t *testing.T) metrics {
	t.Helper()
	code, body := httpGet(t, m.url+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sum adds the values of name's samples whose labels include match.
func (ms metrics) sum(name string, match map[string]string) float64 {
	total := 0.0
	for _, m := range ms[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range match {
			ok = ok && labels[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// series is how many samples name has.
func (ms metrics) series(name string) int { return len(ms[name].GetMetric()) }

// produceSpread produces one record per value to topic, key "key-<i>", spread over its partitions by key.
func produceSpread(t *testing.T, addr, topic string, values []string) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("key-%d", i)), Value: sarama.StringEncoder(v)}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestCPluginRunsInTheDaemon builds the C example (examples/grep-c) with
// clang through plugintool.Build and runs it in the daemon against a broker
// over TCP: records containing "ERROR" are forwarded with their key, value
// and headers plus the plugin's header, the others are dropped, and records
// with a null value fail into the dead-letter topic with the C plugin's
// reason.
func TestCPluginRunsInTheDaemon(t *testing.T) {
	wasm, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join(testutil.Root(t), "examples", "grep-c"), Out: t.TempDir()})
	if err != nil {
		t.Fatalf("building the C example (does scripts/setup-c.sh pass?): %v", err)
	}
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "logs", "errors", "dlq")

	const n = 300
	var msgs []*sarama.ProducerMessage
	wantErrors, wantDead := map[string]bool{}, map[string]bool{}
	for i := range n {
		key := fmt.Sprintf("k%d", i)
		m := &sarama.ProducerMessage{Topic: "logs", Key: sarama.StringEncoder(key),
			Headers: []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(fmt.Sprint(i))}}}
		switch {
		case i%40 == 7:
			wantDead[key] = true // null value
		case i%3 == 0:
			m.Value = sarama.StringEncoder(fmt.Sprintf("%d ERROR something broke", i))
			wantErrors[key] = true
		default:
			m.Value = sarama.StringEncoder(fmt.Sprintf("%d INFO all good", i))
		}
		msgs = append(msgs, m)
	}

	r := filterRun{name: "errors-only", wasm: wasm, in: "logs", out: "errors", config: `{ match = "ERROR", to = "errors" }`}
	out, dead := r.run(t, b.Addr(), msgs, len(wantErrors), len(wantDead))

	if len(out) != len(wantErrors) {
		t.Fatalf("%d records forwarded, want %d", len(out), len(wantErrors))
	}
	for _, m := range out {
		k := string(m.Key)
		if !wantErrors[k] || !strings.Contains(string(m.Value), "ERROR") {
			t.Errorf("forwarded %s = %q", k, m.Value)
		}
		delete(wantErrors, k)
		if len(m.Headers) != 2 || string(m.Headers[0].Key) != "seq" || string(m.Headers[1].Key) != "grep-match" || string(m.Headers[1].Value) != "ERROR" {
			t.Errorf("%s: headers %v", k, headerMap(m))
		}
		if !strings.HasPrefix(string(m.Value), string(m.Headers[0].Value)+" ") {
			t.Errorf("%s: value %q does not go with header seq=%s", k, m.Value, m.Headers[0].Value)
		}
	}
	if len(wantErrors) > 0 {
		t.Errorf("not forwarded: %v", wantErrors)
	}
	if len(dead) != len(wantDead) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(wantDead))
	}
	for _, m := range dead {
		h := headerMap(m)
		// Configured by path, the plugin is named by its file name.
		if want := strings.TrimSuffix(filepath.Base(wasm), ".wasm"); h[pipeline.HeaderPlugin] != want {
			t.Errorf("dead letter %s names the plugin %q, want %q", m.Key, h[pipeline.HeaderPlugin], want)
		}
		if !wantDead[string(m.Key)] || m.Value != nil || !strings.Contains(h[pipeline.HeaderError], "null value at offset") {
			t.Errorf("dead letter %s = %q, error %q", m.Key, m.Value, h[pipeline.HeaderError])
		}
	}
}

func headerMap(m *sarama.ConsumerMessage) map[string]string {
	h := map[string]string{}
	for _, x := range m.Headers {
		h[string(x.Key)] = string(x.Value)
	}
	return h
}

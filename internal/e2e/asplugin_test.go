package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestAssemblyScriptPluginRunsInTheDaemon builds the AssemblyScript example
// (examples/favorites-as) with asc through plugintool.Build and runs it in
// the daemon on the embedded broker over TCP: users whose favorite_number
// is over 500 are forwarded with their key, value and headers plus the
// plugin's favorite-color header, the others dropped, and records without
// a numeric favorite_number fail into the dead-letter topic with the
// plugin's reason.
func TestAssemblyScriptPluginRunsInTheDaemon(t *testing.T) {
	t.Setenv(plugintool.EnvASC, testutil.ASC(t))
	wasm, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join(testutil.Root(t), "examples", "favorites-as"), Out: t.TempDir()})
	if err != nil {
		t.Fatalf("building the AssemblyScript example (does scripts/setup-as.sh pass?): %v", err)
	}
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "users", "users-fav", "dlq")

	const n = 300
	var msgs []*sarama.ProducerMessage
	wantFav, wantDead := map[string]int{}, map[string]bool{}
	for i := range n {
		key := fmt.Sprintf("u%d", i)
		fav := (i * 37) % 1001
		value := fmt.Sprintf(`{"name":"user %d","favorite_color":"c%d","favorite_number":%d,"note":"\"favorite_number\": 999"}`, i, i%7, fav)
		switch {
		case i%50 == 9:
			value = `{"name":"no number"}`
			wantDead[key] = true
		case fav > 500:
			wantFav[key] = fav
		}
		msgs = append(msgs, &sarama.ProducerMessage{Topic: "users", Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value),
			Headers: []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(fmt.Sprint(i))}}})
	}

	r := filterRun{name: "favorites", wasm: wasm, in: "users", out: "users-fav", config: `{ to = "users-fav", min = "500" }`}
	out, dead := r.run(t, b.Addr(), msgs, len(wantFav), len(wantDead))

	if len(out) != len(wantFav) {
		t.Fatalf("%d records forwarded, want %d", len(out), len(wantFav))
	}
	for _, m := range out {
		k := string(m.Key)
		var v struct {
			Number int    `json:"favorite_number"`
			Color  string `json:"favorite_color"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil || wantFav[k] == 0 || v.Number != wantFav[k] {
			t.Errorf("forwarded %s = %s (%v)", k, m.Value, err)
		}
		delete(wantFav, k)
		h := headerMap(m)
		if len(m.Headers) != 2 || h["seq"] == "" || h["favorite-color"] != v.Color {
			t.Errorf("%s: headers %v", k, h)
		}
	}
	if len(wantFav) > 0 {
		t.Errorf("not forwarded: %v", wantFav)
	}
	if len(dead) != len(wantDead) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(wantDead))
	}
	for _, m := range dead {
		h := headerMap(m)
		if !wantDead[string(m.Key)] || h[pipeline.HeaderError] == "" || !contains(h[pipeline.HeaderError], "no numeric favorite_number") {
			t.Errorf("dead letter %s = %q, error %q", m.Key, m.Value, h[pipeline.HeaderError])
		}
	}
}

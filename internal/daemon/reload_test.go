package daemon

import (
	"slices"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
)

func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{"127.0.0.1:9092"}
	cfg.Topics = []config.Topic{{Name: "out", Partitions: 1, ReplicationFactor: 1}}
	for _, name := range []string{"keep", "change", "drop"} {
		p := config.DefaultPipeline()
		p.Name, p.Plugin, p.Topics, p.Group = name, "forward", []string{"in"}, config.DefaultGroup(name)
		p.Config = map[string]string{"to": "out"}
		cfg.Pipelines = append(cfg.Pipelines, p)
	}
	s := config.DefaultSource()
	s.Name, s.Plugin = "tick", "users"
	cfg.Sources = append(cfg.Sources, s)
	return cfg
}

func runningWork(cfg *config.Config) *work {
	w := &work{pipes: map[string]*runningPipe{}, sources: map[string]*runningSource{}}
	for _, p := range cfg.Pipelines {
		w.pipes[p.Name] = &runningPipe{spec: pipeSpecOf(cfg, p)}
	}
	for _, s := range cfg.Sources {
		w.sources[s.Name] = &runningSource{spec: sourceSpecOf(cfg, s)}
	}
	return w
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	slices.Sort(out)
	return out
}

func TestPlanReload(t *testing.T) {
	cur := testConfig()
	w := runningWork(cur)

	next := testConfig()
	next.Pipelines = slices.DeleteFunc(next.Pipelines, func(p config.Pipeline) bool { return p.Name == "drop" })
	next.Pipelines[1].Config = map[string]string{"to": "elsewhere"} // "change"
	add := config.DefaultPipeline()
	add.Name, add.Plugin, add.Topics, add.Group = "add", "forward", []string{"in"}, "wasmhost-add"
	next.Pipelines = append(next.Pipelines, add)
	pl := planReload(next, w)
	if !slices.Equal(pl.added, []string{"add"}) || !slices.Equal(pl.changed, []string{"change"}) || !slices.Equal(pl.removed, []string{"drop"}) {
		t.Fatalf("added %v changed %v removed %v", pl.added, pl.changed, pl.removed)
	}
	stops := slices.Sorted(slices.Values(pl.stopPipes))
	if !slices.Equal(stops, []string{"change", "drop"}) || len(pl.stopSources) != 0 || len(pl.startSources) != 0 {
		t.Fatalf("stops %v / %v, source starts %v", stops, pl.stopSources, pl.startSources)
	}
	if got := names(pl.startPipes, func(p config.Pipeline) string { return p.Name }); !slices.Equal(got, []string{"add", "change"}) {
		t.Fatalf("starts %v", got)
	}

	// What a pipeline depends on outside its entry counts too: the plugins
	// directory moves its plugin file.
	next = testConfig()
	next.Plugins.Dir = "elsewhere"
	pl = planReload(next, w)
	if len(pl.changed) != 4 {
		t.Fatalf("plugins.dir changed: %v restarted, want all 4", pl.changed)
	}
	next = testConfig()
	next.Pipelines[0].ProduceTopics = []string{"out"}
	w = runningWork(next)
	next = testConfig()
	next.Pipelines[0].ProduceTopics = []string{"out"}
	next.Topics = append(next.Topics, config.Topic{Name: "more", Partitions: 1, ReplicationFactor: 1})
	// A new [[topics]] entry widens the allowlist of every entry without
	// produce_topics: they run on with the new allowlist, nothing restarts.
	pl = planReload(next, w)
	if len(pl.changed)+len(pl.startPipes)+len(pl.startSources)+len(pl.stopPipes)+len(pl.stopSources) != 0 {
		t.Fatalf("topics changed: %+v restarts something", pl)
	}
	if want := []string{"change", "drop", "tick"}; !slices.Equal(pl.reallowed(), want) {
		t.Fatalf("topics changed: allowlists of %v changed, want %v", pl.reallowed(), want)
	}
	if got := pl.reallowPipes["change"]; !slices.Equal(got, []string{"out", "more"}) {
		t.Fatalf("new allowlist %v", got)
	}
	// Applied, it takes effect at once.
	for _, r := range w.pipes {
		r.allow = newAllowlist(r.spec.allow)
	}
	for _, r := range w.sources {
		r.allow = newAllowlist(r.spec.allow)
	}
	if w.pipes["change"].allow.allows("more") {
		t.Fatal("allowed before the reload")
	}
	w.reallow(pl.reallowPipes, pl.reallowSources)
	if !w.pipes["change"].allow.allows("more") || !w.sources["tick"].allow.allows("more") || w.pipes["keep"].allow.allows("more") {
		t.Fatal("the new allowlists are not in effect")
	}

	// Nothing changed: nothing to do, shutdown_timeout aside.
	next = testConfig()
	next.Pipelines[0].ProduceTopics = []string{"out"}
	next.ShutdownTimeout = config.Duration{Duration: time.Minute}
	pl = planReload(next, w)
	if len(pl.added)+len(pl.changed)+len(pl.removed) != 0 {
		t.Fatalf("unchanged config: %+v", pl)
	}
}

func TestRestartKeys(t *testing.T) {
	cur := testConfig()
	next := testConfig()
	next.ShutdownTimeout = config.Duration{Duration: time.Minute}
	next.Plugins.Dir = "other"
	next.Reload.WatchConfig = true
	next.EmbeddedBroker.Listen = "127.0.0.1:1" // not running: kafka.brokers is set
	next.Pipelines = nil
	if keys := restartKeys(cur, next); len(keys) != 0 {
		t.Fatalf("live changes refused: %v", keys)
	}
	next.Kafka.ClientID = "other"
	next.Kafka.SASL.Mechanism = config.SASLPlain
	next.Log.Level = config.LevelDebug
	next.Plugins.CacheDir = "/tmp/x"
	want := []string{"kafka.client_id", "kafka.sasl.mechanism", "log.level", "plugins.cache_dir"}
	if keys := restartKeys(cur, next); !slices.Equal(keys, want) {
		t.Fatalf("restartKeys = %v, want %v", keys, want)
	}
	// With the embedded broker running, its keys need a restart too.
	cur.Kafka.Brokers, next = nil, testConfig()
	next.Kafka.Brokers = nil
	next.EmbeddedBroker.DataDir = "elsewhere"
	if keys := restartKeys(cur, next); !slices.Equal(keys, []string{"embedded.data_dir"}) {
		t.Fatalf("restartKeys = %v, want embedded.data_dir", keys)
	}
}

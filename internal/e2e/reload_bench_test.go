package e2e

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
	"github.com/wasmhost/wasmhost/internal/verify"
)

// arrivals records when each output record arrived and which version
// produced it.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
	vers  []string
}

func (a *arrivals) add(m *sarama.ConsumerMessage) {
	v := header(m, "version")
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.vers = append(a.vers, v)
	a.mu.Unlock()
}

// firstSince is when a record of version v first arrived after t.
func (a *arrivals) firstSince(t time.Time, v string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := sort.Search(len(a.times), func(i int) bool { return !a.times[i].Before(t) })
	for ; i < len(a.times); i++ {
		if a.vers[i] == v {
			return a.times[i], true
		}
	}
	return time.Time{}, false
}

// count is how many records arrived in [from, to).
func (a *arrivals) count(from, to time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := sort.Search(len(a.times), func(i int) bool { return !a.times[i].Before(from) })
	j := sort.Search(len(a.times), func(i int) bool { return !a.times[i].Before(to) })
	return j - i
}

func consumeArrivals(b *testing.B, addr, topic string) *arrivals {
	b.Helper()
	a := &arrivals{}
	c, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	parts, err := c.Partitions(topic)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetNewest)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			for m := range pc.Messages() {
				a.add(m)
			}
		}()
	}
	return a
}

// BenchmarkPluginSwap measures, on a saturated at-least-once pipeline, the
// time from a new plugin file being renamed into place to the first output
// record of the new version (warm compilation cache, default reload.delay),
// and the throughput in the second after the write against the second
// before it.
func BenchmarkPluginSwap(b *testing.B) {
	a := pluginBytes(b, "internal/e2e/testdata/plugins/versiona")
	v2 := pluginBytes(b, "internal/e2e/testdata/plugins/versionb")
	br := startBroker(b, "")
	createTopics(b, br.Addr(), 4, "in", "out")
	dir := b.TempDir()
	plugin := filepath.Join(dir, "tag.wasm")
	writeFile(b, plugin, string(a))
	cfgPath := daemonConfig(b, br.Addr(), dir, `[[pipelines]]
name = "copy"
plugin = "tag"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
`)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	stats := &daemon.ReloadStats{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- daemon.Run(ctx, cfg, zerolog.Nop(), daemon.Options{Ready: func() { close(ready) }, Stats: stats})
	}()
	b.Cleanup(func() { cancel(); <-done })
	<-ready
	out := consumeArrivals(b, br.Addr(), "out")
	// Keep the pipeline saturated: produce as fast as the broker takes it.
	pctx, stopFeed := context.WithCancel(context.Background())
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for from := 0; pctx.Err() == nil; from += 20000 {
			_ = verify.Produce(pctx, saramaConfig(), []string{br.Addr()}, verify.ProduceOptions{Topic: "in", From: from, Count: 20000})
		}
	}()
	b.Cleanup(func() { stopFeed(); <-fed })
	waitFor(b, 60*time.Second, "output", func() bool { return out.count(time.Now().Add(-time.Hour), time.Now()) > 20000 })
	time.Sleep(time.Second)

	var latency time.Duration
	var before, after int
	versions := [][]byte{v2, a}
	labels := []string{"B", "A"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		replaceFile(b, plugin, versions[i%2])
		var served time.Time
		waitFor(b, 30*time.Second, "the new version serving", func() bool {
			var ok bool
			served, ok = out.firstSince(t0, labels[i%2])
			return ok
		})
		latency += served.Sub(t0)
		time.Sleep(time.Until(t0.Add(time.Second)))
		before += out.count(t0.Add(-time.Second), t0)
		after += out.count(t0, t0.Add(time.Second))
		time.Sleep(time.Second) // the next second before is not a swap's
	}
	b.StopTimer()
	if int(stats.PluginSwaps.Load()) != b.N {
		b.Fatalf("%d swaps counted, want %d", stats.PluginSwaps.Load(), b.N)
	}
	b.ReportMetric(float64(latency.Milliseconds())/float64(b.N), "ms-write-to-serving")
	b.ReportMetric(float64(before)/float64(b.N), "records/s-before")
	b.ReportMetric(float64(after)/float64(b.N), "records/s-swap-second")
	b.ReportMetric(100*(1-float64(after)/float64(before)), "%-dip")
}

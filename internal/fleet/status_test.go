package fleet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// TestSnapshot: staleness is judged in each daemon's own intervals, a
// stopped daemon is not stale, and only live daemons count in the plugin
// versions.
func TestSnapshot(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	v1, v2 := StatusPlugin{"users", "aaa"}, StatusPlugin{"users", "bbb"}
	recs := []StatusRecord{
		{DaemonID: "a", Host: "h1", Time: now.Add(-2 * time.Second), IntervalSeconds: 1, State: StateRunning, Plugins: []StatusPlugin{v2}},
		{DaemonID: "b", Host: "h2", Time: now.Add(-4 * time.Second), IntervalSeconds: 1, State: StateRunning, Plugins: []StatusPlugin{v1}},
		{DaemonID: "c", Host: "h3", Time: now.Add(-4 * time.Second), IntervalSeconds: 2, State: StateRunning, Plugins: []StatusPlugin{v2}},
		{DaemonID: "d", Host: "h4", Time: now.Add(-time.Hour), IntervalSeconds: 1, State: StateStopped, Plugins: []StatusPlugin{v1}},
	}
	f := Snapshot("status", recs, 3, now)
	stale := map[string]bool{}
	for _, d := range f.Daemons {
		stale[d.DaemonID] = d.Stale
	}
	if want := map[string]bool{"a": false, "b": true, "c": false, "d": false}; !equalMaps(stale, want) {
		t.Errorf("stale %v, want %v", stale, want)
	}
	if len(f.Plugins) != 1 || len(f.Plugins[0].Versions) != 1 || f.Plugins[0].Versions[0].SHA256 != "bbb" ||
		len(f.Plugins[0].Versions[0].Daemons) != 2 {
		t.Errorf("plugins %+v: want users@bbb served by a and c only", f.Plugins)
	}
}

func equalMaps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReporterAndView: two reporters publish to the status topic; a view
// started later sees both, follows new records, and shows a stopped one.
func TestReporterAndView(t *testing.T) {
	c := leaseCluster(t)
	opts := kafka.ClientOptions{Brokers: c.ListenAddrs(), Version: "3.6.0"}
	client, err := kafka.Connect(context.Background(), opts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if err := EnsureStatusTopic(context.Background(), client, "status"); err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = producer.Close() })
	var ticks atomic.Uint64
	reporter := func(id string) *Reporter {
		return StartReporter(ReporterOptions{Producer: producer, Topic: "status", Interval: 50 * time.Millisecond,
			Record: func() StatusRecord {
				return StatusRecord{DaemonID: id, Host: "h", Sources: []StatusSource{{Name: "s", Ticks: ticks.Add(1)}}}
			}})
	}
	a, b := reporter("a"), reporter("b")
	defer a.Stop(context.Background())

	// The view has a client of its own, as in the daemon: its fetches
	// would hold the producer's requests back on a shared connection.
	viewClient, err := kafka.Connect(context.Background(), opts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = viewClient.Close() })
	view, err := StartView(ViewOptions{Client: viewClient, Topic: "status", StaleAfter: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	select {
	case <-view.CaughtUp():
	case <-time.After(10 * time.Second):
		t.Fatal("the view did not catch up")
	}
	leaseWaitFor(t, 10*time.Second, "both daemons, running", func() bool {
		f := view.Status()
		return len(f.Daemons) == 2 && f.Daemons[0].Live() && f.Daemons[1].Live()
	})
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	leaseWaitFor(t, 10*time.Second, "b stopped", func() bool {
		for _, d := range view.Status().Daemons {
			if d.DaemonID == "b" {
				return d.State == StateStopped && !d.Stale
			}
		}
		return false
	})
	before := ticks.Load()
	leaseWaitFor(t, 10*time.Second, "a to go on publishing", func() bool { return ticks.Load() > before+2 })

	// A record that is not a status (someone else's) is skipped, and a
	// reader of the whole topic (the CLI's) sees what the view sees.
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: "status", Key: sarama.StringEncoder("x"), Value: sarama.StringEncoder("not json")}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := ReadFleet(ctx, viewClient, "status", 3)
	if err != nil || len(f.Daemons) != 2 {
		t.Fatalf("ReadFleet: %+v, %v", f, err)
	}
}

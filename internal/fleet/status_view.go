package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// FleetStatus is the fleet as the status topic shows it: every daemon's
// newest record, and which plugin versions the live ones serve.
type FleetStatus struct {
	Topic      string         `json:"topic"`
	Now        time.Time      `json:"now"`
	StaleAfter int            `json:"stale_after"` // intervals
	Daemons    []DaemonStatus `json:"daemons"`     // by host, then id
	// Plugins lists, per plugin, the versions the daemons that are running
	// (not stale, not stopped) serve and which daemons serve each: one
	// version per plugin once a deploy has converged.
	Plugins []PluginVersions `json:"plugins"`
}

// DaemonStatus is a daemon's newest record, with what the reader makes of
// its age.
type DaemonStatus struct {
	StatusRecord
	// Stale: no record for StaleAfter of the daemon's intervals (killed,
	// hung, or cut off from the brokers). A stopped daemon is not stale.
	Stale      bool    `json:"stale"`
	AgeSeconds float64 `json:"age_seconds"`
}

// Live reports whether the daemon is running and reporting.
func (d DaemonStatus) Live() bool { return !d.Stale && d.State != StateStopped }

// PluginVersions are the versions of one plugin the live daemons serve.
type PluginVersions struct {
	Name     string          `json:"name"`
	Versions []PluginServing `json:"versions"` // most daemons first
}

// PluginServing is one version and the daemons serving it.
type PluginServing struct {
	SHA256  string   `json:"sha256"`
	Daemons []string `json:"daemons"`
}

// Snapshot makes the fleet view of records at now.
func Snapshot(topic string, records []StatusRecord, staleAfter int, now time.Time) FleetStatus {
	f := FleetStatus{Topic: topic, Now: now, StaleAfter: staleAfter, Daemons: []DaemonStatus{}, Plugins: []PluginVersions{}}
	serving := map[string]map[string][]string{} // plugin -> sha -> daemons
	for _, r := range records {
		age := now.Sub(r.Time)
		d := DaemonStatus{StatusRecord: r, AgeSeconds: max(age.Seconds(), 0)}
		limit := time.Duration(float64(staleAfter) * r.IntervalSeconds * float64(time.Second))
		d.Stale = r.State != StateStopped && age > limit
		f.Daemons = append(f.Daemons, d)
		if !d.Live() {
			continue
		}
		for _, p := range r.Plugins {
			if serving[p.Name] == nil {
				serving[p.Name] = map[string][]string{}
			}
			serving[p.Name][p.SHA256] = append(serving[p.Name][p.SHA256], r.DaemonID)
		}
	}
	slices.SortFunc(f.Daemons, func(a, b DaemonStatus) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.DaemonID, b.DaemonID))
	})
	for name, shas := range serving {
		pv := PluginVersions{Name: name}
		for sha, ids := range shas {
			slices.Sort(ids)
			pv.Versions = append(pv.Versions, PluginServing{SHA256: sha, Daemons: ids})
		}
		slices.SortFunc(pv.Versions, func(a, b PluginServing) int {
			return cmp.Or(cmp.Compare(len(b.Daemons), len(a.Daemons)), cmp.Compare(a.SHA256, b.SHA256))
		})
		f.Plugins = append(f.Plugins, pv)
	}
	slices.SortFunc(f.Plugins, func(a, b PluginVersions) int { return cmp.Compare(a.Name, b.Name) })
	return f
}

// View follows the status topic: the newest record of every daemon.
type View struct {
	topic      string
	staleAfter int
	now        func() time.Time
	log        zerolog.Logger
	consumer   sarama.Consumer
	caughtUp   chan struct{} // closed once the topic has been read to its end

	mu      sync.Mutex
	records map[string]StatusRecord
}

// ViewOptions configure StartView.
type ViewOptions struct {
	// Client is the caller's, closed after the View. Not the producer's:
	// a broker answers a connection's requests in order, and the View's
	// long-polling fetches would hold the producer's requests back.
	Client     sarama.Client
	Topic      string
	StaleAfter int
	Now        func() time.Time // nil: time.Now
	Logger     zerolog.Logger
}

// StartView reads the status topic from its start, and goes on following
// it, until Close.
func StartView(o ViewOptions) (*View, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	consumer, err := sarama.NewConsumerFromClient(o.Client)
	if err != nil {
		return nil, fmt.Errorf("status topic %s: %w", o.Topic, err)
	}
	v := &View{topic: o.Topic, staleAfter: o.StaleAfter, now: o.Now, log: o.Logger, consumer: consumer,
		caughtUp: make(chan struct{}), records: map[string]StatusRecord{}}
	parts, err := o.Client.Partitions(o.Topic)
	if err != nil {
		_ = consumer.Close()
		return nil, fmt.Errorf("status topic %s: %w", o.Topic, err)
	}
	var pending sync.WaitGroup
	for _, p := range parts {
		hwm, err := o.Client.GetOffset(o.Topic, p, sarama.OffsetNewest)
		if err != nil {
			_ = consumer.Close()
			return nil, fmt.Errorf("status topic %s/%d: %w", o.Topic, p, err)
		}
		pc, err := consumer.ConsumePartition(o.Topic, p, sarama.OffsetOldest)
		if err != nil {
			_ = consumer.Close()
			return nil, fmt.Errorf("status topic %s/%d: %w", o.Topic, p, err)
		}
		pending.Add(1)
		go v.follow(pc, hwm, pending.Done)
	}
	go func() { pending.Wait(); close(v.caughtUp) }()
	return v, nil
}

// follow applies a partition's records; caughtUp is called once the
// records below hwm (the end when the View started) are in.
func (v *View) follow(pc sarama.PartitionConsumer, hwm int64, caughtUp func()) {
	var once sync.Once
	if hwm <= 0 {
		once.Do(caughtUp)
	}
	defer once.Do(caughtUp)
	for m := range pc.Messages() {
		v.apply(m)
		if m.Offset+1 >= hwm {
			once.Do(caughtUp)
		}
	}
}

func (v *View) apply(m *sarama.ConsumerMessage) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if m.Value == nil { // a tombstone
		delete(v.records, string(m.Key))
		return
	}
	var r StatusRecord
	if err := json.Unmarshal(m.Value, &r); err != nil || r.DaemonID == "" {
		v.log.Warn().Err(err).Str("topic", m.Topic).Int32("partition", m.Partition).Int64("offset", m.Offset).
			Msg("fleet status: a record that is not a daemon's status; ignored")
		return
	}
	v.records[r.DaemonID] = r
}

// CaughtUp is closed once the records that were in the topic when the View
// started have been read.
func (v *View) CaughtUp() <-chan struct{} { return v.caughtUp }

// Status is the fleet now.
func (v *View) Status() FleetStatus {
	v.mu.Lock()
	recs := make([]StatusRecord, 0, len(v.records))
	for _, r := range v.records {
		recs = append(recs, r)
	}
	v.mu.Unlock()
	return Snapshot(v.topic, recs, v.staleAfter, v.now())
}

// Close stops following.
func (v *View) Close() error { return v.consumer.Close() }

// ReadFleet reads the status topic once, to its end, and returns the
// fleet: `wasmhost status --fleet` without asking a daemon.
func ReadFleet(ctx context.Context, client sarama.Client, topic string, staleAfter int) (FleetStatus, error) {
	v, err := StartView(ViewOptions{Client: client, Topic: topic, StaleAfter: staleAfter, Logger: zerolog.Nop()})
	if err != nil {
		return FleetStatus{}, err
	}
	defer v.Close()
	select {
	case <-v.CaughtUp():
		return v.Status(), nil
	case <-ctx.Done():
		return FleetStatus{}, fmt.Errorf("reading status topic %s: %w", topic, ctx.Err())
	}
}

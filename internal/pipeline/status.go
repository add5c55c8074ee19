package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/state"
)

// This file is the pipeline's status API: what /api/status, the status page
// and the Prometheus collector read. Counting stays out of the hot path
// where it can: counters are the Stats atomics, read at scrape time; the
// only per-call work is in handleBatch (two histogram observations and a
// memory sample) and, per failed record, an event in a small ring.

// PluginInfo names a plugin version.
type PluginInfo struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"` // the version
	Path   string `json:"path"`
}

func pluginInfo(p *host.Plugin) PluginInfo {
	return PluginInfo{Name: p.Name(), SHA256: p.SHA256(), Path: p.Path()}
}

// Counts are a pipeline's cumulative record and call counts.
type Counts struct {
	In           uint64 `json:"in"`
	Out          uint64 `json:"out"`
	Failed       uint64 `json:"failed"`
	Retried      uint64 `json:"retried"`
	DeadLettered uint64 `json:"dead_lettered"`
	Skipped      uint64 `json:"skipped"`
	Traps        uint64 `json:"traps"`    // instances lost to a trap or a timeout
	Timeouts     uint64 `json:"timeouts"` // of which timeouts
	// Exactly-once transactions: committed, and aborted (the batch ran
	// again).
	TxnCommitted uint64 `json:"transactions_committed"`
	TxnAborted   uint64 `json:"transactions_aborted"`
	// State: changelog records written, restores, the changelog records
	// they applied and the seconds they took.
	StateWrites         uint64  `json:"state_changelog_records"`
	StateRestores       uint64  `json:"state_restores"`
	StateRestored       uint64  `json:"state_restored_records"`
	StateRestoreSeconds float64 `json:"state_restore_seconds"`
}

// Status is a snapshot of a running pipeline.
type Status struct {
	Name          string     `json:"name"`
	Group         string     `json:"group"`
	Topics        []string   `json:"topics"`
	Guarantee     string     `json:"guarantee"`
	FailurePolicy string     `json:"failure_policy"`
	Consumers     int        `json:"consumers"` // group members this daemon runs
	BatchSize     int        `json:"batch_size"`
	Plugin        PluginInfo `json:"plugin"`
	Counts        Counts     `json:"counts"`
	// CallSeconds is the duration of plugin calls, BatchRecords the
	// records per call.
	CallSeconds  Histogram `json:"call_seconds"`
	BatchRecords Histogram `json:"batch_records"`
	// MemoryBytes is the linear memory of the pipeline's live instances,
	// as sampled after each one's latest call.
	MemoryBytes uint64 `json:"memory_bytes"`
	Partitions  int    `json:"partitions"` // assigned to this daemon's members
	// Lag is the committed lag (the sum of the partitions' Lag);
	// ProcessedLag the lag of what the actors have processed (the sum of
	// their ProcessedLag). See PartitionStatus.
	Lag          int64          `json:"lag"`
	ProcessedLag int64          `json:"processed_lag"`
	Members      []MemberStatus `json:"members"`
	Errors       []ErrorEvent   `json:"errors"` // newest first, at most recentErrors
}

// MemberStatus is one consumer group member this daemon runs.
type MemberStatus struct {
	Consumer   string            `json:"consumer"` // client id
	MemberID   string            `json:"member_id"`
	Generation int32             `json:"generation"`
	Joined     bool              `json:"joined"` // in a live group session
	Partitions []PartitionStatus `json:"partitions"`
}

// PartitionStatus is one assigned partition: its actor's progress.
type PartitionStatus struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// HighWatermark is the offset the broker will give the next record,
	// from the latest fetch.
	HighWatermark int64 `json:"high_watermark"`
	// Committed is the group's committed offset as the brokers last
	// reported it (see RefreshCommitted); until then the offset the
	// actor started from; -1 while the group has committed nothing for
	// the partition.
	Committed int64 `json:"committed"`
	// Lag is HighWatermark - Committed, never negative; with nothing
	// committed, HighWatermark (every record, as if the log started at 0).
	// Offsets commit once a second (or per transaction), so a partition
	// with nothing wrong lags by what a second brings.
	Lag int64 `json:"lag"`
	// Processed is the offset after the last record the partition's actor
	// has handed to its plugin and settled (its output may still be in
	// flight); until its first batch, Committed. ProcessedLag is
	// HighWatermark - Processed, never negative: what the actor has yet
	// to process, however far the commits are behind.
	Processed    int64     `json:"processed"`
	ProcessedLag int64     `json:"processed_lag"`
	Halted       bool      `json:"halted"`
	MemoryBytes  uint64    `json:"memory_bytes"`
	Since        time.Time `json:"since"`
	// StateKeys and StateBytes are the size of the partition's state
	// store, when its plugin uses state.
	StateKeys  int   `json:"state_keys,omitempty"`
	StateBytes int64 `json:"state_bytes,omitempty"`
}

// ErrorEvent is a plugin failure, with the coordinates of its records.
type ErrorEvent struct {
	Time          time.Time `json:"time"`
	Pipeline      string    `json:"pipeline"`
	Plugin        string    `json:"plugin"`
	PluginVersion string    `json:"plugin_version"` // sha256
	Topic         string    `json:"topic,omitempty"`
	Partition     int32     `json:"partition"`
	Offset        int64     `json:"offset"`      // the record, or the batch's first
	LastOffset    int64     `json:"last_offset"` // the batch's last; Offset for one record
	Attempts      int       `json:"attempts,omitempty"`
	// Kind is what failed: "trap", "timeout" (the instance was replaced),
	// "failed" (the plugin or the host failed the record) or "tick" (a
	// source's call).
	Kind string `json:"kind"`
	// Action is what the pipeline did: "retrying" (the batch is retried
	// record by record), "dead-lettered", "skipped", "halted", or
	// "next-tick".
	Action string `json:"action"`
	Error  string `json:"error"`
}

// recentErrors is how many error events a pipeline or source keeps.
const recentErrors = 32

// Histogram is a snapshot of a fixed-bucket histogram.
type Histogram struct {
	Bounds []float64 `json:"bounds"` // upper bounds, increasing
	Counts []uint64  `json:"counts"` // per bucket, not cumulative; the last one is above every bound
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// Bucket bounds: call durations in seconds (100µs to the default call
// timeout and beyond), batch sizes in records (up to the batch_size limit).
var (
	callBounds  = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	batchBounds = [...]float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000, 100000}
)

// callHist counts durations in nanoseconds.
type callHist struct {
	counts [len(callBounds) + 1]atomic.Uint64
	sumNS  atomic.Uint64
}

func (h *callHist) observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(callBounds[:], s)
	h.counts[i].Add(1)
	h.sumNS.Add(uint64(max(d, 0)))
}

func (h *callHist) snapshot() Histogram {
	s := snapshotCounts(callBounds[:], h.counts[:])
	s.Sum = float64(h.sumNS.Load()) / 1e9
	return s
}

type batchHist struct {
	counts [len(batchBounds) + 1]atomic.Uint64
	sum    atomic.Uint64
}

func (h *batchHist) observe(n int) {
	i, _ := slices.BinarySearch(batchBounds[:], float64(n))
	h.counts[i].Add(1)
	h.sum.Add(uint64(n))
}

func (h *batchHist) snapshot() Histogram {
	s := snapshotCounts(batchBounds[:], h.counts[:])
	s.Sum = float64(h.sum.Load())
	return s
}

func snapshotCounts(bounds []float64, counts []atomic.Uint64) Histogram {
	s := Histogram{Bounds: bounds, Counts: make([]uint64, len(counts))}
	for i := range counts {
		s.Counts[i] = counts[i].Load()
		s.Count += s.Counts[i]
	}
	return s
}

// events is a ring of the latest error events.
type events struct {
	mu   sync.Mutex
	ring [recentErrors]ErrorEvent
	n    int // events ever added
}

func (e *events) add(ev ErrorEvent) {
	e.mu.Lock()
	e.ring[e.n%len(e.ring)] = ev
	e.n++
	e.mu.Unlock()
}

// latest returns the events newest first.
func (e *events) latest() []ErrorEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := min(e.n, len(e.ring))
	out := make([]ErrorEvent, k)
	for i := range k {
		out[i] = e.ring[(e.n-1-i)%len(e.ring)]
	}
	return out
}

// tracker is what a pipeline knows of its members and partitions beyond
// its counters. Its zero value is ready to use.
type tracker struct {
	mu       sync.Mutex
	members  map[string]memberState
	parts    map[partKey]*partState
	errors   events
	timeouts atomic.Uint64
	calls    callHist
	batches  batchHist
}

type memberState struct {
	memberID   string
	generation int32
	joined     bool
}

type partKey struct {
	consumer  string
	topic     string
	partition int32
}

type partState struct {
	claim     sarama.ConsumerGroupClaim
	since     time.Time
	committed atomic.Int64
	processed atomic.Int64 // -1 until the first batch
	memory    atomic.Uint64
	state     atomic.Pointer[state.Store] // the partition's store, nil without state
	halted    atomic.Bool
}

// joined records a member's new group session (from Setup).
func (t *tracker) joined(consumer string, sess sarama.ConsumerGroupSession) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.members == nil {
		t.members = map[string]memberState{}
	}
	t.members[consumer] = memberState{memberID: sess.MemberID(), generation: sess.GenerationID(), joined: true}
}

// left records the end of a member's session (from Cleanup).
func (t *tracker) left(consumer string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.members[consumer]
	m.joined = false
	t.members[consumer] = m
}

// claimed registers an actor's partition; the returned func unregisters it.
func (t *tracker) claimed(consumer string, claim sarama.ConsumerGroupClaim) func() {
	k := partKey{consumer, claim.Topic(), claim.Partition()}
	ps := &partState{claim: claim, since: time.Now()}
	ps.committed.Store(max(claim.InitialOffset(), -1)) // not sarama's OffsetOldest (-2)
	ps.processed.Store(-1)
	t.mu.Lock()
	if t.parts == nil {
		t.parts = map[partKey]*partState{}
	}
	t.parts[k] = ps
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		if t.parts[k] == ps {
			delete(t.parts, k)
		}
		t.mu.Unlock()
	}
}

func (t *tracker) part(consumer, topic string, partition int32) *partState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.parts[partKey{consumer, topic, partition}]
}

// handleBatch is the one place an actor calls its plugin: it times the
// call, counts the batch and samples the instance's memory.
func (a *actor) handleBatch() (*host.Result, error) {
	start := time.Now()
	res, err := a.inst.HandleBatch(context.Background(), &a.batch)
	t := &a.p.obs
	t.calls.observe(time.Since(start))
	t.batches.observe(a.batch.Len())
	if ps := t.part(a.consumer, a.claim.Topic(), a.claim.Partition()); ps != nil {
		ps.memory.Store(a.inst.MemoryBytes())
	}
	if err != nil && a.inst.Broken() {
		kind := "trap"
		if errors.Is(err, host.ErrTimeout) {
			kind = "timeout"
			t.timeouts.Add(1)
		}
		a.event(kind, "retrying", a.enc.first, a.enc.last, 1, err)
	}
	return res, err
}

// processedTo records that the actor has settled every record before next
// (from process).
func (a *actor) processedTo(next int64) {
	if ps := a.p.obs.part(a.consumer, a.claim.Topic(), a.claim.Partition()); ps != nil {
		ps.processed.Store(next)
	}
}

// failed records a record that exhausted its retries and what the failure
// policy did with it (from settle).
func (a *actor) failed(m *sarama.ConsumerMessage, attempts int, err error, policy config.FailurePolicy) {
	action := map[config.FailurePolicy]string{config.DeadLetter: "dead-lettered", config.Skip: "skipped"}[policy]
	if action == "" {
		action = "halted"
		if ps := a.p.obs.part(a.consumer, m.Topic, m.Partition); ps != nil {
			ps.halted.Store(true)
		}
	}
	a.event("failed", action, m.Offset, m.Offset, attempts, err)
}

func (a *actor) event(kind, action string, first, last int64, attempts int, err error) {
	a.p.obs.errors.add(ErrorEvent{
		Time: time.Now(), Pipeline: a.p.cfg.Name, Plugin: a.inst.Plugin().Name(), PluginVersion: a.inst.Plugin().SHA256(),
		Topic: a.claim.Topic(), Partition: a.claim.Partition(), Offset: first, LastOffset: last,
		Attempts: attempts, Kind: kind, Action: action, Error: err.Error(),
	})
}

// Topics are the topics the pipeline consumes.
func (p *Pipeline) Topics() []string { return p.cfg.Topics }

// Status returns a snapshot of the pipeline.
func (p *Pipeline) Status() Status {
	s := Status{
		Name: p.cfg.Name, Group: p.cfg.Group, Topics: p.cfg.Topics, Guarantee: string(p.cfg.Guarantee),
		FailurePolicy: string(p.cfg.Failure.Policy), Consumers: p.cfg.Consumers, BatchSize: p.cfg.BatchSize,
		Plugin: pluginInfo(p.slot.Plugin()), // the current version; actors move to it batch by batch
		Counts: Counts{
			In: p.stats.In.Load(), Out: p.stats.Out.Load(), Failed: p.stats.Failed.Load(),
			Retried: p.stats.Retried.Load(), DeadLettered: p.stats.DeadLettered.Load(),
			Skipped: p.stats.Skipped.Load(), Traps: p.stats.Traps.Load(), Timeouts: p.obs.timeouts.Load(),
			TxnCommitted: p.stats.TxnCommitted.Load(), TxnAborted: p.stats.TxnAborted.Load(),
			StateWrites: p.stats.StateWrites.Load(), StateRestores: p.stats.StateRestores.Load(),
			StateRestored:       p.stats.StateRestored.Load(),
			StateRestoreSeconds: time.Duration(p.stats.StateRestoreNanos.Load()).Seconds(),
		},
		CallSeconds:  p.obs.calls.snapshot(),
		BatchRecords: p.obs.batches.snapshot(),
		Errors:       p.obs.errors.latest(),
	}
	t := &p.obs
	t.mu.Lock()
	byMember := map[string]int{}
	for _, m := range p.members {
		st := t.members[m.id]
		byMember[m.id] = len(s.Members)
		s.Members = append(s.Members, MemberStatus{Consumer: m.id, MemberID: st.memberID, Generation: st.generation, Joined: st.joined})
	}
	for k, ps := range t.parts {
		i, ok := byMember[k.consumer]
		if !ok {
			continue
		}
		hw, committed, processed := ps.claim.HighWaterMarkOffset(), ps.committed.Load(), ps.processed.Load()
		if processed < 0 {
			processed = committed
		}
		lag, plag := max(hw-max(committed, 0), 0), max(hw-max(processed, 0), 0)
		pst := PartitionStatus{
			Topic: k.topic, Partition: k.partition, HighWatermark: hw, Committed: committed, Lag: lag,
			Processed: processed, ProcessedLag: plag,
			Halted: ps.halted.Load(), MemoryBytes: ps.memory.Load(), Since: ps.since,
		}
		if st := ps.state.Load(); st != nil {
			pst.StateKeys, pst.StateBytes = st.Size()
		}
		s.Members[i].Partitions = append(s.Members[i].Partitions, pst)
		s.Lag += lag
		s.ProcessedLag += plag
		s.MemoryBytes += ps.memory.Load()
		s.Partitions++
	}
	t.mu.Unlock()
	for i := range s.Members {
		slices.SortFunc(s.Members[i].Partitions, func(a, b PartitionStatus) int {
			return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
		})
	}
	return s
}

// RefreshCommitted asks the brokers for the group's committed offsets of
// the partitions this daemon holds, which Status reports with their lag.
// The daemon calls it periodically; it works the same under every
// guarantee, whoever commits (the actors, or transactions).
func (p *Pipeline) RefreshCommitted(admin sarama.ClusterAdmin) error {
	want := map[string][]int32{}
	p.obs.mu.Lock()
	for k := range p.obs.parts {
		if !slices.Contains(want[k.topic], k.partition) {
			want[k.topic] = append(want[k.topic], k.partition)
		}
	}
	p.obs.mu.Unlock()
	if len(want) == 0 {
		return nil
	}
	res, err := admin.ListConsumerGroupOffsets(p.cfg.Group, want)
	if err != nil {
		return fmt.Errorf("pipeline %s: committed offsets of group %s: %w", p.cfg.Name, p.cfg.Group, err)
	}
	if !errors.Is(res.Err, sarama.ErrNoError) {
		return fmt.Errorf("pipeline %s: committed offsets of group %s: %w", p.cfg.Name, p.cfg.Group, res.Err)
	}
	p.obs.mu.Lock()
	defer p.obs.mu.Unlock()
	for k, ps := range p.obs.parts {
		if b := res.GetBlock(k.topic, k.partition); b != nil && errors.Is(b.Err, sarama.ErrNoError) && b.Offset >= 0 {
			ps.committed.Store(b.Offset)
		}
	}
	return nil
}

// SourceStatus is a snapshot of a running source.
type SourceStatus struct {
	Name     string       `json:"name"`
	Interval string       `json:"interval"`
	Plugin   PluginInfo   `json:"plugin"`
	Ticks    uint64       `json:"ticks"`
	Out      uint64       `json:"out"`
	Failed   uint64       `json:"failed"` // ticks that failed
	Errors   []ErrorEvent `json:"errors"` // newest first
}

// sourceTracker is what a source knows beyond its counters.
type sourceTracker struct {
	failed atomic.Uint64
	errors events
}

// tickFailed records a failed tick (from tick).
func (s *Source) tickFailed(err error) {
	s.obs.failed.Add(1)
	s.obs.errors.add(ErrorEvent{
		Time: time.Now(), Pipeline: s.cfg.Name, Plugin: s.o.Plugin.Plugin().Name(), PluginVersion: s.o.Plugin.Plugin().SHA256(),
		Partition: -1, Offset: -1, LastOffset: -1, Kind: "tick", Action: "next-tick", Error: err.Error(),
	})
}

// Status returns a snapshot of the source.
func (s *Source) Status() SourceStatus {
	return SourceStatus{
		Name: s.cfg.Name, Interval: s.cfg.Interval.String(), Plugin: pluginInfo(s.o.Plugin.Plugin()),
		Ticks: s.ticks.Load(), Out: s.out.Load(), Failed: s.obs.failed.Load(), Errors: s.obs.errors.latest(),
	}
}

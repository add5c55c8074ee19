package observe

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/kafka"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Options describe the daemon a Monitor watches.
type Options struct {
	Version  string   // the build, e.g. "v1.2.0" or a git describe
	DaemonID string   // this run of the daemon (a UUID)
	Brokers  []string // the brokers the daemon connects to
	Embedded bool     // the brokers are the daemon's embedded broker
}

// Monitor gathers the daemon's state for the status API, the status page,
// the metrics and the readiness probe.
type Monitor struct {
	opts    Options
	started time.Time
	probe   probeState
	hist    history // the charts' samples (history.go)

	mu        sync.Mutex
	pipelines []*pipeline.Pipeline
	sources   []*pipeline.Source
	producer  *kafka.Producer
	plugins   []*pluginState // in load order
	config    ConfigStatus   // History oldest first
	loaded    bool           // every configured plugin is loaded
	working   bool           // pipelines and sources started
	stopping  bool
	fleet     func() fleet.FleetStatus // nil: the fleet view is off (fleet.go)
}

// New returns a Monitor for a daemon that has not connected yet.
func New(o Options) *Monitor {
	m := &Monitor{opts: o, started: time.Now()}
	m.probe.err = errNotConnected
	return m
}

// The methods the daemon calls as its pipelines, sources and plugins come
// and go do nothing on a nil Monitor, so code that runs them without one
// (tests of package daemon) need not check.

// AddPipeline adds a started pipeline.
func (m *Monitor) AddPipeline(p *pipeline.Pipeline) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pipelines = append(m.pipelines, p)
}

// RemovePipeline forgets a stopped pipeline.
func (m *Monitor) RemovePipeline(p *pipeline.Pipeline) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pipelines = slices.DeleteFunc(slices.Clone(m.pipelines), func(q *pipeline.Pipeline) bool { return q == p })
}

// AddSource adds a started source.
func (m *Monitor) AddSource(s *pipeline.Source) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources = append(m.sources, s)
}

// RemoveSource forgets a stopped source.
func (m *Monitor) RemoveSource(s *pipeline.Source) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources = slices.DeleteFunc(slices.Clone(m.sources), func(q *pipeline.Source) bool { return q == s })
}

// ConfigReloaded records a config reload: applied when err is nil, else
// rejected (the running config stays) because of err.
func (m *Monitor) ConfigReloaded(err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := ConfigEvent{Time: time.Now(), Result: "applied"}
	if err != nil {
		ev.Result, ev.Error = "rejected", err.Error()
		m.config.Rejected++
	} else {
		m.config.Applied++
	}
	m.config.History = append(m.config.History, ev)
	if len(m.config.History) > maxHistory {
		m.config.History = slices.Delete(m.config.History, 0, len(m.config.History)-maxHistory)
	}
}

// SetProducer sets the shared producer whose counts are reported.
func (m *Monitor) SetProducer(p *kafka.Producer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.producer = p
}

// PluginsLoaded says every plugin the config names is loaded.
func (m *Monitor) PluginsLoaded() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loaded = true
}

// Working says every pipeline and source has started.
func (m *Monitor) Working() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.working = true
}

// ShuttingDown makes the daemon not ready from now on.
func (m *Monitor) ShuttingDown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopping = true
}

// Status is the picture /api/status serves and `wasmhost status` prints.
type Status struct {
	Version        string                  `json:"version"`
	DaemonID       string                  `json:"daemon_id"`
	ABIVersion     int                     `json:"abi_version"`
	StartedAt      time.Time               `json:"started_at"`
	Now            time.Time               `json:"now"`
	Ready          bool                    `json:"ready"`
	NotReady       []string                `json:"not_ready"` // why not, one reason each
	Brokers        []string                `json:"brokers"`
	EmbeddedBroker bool                    `json:"embedded_broker"`
	Producer       ProducerStatus          `json:"producer"`
	Pipelines      []pipeline.Status       `json:"pipelines"`
	Sources        []pipeline.SourceStatus `json:"sources"`
	Plugins        []PluginStatus          `json:"plugins"`
	ConfigReloads  ConfigStatus            `json:"config_reloads"`
	// Errors are the latest errors of every pipeline and source, newest
	// first.
	Errors []pipeline.ErrorEvent `json:"errors"`
}

// ProducerStatus counts the shared producer's records.
type ProducerStatus struct {
	Sent      uint64 `json:"sent"`
	Delivered uint64 `json:"delivered"`
	Failed    uint64 `json:"failed"`
	InFlight  uint64 `json:"in_flight"`
	Retried   uint64 `json:"retried"`
}

// maxErrors bounds Status.Errors.
const maxErrors = 50

// Status returns a snapshot of the daemon.
func (m *Monitor) Status() Status {
	ready, why := m.Ready()
	if why == nil {
		why = []string{}
	}
	m.mu.Lock()
	pipes, srcs, prod := slices.Clone(m.pipelines), slices.Clone(m.sources), m.producer
	plugins := make([]PluginStatus, len(m.plugins))
	for i, p := range m.plugins {
		plugins[i] = p.status()
	}
	cfg := m.config
	cfg.History = slices.Clone(cfg.History)
	m.mu.Unlock()
	slices.Reverse(cfg.History)
	if cfg.History == nil {
		cfg.History = []ConfigEvent{}
	}
	s := Status{
		Version: m.opts.Version, DaemonID: m.opts.DaemonID, ABIVersion: abi.Version, StartedAt: m.started, Now: time.Now(),
		Ready: ready, NotReady: why, Brokers: m.opts.Brokers, EmbeddedBroker: m.opts.Embedded,
		Pipelines: []pipeline.Status{}, Sources: []pipeline.SourceStatus{}, Plugins: plugins,
		ConfigReloads: cfg, Errors: []pipeline.ErrorEvent{},
	}
	if prod != nil {
		ps := prod.Stats()
		s.Producer = ProducerStatus{Sent: ps.Sent, Delivered: ps.Acked, Failed: ps.Failed,
			InFlight: ps.Sent - min(ps.Sent, ps.Acked+ps.Failed), Retried: ps.Retried}
	}
	for _, p := range pipes {
		ps := p.Status()
		s.Pipelines = append(s.Pipelines, ps)
		s.Errors = append(s.Errors, ps.Errors...)
	}
	for _, src := range srcs {
		ss := src.Status()
		s.Sources = append(s.Sources, ss)
		s.Errors = append(s.Errors, ss.Errors...)
	}
	slices.SortStableFunc(s.Errors, func(a, b pipeline.ErrorEvent) int { return b.Time.Compare(a.Time) })
	s.Errors = s.Errors[:min(len(s.Errors), maxErrors)]
	return s
}

// Ready reports whether the daemon is ready to do its work, and if not,
// why: a plugin not loaded, a pipeline whose members are not all in their
// group, brokers that do not answer, or a shutdown under way.
func (m *Monitor) Ready() (bool, []string) {
	var why []string
	if err := m.probe.check(time.Now()); err != nil {
		why = append(why, "kafka: "+err.Error())
	}
	m.mu.Lock()
	loaded, working, stopping, pipes := m.loaded, m.working, m.stopping, slices.Clone(m.pipelines)
	m.mu.Unlock()
	if stopping {
		why = append(why, "shutting down")
	}
	if !loaded {
		why = append(why, "plugins: not loaded yet")
	}
	if !working {
		why = append(why, "pipelines and sources: not started yet")
	}
	for _, p := range pipes {
		joined, total := 0, 0
		for _, mem := range p.Status().Members {
			total++
			if mem.Joined {
				joined++
			}
		}
		if joined < total {
			why = append(why, fmt.Sprintf("pipeline %s: %d of %d consumers in group", p.Name(), joined, total))
		}
	}
	return len(why) == 0, why
}

// ConfigStatus counts config reloads (SIGHUP, `wasmhost reload`, or a
// watched config file).
type ConfigStatus struct {
	Applied  uint64        `json:"applied"`
	Rejected uint64        `json:"rejected"`
	History  []ConfigEvent `json:"history"` // newest first, at most maxHistory
}

// ConfigEvent is one config reload.
type ConfigEvent struct {
	Time   time.Time `json:"time"`
	Result string    `json:"result"` // "applied" or "rejected"
	Error  string    `json:"error,omitempty"`
}

// PluginStatus is one plugin and the history of its versions.
type PluginStatus struct {
	Name           string        `json:"name"`
	SHA256         string        `json:"sha256"` // the version serving now
	Path           string        `json:"path"`
	LoadedAt       time.Time     `json:"loaded_at"` // of the version serving now
	Reloads        uint64        `json:"reloads"`
	ReloadFailures uint64        `json:"reload_failures"`
	History        []PluginEvent `json:"history"` // newest first, at most maxHistory
}

// PluginEvent is a load or reload of a plugin.
type PluginEvent struct {
	Time time.Time `json:"time"`
	// Event is "loaded" (at start), "reloaded" or "reload-failed" (the
	// serving version stays).
	Event          string  `json:"event"`
	SHA256         string  `json:"sha256,omitempty"`
	PreviousSHA256 string  `json:"previous_sha256,omitempty"`
	Path           string  `json:"path"`
	Seconds        float64 `json:"seconds"` // how long the load or swap took
	Error          string  `json:"error,omitempty"`
}

// maxHistory bounds a plugin's history.
const maxHistory = 20

type pluginState struct {
	PluginStatus
	history []PluginEvent // oldest first
}

func (p *pluginState) add(ev PluginEvent) {
	p.history = append(p.history, ev)
	if len(p.history) > maxHistory {
		p.history = slices.Delete(p.history, 0, len(p.history)-maxHistory)
	}
}

func (p *pluginState) status() PluginStatus {
	s := p.PluginStatus
	s.History = slices.Clone(p.history)
	slices.Reverse(s.History)
	return s
}

func (m *Monitor) plugin(name string) *pluginState {
	for _, p := range m.plugins {
		if p.Name == name {
			return p
		}
	}
	p := &pluginState{PluginStatus: PluginStatus{Name: name}}
	m.plugins = append(m.plugins, p)
	return p
}

// PluginLoaded records that a plugin version was loaded at start. Loading
// the same version again (for another memory limit) is not a new event.
func (m *Monitor) PluginLoaded(name, path, sha256 string, took time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.plugin(name)
	if p.SHA256 == sha256 && p.Path == path {
		return
	}
	now := time.Now()
	p.SHA256, p.Path, p.LoadedAt = sha256, path, now
	p.add(PluginEvent{Time: now, Event: "loaded", SHA256: sha256, Path: path, Seconds: took.Seconds()})
}

// PluginReloaded records that a new version of a plugin took over from the
// previous one; took is the time from noticing the new file to serving it.
// The same swap reported again (the file loaded for another memory limit)
// is not a new event.
func (m *Monitor) PluginReloaded(name, path, previous, sha256 string, took time.Duration) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.plugin(name)
	if n := len(p.history); n > 0 && p.history[n-1].Event == "reloaded" && p.history[n-1].SHA256 == sha256 &&
		p.history[n-1].PreviousSHA256 == previous && p.Path == path {
		return
	}
	now := time.Now()
	p.SHA256, p.Path, p.LoadedAt = sha256, path, now
	p.Reloads++
	p.add(PluginEvent{Time: now, Event: "reloaded", SHA256: sha256, PreviousSHA256: previous, Path: path, Seconds: took.Seconds()})
}

// PluginReloadFailed records a new version that was refused; the serving
// version stays.
func (m *Monitor) PluginReloadFailed(name, path string, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.plugin(name)
	p.ReloadFailures++
	p.add(PluginEvent{Time: time.Now(), Event: "reload-failed", PreviousSHA256: p.SHA256, Path: path, Error: err.Error()})
}

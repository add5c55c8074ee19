package pipeline

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// Stats are a pipeline's cumulative record counts.
type Stats struct {
	In           atomic.Uint64 // records handed to the plugin
	Out          atomic.Uint64 // records the plugin produced
	Failed       atomic.Uint64 // records that exhausted their retries
	Retried      atomic.Uint64 // retry attempts
	DeadLettered atomic.Uint64
	Skipped      atomic.Uint64
	Traps        atomic.Uint64 // instances lost to a trap or timeout
	TxnCommitted atomic.Uint64 // exactly-once transactions committed
	TxnAborted   atomic.Uint64 // exactly-once transactions aborted (their batches ran again)

	// State (state.go), for plugins that use it.
	StateWrites       atomic.Uint64 // changelog records written (sent, or committed in a transaction)
	StateRestores     atomic.Uint64 // partition stores restored from the changelog
	StateRestored     atomic.Uint64 // changelog records those restores applied
	StateRestoreNanos atomic.Uint64 // time those restores took
}

// Options are what a pipeline needs from the daemon.
type Options struct {
	Client   kafka.ClientOptions // how members connect
	Producer *kafka.Producer     // the shared host producer
	Plugin   *Slot               // the plugin's current version; the caller owns the slot
	// AllowTopic is the produce allowlist (nil allows every topic).
	AllowTopic func(string) bool
	// ProduceTopics are the topics the pipeline may produce to, when
	// known (the allowlist, the dead-letter topic): an exactly-once actor
	// seals their partitions when it starts (see txnrecover.go).
	ProduceTopics []string
	// DrainTimeout bounds how long an actor waits, when its partition is
	// revoked or the daemon stops, for what it produced to be acknowledged.
	DrainTimeout time.Duration
	Logger       zerolog.Logger
}

// Pipeline is a running consumer pipeline: Consumers group members sharing
// the partitions of its topics.
type Pipeline struct {
	cfg          config.Pipeline
	client       kafka.ClientOptions
	slot         *Slot
	producer     sender
	allow        func(string) bool
	partitions   func(string) int32 // nil without a producer (tests)
	limits       host.Limits
	drainTimeout time.Duration
	base         zerolog.Logger // tagged with the pipeline, for plugin instances
	log          zerolog.Logger // base plus the plugin, for the pipeline's own lines
	stats        Stats
	obs          tracker // members, partitions, call histograms, recent errors (status.go)
	stopping     atomic.Bool
	changelogs   changelogs // state changelog topics made sure of
	sealTopics   []string   // exactly-once: partitions sealed at start (txnrecover.go)
	sealed       sealed

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	members []*member
}

// Start starts the pipeline's members; they join the group in the
// background, retrying while the brokers are unreachable.
func Start(cfg config.Pipeline, o Options) (*Pipeline, error) {
	if o.Plugin == nil || !o.Plugin.Plugin().HandlesBatches() {
		return nil, fmt.Errorf("pipeline %s: plugin %s has no record handler", cfg.Name, cfg.Plugin)
	}
	if cfg.TickInterval.Duration > 0 && !o.Plugin.Plugin().HandlesTicks() {
		return nil, fmt.Errorf("pipeline %s: tick_interval is set but plugin %s has no tick handler", cfg.Name, cfg.Plugin)
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	// A revoked actor must hand over before the group gives up on its member.
	o.DrainTimeout = min(o.DrainTimeout, rebalanceTimeout/2)
	p := &Pipeline{
		cfg:          cfg,
		client:       o.Client,
		slot:         o.Plugin,
		producer:     o.Producer,
		allow:        o.AllowTopic,
		limits:       instanceLimits(cfg.Limits.Limits, cfg.Limits.MaxInputRecord),
		drainTimeout: o.DrainTimeout,
		sealTopics:   slices.Clone(o.ProduceTopics),
		base:         o.Logger.With().Str("pipeline", cfg.Name).Logger(),
	}
	if o.Producer != nil {
		p.partitions = o.Producer.Partitions
	}
	p.log = p.base.With().Str("plugin", o.Plugin.Plugin().Name()).Logger()
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for i := range cfg.Consumers {
		m, err := newMember(p, i, o.Client)
		if err != nil {
			cancel()
			return nil, err
		}
		p.members = append(p.members, m)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			m.run(ctx)
		}()
	}
	p.log.Info().Strs("topics", cfg.Topics).Str("group", cfg.Group).Int("consumers", cfg.Consumers).
		Str("guarantee", string(cfg.Guarantee)).Str("plugin_version", shortSHA(o.Plugin.Plugin().SHA256())).
		Msg("pipeline started")
	return p, nil
}

// Name is the pipeline's name.
func (p *Pipeline) Name() string { return p.cfg.Name }

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Stop makes every actor finish its batch, drain and commit, then the
// members leave the group. It returns when they are gone or ctx ends.
func (p *Pipeline) Stop(ctx context.Context) error {
	p.cancel()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		p.stopping.Store(true)
		return fmt.Errorf("pipeline %s: stop: %w", p.cfg.Name, ctx.Err())
	}
	p.stopping.Store(true)
	p.log.Info().Uint64("records_in", p.stats.In.Load()).Uint64("records_out", p.stats.Out.Load()).Msg("pipeline stopped")
	return nil
}

// newInstance instantiates a version of the plugin for an actor; log is the
// pipeline's base logger with the actor's coordinates.
func (p *Pipeline) newInstance(plugin *host.Plugin, consumer string, log zerolog.Logger, st host.State) (*host.Instance, error) {
	return plugin.Instantiate(context.Background(), host.InstanceOptions{
		Pipeline:   p.cfg.Name,
		Consumer:   consumer,
		Config:     p.cfg.Config,
		Logger:     log,
		AllowTopic: p.allow,
		Partitions: p.partitions,
		Limits:     p.limits,
		Grants:     instanceGrants(p.cfg.Grants),
		State:      st,
	})
}

// Allowlist builds a produce allowlist from topic names; empty allows any.
func Allowlist(topics []string) func(string) bool {
	if len(topics) == 0 {
		return nil
	}
	ts := slices.Clone(topics)
	return func(t string) bool { return slices.Contains(ts, t) }
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

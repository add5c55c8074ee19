package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// SourceOptions are what a source needs from the daemon.
type SourceOptions struct {
	Producer   *kafka.Producer
	Plugin     *Slot // the plugin's current version; the caller owns the slot
	AllowTopic func(string) bool
	Logger     zerolog.Logger
}

// Source calls a plugin's tick handler at an interval and produces what it
// returns.
type Source struct {
	cfg      config.Source
	o        SourceOptions
	log      zerolog.Logger
	stopping atomic.Bool
	acks     *ackQueue
	ticks    atomic.Uint64
	out      atomic.Uint64
	obs      sourceTracker // failed ticks and recent errors (status.go)
	cancel   context.CancelFunc
	done     chan struct{}
}

// StartSource instantiates the plugin and starts ticking.
func StartSource(cfg config.Source, o SourceOptions) (*Source, error) {
	if o.Plugin == nil || !o.Plugin.Plugin().HandlesTicks() {
		return nil, fmt.Errorf("source %s: plugin %s has no tick handler", cfg.Name, cfg.Plugin)
	}
	s := &Source{cfg: cfg, o: o, done: make(chan struct{}),
		log: o.Logger.With().Str("source", cfg.Name).Str("plugin", o.Plugin.Plugin().Name()).Logger()}
	s.acks = newAckQueue(o.Producer, func(int64) {}, &s.stopping)
	ver := o.Plugin.acquire()
	if ver == nil {
		return nil, fmt.Errorf("source %s: plugin %s is closed", cfg.Name, cfg.Plugin)
	}
	inst, err := s.instantiate(ver)
	if err != nil {
		ver.release()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx, ver, inst)
	s.log.Info().Dur("interval", cfg.Interval.Duration).Str("plugin_version", shortSHA(ver.plugin.SHA256())).Msg("source started")
	return s, nil
}

// partitions is the partition count lookup for instances: the producer's.
func (s *Source) partitions() func(string) int32 {
	if s.o.Producer == nil {
		return nil
	}
	return s.o.Producer.Partitions
}

func (s *Source) instantiate(ver *version) (*host.Instance, error) {
	return ver.plugin.Instantiate(context.Background(), host.InstanceOptions{
		Pipeline:   s.cfg.Name,
		Config:     s.cfg.Config,
		Logger:     s.o.Logger.With().Str("source", s.cfg.Name).Logger(),
		AllowTopic: s.o.AllowTopic,
		Partitions: s.partitions(),
		Limits:     instanceLimits(s.cfg.Limits, 0),
		Grants:     instanceGrants(s.cfg.Grants),
	})
}

func (s *Source) run(ctx context.Context, ver *version, inst *host.Instance) {
	defer close(s.done)
	defer func() {
		if inst != nil {
			_ = inst.Close(context.Background())
		}
		ver.release()
	}()
	t := time.NewTicker(s.cfg.Interval.Duration)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.o.Plugin.current() != ver {
				// A new version: switch between ticks.
				if next := s.o.Plugin.acquire(); next != nil {
					_ = inst.Close(context.Background())
					inst = nil
					ver.release()
					ver = next
				}
			}
			for inst == nil {
				next, err := s.instantiate(ver)
				if err == nil {
					inst = next
					break
				}
				s.log.Error().Err(err).Msg("cannot instantiate plugin; retrying")
				if !sleep(ctx, time.Second) {
					return
				}
			}
			if !s.tick(inst, now) {
				// Broken by a trap or a timeout: replaced before the next tick.
				_ = inst.Close(context.Background())
				inst = nil
			}
		}
	}
}

// tick runs one tick and produces what it returned; it returns false when
// the instance is broken.
func (s *Source) tick(inst *host.Instance, now time.Time) bool {
	s.ticks.Add(1)
	res, err := inst.Tick(context.Background(), now)
	if err != nil {
		s.log.Error().Err(err).Msg("tick failed")
		s.tickFailed(err)
		return !inst.Broken()
	}
	s.out.Add(produceTick(s.acks, res))
	return true
}

// produceTick hands what a tick produced to q, as one entry with no offset
// to mark (it derives from no input record), and returns how many records
// that was.
func produceTick(q *ackQueue, res *host.Result, more ...func(*pending)) uint64 {
	p := q.open()
	for i := range res.Outputs {
		p.send(producerMessage(&res.Outputs[i].Record))
	}
	for _, f := range more {
		f(p)
	}
	p.seal(-1)
	return uint64(len(res.Outputs))
}

// Name is the source's name.
func (s *Source) Name() string { return s.cfg.Name }

// Produced is how many records the source has produced.
func (s *Source) Produced() uint64 { return s.out.Load() }

// Stop stops ticking and waits, until ctx ends, for what the source produced
// to be acknowledged.
func (s *Source) Stop(ctx context.Context) error {
	s.cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("source %s: stop: %w", s.cfg.Name, ctx.Err())
	}
	defer s.stopping.Store(true)
	if !s.acks.drain(ctx) {
		return fmt.Errorf("source %s: records still unacknowledged at stop: %w", s.cfg.Name, ctx.Err())
	}
	s.log.Info().Uint64("ticks", s.ticks.Load()).Uint64("records_out", s.out.Load()).Msg("source stopped")
	return nil
}

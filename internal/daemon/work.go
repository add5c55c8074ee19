package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/kafka"
)

// work is the running pipelines and sources, by name. It is used by one
// goroutine at a time, like pluginSet.
type work struct {
	copts    kafka.ClientOptions
	producer *kafka.Producer
	plugins  *pluginSet
	mon      *observe.Monitor // told of pipelines and sources as they start and stop; may be nil
	log      zerolog.Logger
	pipes    map[string]*runningPipe
	sources  map[string]*runningSource
}

// pipeSpec is everything a running pipeline was started from: when its
// config entry or plugin differs in a new config, the pipeline is
// restarted; when only its produce allowlist does (a [[topics]] entry added
// or removed under produce_topics = [], "every topic"), the allowlist is
// changed under it and it runs on.
type pipeSpec struct {
	cfg    config.Pipeline
	plugin host.LoadOptions
	allow  []string // the topics it may produce to, in effect
}

type runningPipe struct {
	spec  pipeSpec
	allow *allowlist
	p     *pipeline.Pipeline
}

type sourceSpec struct {
	cfg    config.Source
	plugin host.LoadOptions
	allow  []string
}

type runningSource struct {
	spec  sourceSpec
	allow *allowlist
	s     *pipeline.Source
}

// allowlist is a produce allowlist a config reload can change while its
// pipeline or source runs. Empty allows every topic (pipeline.Allowlist).
type allowlist struct{ topics atomic.Pointer[[]string] }

func newAllowlist(topics []string) *allowlist {
	a := &allowlist{}
	a.set(topics)
	return a
}

func (a *allowlist) set(topics []string) {
	ts := slices.Clone(topics)
	a.topics.Store(&ts)
}

func (a *allowlist) allows(topic string) bool {
	ts := *a.topics.Load()
	return len(ts) == 0 || slices.Contains(ts, topic)
}

func newWork(copts kafka.ClientOptions, producer *kafka.Producer, plugins *pluginSet, log zerolog.Logger) *work {
	return &work{copts: copts, producer: producer, plugins: plugins, log: log,
		pipes: map[string]*runningPipe{}, sources: map[string]*runningSource{}}
}

func topicNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Topics))
	for i, t := range cfg.Topics {
		out[i] = t.Name
	}
	return out
}

func pipeSpecOf(cfg *config.Config, pc config.Pipeline) pipeSpec {
	produce := pc.ProduceTopics
	if len(produce) == 0 {
		produce = topicNames(cfg)
	}
	if pc.Failure.DeadLetterTopic != "" {
		produce = append(produce[:len(produce):len(produce)], pc.Failure.DeadLetterTopic)
	}
	return pipeSpec{cfg: pc, plugin: pipelinePlugin(cfg, pc), allow: produce}
}

func sourceSpecOf(cfg *config.Config, sc config.Source) sourceSpec {
	produce := sc.ProduceTopics
	if len(produce) == 0 {
		produce = topicNames(cfg)
	}
	return sourceSpec{cfg: sc, plugin: sourcePlugin(cfg, sc), allow: produce}
}

// equal says whether a pipeline started from a can go on for b: all but
// the allowlist, which is changed live.
func (a pipeSpec) equal(b pipeSpec) bool {
	a.allow, b.allow = nil, nil
	return reflect.DeepEqual(a, b)
}

func (a sourceSpec) equal(b sourceSpec) bool {
	a.allow, b.allow = nil, nil
	return reflect.DeepEqual(a, b)
}

// startPipeline starts a pipeline whose plugin pluginSet.ensure loaded.
func (w *work) startPipeline(spec pipeSpec, drain time.Duration) error {
	slot := w.plugins.use(spec.plugin, true)
	allow := newAllowlist(spec.allow)
	p, err := pipeline.Start(spec.cfg, pipeline.Options{
		Client: w.copts, Producer: w.producer, Plugin: slot,
		AllowTopic: allow.allows, ProduceTopics: spec.allow, DrainTimeout: drain, Logger: w.log,
	})
	if err != nil {
		w.plugins.unuse(spec.plugin, true)
		return err
	}
	w.pipes[spec.cfg.Name] = &runningPipe{spec: spec, allow: allow, p: p}
	w.mon.AddPipeline(p)
	return nil
}

func (w *work) startSource(spec sourceSpec) error {
	slot := w.plugins.use(spec.plugin, false)
	allow := newAllowlist(spec.allow)
	s, err := pipeline.StartSource(spec.cfg, pipeline.SourceOptions{
		Producer: w.producer, Plugin: slot, AllowTopic: allow.allows, Logger: w.log,
	})
	if err != nil {
		w.plugins.unuse(spec.plugin, false)
		return err
	}
	w.sources[spec.cfg.Name] = &runningSource{spec: spec, allow: allow, s: s}
	w.mon.AddSource(s)
	return nil
}

// reallow gives running pipelines and sources their new allowlists.
func (w *work) reallow(pipes, sources map[string][]string) {
	for name, topics := range pipes {
		r := w.pipes[name]
		r.spec.allow = topics
		r.allow.set(topics)
	}
	for name, topics := range sources {
		r := w.sources[name]
		r.spec.allow = topics
		r.allow.set(topics)
	}
}

// stop stops the named sources, then the named pipelines (in parallel: each
// finishes its batch, drains and commits), and forgets them.
func (w *work) stop(ctx context.Context, sources, pipes []string) error {
	var errs []error
	for _, name := range sources {
		r := w.sources[name]
		errs = append(errs, r.s.Stop(ctx))
		w.mon.RemoveSource(r.s)
		w.plugins.unuse(r.spec.plugin, false)
		delete(w.sources, name)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range pipes {
		r := w.pipes[name]
		wg.Go(func() {
			err := r.p.Stop(ctx)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, name := range pipes {
		w.mon.RemovePipeline(w.pipes[name].p)
		w.plugins.unuse(w.pipes[name].spec.plugin, true)
		delete(w.pipes, name)
	}
	return errors.Join(errs...)
}

// stopAll stops everything, sources first so nothing new is produced while
// the pipelines drain.
func (w *work) stopAll(ctx context.Context) error {
	var sources, pipes []string
	for name := range w.sources {
		sources = append(sources, name)
	}
	for name := range w.pipes {
		pipes = append(pipes, name)
	}
	return w.stop(ctx, sources, pipes)
}

// startAll starts what cfg describes: sources, then pipelines.
func (w *work) startAll(ctx context.Context, cfg *config.Config) error {
	if err := w.plugins.loadAll(ctx, cfg, cfg.Pipelines, cfg.Sources); err != nil {
		return err
	}
	for _, sc := range cfg.Sources {
		if err := w.startSource(sourceSpecOf(cfg, sc)); err != nil {
			return err
		}
	}
	for _, pc := range cfg.Pipelines {
		if err := w.startPipeline(pipeSpecOf(cfg, pc), drainTimeout(cfg)); err != nil {
			return fmt.Errorf("%s: %w", pipelineKey(cfg, pc.Name), err)
		}
	}
	return nil
}

func drainTimeout(cfg *config.Config) time.Duration {
	return cfg.ShutdownTimeout.Duration * 2 / 3
}

package daemon

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/observe"
)

// ReloadStats count what reloads did.
type ReloadStats struct {
	PluginSwaps    atomic.Uint64 // new plugin versions swapped in
	PluginFailures atomic.Uint64 // new plugin file contents refused (compile, ABI, init, pin, handler)
	ConfigReloads  atomic.Uint64 // new configs applied
	ConfigRejected atomic.Uint64 // new configs refused whole
}

// reloader applies reload requests and watched-file changes, one at a time,
// on its own goroutine: the running config, pipelines, sources and plugins
// are touched only there while the daemon runs.
type reloader struct {
	cfg       *config.Config // the config running
	opts      Options
	configAbs string // the config file, absolute, when it is watched
	client    sarama.Client
	work      *work
	plugins   *pluginSet
	watcher   *watcher
	stats     *ReloadStats
	mon       *observe.Monitor // may be nil
	log       zerolog.Logger
}

func (r *reloader) run(ctx context.Context) {
	r.watch()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.opts.Reload:
			r.log.Info().Msg("reload requested: reloading the config and rescanning the plugin files")
			r.reloadConfig(ctx)
			for _, f := range r.plugins.files() {
				r.plugins.refresh(ctx, f, time.Time{}, true)
			}
		case <-r.watcher.signal:
			for path, first := range r.watcher.take() {
				if path == r.configAbs {
					r.log.Info().Str("path", path).Msg("config file changed: reloading it")
					r.reloadConfig(ctx)
					continue
				}
				r.plugins.refresh(ctx, path, first, false)
			}
		}
	}
}

// watch points the watcher at what the running config says to watch.
func (r *reloader) watch() {
	var files []string
	if r.cfg.Reload.WatchPlugins {
		files = r.plugins.files()
	}
	if r.cfg.Reload.WatchConfig && r.opts.ConfigPath != "" {
		abs, err := filepath.Abs(r.opts.ConfigPath)
		if err == nil {
			r.configAbs = abs
			files = append(files, abs)
		}
	}
	r.watcher.set(files, r.cfg.Reload.Delay.Duration)
}

// reloadPlan is what applying a new config changes.
type reloadPlan struct {
	startPipes              []config.Pipeline
	startSources            []config.Source
	stopPipes, stopSources  []string
	added, removed, changed []string // names, for the log
	// reallowPipes and reallowSources are the new allowlists of those
	// that run on, by name, where only the allowlist changed.
	reallowPipes, reallowSources map[string][]string
}

func planReload(next *config.Config, w *work) reloadPlan {
	pl := reloadPlan{reallowPipes: map[string][]string{}, reallowSources: map[string][]string{}}
	for _, pc := range next.Pipelines {
		running, ok := w.pipes[pc.Name]
		spec := pipeSpecOf(next, pc)
		switch {
		case !ok:
			pl.added = append(pl.added, pc.Name)
		case !running.spec.equal(spec):
			pl.changed = append(pl.changed, pc.Name)
			pl.stopPipes = append(pl.stopPipes, pc.Name)
		case !slices.Equal(running.spec.allow, spec.allow):
			pl.reallowPipes[pc.Name] = spec.allow
			continue
		default:
			continue
		}
		pl.startPipes = append(pl.startPipes, pc)
	}
	for _, sc := range next.Sources {
		running, ok := w.sources[sc.Name]
		spec := sourceSpecOf(next, sc)
		switch {
		case !ok:
			pl.added = append(pl.added, sc.Name)
		case !running.spec.equal(spec):
			pl.changed = append(pl.changed, sc.Name)
			pl.stopSources = append(pl.stopSources, sc.Name)
		case !slices.Equal(running.spec.allow, spec.allow):
			pl.reallowSources[sc.Name] = spec.allow
			continue
		default:
			continue
		}
		pl.startSources = append(pl.startSources, sc)
	}
	for name := range w.pipes {
		if !slices.ContainsFunc(next.Pipelines, func(p config.Pipeline) bool { return p.Name == name }) {
			pl.removed = append(pl.removed, name)
			pl.stopPipes = append(pl.stopPipes, name)
		}
	}
	for name := range w.sources {
		if !slices.ContainsFunc(next.Sources, func(s config.Source) bool { return s.Name == name }) {
			pl.removed = append(pl.removed, name)
			pl.stopSources = append(pl.stopSources, name)
		}
	}
	slices.Sort(pl.removed)
	return pl
}

// reallowed names, sorted, what runs on with a new allowlist.
func (pl reloadPlan) reallowed() []string {
	out := slices.AppendSeq(slices.Collect(maps.Keys(pl.reallowPipes)), maps.Keys(pl.reallowSources))
	slices.Sort(out)
	return out
}

// restartKeys are the changed keys a running daemon cannot apply: the
// connection to Kafka, the embedded broker (when it runs), logging and the
// compilation cache. Pipelines, sources, topics, plugins.dir, reload.* and
// shutdown_timeout are applied live.
func restartKeys(cur, next *config.Config) []string {
	var out []string
	for _, k := range config.Changed(cur, next) {
		switch {
		case k == "shutdown_timeout", k == "plugins.dir", strings.HasPrefix(k, "reload."):
		case strings.HasPrefix(k, "embedded.") && !cur.Embedded():
			// Unused: the daemon talks to kafka.brokers.
		default:
			out = append(out, k)
		}
	}
	return out
}

// reloadConfig loads the config again and applies it: the pipelines and
// sources added, removed or changed are started, stopped (gracefully: they
// commit) or restarted; the others run on untouched. A config that does not
// load or validate, changes a key that needs a restart, or names a plugin
// that does not load is rejected whole and the running one stays.
func (r *reloader) reloadConfig(ctx context.Context) {
	if r.opts.LoadConfig == nil {
		return
	}
	start := time.Now()
	next, err := r.opts.LoadConfig()
	if err != nil {
		r.reject(err)
		return
	}
	if keys := restartKeys(r.cfg, next); len(keys) > 0 {
		r.reject(fmt.Errorf("changing %s needs a restart of the daemon", strings.Join(keys, ", ")))
		return
	}
	pl := planReload(next, r.work)
	// Everything that can fail is done before anything is stopped.
	if err := r.plugins.loadAll(ctx, next, pl.startPipes, pl.startSources); err != nil {
		r.reject(err)
		return
	}
	if !reflect.DeepEqual(r.cfg.Topics, next.Topics) {
		if err := ensureTopics(ctx, r.client, next, r.log); err != nil {
			r.plugins.prune()
			r.reject(err)
			return
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), next.ShutdownTimeout.Duration)
	if err := r.work.stop(sctx, pl.stopSources, pl.stopPipes); err != nil {
		r.log.Warn().Err(err).Msg("config reload: stopping a pipeline or source did not finish in time; starting its replacement anyway")
	}
	cancel()
	r.work.reallow(pl.reallowPipes, pl.reallowSources)
	failed := 0
	for _, sc := range pl.startSources {
		if err := r.work.startSource(sourceSpecOf(next, sc)); err != nil {
			failed++
			r.log.Error().Err(err).Str("source", sc.Name).Msg("config reload: cannot start source")
		}
	}
	for _, pc := range pl.startPipes {
		if err := r.work.startPipeline(pipeSpecOf(next, pc), drainTimeout(next)); err != nil {
			failed++
			r.log.Error().Err(err).Str("pipeline", pc.Name).Msg("config reload: cannot start pipeline")
		}
	}
	r.plugins.prune()
	r.cfg = next
	r.watch()
	r.stats.ConfigReloads.Add(1)
	r.mon.ConfigReloaded(nil)
	r.log.Info().Strs("added", pl.added).Strs("removed", pl.removed).Strs("changed", pl.changed).
		Strs("allowlist_changed", pl.reallowed()).
		Int("failed_to_start", failed).Dur("took", time.Since(start)).Msg("config reloaded")
}

func (r *reloader) reject(err error) {
	n := r.stats.ConfigRejected.Add(1)
	r.mon.ConfigReloaded(err)
	r.log.Error().Err(err).Uint64("rejected_total", n).Msg("new config rejected; the running config stays")
}

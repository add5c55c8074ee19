package daemon

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/pipeline"
)

// pluginSet loads each distinct (plugin, file, memory limit, pin) once into
// a slot shared by the pipelines and sources that use it, and swaps a file's
// new versions into its slots. It is used by one goroutine at a time: Run,
// then its reload loop, then its shutdown.
type pluginSet struct {
	rt    *host.Runtime
	log   zerolog.Logger
	stats *ReloadStats
	mon   *observe.Monitor // told of loads and reloads; may be nil
	slots map[host.LoadOptions]*slotEntry
}

type slotEntry struct {
	opts      host.LoadOptions
	abs       string // the file's absolute path, as the watcher reports it
	slot      *pipeline.Slot
	pipelines int // users that need the batch handler
	sources   int // users that need the tick handler
	failed    string
	gone      bool
}

func newPluginSet(rt *host.Runtime, stats *ReloadStats, log zerolog.Logger) *pluginSet {
	return &pluginSet{rt: rt, log: log, stats: stats, slots: map[host.LoadOptions]*slotEntry{}}
}

func loadOptions(plugin, path string, pin config.Digest, lim config.Limits) host.LoadOptions {
	o := host.LoadOptions{Name: config.PluginName(plugin), Path: path, MemoryLimit: uint64(lim.Memory), CallTimeout: lim.CallTimeout.Duration}
	if !pin.IsZero() {
		o.SHA256 = pin.String()
	}
	return o
}

func pipelinePlugin(cfg *config.Config, p config.Pipeline) host.LoadOptions {
	return loadOptions(p.Plugin, p.PluginPath(cfg.Plugins.Dir), p.SHA256, p.Limits.Limits)
}

func sourcePlugin(cfg *config.Config, s config.Source) host.LoadOptions {
	return loadOptions(s.Plugin, s.PluginPath(cfg.Plugins.Dir), s.SHA256, s.Limits)
}

// loadAll loads every plugin cfg names and reports every failure under the
// key of its user; on failure the plugins it loaded are closed again.
func (s *pluginSet) loadAll(ctx context.Context, cfg *config.Config, pipes []config.Pipeline, sources []config.Source) error {
	var errs []error
	for _, p := range pipes {
		errs = append(errs, s.ensure(ctx, pipelineKey(cfg, p.Name), pipelinePlugin(cfg, p), true))
	}
	for _, src := range sources {
		errs = append(errs, s.ensure(ctx, sourceKey(cfg, src.Name), sourcePlugin(cfg, src), false))
	}
	if err := errors.Join(errs...); err != nil {
		s.prune()
		return err
	}
	return nil
}

// pipelineKey names a pipeline's entry in cfg for error messages.
func pipelineKey(cfg *config.Config, name string) string {
	i := slices.IndexFunc(cfg.Pipelines, func(p config.Pipeline) bool { return p.Name == name })
	return fmt.Sprintf("pipelines[%d]", i)
}

func sourceKey(cfg *config.Config, name string) string {
	i := slices.IndexFunc(cfg.Sources, func(s config.Source) bool { return s.Name == name })
	return fmt.Sprintf("sources[%d]", i)
}

// ensure loads o into a new slot unless one exists, and checks it has the
// handler its user needs (batch for pipelines, tick for sources).
func (s *pluginSet) ensure(ctx context.Context, key string, o host.LoadOptions, batches bool) error {
	e, ok := s.slots[o]
	if !ok {
		start := time.Now()
		p, err := s.rt.Load(ctx, o)
		if err != nil {
			return fmt.Errorf("%s.plugin: %w", key, err)
		}
		s.mon.PluginLoaded(o.Name, o.Path, p.SHA256(), time.Since(start))
		abs, err := filepath.Abs(o.Path)
		if err != nil {
			abs = o.Path
		}
		e = &slotEntry{opts: o, abs: abs, slot: pipeline.NewSlot(p, s.log)}
		s.slots[o] = e
		s.log.Info().Str("plugin", o.Name).Str("path", o.Path).Str("sha256", p.SHA256()).Msg("plugin loaded")
	}
	p := e.slot.Plugin()
	if batches && !p.HandlesBatches() {
		return fmt.Errorf("%s.plugin: %s (%s) has no record handler", key, o.Name, o.Path)
	}
	if !batches && !p.HandlesTicks() {
		return fmt.Errorf("%s.plugin: %s (%s) has no tick handler", key, o.Name, o.Path)
	}
	return nil
}

// use returns the slot ensure loaded for o and counts a user of it.
func (s *pluginSet) use(o host.LoadOptions, batches bool) *pipeline.Slot {
	e := s.slots[o]
	if batches {
		e.pipelines++
	} else {
		e.sources++
	}
	return e.slot
}

// unuse drops a user; prune closes the slot once it has none.
func (s *pluginSet) unuse(o host.LoadOptions, batches bool) {
	e := s.slots[o]
	if batches {
		e.pipelines--
	} else {
		e.sources--
	}
}

// prune closes the slots nothing uses: loaded for a config that was then
// rejected, or left by pipelines that were removed.
func (s *pluginSet) prune() {
	for o, e := range s.slots {
		if e.pipelines == 0 && e.sources == 0 {
			e.slot.Close()
			delete(s.slots, o)
		}
	}
}

// files lists the absolute paths of the loaded plugin files.
func (s *pluginSet) files() []string {
	var out []string
	for _, e := range s.slots {
		if !slices.Contains(out, e.abs) {
			out = append(out, e.abs)
		}
	}
	slices.Sort(out)
	return out
}

// refresh reads the file at abs again and swaps its new content into every
// slot loaded from it. changed is when the first change of the file was
// seen (zero for a rescan on request). retry tries again content that
// failed to load before; otherwise such content waits for the file to change.
func (s *pluginSet) refresh(ctx context.Context, abs string, changed time.Time, retry bool) {
	var entries []*slotEntry
	for _, e := range s.slots {
		if e.abs == abs {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b *slotEntry) int { return cmp.Compare(a.opts.MemoryLimit, b.opts.MemoryLimit) })
	for _, e := range entries {
		s.refreshSlot(ctx, e, changed, retry)
	}
}

func (s *pluginSet) refreshSlot(ctx context.Context, e *slotEntry, changed time.Time, retry bool) {
	cur := e.slot.Plugin()
	log := s.log.With().Str("plugin", e.opts.Name).Str("path", e.opts.Path).Str("running_version", shortSHA(cur.SHA256())).Logger()
	sum, err := fileSHA256(e.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		if !e.gone {
			log.Warn().Msg("plugin file deleted; the loaded version keeps serving until a new file appears")
		}
		e.gone = true
		return
	}
	if err != nil {
		log.Warn().Err(err).Msg("cannot read the plugin file; the loaded version keeps serving")
		return
	}
	if e.gone {
		log.Info().Msg("plugin file is back")
		e.gone = false
	}
	if sum == cur.SHA256() || (sum == e.failed && !retry) {
		return
	}
	start := time.Now()
	p, err := s.rt.Load(ctx, e.opts)
	if err == nil && ((e.pipelines > 0 && !p.HandlesBatches()) || (e.sources > 0 && !p.HandlesTicks())) {
		_ = p.Close(ctx)
		err = fmt.Errorf("plugin %s: the new version lacks a handler its pipelines or sources need", e.opts.Name)
	}
	if err != nil {
		e.failed = sum
		s.mon.PluginReloadFailed(e.opts.Name, e.opts.Path, err)
		n := s.stats.PluginFailures.Add(1)
		log.Error().Err(err).Str("refused_version", shortSHA(sum)).Uint64("refused_total", n).
			Msg("new plugin version refused; the running version keeps serving (it is tried again when the file changes)")
		return
	}
	if p.SHA256() == cur.SHA256() {
		// The file went back to the running content while being loaded.
		_ = p.Close(ctx)
		return
	}
	e.failed = ""
	old := e.slot.Swap(p)
	s.stats.PluginSwaps.Add(1)
	took := time.Since(start)
	if !changed.IsZero() {
		took = time.Since(changed)
	}
	s.mon.PluginReloaded(e.opts.Name, e.opts.Path, old.SHA256(), p.SHA256(), took)
	ev := log.Info().Str("old_version", old.SHA256()).Str("new_version", p.SHA256()).Dur("load_took", time.Since(start))
	if !changed.IsZero() {
		ev = ev.Dur("since_change", time.Since(changed))
	}
	ev.Msg("plugin reloaded; actors switch at their next batch")
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// close closes every slot; each plugin version closes once the last
// instance running it is gone.
func (s *pluginSet) close(context.Context) error {
	for o, e := range s.slots {
		e.slot.Close()
		delete(s.slots, o)
	}
	return nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

package daemon

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/pipeline"
)

// pluginSet loads each distinct (plugin, origin, memory limit, pin) once
// into a slot shared by the pipelines and sources that use it, and swaps a
// file's or the plugin topic's new versions into its slots. It is used by
// one goroutine at a time: Run, then its reload loop, then its shutdown.
type pluginSet struct {
	rt       *host.Runtime
	log      zerolog.Logger
	stats    *ReloadStats
	mon      *observe.Monitor // told of loads and reloads; may be nil
	slots    map[host.LoadOptions]*slotEntry
	trusted  []ed25519.PublicKey // plugins.trusted_keys: when set, only modules they signed load
	topic    *pluginTopic        // the plugin topic; nil in tests without Kafka
	follower *fleet.Follower     // set once a plugin comes from Kafka
	workers  int                 // loads at once; 0 = GOMAXPROCS (BenchmarkStartupLoads sets 1)
}

type slotEntry struct {
	opts      host.LoadOptions
	abs       string // the file's absolute path, as the watcher reports it; "" from Kafka
	slot      *pipeline.Slot
	pipelines int // users that need the batch handler
	sources   int // users that need the tick handler
	// failed is the version refused last, not tried again until it
	// changes: a file's sha256, or sha256@offset of the pointer record
	// that chose a version from Kafka (a new deploy of it is a new try).
	failed string
	gone   bool
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
	path := p.PluginPath(cfg.Plugins.Dir)
	if cfg.PipelineFrom(&p) == config.FromKafka {
		path = kafkaPath(cfg.Plugins.Topic, p.Plugin)
	}
	return loadOptions(p.Plugin, path, p.SHA256, p.Limits.Limits)
}

func sourcePlugin(cfg *config.Config, s config.Source) host.LoadOptions {
	path := s.PluginPath(cfg.Plugins.Dir)
	if cfg.SourceFrom(&s) == config.FromKafka {
		path = kafkaPath(cfg.Plugins.Topic, s.Plugin)
	}
	return loadOptions(s.Plugin, path, s.SHA256, s.Limits)
}

// user is a pipeline or source that needs a plugin: key names its config
// entry in errors.
type user struct {
	key     string
	o       host.LoadOptions
	batches bool
}

// loadAll loads every plugin cfg names, in parallel, and reports every
// failure under the key of its user; on failure the plugins it loaded are
// closed again.
func (s *pluginSet) loadAll(ctx context.Context, cfg *config.Config, pipes []config.Pipeline, sources []config.Source) error {
	var users []user
	for _, p := range pipes {
		users = append(users, user{pipelineKey(cfg, p.Name), pipelinePlugin(cfg, p), true})
	}
	for _, src := range sources {
		users = append(users, user{sourceKey(cfg, src.Name), sourcePlugin(cfg, src), false})
	}
	if err := s.ensureAll(ctx, users); err != nil {
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
	return s.ensureAll(ctx, []user{{key, o, batches}})
}

// ensureAll loads, at once, the plugins of users that no slot holds yet,
// then checks each user's handler.
func (s *pluginSet) ensureAll(ctx context.Context, users []user) error {
	failed := map[host.LoadOptions]error{}
	var jobs []*loadJob
	for _, u := range users {
		if _, ok := s.slots[u.o]; ok || slices.ContainsFunc(jobs, func(j *loadJob) bool { return j.o == u.o }) {
			continue
		}
		if fromKafka(u.o) {
			if err := s.follow(ctx); err != nil {
				failed[u.o] = err
				continue
			}
		}
		c, err := s.read(u.o)
		if err != nil {
			failed[u.o] = err
			continue
		}
		jobs = append(jobs, &loadJob{o: u.o, c: c, log: s.log.With().Str("plugin", u.o.Name).Str("path", u.o.Path).Logger()})
	}
	s.loadParallel(ctx, jobs)
	s.fallBack(ctx, jobs, users)
	for _, j := range jobs {
		if j.err != nil {
			failed[j.o] = j.err
			continue
		}
		s.addSlot(j)
	}
	var errs []error
	for _, u := range users {
		if err, ok := failed[u.o]; ok {
			errs = append(errs, fmt.Errorf("%s.plugin: %w", u.key, err))
			continue
		}
		p := s.slots[u.o].slot.Plugin()
		if u.batches && !p.HandlesBatches() {
			errs = append(errs, fmt.Errorf("%s.plugin: %s (%s) has no record handler", u.key, u.o.Name, u.o.Path))
		}
		if !u.batches && !p.HandlesTicks() {
			errs = append(errs, fmt.Errorf("%s.plugin: %s (%s) has no tick handler", u.key, u.o.Name, u.o.Path))
		}
	}
	return errors.Join(errs...)
}

// maxFallbacks bounds the earlier versions tried when the current one does
// not load (an unsigned one costs nothing; others compile).
const maxFallbacks = 4

// fallBack loads, for each plugin from Kafka whose current version did not
// load, the best earlier version that does (fleet.Catalog.Fallbacks: first
// the version the current pointer replaced, which is what the running fleet
// kept serving when it refused the current one). Without it a daemon that
// (re)starts after a bad deploy would exit, and a fleet whose pods restart
// would go down one by one. The refused version is remembered as failed
// (not tried again until the pointer moves); if no earlier version loads,
// the job keeps its error.
func (s *pluginSet) fallBack(ctx context.Context, jobs []*loadJob, users []user) {
	for _, j := range jobs {
		if j.c.kafka == nil || (j.err == nil && fits(j.p, j.o, users)) {
			continue
		}
		refused := j.err
		if refused == nil {
			refused = fmt.Errorf("plugin %s: the version lacks a handler its pipelines or sources need", j.o.Name)
		}
		for _, v := range s.follower.Fallbacks(j.o.Name, maxFallbacks) {
			c := content{sha: v.SHA256, sig: v.Signature, kafka: &v, failID: j.c.failID, from: "a version before the current one"}
			start := time.Now()
			p, err := s.load(ctx, j.o, c)
			if err == nil && !fits(p, j.o, users) {
				_ = p.Close(ctx)
				err = errors.New("lacks a handler its pipelines or sources need")
			}
			if err != nil {
				j.log.Warn().Err(err).Str("version", shortSHA(v.SHA256)).Msg("earlier plugin version does not load either")
				continue
			}
			j.log.Error().Err(refused).Str("refused_version", shortSHA(j.c.sha)).Str("serving_version", shortSHA(v.SHA256)).
				Msg("current plugin version refused; serving an earlier one until a new deploy or a rollback")
			s.stats.PluginFailures.Add(1)
			if j.p != nil {
				_ = j.p.Close(ctx)
			}
			j.p, j.err, j.c, j.took, j.fellBack = p, nil, c, time.Since(start), true
			break
		}
	}
}

// fits reports whether p has the handlers every user of o needs.
func fits(p *host.Plugin, o host.LoadOptions, users []user) bool {
	for _, u := range users {
		if u.o == o && ((u.batches && !p.HandlesBatches()) || (!u.batches && !p.HandlesTicks())) {
			return false
		}
	}
	return true
}

func (s *pluginSet) addSlot(j *loadJob) {
	o, p := j.o, j.p
	s.mon.PluginLoaded(o.Name, o.Path, p.SHA256(), j.took)
	e := &slotEntry{opts: o, slot: pipeline.NewSlot(p, s.log)}
	if !fromKafka(o) {
		abs, err := filepath.Abs(o.Path)
		if err != nil {
			abs = o.Path
		}
		e.abs = abs
	}
	if j.fellBack {
		e.failed = j.c.failID
	}
	s.slots[o] = e
	j.log.Info().Str("sha256", p.SHA256()).Str("load_took", seconds(j.took)).Msg("plugin loaded")
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

// files lists the absolute paths of the loaded plugin files, and of their
// detached signatures when signatures are checked.
func (s *pluginSet) files() []string {
	var out []string
	for _, e := range s.slots {
		if e.abs == "" || slices.Contains(out, e.abs) {
			continue
		}
		out = append(out, e.abs)
		if len(s.trusted) > 0 {
			out = append(out, e.abs+fleet.SigSuffix)
		}
	}
	slices.Sort(out)
	return out
}

// refresh reads the file at abs again (abs may be its signature) and swaps
// its new content into every slot loaded from it. changed is when the first
// change of the file was seen (zero for a rescan on request). retry tries
// again content that failed to load before; otherwise such content waits
// for the file to change. A signature that changed retries its file.
func (s *pluginSet) refresh(ctx context.Context, abs string, changed time.Time, retry bool) {
	s.refreshFiles(ctx, map[string]time.Time{abs: changed}, retry)
}

// refreshFiles is refresh for several files at once, loaded in parallel.
func (s *pluginSet) refreshFiles(ctx context.Context, changed map[string]time.Time, retry bool) {
	files := map[string]time.Time{}
	retried := map[string]bool{}
	for path, t := range changed {
		if f, ok := strings.CutSuffix(path, fleet.SigSuffix); ok {
			path, retried[f] = f, true
		}
		if old, ok := files[path]; !ok || (t.Before(old) && !t.IsZero()) {
			files[path] = t
		}
	}
	s.refreshEntries(ctx, func(e *slotEntry) (time.Time, bool, bool) {
		t, ok := files[e.abs]
		return t, ok && e.abs != "", retry || retried[e.abs]
	})
}

// refreshKafka swaps in the versions the plugin topic now points at;
// retry tries again versions refused before.
func (s *pluginSet) refreshKafka(ctx context.Context, retry bool) {
	s.refreshEntries(ctx, func(e *slotEntry) (time.Time, bool, bool) { return time.Time{}, e.abs == "", retry })
}

// refreshEntries reads what the slots chosen are loaded from, loads the
// new versions in parallel, and swaps in those that load. chosen says of a
// slot whether to refresh it, when its change was first seen (or zero) and
// whether to retry a refused version.
func (s *pluginSet) refreshEntries(ctx context.Context, chosen func(*slotEntry) (time.Time, bool, bool)) {
	var entries []*slotEntry
	for _, e := range s.slots {
		if _, ok, _ := chosen(e); ok {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b *slotEntry) int {
		return cmp.Or(cmp.Compare(a.opts.Path, b.opts.Path), cmp.Compare(a.opts.MemoryLimit, b.opts.MemoryLimit))
	})
	var jobs []*loadJob
	var of []*slotEntry
	for _, e := range entries {
		_, _, retry := chosen(e)
		if j := s.newVersion(e, retry); j != nil {
			jobs, of = append(jobs, j), append(of, e)
		}
	}
	s.loadParallel(ctx, jobs)
	for i, j := range jobs {
		changed, _, _ := chosen(of[i])
		s.swap(ctx, of[i], j, changed)
	}
}

// newVersion reads what e is loaded from and returns the job that loads
// it, or nil when there is nothing new to load.
func (s *pluginSet) newVersion(e *slotEntry, retry bool) *loadJob {
	cur := e.slot.Plugin()
	log := s.log.With().Str("plugin", e.opts.Name).Str("path", e.opts.Path).Str("running_version", shortSHA(cur.SHA256())).Logger()
	c, err := s.read(e.opts)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !e.gone {
			log.Warn().Msg("plugin file deleted; the loaded version keeps serving until a new file appears")
		}
		e.gone = true
		return nil
	case errors.Is(err, fleet.ErrNotDeployed):
		if !e.gone {
			log.Warn().Err(err).Msg("plugin withdrawn from the plugin topic; the loaded version keeps serving until one is deployed")
		}
		e.gone = true
		return nil
	case err != nil:
		log.Warn().Err(err).Msg("cannot read the new plugin version; the loaded version keeps serving")
		return nil
	}
	if e.gone {
		log.Info().Msg("plugin is back")
		e.gone = false
	}
	if c.sha == cur.SHA256() || (c.failID == e.failed && !retry) {
		return nil
	}
	return &loadJob{o: e.opts, c: c, log: log}
}

// swap puts the version j loaded into e's slot, or logs why it was
// refused; the running version keeps serving then.
func (s *pluginSet) swap(ctx context.Context, e *slotEntry, j *loadJob, changed time.Time) {
	cur := e.slot.Plugin()
	p, err := j.p, j.err
	if err == nil && ((e.pipelines > 0 && !p.HandlesBatches()) || (e.sources > 0 && !p.HandlesTicks())) {
		_ = p.Close(ctx)
		err = fmt.Errorf("plugin %s: the new version lacks a handler its pipelines or sources need", e.opts.Name)
	}
	if err != nil {
		e.failed = j.c.failID
		s.mon.PluginReloadFailed(e.opts.Name, e.opts.Path, err)
		n := s.stats.PluginFailures.Add(1)
		j.log.Error().Err(err).Str("refused_version", shortSHA(j.c.sha)).Uint64("refused_total", n).
			Msg("new plugin version refused; the running version keeps serving (it is tried again when it changes)")
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
	took := j.took
	if !changed.IsZero() {
		took = time.Since(changed)
	}
	s.mon.PluginReloaded(e.opts.Name, e.opts.Path, old.SHA256(), p.SHA256(), took)
	ev := j.log.Info().Str("old_version", old.SHA256()).Str("new_version", p.SHA256()).Str("load_took", seconds(j.took))
	if !changed.IsZero() {
		ev = ev.Str("since_change", seconds(time.Since(changed)))
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
	if s.follower != nil {
		return s.follower.Close()
	}
	return nil
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

package pipeline

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
)

// Slot holds the current version of a plugin for the pipelines and sources
// that run it. An actor checks the slot once per batch (one atomic load);
// [Slot.Swap] installs a new version, and each actor moves to it at its next
// batch boundary. A version that is no longer current is closed once the
// last actor running it has closed its instance, so compiled modules are
// neither leaked nor closed under a running instance.
type Slot struct {
	cur atomic.Pointer[version]
	log zerolog.Logger
}

// version is one plugin version in a slot. refs counts the slot's own
// reference, held while the version is current, plus one per actor or
// source running it; at zero the plugin is closed and refs never rises
// again.
type version struct {
	plugin   *host.Plugin
	refs     atomic.Int64
	replaced chan struct{} // closed when the version stops being current
	since    atomic.Int64  // unix nanoseconds when it stopped being current
	log      zerolog.Logger
}

// NewSlot makes a slot whose current version is p. The slot owns p from now
// on: close the slot, not the plugin.
func NewSlot(p *host.Plugin, log zerolog.Logger) *Slot {
	s := &Slot{log: log}
	s.cur.Store(s.newVersion(p))
	return s
}

func (s *Slot) newVersion(p *host.Plugin) *version {
	v := &version{plugin: p, replaced: make(chan struct{}),
		log: s.log.With().Str("plugin", p.Name()).Str("plugin_version", shortSHA(p.SHA256())).Logger()}
	v.refs.Store(1)
	return v
}

// Plugin is the current version.
func (s *Slot) Plugin() *host.Plugin { return s.cur.Load().plugin }

// current is the current version, for the per-batch check.
func (s *Slot) current() *version { return s.cur.Load() }

// acquire takes a reference to the current version, or returns nil when the
// slot is closed. Release it once its instance is closed.
func (s *Slot) acquire() *version {
	for {
		v := s.cur.Load()
		if v.tryAcquire() {
			return v
		}
		if s.cur.Load() == v {
			return nil // closed: the current version itself is gone
		}
		// Swapped out and closed between the load and the acquire: the
		// slot already holds a newer version.
	}
}

func (v *version) tryAcquire() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (v *version) release() {
	if v.refs.Add(-1) != 0 {
		return
	}
	ev := v.log.Debug()
	if since := v.since.Load(); since != 0 {
		ev = v.log.Info().Dur("drained_in", time.Since(time.Unix(0, since)))
	}
	if err := v.plugin.Close(context.Background()); err != nil {
		v.log.Warn().Err(err).Msg("closing a retired plugin version")
		return
	}
	ev.Msg("plugin version closed: no instance runs it any more")
}

// Swap makes p the current version and returns the one it replaces. Actors
// move to p at their next batch; the old version is closed when the last of
// them has left it.
func (s *Slot) Swap(p *host.Plugin) *host.Plugin {
	next := s.newVersion(p)
	old := s.cur.Swap(next)
	old.since.Store(time.Now().UnixNano())
	close(old.replaced)
	old.release()
	return old.plugin
}

// Close drops the slot's reference to its current version, which is closed
// once no actor or source runs it. Call it once, after the pipelines and
// sources that use the slot have stopped.
func (s *Slot) Close() {
	v := s.cur.Load()
	v.since.Store(time.Now().UnixNano())
	close(v.replaced)
	v.release()
}

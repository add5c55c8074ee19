package daemon

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// watcher reports files whose content has settled after a change. It
// watches the directories holding them (a file replaced by a rename, as
// editors and `mv` do, keeps being seen, and other files in the directory,
// such as editors' temporary files, are ignored) and reports a file once
// no event has come for it for delay and its size and modification time are
// the same as at its last event: a burst of writes is one report, and a file
// still being written is not reported before the writer pauses.
type watcher struct {
	fs    *fsnotify.Watcher
	log   zerolog.Logger
	clock clock // the real one; tests put a fake one before run
	// observed, when set (tests), is called after each file event and each
	// timer tick is handled, on run's goroutine.
	observed func(ev string)

	mu     sync.Mutex
	delay  time.Duration
	files  map[string]bool      // absolute paths of interest
	dirs   map[string]bool      // directories watched
	ready  map[string]time.Time // settled files, with when their first change was seen
	signal chan struct{}        // one pending wake-up when ready is not empty
}

// newWatcher starts watching nothing yet; see set. When the system cannot
// watch files (no inotify instance left, say) it logs why and returns a
// watcher that never reports: reloads then come only from SIGHUP.
func newWatcher(delay time.Duration, log zerolog.Logger) *watcher {
	w := &watcher{log: log, clock: realClock{}, delay: delay, files: map[string]bool{}, dirs: map[string]bool{},
		ready: map[string]time.Time{}, signal: make(chan struct{}, 1)}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn().Err(err).Msg("cannot watch files; plugin and config changes are applied only on SIGHUP (wasmhost reload)")
		return w
	}
	w.fs = fw
	return w
}

// set makes files (absolute paths) the ones watched, with delay.
func (w *watcher) set(files []string, delay time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs == nil {
		return
	}
	w.delay = delay
	w.files = map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range files {
		w.files[f] = true
		dirs[filepath.Dir(f)] = true
	}
	for d := range w.dirs {
		if !dirs[d] {
			_ = w.fs.Remove(d)
			delete(w.dirs, d)
		}
	}
	for d := range dirs {
		if w.dirs[d] {
			continue
		}
		if err := w.fs.Add(d); err != nil {
			w.log.Warn().Err(err).Str("dir", d).Msg("cannot watch directory; its files are reloaded only on SIGHUP")
			continue
		}
		w.dirs[d] = true
	}
}

func (w *watcher) wants(path string) (bool, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.files[path], w.delay
}

// take returns the settled files and forgets them.
func (w *watcher) take() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.ready
	w.ready = map[string]time.Time{}
	return r
}

func (w *watcher) settled(path string, first time.Time) {
	w.mu.Lock()
	if _, ok := w.ready[path]; !ok {
		w.ready[path] = first
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// fileState is what a settled file must keep between two looks.
type fileState struct {
	exists bool
	size   int64
	mtime  int64
}

func stat(path string) fileState {
	fi, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	return fileState{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

type pendingFile struct {
	first, due time.Time
	state      fileState
}

// run turns events into settled files until ctx ends.
func (w *watcher) run(ctx context.Context) {
	if w.fs == nil {
		return
	}
	pending := map[string]*pendingFile{}
	timer := w.clock.newTimer()
	observed := w.observed
	if observed == nil {
		observed = func(string) {}
	}
	rearm := func() {
		var next time.Time
		for _, f := range pending {
			if next.IsZero() || f.due.Before(next) {
				next = f.due
			}
		}
		if !next.IsZero() {
			timer.reset(max(0, next.Sub(w.clock.now())))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			path := filepath.Clean(ev.Name)
			want, delay := w.wants(path)
			if !want {
				observed(path)
				continue
			}
			now := w.clock.now()
			f := pending[path]
			if f == nil {
				f = &pendingFile{first: now}
				pending[path] = f
			}
			f.due, f.state = now.Add(delay), stat(path)
			rearm()
			observed(path)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			// An overflow loses events: every file may have changed.
			w.log.Warn().Err(err).Msg("file watcher error; checking every watched file")
			w.mu.Lock()
			files := make([]string, 0, len(w.files))
			for f := range w.files {
				files = append(files, f)
			}
			w.mu.Unlock()
			for _, f := range files {
				w.settled(f, w.clock.now())
			}
		case <-timer.c():
			now := w.clock.now()
			for path, f := range pending {
				if f.due.After(now) {
					continue
				}
				_, delay := w.wants(path)
				if st := stat(path); st != f.state {
					// Changed without an event (or between the event and
					// now): wait for it to settle.
					f.state, f.due = st, now.Add(delay)
					continue
				}
				delete(pending, path)
				w.settled(path, f.first)
			}
			rearm()
			observed("")
		}
	}
}

// clock is the watcher's time: the real one, or a test's fake.
type clock interface {
	now() time.Time
	newTimer() clockTimer // stopped
}

type clockTimer interface {
	c() <-chan time.Time
	reset(d time.Duration)
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }

func (realClock) newTimer() clockTimer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return realTimer{t}
}

type realTimer struct{ t *time.Timer }

func (r realTimer) c() <-chan time.Time   { return r.t.C }
func (r realTimer) reset(d time.Duration) { r.t.Reset(d) }

func (w *watcher) close() error {
	if w.fs == nil {
		return nil
	}
	return w.fs.Close()
}

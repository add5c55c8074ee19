package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const testDelay = 100 * time.Millisecond

// The watcher's subject is time (a file settles once no event came for
// delay), so these tests run it on a fake clock: time moves only when a
// test advances it, after the watcher has handled every file event so far
// (sync), and never while a test is still writing, however slowly a busy
// machine runs it.

type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk   *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) newTimer() clockTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{clk: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, ft)
	return ft
}

func (f *fakeTimer) c() <-chan time.Time { return f.ch }

func (f *fakeTimer) reset(d time.Duration) {
	f.clk.mu.Lock()
	defer f.clk.mu.Unlock()
	select { // like time.Timer.Reset since Go 1.23: no stale tick
	case <-f.ch:
	default:
	}
	f.at, f.armed = f.clk.t.Add(d), true
}

// advance moves time on by d and fires the timers due; it returns how many.
func (c *fakeClock) advance(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	n := 0
	for _, f := range c.timers {
		if f.armed && !f.at.After(c.t) {
			f.armed = false
			f.ch <- c.t
			n++
		}
	}
	return n
}

type watchRig struct {
	*watcher
	t    *testing.T
	clk  *fakeClock
	dir  string // where sync writes
	seen chan string
	n    int
}

func startWatcher(t *testing.T, files ...string) *watchRig {
	t.Helper()
	w := newWatcher(testDelay, zerolog.Nop())
	if w.fs == nil {
		t.Fatal("no file watcher on this system")
	}
	r := &watchRig{watcher: w, t: t, clk: &fakeClock{t: time.Unix(1700000000, 0)}, dir: filepath.Dir(files[0]), seen: make(chan string, 4096)}
	w.clock = r.clk
	w.observed = func(ev string) { r.seen <- ev }
	w.set(files, testDelay)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = w.close() })
	return r
}

// sync returns once the watcher has handled every file event before it:
// it writes a file nobody watches beside the watched ones and waits for
// its event (a directory's events arrive in order).
func (r *watchRig) sync() {
	r.t.Helper()
	r.n++
	mark := filepath.Join(r.dir, fmt.Sprintf(".sync-%d", r.n))
	write(r.t, mark, nil)
	r.await(mark)
}

func (r *watchRig) await(ev string) {
	r.t.Helper()
	deadline := time.After(20 * time.Second) // a bound for a hung test, not a timing assumption
	for {
		select {
		case got := <-r.seen:
			if got == ev {
				return
			}
		case <-deadline:
			r.t.Fatalf("the watcher did not handle %q", ev)
		}
	}
}

// pass lets d of fake time pass, once the watcher has seen every event,
// and waits for it to handle the timer if one fired.
func (r *watchRig) pass(d time.Duration) {
	r.t.Helper()
	r.sync()
	if r.clk.advance(d) > 0 {
		r.await("")
	}
}

// nextReport lets time pass until the watcher reports settled files; at
// returns the content of each file at that moment.
func nextReport(t *testing.T, r *watchRig) (map[string]time.Time, map[string][]byte) {
	t.Helper()
	for range 10 {
		r.pass(testDelay)
		select {
		case <-r.signal:
			got := r.take()
			at := map[string][]byte{}
			for f := range got {
				at[f], _ = os.ReadFile(f)
			}
			return got, at
		default:
		}
	}
	t.Fatal("no report after 10 delays")
	return nil, nil
}

// quiet asserts that nothing more is reported for several delays.
func quiet(t *testing.T, r *watchRig) {
	t.Helper()
	r.pass(5 * testDelay)
	select {
	case <-r.signal:
		t.Fatalf("unexpected report: %v", r.take())
	default:
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherReportsABurstOnceWhenItSettles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.wasm")
	write(t, f, []byte("v0"))
	w := startWatcher(t, f)
	var last []byte
	for i := range 10 {
		last = bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		write(t, f, last)
		w.pass(testDelay / 5)
	}
	got, at := nextReport(t, w)
	if len(got) != 1 || !bytes.Equal(at[f], last) {
		t.Fatalf("report %v: want only %s, with its final content", got, f)
	}
	quiet(t, w)
}

func TestWatcherFollowsWriteThenRenameAndIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.wasm")
	write(t, f, []byte("v0"))
	w := startWatcher(t, f)
	// Editor and build tool leftovers next to it are not watched files.
	write(t, filepath.Join(dir, ".p.wasm.swp"), []byte("swap"))
	write(t, filepath.Join(dir, "p.wasm~"), []byte("backup"))
	write(t, filepath.Join(dir, "other.wasm"), []byte("other"))
	quiet(t, w)
	tmp := filepath.Join(dir, ".p.wasm.tmp")
	write(t, tmp, []byte("v1"))
	if err := os.Rename(tmp, f); err != nil {
		t.Fatal(err)
	}
	got, at := nextReport(t, w)
	if len(got) != 1 || string(at[f]) != "v1" {
		t.Fatalf("after rename: report %v with %q, want %s with v1", got, at[f], f)
	}
	quiet(t, w)
}

func TestWatcherWaitsForAPausedWriterToFinish(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.wasm")
	w := startWatcher(t, f)
	full := bytes.Repeat([]byte("x"), 1<<20)
	fh, err := os.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	// Half, a pause shorter than the delay, then the rest.
	if _, err := fh.Write(full[:len(full)/2]); err != nil {
		t.Fatal(err)
	}
	w.pass(testDelay / 3)
	if _, err := fh.Write(full[len(full)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	got, at := nextReport(t, w)
	if len(got) != 1 || len(at[f]) != len(full) {
		t.Fatalf("report %v with %d bytes, want %s with all %d", got, len(at[f]), f, len(full))
	}
	quiet(t, w)
}

func TestWatcherReportsADeletion(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.wasm")
	write(t, f, []byte("v0"))
	w := startWatcher(t, f)
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	got, _ := nextReport(t, w)
	if _, ok := got[f]; !ok || len(got) != 1 {
		t.Fatalf("report %v, want %s", got, f)
	}
}

func TestWatcherSetRetargets(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a.wasm"), filepath.Join(t.TempDir(), "b.wasm")
	w := startWatcher(t, a)
	w.set([]string{b}, testDelay)
	w.dir = filepath.Dir(b)
	write(t, a, []byte("a"))
	write(t, b, []byte("b"))
	got, _ := nextReport(t, w)
	if _, ok := got[b]; !ok || len(got) != 1 {
		t.Fatalf("report %v, want only %s", got, b)
	}
	if len(w.dirs) != 1 {
		t.Fatalf("watching %d directories after set, want 1", len(w.dirs))
	}
	quiet(t, w)
}

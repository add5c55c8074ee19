package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const testDelay = 100 * time.Millisecond

func startWatcher(t *testing.T, files ...string) *watcher {
	t.Helper()
	w := newWatcher(testDelay, zerolog.Nop())
	if w.fs == nil {
		t.Fatal("no file watcher on this system")
	}
	w.set(files, testDelay)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = w.close() })
	return w
}

// nextReport waits for the watcher to report settled files; at returns the
// content of each file at that moment.
func nextReport(t *testing.T, w *watcher) (map[string]time.Time, map[string][]byte) {
	t.Helper()
	select {
	case <-w.signal:
	case <-time.After(20 * time.Second):
		t.Fatal("no report within 20s")
	}
	got := w.take()
	at := map[string][]byte{}
	for f := range got {
		at[f], _ = os.ReadFile(f)
	}
	return got, at
}

// quiet asserts that nothing more is reported for several delays.
func quiet(t *testing.T, w *watcher) {
	t.Helper()
	select {
	case <-w.signal:
		t.Fatalf("unexpected report: %v", w.take())
	case <-time.After(5 * testDelay):
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
		time.Sleep(testDelay / 5)
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
	time.Sleep(testDelay / 3)
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

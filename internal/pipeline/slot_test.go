package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

func loadForward(t *testing.T) (*host.Runtime, func() *host.Plugin) {
	t.Helper()
	ctx := context.Background()
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	path := testutil.BuildPlugin(t, "plugins/forward")
	return rt, func() *host.Plugin {
		p, err := rt.Load(ctx, host.LoadOptions{Name: "forward", Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

func closed(p *host.Plugin) bool {
	inst, err := p.Instantiate(context.Background(), host.InstanceOptions{Logger: zerolog.Nop()})
	if err == nil {
		_ = inst.Close(context.Background())
		return false
	}
	return errors.Is(err, host.ErrClosed)
}

// TestSlotClosesAVersionAfterItsLastUser: a swapped-out version stays open
// while an actor still runs it, and is closed when the last one lets go.
func TestSlotClosesAVersionAfterItsLastUser(t *testing.T) {
	_, load := loadForward(t)
	v1, v2 := load(), load()
	s := NewSlot(v1, zerolog.Nop())
	a, b := s.acquire(), s.acquire()
	if a.plugin != v1 || b.plugin != v1 {
		t.Fatal("acquire did not return the current version")
	}
	if old := s.Swap(v2); old != v1 {
		t.Fatalf("Swap returned %p, want the old version %p", old, v1)
	}
	if s.current().plugin != v2 || s.Plugin() != v2 {
		t.Fatal("the slot does not hold the new version")
	}
	select {
	case <-a.replaced:
	default:
		t.Fatal("the old version's replaced channel is open after a swap")
	}
	a.release()
	if closed(v1) {
		t.Fatal("old version closed while an actor still runs it")
	}
	b.release()
	if !closed(v1) {
		t.Fatal("old version still open after its last actor left")
	}
	c := s.acquire()
	if c.plugin != v2 {
		t.Fatal("acquire after the swap did not return the new version")
	}
	s.Close()
	if closed(v2) {
		t.Fatal("current version closed while an actor runs it")
	}
	c.release()
	if !closed(v2) {
		t.Fatal("current version open after Close and its last release")
	}
	if s.acquire() != nil {
		t.Fatal("acquire on a closed slot returned a version")
	}
}

// TestSlotConcurrentSwaps: actors acquiring and releasing while versions
// are swapped never get a closed version, and every version but the last
// is closed at the end.
func TestSlotConcurrentSwaps(t *testing.T) {
	_, load := loadForward(t)
	versions := make([]*host.Plugin, 12)
	for i := range versions {
		versions[i] = load()
	}
	s := NewSlot(versions[0], zerolog.Nop())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := s.acquire()
				if v.refs.Load() <= 0 {
					errs <- errors.New("acquired a version with no references")
				}
				v.release()
			}
		})
	}
	for _, v := range versions[1:] {
		s.Swap(v)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, v := range versions {
		if last := i == len(versions)-1; closed(v) == last {
			t.Fatalf("version %d: closed = %v after every actor left", i, !last)
		}
	}
}

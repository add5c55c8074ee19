package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

func readPlugin(t *testing.T, pkg string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.BuildPlugin(t, pkg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestPluginSet(t *testing.T) (*pluginSet, *ReloadStats, *testutil.SyncBuffer) {
	t.Helper()
	ctx := context.Background()
	logs := &testutil.SyncBuffer{}
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	stats := &ReloadStats{}
	s := newPluginSet(rt, stats, zerolog.New(logs))
	t.Cleanup(func() { _ = s.close(ctx); _ = rt.Close(ctx) })
	return s, stats, logs
}

// A plugin used for what it has no handler for is refused when it loads,
// naming the config entry: a record-only plugin as a source, a source as a
// pipeline's plugin.
func TestEnsureRefusesAPluginWithoutTheHandler(t *testing.T) {
	s, _, _ := newTestPluginSet(t)
	ctx := context.Background()
	printP := host.LoadOptions{Name: "print", Path: testutil.BuildPlugin(t, "plugins/print")}
	users := host.LoadOptions{Name: "users", Path: testutil.BuildPlugin(t, "plugins/users")}
	if err := s.ensure(ctx, "sources[0]", printP, false); err == nil || !strings.Contains(err.Error(), "sources[0].plugin: print") || !strings.Contains(err.Error(), "has no tick handler") {
		t.Errorf("print as a source: %v", err)
	}
	if err := s.ensure(ctx, "pipelines[1]", users, true); err == nil || !strings.Contains(err.Error(), "pipelines[1].plugin: users") || !strings.Contains(err.Error(), "has no record handler") {
		t.Errorf("users as a pipeline's plugin: %v", err)
	}
	if err := s.ensure(ctx, "pipelines[0]", printP, true); err != nil {
		t.Errorf("print as a pipeline's plugin: %v", err)
	}
}

// TestRefreshSwapsOnlyAValidNewVersion walks one plugin file through the
// contents an operator can drop in: each bad one is refused and the running
// version stays; equal content is a no-op; a refused content is not tried
// again until it changes, unless asked.
func TestRefreshSwapsOnlyAValidNewVersion(t *testing.T) {
	ctx := context.Background()
	a := readPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := readPlugin(t, "internal/e2e/testdata/plugins/versionb")
	wrongABI := readPlugin(t, "host/testdata/plugins/wrongabi")
	initTrap := readPlugin(t, "internal/e2e/testdata/plugins/inittrap")
	s, stats, logs := newTestPluginSet(t)
	path := filepath.Join(t.TempDir(), "p.wasm")
	write(t, path, a)
	o := loadOptions("p", path, config.Digest{}, config.Limits{Memory: 64 * config.MiB})
	if err := s.ensure(ctx, "pipelines[0]", o, true); err != nil {
		t.Fatal(err)
	}
	slot := s.use(o, true)
	abs := s.files()[0]
	running := func() string { return slot.Plugin().SHA256() }
	shaA := running()

	steps := []struct {
		name     string
		content  []byte
		retry    bool
		swapped  bool
		failures uint64 // total so far
	}{
		{"same content", a, false, false, 0},
		{"corrupt", []byte("\x00asm\x01\x00\x00\x00garbage"), false, false, 1},
		{"half written", b[:len(b)/2], false, false, 2},
		{"wrong ABI", wrongABI, false, false, 3},
		{"traps in init", initTrap, false, false, 4},
		{"the same trap again is not retried", initTrap, false, false, 4},
		{"unless asked", initTrap, true, false, 5},
		{"not a plugin at all", []byte("#!/bin/sh\necho hi\n"), false, false, 6},
		{"version B", b, false, true, 6},
		{"B again", b, false, false, 6},
		{"back to A", a, false, true, 6},
	}
	swaps := uint64(0)
	for _, st := range steps {
		before := running()
		write(t, path, st.content)
		s.refresh(ctx, abs, time.Now(), st.retry)
		if st.swapped {
			swaps++
		}
		if got := running() != before; got != st.swapped {
			t.Fatalf("%s: swapped = %v, want %v\n%s", st.name, got, st.swapped, logs)
		}
		if n := stats.PluginFailures.Load(); n != st.failures {
			t.Fatalf("%s: %d failures counted, want %d\n%s", st.name, n, st.failures, logs)
		}
		if n := stats.PluginSwaps.Load(); n != swaps {
			t.Fatalf("%s: %d swaps counted, want %d", st.name, n, swaps)
		}
	}
	if running() != shaA {
		t.Fatal("not back on version A")
	}
	for _, want := range []string{"new plugin version refused; the running version keeps serving", "ABI version 999", "inittrap: refusing to start", `"message":"plugin reloaded; actors switch at their next batch"`, `"old_version":"` + shaA} {
		if !bytes.Contains(logs.Bytes(), []byte(want)) {
			t.Errorf("log lacks %q", want)
		}
	}

	// A deleted file keeps the loaded version, once said.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s.refresh(ctx, abs, time.Now(), false)
	s.refresh(ctx, abs, time.Now(), false)
	if running() != shaA {
		t.Fatal("a deleted file changed the running version")
	}
	if n := bytes.Count(logs.Bytes(), []byte("plugin file deleted; the loaded version keeps serving")); n != 1 {
		t.Fatalf("deletion logged %d times, want once", n)
	}
	write(t, path, b)
	s.refresh(ctx, abs, time.Now(), false)
	if running() == shaA {
		t.Fatal("a file put back with new content was not swapped in")
	}
}

// TestRefreshHonoursThePin: a pinned plugin refuses any other content.
func TestRefreshHonoursThePin(t *testing.T) {
	ctx := context.Background()
	a := readPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := readPlugin(t, "internal/e2e/testdata/plugins/versionb")
	s, stats, logs := newTestPluginSet(t)
	path := filepath.Join(t.TempDir(), "p.wasm")
	write(t, path, a)
	sum, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	var pin config.Digest
	if err := pin.UnmarshalText([]byte(sum)); err != nil {
		t.Fatal(err)
	}
	o := loadOptions("p", path, pin, config.Limits{})
	if err := s.ensure(ctx, "pipelines[0]", o, true); err != nil {
		t.Fatal(err)
	}
	slot := s.use(o, true)
	write(t, path, b)
	s.refresh(ctx, s.files()[0], time.Time{}, true)
	if slot.Plugin().SHA256() != sum || stats.PluginFailures.Load() != 1 {
		t.Fatalf("pinned plugin: running %s, %d failures\n%s", slot.Plugin().SHA256(), stats.PluginFailures.Load(), logs)
	}
	if !bytes.Contains(logs.Bytes(), []byte("sha256 mismatch")) {
		t.Fatalf("the refusal does not name the pin\n%s", logs)
	}
}

// TestPruneClosesUnusedSlots: a slot loaded for a config that was then
// rejected, or left by a removed pipeline, is closed; one in use stays.
func TestPruneClosesUnusedSlots(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newTestPluginSet(t)
	pa := loadOptions("a", testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versiona"), config.Digest{}, config.Limits{})
	pb := loadOptions("b", testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versionb"), config.Digest{}, config.Limits{})
	for _, o := range []host.LoadOptions{pa, pb} {
		if err := s.ensure(ctx, "pipelines[0]", o, true); err != nil {
			t.Fatal(err)
		}
	}
	slot := s.use(pa, true)
	s.prune()
	if _, ok := s.slots[pb]; ok || len(s.slots) != 1 {
		t.Fatalf("prune kept %d slots, want only the used one", len(s.slots))
	}
	s.unuse(pa, true)
	s.prune()
	if len(s.slots) != 0 {
		t.Fatal("prune kept a slot nothing uses")
	}
	if _, err := slot.Plugin().Instantiate(ctx, host.InstanceOptions{Logger: zerolog.Nop()}); err == nil {
		t.Fatal("a pruned slot's plugin still instantiates")
	}
}

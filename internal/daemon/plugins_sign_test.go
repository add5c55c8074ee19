package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
)

// TestSignedPluginFiles: with trusted keys, a plugin file loads only with
// a valid detached signature beside it. A missing signature, a module
// changed after it was signed and a signature by another key are each
// refused with the reason, at start and on reload, and the running version
// keeps serving; a new signature file retries the file it signs.
func TestSignedPluginFiles(t *testing.T) {
	ctx := context.Background()
	a := readPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := readPlugin(t, "internal/e2e/testdata/plugins/versionb")
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, stats, logs := newTestPluginSet(t)
	s.trusted = []ed25519.PublicKey{pub}
	path := filepath.Join(t.TempDir(), "tag.wasm")
	sign := func(k ed25519.PrivateKey, code []byte) {
		write(t, path+fleet.SigSuffix, fleet.Sign(k, "tag", fleet.SHA256(code)).Marshal())
	}
	write(t, path, a)
	o := loadOptions("tag", path, config.Digest{}, config.Limits{Memory: 64 * config.MiB})

	if err := s.ensure(ctx, "pipelines[0]", o, true); err == nil || !strings.Contains(err.Error(), "pipelines[0].plugin") || !strings.Contains(err.Error(), "has no signature") {
		t.Fatalf("an unsigned file at start: %v", err)
	}
	sign(key, a)
	if err := s.ensure(ctx, "pipelines[0]", o, true); err != nil {
		t.Fatalf("a signed file at start: %v", err)
	}
	slot := s.use(o, true)
	abs, _ := filepath.Abs(path)
	if files := s.files(); len(files) != 2 || files[1] != abs+fleet.SigSuffix {
		t.Fatalf("watched files %v: the signature is not watched", files)
	}

	steps := []struct {
		name    string
		change  func()
		changed string // the file the watcher reports
		reason  string // of the refusal; "" when it swaps
		want    []byte // the version serving after
	}{
		{"tampered: B with A's signature", func() { write(t, path, b) }, abs, "changed after it was signed", a},
		{"signed by another key", func() { sign(otherKey, b) }, abs + fleet.SigSuffix, "not in plugins.trusted_keys", a},
		{"signature gone", func() { removeFile(t, path+fleet.SigSuffix) }, abs + fleet.SigSuffix, "has no signature", a},
		{"signed by the trusted key", func() { sign(key, b) }, abs + fleet.SigSuffix, "", b},
	}
	for i, st := range steps {
		st.change()
		s.refreshFiles(ctx, map[string]time.Time{st.changed: time.Now()}, false)
		if got := slot.Plugin().SHA256(); got != fleet.SHA256(st.want) {
			t.Fatalf("%s: serving %.12s\n%s", st.name, got, logs)
		}
		if st.reason != "" && !bytes.Contains(logs.Bytes(), []byte(st.reason)) {
			t.Fatalf("%s: no refusal saying %q\n%s", st.name, st.reason, logs)
		}
		if n := stats.PluginFailures.Load(); n != uint64(min(i+1, 3)) {
			t.Fatalf("%s: %d refusals counted", st.name, n)
		}
	}
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

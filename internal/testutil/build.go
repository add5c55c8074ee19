package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Root returns the module root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildPlugin compiles the Go plugin in pkgDir (relative to the module root,
// e.g. "plugins/forward") with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared
// and returns the .wasm path. Each package is built once per test binary.
func BuildPlugin(t testing.TB, pkgDir string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkgDir]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "wasmhost-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	root := Root(t)
	out := filepath.Join(buildDir, strings.ReplaceAll(pkgDir, "/", "_")+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+filepath.ToSlash(pkgDir))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building plugin %s: %v\n%s", pkgDir, err, b)
	}
	built[pkgDir] = out
	return out
}

// CacheDir is a wazero compilation cache shared by every test of a run, so
// each plugin is compiled to machine code once.
func CacheDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(os.TempDir(), "wasmhost-test-cache")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

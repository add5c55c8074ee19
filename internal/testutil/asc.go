package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// ASC returns the AssemblyScript compiler tests build with: $WASMHOST_ASC,
// else the one scripts/setup-as.sh installs into .cache/asc (make test runs
// it first). It fails the test when there is none.
func ASC(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WASMHOST_ASC"); p != "" {
		return p
	}
	p := filepath.Join(Root(t), ".cache", "asc", "node_modules", ".bin", "asc")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no AssemblyScript compiler: run scripts/setup-as.sh (make test does) or set WASMHOST_ASC: %v", err)
	}
	return p
}

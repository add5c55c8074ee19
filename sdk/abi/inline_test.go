package abi

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHotHelpersInlineForWasm checks that the record decoder's helpers are
// inlined when built for wasip1: every call a Go guest makes per record costs
// more than the work these helpers do (see the comment above u32At).
func TestHotHelpersInlineForWasm(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build for wasip1: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-gcflags=-m", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, fn := range []string{"u32At", "take", "reuse"} {
		if !strings.Contains(string(out), "can inline "+fn) {
			t.Errorf("%s is not inlined for wasm; the compiler said:\n%s", fn, out)
		}
	}
}

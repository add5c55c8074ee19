package abi

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHotHelpersInlineForWasm checks that what the SDK calls once per record
// besides Next and Add is inlined when built for wasip1: in a Go guest every
// call costs more than the work these do.
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
	for _, fn := range []string{"(*OutputWriter).Mark", "(*OutputWriter).Size", "(*OutputWriter).DiscardSince", "(*BatchReader).end", "reuse"} {
		if !strings.Contains(string(out), "can inline "+fn) {
			t.Errorf("%s is not inlined for wasm", fn)
		}
	}
}

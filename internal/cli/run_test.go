package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestRunSetsGCPercentUnlessGOGCIsSet: the daemon's default GC target
// applies only when the operator did not choose one.
func TestRunSetsGCPercentUnlessGOGCIsSet(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	t.Setenv("GOGC", "50") // the runtime read it at start; only its presence counts here
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set the GC percent became %d, want it left alone", got)
	}
	os.Unsetenv("GOGC") // t.Setenv restores it
	setGCPercent()
	if got := debug.SetGCPercent(100); got != daemonGOGC {
		t.Fatalf("without GOGC the GC percent is %d, want %d", got, daemonGOGC)
	}
}

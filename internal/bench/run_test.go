package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestRunSmall runs every part of the benchmark on a few thousand records
// (the original design's row on 50,000),
// one run each, so that `make bench` cannot rot: each figure must come out
// with a value (or, for exactly-once, "not implemented"), and the copies
// must be complete (a missing record stalls a run into an error).
func TestRunSmall(t *testing.T) {
	plugins := t.TempDir()
	wasm, err := os.ReadFile(testutil.BuildPlugin(t, "plugins/forward"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "forward.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "wasmhost")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wasmhost")
	build.Dir = testutil.Root(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	boundary := filepath.Join(t.TempDir(), "boundary.txt")
	if err := os.WriteFile(boundary, []byte("BenchmarkBoundary/batch=256-2  10  2000 ns/op  250.0 ns/record\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{
		PluginsDir: plugins, Binary: bin, CacheDir: testutil.CacheDir(t), StatefulPlugin: testutil.BuildPlugin(t, "examples/counter"),
		Runs: 1, Scale: 0.02, Partitions: []int32{2}, ValueBytes: []int{100}, MainPartitions: 2,
		LatencyRate: 2000, LatencyDuration: 25 * time.Second, ProcessPartitions: 3,
		BoundaryFile: boundary, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s\n%s", progress.String(), table.String())
	byName := map[string]*Figure{}
	for _, f := range rep.Figures {
		byName[f.Name] = f
	}
	for _, name := range []string{"2 partitions, 100 B values", "at-least-once", "at-most-once", "stateful counter, exactly-once", "p50", "p99", "max",
		"peak RSS", "start to first record, warm cache", "batch 256"} {
		f := byName[name]
		switch {
		case f == nil:
			t.Errorf("no figure %q", name)
		case f.Err != "" || f.Wasmhost == nil || *f.Wasmhost <= 0:
			t.Errorf("%s: no value (error %q)", name, f.Err)
		case f.Section != "daemon process, 3 partitions" && f.Unit != "ns/record" && name != "at-most-once" && !strings.HasPrefix(name, "stateful") && f.Ratio == nil:
			t.Errorf("%s: no baseline to compare with", name)
		}
	}
	// The original design's rows: the Python loops, as designed and tuned
	// (make test installs python3-confluent-kafka), and the wasmhost
	// process, all complete.
	for _, name := range []string{"50000 records, forward at-least-once", "CPU time per record"} {
		n := 0
		for _, f := range rep.Figures {
			if f.Name != name {
				continue
			}
			n++
			if f.Err != "" || f.Ratio == nil || *f.Ratio <= 0 {
				t.Errorf("original design %q (%s): no ratio: %+v", name, f.Section, f)
			}
		}
		if n != 2 {
			t.Errorf("original design %q: %d figures, want the design's loop and the tuned loop", name, n)
		}
	}
	eos := byName["exactly-once"]
	if eos == nil || (eos.Wasmhost == nil && !strings.HasPrefix(eos.Err, errNotImplemented.Error())) {
		t.Errorf("exactly-once: neither a value nor \"not implemented\": %+v", eos)
	}
}

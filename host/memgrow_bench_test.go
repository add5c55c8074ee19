package host_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
)

// BenchmarkMemoryGrowByPage grows a new instance's memory one 64 KiB page
// at a time up to its 64 MiB limit (issue 12: each grow used to copy the
// whole memory), and reports the host's peak RSS.
func BenchmarkMemoryGrowByPage(b *testing.B) {
	// (loop (br_if 0 (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
	m := plugin(new(wt.Code).Loop().I32Const(1).MemoryGrow().I32Const(-1).Op(0x47).BrIf(0).EndBlock().I32Const(0).End())
	rt := newRuntime(b)
	p, err := rt.Load(context.Background(), host.LoadOptions{Name: "grow", Path: writeWasm(b, m), MemoryLimit: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	for b.Loop() {
		inst := instantiate(b, p, host.InstanceOptions{})
		if _, err := inst.HandleBatch(context.Background(), batchOf("x")); err != nil {
			b.Fatal(err)
		}
		if inst.MemoryBytes() != 64<<20 {
			b.Fatalf("grew to %d", inst.MemoryBytes())
		}
		_ = inst.Close(context.Background())
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}

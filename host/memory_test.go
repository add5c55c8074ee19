package host_test

import (
	"context"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

func TestMemoryBytesGrowsWithinTheLimit(t *testing.T) {
	const limit = 32 << 20
	p, err := newRuntime(t).Load(context.Background(), host.LoadOptions{
		Name: "hostile", Path: testutil.BuildPlugin(t, "host/testdata/plugins/hostile"), MemoryLimit: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	inst, err := p.Instantiate(context.Background(), host.InstanceOptions{Config: map[string]string{"to": "out"}})
	if err != nil {
		t.Fatal(err)
	}
	before := inst.MemoryBytes()
	if before == 0 || before%(64<<10) != 0 || before > limit {
		t.Fatalf("memory after instantiation = %d, want whole 64 KiB pages within %d", before, limit)
	}
	// "big" makes the guest allocate a 2 MiB value.
	if _, err := inst.HandleBatch(context.Background(), batchOf("big")); err != nil {
		t.Fatal(err)
	}
	after := inst.MemoryBytes()
	if after <= before || after > limit {
		t.Fatalf("memory after a 2 MiB allocation = %d (was %d), want it grown and within %d", after, before, limit)
	}
	_ = inst.Close(context.Background())
	if got := inst.MemoryBytes(); got != 0 {
		t.Fatalf("memory after Close = %d, want 0", got)
	}
}

package host_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// BenchmarkCallTimeLimit measures what enforcing the call time limit costs.
// The forward plugin copies batches of ~70-byte JSON records through three
// instances: one with no limit at all ("none"), one with the limit wasmhost
// uses ("checked": the plugin instrumented to yield every 1024 loop
// iterations), and one with wazero's WithCloseOnContextDone and a context
// deadline per call ("wazero"). Each iteration runs the same batch through
// all three in turn, so the noise of a shared machine hits them alike; the
// metrics are ns per record of each and the overhead of each limit over
// "none", in percent.
func BenchmarkCallTimeLimit(b *testing.B) {
	modes := []string{"none", "checked", "wazero"}
	insts := make([]*host.Instance, len(modes))
	for k, mode := range modes {
		insts[k] = forwardInstance(b, mode)
	}
	for _, n := range []int{1, 16, 256, 1024} {
		batch := jsonBatch(n)
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			spent := make([]time.Duration, len(modes))
			for b.Loop() {
				for k, inst := range insts {
					start := time.Now()
					if _, err := inst.HandleBatch(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
					spent[k] += time.Since(start)
				}
			}
			for k, mode := range modes {
				b.ReportMetric(float64(spent[k].Nanoseconds())/float64(b.N*n), mode+"-ns/record")
				if k > 0 {
					b.ReportMetric(100*(float64(spent[k])/float64(spent[0])-1), mode+"-overhead-%")
				}
			}
		})
	}
}

func forwardInstance(b *testing.B, mode string) *host.Instance {
	rt, err := host.NewRuntime(context.Background(), host.RuntimeOptions{CacheDir: testutil.CacheDir(b), Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Close(context.Background()) })
	host.UseTimeLimit(rt, mode)
	p, err := rt.Load(context.Background(), host.LoadOptions{Name: "forward", Path: testutil.BuildPlugin(b, "plugins/forward")})
	if err != nil {
		b.Fatal(err)
	}
	inst, err := p.Instantiate(context.Background(), host.InstanceOptions{Config: map[string]string{"to": "out"}})
	if err != nil {
		b.Fatal(err)
	}
	return inst
}

// jsonBatch is n records shaped like the demo's users: a short key and a
// ~70-byte JSON value.
func jsonBatch(n int) *host.Batch {
	var b host.Batch
	for i := range n {
		b.Add(&abi.Record{Topic: "in", Partition: 1, Offset: int64(i), Timestamp: 1700000000000,
			Key:   fmt.Appendf(nil, "user-%06d", i),
			Value: fmt.Appendf(nil, `{"id":%d,"name":"user %d","email":"u%d@example.com"}`, i, i, i)})
	}
	return &b
}

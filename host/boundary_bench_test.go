package host_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// BenchmarkBoundary is the per-record cost of the plugin boundary with the
// forward plugin and 100-byte values: encoding the batch, the call, the
// guest decoding it and producing a copy of every record through the
// produce host function, and the host decoding and checking the outputs.
// `make bench` reports its ns/record; the target is under 300 at batch 256.
func BenchmarkBoundary(b *testing.B) {
	p := load(b, newRuntime(b), "plugins/forward")
	value := make([]byte, 100)
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			inst := instantiate(b, p, host.InstanceOptions{
				Pipeline: "bench", Config: map[string]string{"to": "out"},
				AllowTopic: func(t string) bool { return t == "out" },
			})
			recs := make([]abi.Record, n)
			for i := range recs {
				recs[i] = abi.Record{Topic: "in", Partition: 3, Offset: int64(i), Timestamp: 1700000000000,
					Key: []byte(strconv.Itoa(10000000 + i)), Value: value}
			}
			var batch host.Batch
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset()
				for i := range recs {
					batch.Add(&recs[i])
				}
				res, err := inst.HandleBatch(ctx, &batch)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Outputs) != n || len(res.Failures) != 0 {
					b.Fatalf("%d outputs and %d failures for %d records", len(res.Outputs), len(res.Failures), n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
		})
	}
}

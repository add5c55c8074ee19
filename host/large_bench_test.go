package host_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// BenchmarkLargeRecords is the plugin boundary of BenchmarkBoundary at the
// value sizes of `make bench`'s scaling grid, batch 256, each record with
// its own value (as records fetched from a broker are), so the copies into
// guest memory and back out work on memory the cache has not just seen.
// With add=kept the batch is built as the pipeline builds it
// (Batch.AddKept), so the outputs reuse the input's bytes; with add=copy
// (Batch.Add) every output is copied out of guest memory.
func BenchmarkLargeRecords(b *testing.B) {
	p := load(b, newRuntime(b), "plugins/forward")
	const n = 256
	for _, size := range []int{100, 1 << 10, 10 << 10} {
		for _, kept := range []bool{false, true} {
			add := map[bool]string{false: "copy", true: "kept"}[kept]
			b.Run(fmt.Sprintf("value=%d/add=%s", size, add), func(b *testing.B) {
				largeRecords(b, p, n, size, kept)
			})
		}
	}
}

func largeRecords(b *testing.B, p *host.Plugin, n, size int, kept bool) {
	{
		{
			inst := instantiate(b, p, host.InstanceOptions{
				Pipeline: "bench", Config: map[string]string{"to": "out"},
				AllowTopic: func(t string) bool { return t == "out" },
			})
			recs := make([]abi.Record, n)
			for i := range recs {
				value := make([]byte, size)
				for k := range value {
					value[k] = byte(i + k)
				}
				recs[i] = abi.Record{Topic: "in", Partition: 3, Offset: int64(i), Timestamp: 1700000000000,
					Key: []byte(strconv.Itoa(10000000 + i)), Value: value}
			}
			var batch host.Batch
			ctx := context.Background()
			b.SetBytes(int64(n * size))
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset()
				for i := range recs {
					if kept {
						batch.AddKept(&recs[i])
					} else {
						batch.Add(&recs[i])
					}
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
		}
	}
}

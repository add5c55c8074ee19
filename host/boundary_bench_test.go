package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// BenchmarkBoundary is the per-record cost of the plugin boundary with the
// forward plugin and 100-byte values: encoding the batch, the call, the
// guest decoding it and producing a copy of every record through the
// produce host function, and the host decoding and checking the outputs.
// `make bench` reports its ns/record; the target is under 300 at batch 256.
// The same plugin in C (c/) and AssemblyScript (as/), built from
// testdata/forward-c and testdata/forward-as, runs beside the Go one.
func BenchmarkBoundary(b *testing.B) {
	rt := newRuntime(b)
	boundary(b, "", load(b, rt, "plugins/forward"))
	for _, lang := range []string{"c", "as"} {
		if lang == "as" {
			b.Setenv(plugintool.EnvASC, testutil.ASC(b))
		}
		wasm, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join("testdata", "forward-"+lang), Out: b.TempDir()})
		if err != nil {
			b.Fatalf("building the %s forward plugin: %v", lang, err)
		}
		p, err := rt.Load(context.Background(), host.LoadOptions{Name: "forward-" + lang, Path: wasm})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close(context.Background()) })
		boundary(b, lang+"/", p)
	}
}

func boundary(b *testing.B, prefix string, p *host.Plugin) {
	value := make([]byte, 100)
	for _, n := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("%sbatch=%d", prefix, n), func(b *testing.B) {
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

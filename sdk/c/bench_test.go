package csdk_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// BenchmarkPassthrough hands batches of 256 records of 100 bytes to a
// plugin that copies each to another topic, written in C (the sdktest
// plugin's echo path) and in Go (plugins/forward), through the host as a
// pipeline does: ns/record compares the two SDKs in one run.
func BenchmarkPassthrough(b *testing.B) {
	c, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join("testdata", "sdktest"), Out: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct{ name, path string }{{"c", c}, {"go", testutil.BuildPlugin(b, "plugins/forward")}} {
		b.Run(p.name, func(b *testing.B) {
			ctx := context.Background()
			rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(b), Logger: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			pl, err := rt.Load(ctx, host.LoadOptions{Name: p.name, Path: p.path})
			if err != nil {
				b.Fatal(err)
			}
			inst, err := pl.Instantiate(ctx, host.InstanceOptions{Config: map[string]string{"to": "echo"}})
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			var batch host.Batch
			for i := range 256 {
				batch.Add(&abi.Record{Topic: "in", Offset: int64(i), Key: []byte("12345678"), Value: []byte(strings.Repeat("v", 100))})
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := inst.HandleBatch(ctx, &batch)
				if err != nil || len(res.Outputs) != 256 {
					b.Fatalf("%v, %d outputs", err, len(res.Outputs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*256), "ns/record")
		})
	}
}

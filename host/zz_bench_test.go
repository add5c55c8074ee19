package host_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func BenchmarkZZ(b *testing.B) {
	var p *host.Plugin
	if w := os.Getenv("ZZWASM"); w != "" {
		var err error
		p, err = newRuntime(b).Load(context.Background(), host.LoadOptions{Name: "zz", Path: w})
		if err != nil {
			b.Fatal(err)
		}
	} else {
		p = load(b, newRuntime(b), os.Getenv("ZZPLUG"))
	}
	value := make([]byte, 100)
	n := 256
	inst := instantiate(b, p, host.InstanceOptions{Pipeline: "bench", Config: map[string]string{"to": "out"}, AllowTopic: func(t string) bool { return true }})
	recs := make([]abi.Record, n)
	for i := range recs {
		recs[i] = abi.Record{Topic: "in", Partition: 3, Offset: int64(i), Timestamp: 1700000000000, Key: []byte(strconv.Itoa(10000000 + i)), Value: value}
	}
	var batch host.Batch
	ctx := context.Background()
	for b.Loop() {
		batch.Reset()
		for i := range recs {
			batch.Add(&recs[i])
		}
		if _, err := inst.HandleBatch(ctx, &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

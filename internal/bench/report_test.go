package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestMedianAndQuantile(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	sorted := make([]float64, 100)
	for i := range sorted {
		sorted[i] = float64(i + 1)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := quantile(sorted, c.q); got != c.want {
			t.Errorf("quantile(1..100, %v) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 412345: "412,345", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSummarizeChecksTargets(t *testing.T) {
	ratio := &Figure{Unit: "records/s", Target: &Target{Ratio: 0.8, Of: kindBaseline},
		BaselineRuns: []float64{100, 300, 200}, WasmhostRuns: []float64{170, 150, 160}}
	ratio.summarize()
	if *ratio.Baseline != 200 || *ratio.Wasmhost != 160 || *ratio.Ratio != 0.8 || !*ratio.Met {
		t.Errorf("ratio figure: baseline %v wasmhost %v ratio %v met %v", *ratio.Baseline, *ratio.Wasmhost, *ratio.Ratio, *ratio.Met)
	}
	of := &Figure{Target: &Target{Ratio: 0.5, Of: "at-least-once", Value: 100}, WasmhostRuns: []float64{49}}
	of.summarize()
	if *of.Met {
		t.Error("49 counted as at least 0.5 × 100")
	}
	bound := &Figure{Target: &Target{Max: 50}, WasmhostRuns: []float64{49.9}}
	bound.summarize()
	if !*bound.Met {
		t.Error("49.9 counted as over a bound of 50")
	}
	failed := &Figure{Target: &Target{Max: 50}, RunErrors: []string{"wasmhost: boom"}}
	failed.summarize()
	if failed.Err != "wasmhost: boom" || failed.Wasmhost != nil || failed.Met != nil {
		t.Errorf("a figure whose runs all failed: err %q, value %v, met %v", failed.Err, failed.Wasmhost, failed.Met)
	}
}

func TestWriteTable(t *testing.T) {
	r := &Report{Date: "2026-01-01T00:00:00Z", Host: "linux/amd64", CPUs: 2, Runs: 3}
	r.add(&Figure{Section: "throughput", Name: "4 partitions, 100 B values", Unit: "records/s",
		Target: &Target{Ratio: 0.8, Of: kindBaseline}, BaselineRuns: []float64{400000}, WasmhostRuns: []float64{300000},
		BaselineCPURuns: []float64{200000}, WasmhostCPURuns: []float64{170000}})
	r.add(&Figure{Section: "guarantees", Name: "exactly-once", Unit: "records/s",
		Err: errNotImplemented.Error() + ": the pipeline wrote its 10 output records outside any transaction"})
	r.add(&Figure{Section: "latency", Name: "p99", Unit: "ms", Target: &Target{Max: 50},
		BaselineRuns: []float64{9.21}, WasmhostRuns: []float64{12.5}})
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"throughput (records/s)\n",
		"  4 partitions, 100 B values   400,000          300,000        0.75       0.85  ≥ 0.8 × baseline  MISSED (per CPU-s: met)\n",
		"  exactly-once                       —  not implemented\n",
		"  p99                              9.2             12.5        1.36             < 50 ms           met\n",
		"guarantees / exactly-once: not implemented: the pipeline wrote its 10 output records outside any transaction",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestParseBoundary(t *testing.T) {
	out := `goos: linux
BenchmarkBoundary/batch=1-2         	  401962	      6133 ns/op	      6133 ns/record	     773 B/op	      11 allocs/op
BenchmarkBoundary/batch=256-2       	    4137	    812867 ns/op	      3175 ns/record	   43424 B/op	     266 allocs/op
BenchmarkBoundary/batch=1-2         	  401962	      6000 ns/op	      6000 ns/record	     773 B/op	      11 allocs/op
BenchmarkBoundary/batch=256-2       	    4137	    812867 ns/op	      290.5 ns/record	   43424 B/op	     266 allocs/op
BenchmarkBoundary/batch=256-2       	    4137	    812867 ns/op	      280 ns/record	   43424 B/op	     266 allocs/op
PASS
`
	figs, err := parseBoundary(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != "batch 1" || figs[1].Name != "batch 256" {
		t.Fatalf("figures %+v", figs)
	}
	figs[1].summarize()
	if len(figs[0].WasmhostRuns) != 2 || *figs[1].Wasmhost != 290.5 || !*figs[1].Met {
		t.Errorf("batch 1 runs %v; batch 256 median %v met %v", figs[0].WasmhostRuns, *figs[1].Wasmhost, *figs[1].Met)
	}
	if _, err := parseBoundary(strings.NewReader("PASS\n")); err == nil {
		t.Error("output without BenchmarkBoundary lines parsed")
	}
}

func TestTrackerMarksInOrder(t *testing.T) {
	var marks []int64
	tr := &tracker{mark: func(next int64) { marks = append(marks, next) }}
	for o := int64(10); o < 15; o++ {
		tr.consumed(o)
	}
	tr.consumed(17) // 15 and 16 are not records (a gap)
	for _, o := range []int64{12, 11, 14} {
		tr.ack(o)
	}
	if len(marks) != 0 {
		t.Fatalf("marked %v before offset 10 was acknowledged", marks)
	}
	for _, o := range []int64{10, 17, 13} {
		tr.ack(o)
	}
	want := []int64{13, 18}
	if len(marks) != len(want) {
		t.Fatalf("marks %v, want %v", marks, want)
	}
	for i := range want {
		if marks[i] != want[i] {
			t.Fatalf("marks %v, want %v", marks, want)
		}
	}
}

package pipeline

import (
	"fmt"
	"testing"
	"time"
)

func TestCallHistogramBucketsAreUpperBoundsInclusive(t *testing.T) {
	var h callHist
	for _, d := range []time.Duration{
		50 * time.Microsecond,  // <= 0.0001
		100 * time.Microsecond, // == 0.0001: same bucket (le)
		101 * time.Microsecond, // <= 0.00025
		3 * time.Second,        // <= 5
		time.Minute,            // above every bound
	} {
		h.observe(d)
	}
	s := h.snapshot()
	if s.Count != 5 || len(s.Counts) != len(callBounds)+1 {
		t.Fatalf("count %d, %d buckets", s.Count, len(s.Counts))
	}
	want := map[int]uint64{0: 2, 1: 1, 14: 1, len(callBounds): 1}
	for i, c := range s.Counts {
		if c != want[i] {
			t.Errorf("bucket %d (le %v) = %d, want %d", i, bound(s.Bounds, i), c, want[i])
		}
	}
	if wantSum := (50e-6 + 100e-6 + 101e-6 + 3 + 60); fmt.Sprintf("%.6f", s.Sum) != fmt.Sprintf("%.6f", wantSum) {
		t.Errorf("sum %v, want %v", s.Sum, wantSum)
	}
}

func TestBatchHistogram(t *testing.T) {
	var h batchHist
	for _, n := range []int{1, 1, 3, 256, 100000} {
		h.observe(n)
	}
	s := h.snapshot()
	want := map[int]uint64{0: 2, 2: 1, 8: 1, 12: 1}
	for i, c := range s.Counts {
		if c != want[i] {
			t.Errorf("bucket %d (le %v) = %d, want %d", i, bound(s.Bounds, i), c, want[i])
		}
	}
	if s.Count != 5 || s.Sum != 100261 {
		t.Errorf("count %d sum %v", s.Count, s.Sum)
	}
}

func bound(b []float64, i int) any {
	if i < len(b) {
		return b[i]
	}
	return "+Inf"
}

func TestEventsKeepTheLatestNewestFirst(t *testing.T) {
	var e events
	if got := e.latest(); len(got) != 0 {
		t.Fatalf("empty ring returned %d events", len(got))
	}
	for i := range recentErrors + 5 {
		e.add(ErrorEvent{Offset: int64(i)})
	}
	got := e.latest()
	if len(got) != recentErrors {
		t.Fatalf("%d events, want %d", len(got), recentErrors)
	}
	for i, ev := range got {
		if want := int64(recentErrors + 4 - i); ev.Offset != want {
			t.Fatalf("event %d has offset %d, want %d (newest first)", i, ev.Offset, want)
		}
	}
}

// BenchmarkCallBookkeeping is what handleBatch adds to every plugin call,
// apart from reading the instance's memory size: two histogram
// observations and the partition lookup.
func BenchmarkCallBookkeeping(b *testing.B) {
	var t tracker
	t.parts = map[partKey]*partState{{"c", "in", 3}: {}}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t.calls.observe(1200 * time.Microsecond)
			t.batches.observe(256)
			if ps := t.part("c", "in", 3); ps != nil {
				ps.memory.Store(64 << 20)
			}
		}
	})
}

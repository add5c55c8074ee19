package verify

import (
	"strings"
	"testing"
)

func recs(p int32, seqs ...int) []record {
	out := make([]record, len(seqs))
	for i, s := range seqs {
		out[i] = record{partition: p, offset: int64(i), seq: s, hasSeq: true}
	}
	return out
}

func TestCompare(t *testing.T) {
	in := map[int32][]record{0: recs(0, 0, 1, 2, 3), 1: recs(1, 10, 11)}
	cases := []struct {
		name      string
		out       map[int32][]record
		committed map[int32]int64
		want      PartitionReport // totals
		stray     int
		exact     bool
	}{
		{"exact", map[int32][]record{0: recs(0, 0, 1, 10), 1: recs(1, 2, 3, 11)}, map[int32]int64{0: 4, 1: 2},
			PartitionReport{Input: 6, Output: 6}, 0, true},
		{"missing below and above the commit", map[int32][]record{0: recs(0, 0, 10)}, map[int32]int64{0: 2, 1: 0},
			PartitionReport{Input: 6, Output: 2, Missing: 4, CommittedMissing: 1}, 0, false},
		{"duplicates", map[int32][]record{0: recs(0, 0, 1, 2, 3, 0, 1, 10, 11, 11)}, nil,
			PartitionReport{Input: 6, Output: 9, Duplicated: 3}, 0, false},
		{"out of order and stray", map[int32][]record{0: append(recs(0, 1, 0, 2, 3, 10, 11), record{seq: 99, hasSeq: true}, record{})}, nil,
			PartitionReport{Input: 6, Output: 6, OutOfOrder: 1}, 2, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := compare(in, c.out, c.committed, c.committed != nil)
			got := r.Totals()
			got.Partition, got.Committed = 0, 0
			if got != c.want || r.Stray != c.stray || r.Exact() != c.exact {
				t.Fatalf("totals %+v stray %d exact %v; want %+v stray %d exact %v", got, r.Stray, r.Exact(), c.want, c.stray, c.exact)
			}
			var b strings.Builder
			if err := r.WriteTable(&b); err != nil || !strings.Contains(b.String(), "total") {
				t.Fatalf("table: %v\n%s", err, b.String())
			}
		})
	}
}

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

// An input record written twice (a producer resent its batch) is owed two
// outputs: they are not duplicates, and a third is.
func TestCompareResentInput(t *testing.T) {
	in := map[int32][]record{0: recs(0, 0, 1, 1, 2)}
	r := compare(in, map[int32][]record{0: recs(0, 0, 1, 1, 2)}, nil, false)
	if !r.Exact() {
		t.Fatalf("two outputs for two copies: %+v", r.Totals())
	}
	r = compare(in, map[int32][]record{0: recs(0, 0, 1, 1, 1, 2)}, nil, false)
	if got := r.Totals(); got.Duplicated != 1 || got.Missing != 0 {
		t.Fatalf("three outputs for two copies: %+v", got)
	}
	r = compare(in, map[int32][]record{0: recs(0, 0, 1, 2)}, nil, false)
	if got := r.Totals(); got.Duplicated != 0 || got.Missing != 1 {
		t.Fatalf("one output for two copies: %+v", got)
	}
}

func deadLetter(seq int, topic string, p int32, off int64) record {
	return record{seq: seq, hasSeq: true, srcTopic: topic, srcPartition: p, srcOffset: off}
}

func TestDeadLettersAccountForTheirInput(t *testing.T) {
	in := map[int32][]record{0: recs(0, 0, 1, 2, 3)}
	out := map[int32][]record{0: recs(0, 0, 2)}
	dl := map[int32][]record{0: {deadLetter(1, "in", 0, 1), deadLetter(3, "in", 0, 3)}}
	r := compare(in, out, map[int32]int64{0: 4}, true)
	r.deadLetters(in, dl, "in")
	if got := r.Totals(); got.Missing != 0 || got.CommittedMissing != 0 || got.DeadLettered != 2 || got.Duplicated != 0 || !r.Exact() {
		t.Fatalf("totals %+v bad %d", got, r.BadDeadLetter)
	}

	// In the output and the dead-letter topic: duplicated. Headers naming
	// another record, or another topic: bad.
	dl = map[int32][]record{0: {deadLetter(1, "in", 0, 1), deadLetter(2, "in", 0, 2), deadLetter(3, "in", 0, 1), deadLetter(3, "other", 0, 3)}}
	r = compare(in, out, nil, false)
	r.deadLetters(in, dl, "in")
	if got := r.Totals(); got.Duplicated != 1 || got.Missing != 1 || r.BadDeadLetter != 2 {
		t.Fatalf("totals %+v bad %d", got, r.BadDeadLetter)
	}
}

func TestFailuresByRules(t *testing.T) {
	in := map[int32][]record{0: recs(0, 0, 1, 2, 3)}
	missing := compare(in, map[int32][]record{0: recs(0, 0, 1, 2)}, nil, false)
	dup := compare(in, map[int32][]record{0: recs(0, 0, 1, 2, 3, 3)}, nil, false)
	cases := []struct {
		name  string
		r     *Report
		rules Rules
		fails bool
	}{
		{"at-least-once: missing fails", missing, Rules{}, true},
		{"at-least-once: duplicates pass", dup, Rules{}, false},
		{"read_committed: duplicates fail without exact", dup, Rules{ReadCommitted: true}, true},
		{"at-most-once: missing is reported, passes", missing, Rules{AtMostOnce: true}, false},
		{"at-most-once: duplicates fail", dup, Rules{AtMostOnce: true}, true},
	}
	for _, c := range cases {
		if got := failed(c.r.Failures(c.rules)); got != c.fails {
			t.Errorf("%s: failures %v", c.name, c.r.Failures(c.rules))
		}
	}
}

func failed(fails []string) bool { return len(fails) > 0 }

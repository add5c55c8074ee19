package pipeline

import (
	"slices"
	"testing"

	"github.com/IBM/sarama"
)

// spanOf is a span of batches of the given sizes over offsets from 100 on,
// every record a 2-byte key and a 3-byte value, with all batches run.
func spanOf(sizes ...int) *span {
	s := &span{next: -1}
	off := int64(100)
	for _, n := range sizes {
		var b []*sarama.ConsumerMessage
		for range n {
			b = append(b, &sarama.ConsumerMessage{Topic: "in", Partition: 3, Offset: off, Key: []byte("kk"), Value: []byte("vvv")})
			off++
		}
		s.add(b)
	}
	return s
}

func offsetsOf(msgs []*sarama.ConsumerMessage) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.Offset)
	}
	return out
}

func TestSpanCommitted(t *testing.T) {
	tests := []struct {
		name     string
		next     int64   // the offset committed
		wantIn   []int64 // offsets kept
		wantEnds []int
	}{
		{"all of it", 110, nil, nil},
		{"halted in the last batch", 107, []int64{107, 108, 109}, []int{3}},
		{"halted in the first batch", 102, []int64{102, 103, 104, 105, 106, 107, 108, 109}, []int{2, 5, 8}},
		{"halted at a batch's first record", 104, []int64{104, 105, 106, 107, 108, 109}, []int{3, 6}},
		{"halted at the span's first record", 100, []int64{100, 101, 102, 103, 104, 105, 106, 107, 108, 109}, []int{4, 7, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spanOf(4, 3, 3)
			s.run, s.next = 3, tt.next
			s.produced([]*sarama.ProducerMessage{{Topic: "out", Value: sarama.StringEncoder("12345")}})
			s.committed()
			if got := offsetsOf(s.in); !slices.Equal(got, tt.wantIn) {
				t.Errorf("kept offsets %v, want %v", got, tt.wantIn)
			}
			if !slices.Equal(s.ends, tt.wantEnds) {
				t.Errorf("batch ends %v, want %v", s.ends, tt.wantEnds)
			}
			for i := range s.ends {
				if b := s.batch(i); len(b) == 0 {
					t.Errorf("batch %d is empty", i)
				}
			}
			if s.run != 0 || len(s.out) != 0 || s.outBytes != 0 {
				t.Errorf("after commit: %d batches run, %d outputs, %d output bytes; want none", s.run, len(s.out), s.outBytes)
			}
			if want := 5 * len(tt.wantIn); s.inBytes != want {
				t.Errorf("input bytes %d, want %d", s.inBytes, want)
			}
		})
	}
}

func TestSpanBatchesOffsetsAndSize(t *testing.T) {
	s := spanOf(4, 3, 3)
	for i, want := range [][]int64{{100, 101, 102, 103}, {104, 105, 106}, {107, 108, 109}} {
		if got := offsetsOf(s.batch(i)); !slices.Equal(got, want) {
			t.Errorf("batch %d: %v, want %v", i, got, want)
		}
	}
	if s.offsets() != nil {
		t.Error("offsets before any batch ran: want none")
	}
	s.run, s.next = 1, 100 // halted at the first record
	if s.offsets() != nil {
		t.Error("offsets of a span halted at its first record: want none")
	}
	s.run, s.next = 2, 106
	got := s.offsets()
	if po := got["in"]; len(got) != 1 || len(po) != 1 || po[0].Partition != 3 || po[0].Offset != 106 {
		t.Errorf("offsets %v, want in/3 at 106", got)
	}

	s.produced([]*sarama.ProducerMessage{
		{Topic: "out", Key: sarama.StringEncoder("k"), Value: sarama.ByteEncoder("value"),
			Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: []byte("hv")}}},
		{Topic: "out"},
	})
	if got, want := s.size(), 10*5+(1+5+1+2); got != want {
		t.Errorf("size %d, want %d", got, want)
	}
	s.rewind()
	if s.run != 0 || len(s.out) != 0 || s.size() != 50 {
		t.Errorf("after rewind: %d batches run, %d outputs, size %d; want 0, 0, 50", s.run, len(s.out), s.size())
	}
	if len(s.in) != 10 {
		t.Errorf("rewind dropped input records: %d left", len(s.in))
	}
	s.reset()
	if len(s.in) != 0 || len(s.ends) != 0 || s.size() != 0 {
		t.Errorf("after reset: %d records, %d batches, size %d", len(s.in), len(s.ends), s.size())
	}
}

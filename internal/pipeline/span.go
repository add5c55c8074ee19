package pipeline

import (
	"time"

	"github.com/IBM/sarama"
)

// span is an exactly-once actor's open transaction: the input records of
// the batches it covers, in offset order, and what the plugin produced for
// the ones it has run. Nothing of it reaches the broker before it commits
// (see txnProducer.commit), so the broker-side transaction is open only
// while it commits, however long the span's plugin calls and retries take;
// and when the commit fails, every batch is still in hand to run again.
type span struct {
	in    []*sarama.ConsumerMessage // input records of the span's batches
	ends  []int                     // end of each batch in in
	run   int                       // batches run, a prefix of ends
	out   []*sarama.ProducerMessage // outputs of the batches run, dead letters included
	next  int64                     // offset to commit: past the last record run
	began time.Time
	// Bytes of keys, values and headers held in in and in out.
	inBytes, outBytes int
}

// add appends a batch (the slice is copied, not kept).
func (s *span) add(msgs []*sarama.ConsumerMessage) {
	if len(s.ends) == 0 {
		s.began = time.Now()
	}
	s.in = append(s.in, msgs...)
	s.ends = append(s.ends, len(s.in))
	for _, m := range msgs {
		s.inBytes += inputBytes(m)
	}
}

// produced adds the outputs of a batch that ran.
func (s *span) produced(msgs []*sarama.ProducerMessage) {
	s.out = append(s.out, msgs...)
	for _, m := range msgs {
		s.outBytes += outputBytes(m)
	}
}

// size is the memory the span holds in records, roughly.
func (s *span) size() int { return s.inBytes + s.outBytes }

// batch returns the span's i-th batch.
func (s *span) batch(i int) []*sarama.ConsumerMessage {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.in[start:s.ends[i]]
}

// offsets is the input offset the commit moves the group to, nil when no
// record was run past the span's first.
func (s *span) offsets() map[string][]*sarama.PartitionOffsetMetadata {
	first := s.in[0]
	if s.run == 0 || s.next <= first.Offset {
		return nil
	}
	return map[string][]*sarama.PartitionOffsetMetadata{
		first.Topic: {{Partition: first.Partition, Offset: s.next}},
	}
}

// rewind forgets what running the batches produced, so that they all run
// again: the transaction was aborted.
func (s *span) rewind() {
	clear(s.out)
	s.out, s.run, s.outBytes = s.out[:0], 0, 0
}

// committed drops what a commit covered. The records from s.next on, when
// the span stopped short (the stop policy halted it at s.next), stay, in
// their batches, to run in the next transaction.
func (s *span) committed() {
	i := 0
	for i < len(s.in) && s.in[i].Offset < s.next {
		i++
	}
	s.rewind()
	if i == len(s.in) {
		s.reset()
		return
	}
	n := copy(s.in, s.in[i:])
	clear(s.in[n:])
	s.in = s.in[:n]
	s.inBytes = 0
	for _, m := range s.in {
		s.inBytes += inputBytes(m)
	}
	ends := s.ends[:0]
	for _, e := range s.ends {
		if e > i {
			ends = append(ends, e-i)
		}
	}
	s.ends = ends
	s.began = time.Now()
}

// reset empties the span.
func (s *span) reset() {
	s.rewind()
	clear(s.in)
	s.in, s.ends, s.inBytes = s.in[:0], s.ends[:0], 0
}

func inputBytes(m *sarama.ConsumerMessage) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		if h != nil {
			n += len(h.Key) + len(h.Value)
		}
	}
	return n
}

func outputBytes(m *sarama.ProducerMessage) int {
	n := 0
	if m.Key != nil {
		n += m.Key.Length()
	}
	if m.Value != nil {
		n += m.Value.Length()
	}
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

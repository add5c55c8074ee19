package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// recordOverhead is a record's framing in a v2 batch, at most: length,
// attributes, timestamp and offset deltas, key and value lengths, header
// count (varints).
const recordOverhead = 21

// newQueued encodes msg's key and value (once: a retry sends the same
// bytes) and sizes the record.
func (p *Producer) newQueued(msg *sarama.ProducerMessage, ack Ack) (queued, error) {
	q := queued{msg: msg, ack: ack}
	var err error
	if msg.Key != nil {
		if q.key, err = msg.Key.Encode(); err != nil {
			return q, fmt.Errorf("kafka: encoding the key: %w", err)
		}
	}
	if msg.Value != nil {
		if q.value, err = msg.Value.Encode(); err != nil {
			return q, fmt.Errorf("kafka: encoding the value: %w", err)
		}
	}
	q.size = recordOverhead + len(q.key) + len(q.value)
	for _, h := range msg.Headers {
		q.size += 10 + len(h.Key) + len(h.Value)
	}
	if limit := p.conf.Producer.MaxMessageBytes; q.size+batchOverhead > limit {
		return q, fmt.Errorf("kafka: a record of %d bytes is larger than the producer's limit of %d (MaxMessageBytes): %w",
			q.size+batchOverhead, limit, sarama.ErrMessageSizeTooLarge)
	}
	return q, nil
}

// recordBatch builds the v2 record batch of recs, stamped with the loop's
// producer id and first sequence seq (none when the producer is not
// idempotent). A record without a timestamp gets the time of the batch.
func (l *loop) recordBatch(recs []queued, seq int32) *sarama.RecordBatch {
	conf := l.p.conf
	now := time.Now()
	rs := make([]sarama.Record, len(recs))
	ptrs := make([]*sarama.Record, len(recs))
	first := recs[0].msg.Timestamp
	if first.IsZero() {
		first = now
	}
	last := first
	for i := range recs {
		q := &recs[i]
		ts := q.msg.Timestamp
		if ts.IsZero() {
			ts = now
		}
		if ts.After(last) {
			last = ts
		}
		r := &rs[i]
		r.Key, r.Value = q.key, q.value
		r.OffsetDelta = int64(i)
		r.TimestampDelta = ts.Sub(first)
		if hs := q.msg.Headers; len(hs) > 0 {
			r.Headers = make([]*sarama.RecordHeader, len(hs))
			for j := range hs {
				r.Headers[j] = &hs[j]
			}
		}
		ptrs[i] = r
	}
	rb := &sarama.RecordBatch{
		Version:          2,
		Codec:            conf.Producer.Compression,
		CompressionLevel: conf.Producer.CompressionLevel,
		FirstTimestamp:   first,
		MaxTimestamp:     last,
		LastOffsetDelta:  int32(len(recs) - 1),
		ProducerID:       -1,
		ProducerEpoch:    -1,
		FirstSequence:    -1,
		Records:          ptrs,
	}
	if l.pid >= 0 {
		rb.ProducerID, rb.ProducerEpoch, rb.FirstSequence = l.pid, l.epoch, seq
	}
	return rb
}

// produceVersion is the newest produce request version, among those that
// carry record batches, that a cluster of version v understands.
func produceVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 5
	default:
		return 3
	}
}

// retriable reports whether a produce error may go away by itself (Kafka's
// RetriableException family), so that the batch is sent again.
func retriable(err error) bool {
	var kerr sarama.KError
	if !errors.As(err, &kerr) {
		return true // the connection, not the broker, failed
	}
	switch kerr {
	case sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrUnknownTopicOrPartition,
		sarama.ErrRequestTimedOut, sarama.ErrNotEnoughReplicas, sarama.ErrNotEnoughReplicasAfterAppend,
		sarama.ErrNetworkException, sarama.ErrKafkaStorageError, sarama.ErrInvalidMessage,
		sarama.ErrNotController, sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch,
		sarama.ErrBrokerNotAvailable, sarama.ErrReplicaNotAvailable, sarama.ErrOffsetNotAvailable:
		return true
	}
	return false
}

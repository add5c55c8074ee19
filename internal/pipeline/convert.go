package pipeline

import (
	"time"
	"unsafe"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/kafka"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// encoder turns consumer messages into a plugin batch, reusing its buffers.
type encoder struct {
	rec         abi.Record
	hdrs        []abi.Header
	first, last int64 // offsets of the batch's first and last records
}

func (e *encoder) add(b *host.Batch, m *sarama.ConsumerMessage) {
	if b.Len() == 0 {
		e.first = m.Offset
	}
	e.last = m.Offset
	hs := e.hdrs[:0]
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		// The batch copies the key before Add returns, so a string view of
		// the header's bytes is enough and saves an allocation per header.
		hs = append(hs, abi.Header{Key: bytesView(h.Key), Value: h.Value})
	}
	e.hdrs = hs
	e.rec = abi.Record{
		Topic:     m.Topic,
		Partition: m.Partition,
		Offset:    m.Offset,
		Timestamp: m.Timestamp.UnixMilli(),
		Key:       m.Key,
		Value:     m.Value,
		Headers:   hs,
	}
	// A consumed message's key and value are never changed (they are views
	// of sarama's fetch response): outputs that pass them through unchanged
	// send them as they are instead of a copy.
	b.AddKept(&e.rec)
}

func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// producerMessage converts a plugin output into a message for the producer.
// The output's byte slices are owned by the message from now on.
func producerMessage(r *abi.Record) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: r.Topic}
	kafka.SetPartition(msg, r.Partition)
	if r.Key != nil {
		msg.Key = sarama.ByteEncoder(r.Key)
	}
	if r.Value != nil {
		msg.Value = sarama.ByteEncoder(r.Value)
	}
	if r.Timestamp > 0 {
		msg.Timestamp = time.UnixMilli(r.Timestamp)
	}
	if len(r.Headers) > 0 {
		msg.Headers = make([]sarama.RecordHeader, len(r.Headers))
		for i, h := range r.Headers {
			msg.Headers[i] = sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value}
		}
	}
	return msg
}

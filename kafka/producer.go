package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// ErrProducerClosed is the error an [Ack] receives for a record sent after
// [Producer.Close] began.
var ErrProducerClosed = errors.New("kafka: producer is closed")

// Ack receives the outcome of one record given to [Producer.Send]: err is
// nil once the broker has it. Done is called exactly once per record, from
// the producer's single delivery goroutine, so it must return quickly and
// must not call Send (that could deadlock when the buffers are full).
//
// Ack is an interface rather than a func so that a caller can pass a
// pointer it already has (a batch, a pending-offset tracker) without
// allocating a closure per record.
type Ack interface {
	Done(msg *sarama.ProducerMessage, err error)
}

// ProducerOptions configure [NewProducer].
type ProducerOptions struct {
	// Logger receives delivery failures (warn; a burst of 100 a second,
	// then one in 1000: Stats counts every one) and successes (debug).
	// The zero value discards.
	Logger zerolog.Logger
}

// ProducerStats are cumulative record counts. Sent-Acked-Failed records
// are in flight.
type ProducerStats struct {
	Sent   uint64 // given to Send
	Acked  uint64 // delivered
	Failed uint64 // failed, including records given to Send after Close
}

// Producer is the daemon's one shared asynchronous producer. Send may be
// called from any number of goroutines; outcomes come back through each
// record's Ack. See the package documentation for the lifecycle.
type Producer struct {
	ap      sarama.AsyncProducer
	client  sarama.Client
	log     zerolog.Logger
	failLog zerolog.Logger

	mu     sync.RWMutex // held for reading while a Send hands over a record
	closed bool

	sent, acked, failed atomic.Uint64
	drained             chan struct{} // closed when the delivery goroutine ends
}

// NewProducer starts a producer on client, which must have been configured
// by [NewSaramaConfig] (or at least return successes and errors). The
// caller keeps ownership of client and closes it after [Producer.Close].
func NewProducer(client sarama.Client, o ProducerOptions) (*Producer, error) {
	ret := client.Config().Producer.Return
	if !ret.Successes || !ret.Errors {
		return nil, errors.New("kafka: producer needs Producer.Return.Successes and Return.Errors (use NewSaramaConfig)")
	}
	ap, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("kafka: starting producer: %w", err)
	}
	p := &Producer{
		ap:      ap,
		client:  client,
		log:     o.Logger,
		failLog: o.Logger.Sample(&zerolog.BurstSampler{Burst: 100, Period: time.Second, NextSampler: &zerolog.BasicSampler{N: 1000}}),
		drained: make(chan struct{}),
	}
	go p.deliver()
	return p, nil
}

// Partitions returns how many partitions topic has, from the client's
// metadata (fetched once, then refreshed as the client refreshes it), or 0
// when it is not known.
func (p *Producer) Partitions(topic string) int32 {
	parts, err := p.client.Partitions(topic)
	if err != nil {
		return 0
	}
	return int32(len(parts))
}

// Send queues msg for delivery and reports the outcome to ack (which may be
// nil). Send uses msg.Metadata for ack: the caller must not use it. Send
// blocks while sarama's input buffer is full. After Close has begun, the
// record is not sent and ack gets ErrProducerClosed at once.
func (p *Producer) Send(msg *sarama.ProducerMessage, ack Ack) {
	msg.Metadata = ack
	p.sent.Add(1)
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		p.failed.Add(1)
		if ack != nil {
			ack.Done(msg, ErrProducerClosed)
		}
		return
	}
	p.ap.Input() <- msg
	p.mu.RUnlock()
}

// deliver is the one goroutine that reports outcomes, until sarama closes
// both channels after AsyncClose.
func (p *Producer) deliver() {
	defer close(p.drained)
	succ, errs := p.ap.Successes(), p.ap.Errors()
	for succ != nil || errs != nil {
		select {
		case msg, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			p.acked.Add(1)
			p.log.Debug().Str("topic", msg.Topic).Int32("partition", msg.Partition).
				Int64("offset", msg.Offset).Msg("record delivered")
			done(msg, nil)
		case perr, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			p.failed.Add(1)
			p.failLog.Warn().Str("topic", perr.Msg.Topic).Int32("partition", perr.Msg.Partition).
				Err(perr.Err).Msg("record delivery failed")
			done(perr.Msg, perr.Err)
		}
	}
}

func done(msg *sarama.ProducerMessage, err error) {
	if ack, _ := msg.Metadata.(Ack); ack != nil {
		ack.Done(msg, err)
	}
}

// Stats returns the record counts so far.
func (p *Producer) Stats() ProducerStats {
	// Read the outcomes before Sent so that a concurrent Send can only
	// make in-flight look larger, never negative.
	acked, failed := p.acked.Load(), p.failed.Load()
	return ProducerStats{Sent: p.sent.Load(), Acked: acked, Failed: failed}
}

// Close stops accepting records and waits, at most until ctx is done, for
// every record in flight to be delivered or to fail, with its Ack called.
// If ctx ends first, Close returns an error wrapping ctx.Err() that says how
// many records were still in flight; their Acks are still called later,
// when sarama gives up on them or delivers them. Close does not close the
// client. Calling Close again waits again.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	first := !p.closed
	p.closed = true
	p.mu.Unlock()
	if first {
		// No Send is running or can start: sarama flushes what it
		// buffers, retries what failed, then closes both channels.
		p.ap.AsyncClose()
	}
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		s := p.Stats()
		return fmt.Errorf("kafka: producer closed with %d records still in flight: %w",
			s.Sent-s.Acked-s.Failed, ctx.Err())
	}
}

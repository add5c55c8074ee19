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
	// Retried counts records sent again after a retriable error or a
	// lost connection (a record retried twice counts twice). It stays 0
	// while the brokers are healthy.
	Retried uint64
}

// maxBuffered bounds the bytes of records given to Send and not yet in a
// produce request; Send blocks above it. Requests in flight add at most one
// per broker, each bounded by maxRequestBytes.
const maxBuffered = 16 << 20

// Producer is the daemon's one shared asynchronous producer. Send may be
// called from any number of goroutines; outcomes come back through each
// record's Ack. See the package documentation for the lifecycle.
//
// It writes produce requests itself, with sarama's protocol types and
// broker connections, instead of running sarama's AsyncProducer: that one
// hands every record through five goroutines and as many channels, which
// cost more CPU than everything else the daemon does for a record
// (produceloop.go has the design). Send appends the record to its
// partition's queue under one lock; one loop goroutine turns the queues
// into one request per broker, one in flight per broker, so records
// collect while the previous request is answered.
type Producer struct {
	client  sarama.Client
	conf    *sarama.Config
	log     zerolog.Logger
	failLog zerolog.Logger

	mu       sync.Mutex
	space    sync.Cond // signalled when buffered drops or the loop ends
	closed   bool
	topics   map[string]*topicRoute
	ready    []*partQueue // queues with records the loop has not seen
	buffered int          // bytes in the queues, not yet in a request
	inbox    []event      // from the router and the brokers, for the loop
	routing  []queued     // records waiting for their topic's metadata
	refresh  map[string]bool

	wake    chan struct{} // cap 1: something for the loop
	route   chan struct{} // cap 1: something for the router
	drained chan struct{} // closed when the loop ends

	sent, acked, failed, retried atomic.Uint64
}

// topicRoute is what Send knows of a topic: how to pick a partition and each
// partition's queue. Guarded by Producer.mu.
type topicRoute struct {
	partitioner sarama.Partitioner
	parts       []*partQueue
	routing     int // records of this topic waiting in Producer.routing
}

// queued is a record with its ack and its size in a record batch.
type queued struct {
	msg        *sarama.ProducerMessage
	ack        Ack
	key, value []byte // encoded by Send
	size       int
}

// NewProducer starts a producer on client, which must have been configured
// by [NewSaramaConfig] (or at least speak Kafka 0.11's record batches). The
// caller keeps ownership of client and closes it after [Producer.Close].
func NewProducer(client sarama.Client, o ProducerOptions) (*Producer, error) {
	conf := client.Config()
	if !conf.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("kafka: producer needs Kafka 0.11 or newer (record batches), configured version is %s", conf.Version)
	}
	if conf.Producer.Idempotent && conf.Producer.RequiredAcks != sarama.WaitForAll {
		return nil, errors.New("kafka: an idempotent producer needs RequiredAcks = WaitForAll (use NewSaramaConfig)")
	}
	p := &Producer{
		client:  client,
		conf:    conf,
		log:     o.Logger,
		failLog: o.Logger.Sample(&zerolog.BurstSampler{Burst: 100, Period: time.Second, NextSampler: &zerolog.BasicSampler{N: 1000}}),
		topics:  make(map[string]*topicRoute),
		refresh: make(map[string]bool),
		wake:    make(chan struct{}, 1),
		route:   make(chan struct{}, 1),
		drained: make(chan struct{}),
	}
	p.space.L = &p.mu
	l := newLoop(p)
	go l.run()
	go p.router(l.done)
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
// blocks while more than maxBuffered bytes wait for a request. After Close
// has begun, the record is not sent and ack gets ErrProducerClosed at once.
func (p *Producer) Send(msg *sarama.ProducerMessage, ack Ack) {
	msg.Metadata = ack
	p.sent.Add(1)
	q, err := p.newQueued(msg, ack)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.failed.Add(1)
		if ack != nil {
			ack.Done(msg, ErrProducerClosed)
		}
		return
	}
	// A Send that began before Close still sends: the loop goes on until
	// the queues are empty, so the space comes.
	for p.buffered > maxBuffered {
		p.space.Wait()
	}
	t := p.topics[msg.Topic]
	switch {
	case err != nil:
	case t == nil || t.routing > 0:
		// Unknown topic, or earlier records of it still wait for its
		// metadata: queue behind them so the order holds.
		if t == nil {
			t = &topicRoute{}
			p.topics[msg.Topic] = t
		}
		t.routing++
		p.routing = append(p.routing, q)
		p.mu.Unlock()
		poke(p.route)
		return
	default:
		err = p.enqueueLocked(t, q)
	}
	if err != nil {
		// Failed here, reported by the loop, which cannot end before it
		// has seen the inbox (Done is called from the loop only).
		p.inbox = append(p.inbox, event{failed: []queued{q}, err: err})
	}
	p.mu.Unlock()
	poke(p.wake)
}

// enqueueLocked partitions q and appends it to its partition's queue.
func (p *Producer) enqueueLocked(t *topicRoute, q queued) error {
	part, err := t.partitioner.Partition(q.msg, int32(len(t.parts)))
	if err != nil {
		return err
	}
	if part < 0 || int(part) >= len(t.parts) {
		return fmt.Errorf("kafka: partitioner chose partition %d of topic %q, which has %d", part, q.msg.Topic, len(t.parts))
	}
	q.msg.Partition = part
	pq := t.parts[part]
	if len(pq.buf) == 0 && !pq.listed {
		pq.listed = true
		p.ready = append(p.ready, pq)
	}
	pq.buf = append(pq.buf, q)
	p.buffered += q.size
	return nil
}

// post hands the loop an event (for events that can only come while the
// loop runs: the answers of its requests).
func (p *Producer) post(e event) {
	p.mu.Lock()
	p.inbox = append(p.inbox, e)
	p.mu.Unlock()
	poke(p.wake)
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Stats returns the record counts so far.
func (p *Producer) Stats() ProducerStats {
	// Read the outcomes before Sent so that a concurrent Send can only
	// make in-flight look larger, never negative.
	acked, failed := p.acked.Load(), p.failed.Load()
	return ProducerStats{Sent: p.sent.Load(), Acked: acked, Failed: failed, Retried: p.retried.Load()}
}

// Close stops accepting records and waits, at most until ctx is done, for
// every record in flight to be delivered or to fail, with its Ack called.
// If ctx ends first, Close returns an error wrapping ctx.Err() that says how
// many records were still in flight; their Acks are still called later,
// when the producer gives up on them (after Producer.Retry.Max retries) or
// delivers them. Close does not close the client. Calling Close again waits
// again.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	poke(p.wake)
	poke(p.route)
	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		s := p.Stats()
		return fmt.Errorf("kafka: producer closed with %d records still in flight: %w",
			s.Sent-s.Acked-s.Failed, ctx.Err())
	}
}

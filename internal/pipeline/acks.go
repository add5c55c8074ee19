package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// resendDelay is how long a record whose delivery failed (after sarama's own
// retries) waits before it is sent again. Its batch's offset stays unmarked
// until it is delivered, so a record is never dropped.
const resendDelay = 500 * time.Millisecond

// sender is the part of the producer a pipeline uses.
type sender interface {
	Send(msg *sarama.ProducerMessage, ack kafka.Ack)
}

// ackQueue marks offsets in batch order as batches become fully
// acknowledged, because MarkOffset only moves forward: marking a later batch
// before an earlier one is acknowledged could lose the earlier one.
type ackQueue struct {
	mark     func(next int64)
	producer sender
	stopping *atomic.Bool

	noResend bool // at-most-once: a failed delivery is not retried

	mu    sync.Mutex
	q     []*pending
	empty chan struct{}
}

func newAckQueue(p sender, mark func(int64), stopping *atomic.Bool) *ackQueue {
	return &ackQueue{mark: mark, producer: p, stopping: stopping, empty: make(chan struct{}, 1)}
}

// pending is one batch: it completes when every record it sent is
// acknowledged and the actor has sealed it.
type pending struct {
	q    *ackQueue
	left atomic.Int64 // records in flight, +1 until sealed
	next int64        // offset to mark on completion; -1 marks nothing
}

// open starts a batch; send its records with p.send, then seal it.
func (q *ackQueue) open() *pending {
	p := &pending{q: q, next: -1}
	p.left.Store(1)
	q.mu.Lock()
	q.q = append(q.q, p)
	q.mu.Unlock()
	return p
}

func (p *pending) send(msg *sarama.ProducerMessage) {
	p.left.Add(1)
	p.q.producer.Send(msg, p)
}

// seal says every record of the batch has been sent and which offset to mark
// once they are acknowledged.
func (p *pending) seal(next int64) {
	p.next = next
	p.release()
}

func (p *pending) release() {
	if p.left.Add(-1) == 0 {
		p.q.complete()
	}
}

// Done is called by the producer's delivery goroutine.
func (p *pending) Done(msg *sarama.ProducerMessage, err error) {
	if err == nil {
		p.release()
		return
	}
	if errors.Is(err, kafka.ErrProducerClosed) || p.q.stopping.Load() {
		// Shutting down: leave the batch incomplete so its offset is not
		// marked and the record is consumed again after a restart.
		return
	}
	if p.q.noResend {
		// At-most-once: a record the producer gave up on is lost (the
		// producer logged and counted it), never written twice. The
		// batch's offset was committed before the plugin ran.
		p.release()
		return
	}
	// Done must not call Send (see kafka.Ack): resend from a timer.
	time.AfterFunc(resendDelay, func() { p.q.producer.Send(msg, p) })
}

func (q *ackQueue) complete() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.q) > 0 && q.q[0].left.Load() == 0 {
		if next := q.q[0].next; next >= 0 {
			q.mark(next)
		}
		q.q[0] = nil
		q.q = q.q[1:]
	}
	if len(q.q) == 0 {
		select {
		case q.empty <- struct{}{}:
		default:
		}
	}
}

// drain waits until every batch is complete or ctx ends; it reports whether
// the queue emptied.
func (q *ackQueue) drain(ctx context.Context) bool {
	for {
		q.mu.Lock()
		n := len(q.q)
		q.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-q.empty:
		case <-ctx.Done():
			return false
		}
	}
}

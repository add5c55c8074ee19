package kafka

import (
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// The producer's loop. One goroutine owns everything past the partition
// queues: the batches built from them, the produce requests in flight, the
// producer id and the sequence numbers of the idempotent producer, retries,
// and every Ack call. Send only appends to a queue and pokes the loop.
//
// Each round the loop takes, for every partition whose leader has no
// request in flight, what has queued (up to Producer.MaxMessageBytes) into a
// record batch, puts all of one broker's batches into one produce request
// and sends it with sarama's Broker.AsyncProduce. The answer comes back as
// an event. One request in flight per broker, as the idempotent producer
// needs (and sarama's Net.MaxOpenRequests = 1 configures): records that
// arrive meanwhile wait for the answer and go together in the next request,
// so a busy producer sends large requests without a linger timer and an
// idle one sends at once.
//
// A batch keeps its producer id, epoch and first sequence number across
// retries, so a broker that wrote it before the connection dropped answers
// DUPLICATE_SEQUENCE_NUMBER (or the original offsets) instead of writing it
// twice. A partition's next batch is built only once its previous one is
// answered, which keeps records in order across retries. When a batch fails
// for good its sequence numbers are lost, so the loop asks for a new
// producer id before it stamps another batch.

// partQueue is one partition's records on their way out.
type partQueue struct {
	topic     string
	partition int32

	// Set by the router: nil while the partition has no leader.
	leader atomic.Pointer[sarama.Broker]

	// Guarded by Producer.mu.
	buf    []queued
	listed bool // in Producer.ready

	// Owned by the loop.
	batch  *batch   // sent and not answered, or waiting to be sent again
	spare  []queued // empty, from a delivered batch: the next buf
	active bool     // in loop.active
	seq    int32    // next sequence number under pidGen
	pidGen int
}

// batch is one record batch of one partition.
type batch struct {
	part  *partQueue
	recs  []queued
	bytes int // its size in a request
	// rb is built by stamp when the batch is first sent, and sent again
	// unchanged on retries; nil again when it must be stamped anew.
	rb       *sarama.RecordBatch
	attempts int       // failed sends so far
	due      time.Time // not sent again before
	inflight bool
}

// request is one produce request in flight to a broker.
type request struct {
	broker  *sarama.Broker
	batches []*batch
}

// event is something for the loop: a broker's answer to a request, or
// records that failed before any request (from Send or the router).
type event struct {
	req    *request
	resp   *sarama.ProduceResponse
	failed []queued
	err    error
}

const (
	// batchOverhead is a record batch's header (v2) in bytes.
	batchOverhead = 61
	// maxRequestBytes bounds one produce request; each partition's batch
	// is bounded by Producer.MaxMessageBytes.
	maxRequestBytes = 32 << 20
)

type loop struct {
	p        *Producer
	active   []*partQueue
	busy     map[*sarama.Broker]bool
	inflight int

	pid         int64
	epoch       int16
	pidGen      int
	pidStale    bool      // a new producer id is needed before the next batch
	pidDue      time.Time // when to ask again after a failure
	pidFailures int

	timer *time.Timer
	done  chan struct{}
}

func newLoop(p *Producer) *loop {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &loop{p: p, busy: make(map[*sarama.Broker]bool), pid: -1, epoch: -1,
		pidStale: p.conf.Producer.Idempotent, timer: t, done: make(chan struct{})}
}

func (l *loop) run() {
	p := l.p
	defer close(p.drained)
	defer close(l.done)
	for {
		p.mu.Lock()
		inbox, ready := p.inbox, p.ready
		p.inbox, p.ready = nil, nil
		for _, pq := range ready {
			pq.listed = false
		}
		p.mu.Unlock()
		for _, pq := range ready {
			if !pq.active {
				pq.active = true
				l.active = append(l.active, pq)
			}
		}
		for _, e := range inbox {
			l.handle(e)
		}
		next := l.send(time.Now())
		if l.finished() {
			p.mu.Lock()
			p.space.Broadcast()
			p.mu.Unlock()
			return
		}
		if !next.IsZero() {
			l.timer.Reset(time.Until(next))
		}
		select {
		case <-p.wake:
		case <-l.timer.C:
		}
		l.timer.Stop()
	}
}

// finished reports whether the producer is closed and nothing is left: no
// record queued, routing or in a batch, no event to handle.
func (l *loop) finished() bool {
	if l.inflight > 0 {
		return false
	}
	for _, pq := range l.active {
		if pq.batch != nil {
			return false
		}
	}
	p := l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed && len(p.routing) == 0 && len(p.inbox) == 0 && len(p.ready) == 0 && p.buffered == 0
}

// send sends every request it can and returns when it next has to run for
// a retry (zero: only when poked).
func (l *loop) send(now time.Time) (next time.Time) {
	p := l.p
	if l.pidStale && len(l.active) > 0 {
		if now.Before(l.pidDue) {
			return l.pidDue
		}
		if !l.renewPID() {
			l.pidFailures++
			if l.pidFailures > p.conf.Producer.Retry.Max {
				// As with a request that keeps failing: give up on what
				// waits, so that Close ends and callers may send again.
				l.pidFailures = 0
				l.failWaiting(errNoProducerID)
			}
			l.pidDue = now.Add(p.conf.Producer.Retry.Backoff)
			return l.pidDue
		}
		l.pidFailures = 0
	}
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	reqs := map[*sarama.Broker][]*partQueue{}
	kept := l.active[:0]
	for _, pq := range l.active {
		if b := pq.batch; b != nil {
			if b.inflight {
				kept = append(kept, pq)
				continue
			}
			if now.Before(b.due) {
				later(b.due)
				kept = append(kept, pq)
				continue
			}
		} else if !l.hasRecords(pq) {
			pq.active = false
			continue
		}
		kept = append(kept, pq)
		broker, err := l.leader(pq)
		if err != nil {
			b := pq.batch
			if b == nil {
				b = l.take(pq)
			}
			l.retry(b, err)
			later(b.due)
			continue
		}
		if l.busy[broker] {
			continue
		}
		reqs[broker] = append(reqs[broker], pq)
	}
	clear(l.active[len(kept):])
	l.active = kept
	for broker, pqs := range reqs {
		l.sendTo(broker, pqs)
	}
	return next
}

// leader is pq's leader as the router last saw it, connected (again, if
// the loop dropped the connection after an error: Open is a no-op on an
// open broker and connects in the background otherwise).
func (l *loop) leader(pq *partQueue) (*sarama.Broker, error) {
	b := pq.leader.Load()
	if b == nil {
		return nil, sarama.ErrLeaderNotAvailable
	}
	_ = b.Open(l.p.conf)
	return b, nil
}

// hasRecords reports whether pq has queued records.
func (l *loop) hasRecords(pq *partQueue) bool {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return len(pq.buf) > 0
}

// take moves pq's queued records, up to one batch's worth, into a new
// batch; sendTo stamps it.
func (l *loop) take(pq *partQueue) *batch {
	p := l.p
	limit := p.conf.Producer.MaxMessageBytes - batchOverhead
	p.mu.Lock()
	n, size := 0, 0
	for n < len(pq.buf) && (n == 0 || size+pq.buf[n].size <= limit) {
		size += pq.buf[n].size
		n++
	}
	recs := pq.buf[:n:n]
	if n == len(pq.buf) {
		// A delivered batch's array, so that appends do not grow a new
		// one from nothing each round.
		pq.buf, pq.spare = pq.spare, nil
	} else {
		pq.buf = pq.buf[n:]
	}
	p.buffered -= size
	p.space.Broadcast()
	p.mu.Unlock()
	pq.batch = &batch{part: pq, recs: recs, bytes: batchOverhead + size}
	return pq.batch
}

// stamp builds b's record batch under the producer id, with pq's next
// sequence numbers (from 0 under a producer id pq has not used yet).
func (l *loop) stamp(b *batch) {
	pq := b.part
	if pq.pidGen != l.pidGen {
		pq.pidGen, pq.seq = l.pidGen, 0
	}
	b.rb = l.recordBatch(b.recs, pq.seq)
	if l.pid >= 0 {
		pq.seq = nextSeq(pq.seq, len(b.recs))
	}
}

// sendTo sends one request to broker with a batch of each of pqs.
func (l *loop) sendTo(broker *sarama.Broker, pqs []*partQueue) {
	p := l.p
	req := &request{broker: broker}
	pr := &sarama.ProduceRequest{
		RequiredAcks: p.conf.Producer.RequiredAcks,
		Timeout:      int32(p.conf.Producer.Timeout / time.Millisecond),
		Version:      produceVersion(p.conf.Version),
	}
	bytes := 0
	for _, pq := range pqs {
		b := pq.batch
		if b == nil {
			if bytes > 0 && bytes+p.conf.Producer.MaxMessageBytes > maxRequestBytes {
				continue // next round
			}
			b = l.take(pq)
		}
		if b.rb == nil {
			l.stamp(b)
		}
		b.inflight = true
		bytes += b.bytes
		pr.AddBatch(pq.topic, pq.partition, b.rb)
		req.batches = append(req.batches, b)
	}
	l.busy[broker] = true
	l.inflight++
	err := broker.AsyncProduce(pr, func(resp *sarama.ProduceResponse, err error) {
		// On the broker's reader goroutine: hand over, never block.
		p.post(event{req: req, resp: resp, err: err})
	})
	if err != nil {
		l.handle(event{req: req, err: err})
		return
	}
	if pr.RequiredAcks == sarama.NoResponse {
		l.handle(event{req: req, resp: nil})
	}
}

package kafka

import (
	"errors"
	"math"
	"time"

	"github.com/IBM/sarama"
)

// What the producer's loop does with outcomes: answers to its requests
// (handle), retries, failures and deliveries (the only places that call
// Acks), and the idempotent producer's id and sequence numbers.

// handle applies an event.
func (l *loop) handle(e event) {
	if e.req == nil {
		l.fail(e.failed, e.err)
		return
	}
	l.inflight--
	delete(l.busy, e.req.broker)
	if e.err != nil {
		// The connection failed: the broker may or may not have written
		// the batches. Drop the connection (sarama reconnects on the next
		// request) and send them again, with the same sequence numbers.
		_ = e.req.broker.Close()
		for _, b := range e.req.batches {
			b.inflight = false
			l.retry(b, e.err)
		}
		return
	}
	for _, b := range e.req.batches {
		b.inflight = false
		if e.resp == nil { // acks=0: nothing comes back
			l.deliver(b, -1)
			continue
		}
		block := e.resp.GetBlock(b.part.topic, b.part.partition)
		if block == nil {
			l.retry(b, sarama.ErrIncompleteResponse)
			continue
		}
		switch err := block.Err; {
		case err == sarama.ErrNoError:
			l.deliver(b, block.Offset)
		case err == sarama.ErrDuplicateSequenceNumber:
			// Written by an earlier attempt whose answer was lost.
			l.deliver(b, -1)
		case err == sarama.ErrOutOfOrderSequenceNumber || err == sarama.ErrUnknownProducerID || err == sarama.ErrInvalidProducerEpoch:
			// The broker lost or never had this producer's state: stamp the
			// batch again under a new producer id.
			l.pidStale = true
			b.rb = nil
			l.retry(b, err)
		case retriable(err):
			l.retry(b, err)
		default:
			l.giveUp(b, err)
		}
	}
}

// retry schedules b to be sent again after the backoff, or fails it when it
// has been tried Producer.Retry.Max times.
func (l *loop) retry(b *batch, err error) {
	p := l.p
	b.attempts++
	if b.attempts > p.conf.Producer.Retry.Max {
		l.giveUp(b, err)
		return
	}
	backoff := p.conf.Producer.Retry.Backoff
	if f := p.conf.Producer.Retry.BackoffFunc; f != nil {
		backoff = f(b.attempts, p.conf.Producer.Retry.Max)
	}
	b.due = time.Now().Add(backoff)
	p.retried.Add(uint64(len(b.recs)))
	p.log.Debug().Err(err).Str("topic", b.part.topic).Int32("partition", b.part.partition).
		Int("records", len(b.recs)).Int("attempt", b.attempts).Dur("retry_in", backoff).Msg("produce failed, retrying")
	// Leadership may have moved: have the router refresh the metadata
	// before the retry looks the leader up again.
	p.mu.Lock()
	p.refresh[b.part.topic] = true
	p.mu.Unlock()
	poke(p.route)
}

// giveUp fails b's records. Its sequence numbers are lost, so the next
// batch needs a new producer id.
func (l *loop) giveUp(b *batch, err error) {
	b.part.batch = nil
	if l.pid >= 0 {
		l.pidStale = true
	}
	l.fail(b.recs, err)
}

func (l *loop) fail(recs []queued, err error) {
	if len(recs) == 0 {
		return
	}
	p := l.p
	p.failed.Add(uint64(len(recs)))
	m := recs[0].msg
	p.failLog.Warn().Str("topic", m.Topic).Int32("partition", m.Partition).Int("records", len(recs)).
		Err(err).Msg("record delivery failed")
	for _, q := range recs {
		if q.ack != nil {
			q.ack.Done(q.msg, err)
		}
	}
}

// deliver acknowledges b's records; base is the first one's offset (-1 when
// the broker did not say).
func (l *loop) deliver(b *batch, base int64) {
	p := l.p
	b.part.batch = nil
	p.acked.Add(uint64(len(b.recs)))
	p.log.Debug().Str("topic", b.part.topic).Int32("partition", b.part.partition).
		Int64("offset", base).Int("records", len(b.recs)).Msg("records delivered")
	for i, q := range b.recs {
		q.msg.Offset = -1
		if base >= 0 {
			q.msg.Offset = base + int64(i)
		}
		if q.ack != nil {
			q.ack.Done(q.msg, nil)
		}
	}
	clear(b.recs)
	if b.part.spare == nil {
		b.part.spare = b.recs[:0]
	}
}

// errNoProducerID fails records when no producer id could be had.
var errNoProducerID = errors.New("kafka: cannot get a producer id for the idempotent producer")

// failWaiting fails every record that is queued or in a batch not in
// flight.
func (l *loop) failWaiting(err error) {
	p := l.p
	for _, pq := range l.active {
		if b := pq.batch; b != nil && !b.inflight {
			pq.batch = nil
			l.fail(b.recs, err)
		}
		p.mu.Lock()
		recs := pq.buf
		pq.buf = nil
		for _, q := range recs {
			p.buffered -= q.size
		}
		p.space.Broadcast()
		p.mu.Unlock()
		l.fail(recs, err)
	}
}

// renewPID asks the cluster for a new producer id; all partitions start
// their sequence numbers again under it. It asks only when a batch waits
// for one, not at start: the daemon's other start-up requests share the
// client's connections.
func (l *loop) renewPID() bool {
	conf := l.p.conf
	broker := l.p.client.LeastLoadedBroker()
	var resp *sarama.InitProducerIDResponse
	var err error = sarama.ErrBrokerNotAvailable
	if broker != nil {
		// A new id: ProducerID and epoch -1 (versions 3 and up resume an
		// id given there).
		req := &sarama.InitProducerIDRequest{Version: initPIDVersion(conf.Version), ProducerID: -1, ProducerEpoch: -1}
		if resp, err = broker.InitProducerID(req); err == nil && resp.Err != sarama.ErrNoError {
			err = resp.Err
		} else if err != nil {
			// The connection failed: drop it, the next attempt reconnects.
			_ = broker.Close()
		}
	}
	if err != nil {
		l.p.log.Warn().Err(err).Msg("cannot get a producer id, retrying")
		return false
	}
	l.pid, l.epoch = resp.ProducerID, resp.ProducerEpoch
	l.pidGen++
	l.pidStale = false
	return true
}

// initPIDVersion is the InitProducerID version for a cluster of version v.
func initPIDVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_7_0_0):
		return 4
	case v.IsAtLeast(sarama.V2_5_0_0):
		return 3
	case v.IsAtLeast(sarama.V2_4_0_0):
		return 2
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 1
	default:
		return 0
	}
}

// nextSeq is the sequence number n records after seq: Kafka's sequence
// numbers wrap to 0 after MaxInt32 (a partition at 500,000 records/s gets
// there in 72 minutes).
func nextSeq(seq int32, n int) int32 {
	return int32((int64(seq) + int64(n)) & math.MaxInt32)
}

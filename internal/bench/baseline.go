package bench

import (
	"context"
	"errors"
	"sync"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// copyLoop is the baseline: a plain sarama program that consumes a topic as
// a consumer group and produces every record, key, value and headers, to
// another topic, at-least-once (an offset is marked only once every record
// before it has been acknowledged). No WebAssembly, no batching layer, no
// actors: the ceiling a passthrough plugin pipeline is measured against. It
// uses the daemon's own client tuning (kafka.NewSaramaConfig), so the
// comparison measures what wasmhost adds, not a difference in tuning.
type copyLoop struct {
	group    sarama.ConsumerGroup
	producer sarama.AsyncProducer
	out      string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startCopyLoop joins group on topic in and copies to out until stop.
func startCopyLoop(brokers []string, group, in, out string) (*copyLoop, error) {
	o := kafka.ClientOptions{Brokers: brokers, ClientID: "copyloop", Version: "3.6.0"}
	pcfg, err := kafka.NewSaramaConfig(o)
	if err != nil {
		return nil, err
	}
	producer, err := sarama.NewAsyncProducer(brokers, pcfg)
	if err != nil {
		return nil, err
	}
	ccfg, err := kafka.NewSaramaConfig(o)
	if err != nil {
		return nil, err
	}
	ccfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	ccfg.Consumer.Return.Errors = true
	cg, err := sarama.NewConsumerGroup(brokers, group, ccfg)
	if err != nil {
		producer.AsyncClose()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &copyLoop{group: cg, producer: producer, out: out, cancel: cancel}
	c.wg.Go(c.acks)
	c.wg.Go(func() {
		for range cg.Errors() {
		}
	})
	c.wg.Go(func() {
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{in}, c); errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
		}
	})
	return c, nil
}

// stop leaves the group, then flushes the producer.
func (c *copyLoop) stop() error {
	c.cancel()
	err := c.group.Close()
	c.producer.AsyncClose()
	c.wg.Wait()
	return err
}

// acks reports each delivered record to the tracker of its input partition.
func (c *copyLoop) acks() {
	succ, errs := c.producer.Successes(), c.producer.Errors()
	for succ != nil || errs != nil {
		select {
		case m, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			ref := m.Metadata.(ackRef)
			ref.t.ack(ref.offset)
		case _, ok := <-errs:
			// A failed record leaves its offset unmarked: it will be
			// consumed again. The harness counts output records, so a
			// failure shows up as a run that never completes.
			if !ok {
				errs = nil
			}
		}
	}
}

func (c *copyLoop) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *copyLoop) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim copies one partition.
func (c *copyLoop) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	t := &tracker{mark: func(next int64) { sess.MarkOffset(claim.Topic(), claim.Partition(), next, "") }}
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			t.consumed(m.Offset)
			pm := &sarama.ProducerMessage{Topic: c.out, Metadata: ackRef{t, m.Offset}}
			if m.Key != nil {
				pm.Key = sarama.ByteEncoder(m.Key)
			}
			if m.Value != nil {
				pm.Value = sarama.ByteEncoder(m.Value)
			}
			for _, h := range m.Headers {
				pm.Headers = append(pm.Headers, *h)
			}
			c.producer.Input() <- pm
		case <-sess.Context().Done():
			return nil
		}
	}
}

type ackRef struct {
	t      *tracker
	offset int64
}

// tracker marks a partition's offsets in order as their records are
// acknowledged, which may happen out of order (they go to different output
// partitions): MarkOffset only moves forward.
type tracker struct {
	mark  func(next int64)
	mu    sync.Mutex
	base  int64  // offset of acked[0]
	acked []bool // consumed records from base on, acknowledged or not
}

func (t *tracker) consumed(offset int64) {
	t.mu.Lock()
	if len(t.acked) == 0 {
		t.base = offset
	}
	// Offsets may skip (compaction, transaction markers): fill the gap as
	// acknowledged.
	for t.base+int64(len(t.acked)) < offset {
		t.acked = append(t.acked, true)
	}
	t.acked = append(t.acked, false)
	t.mu.Unlock()
}

func (t *tracker) ack(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := offset - t.base
	if i < 0 || i >= int64(len(t.acked)) {
		return
	}
	t.acked[i] = true
	n := 0
	for n < len(t.acked) && t.acked[n] {
		n++
	}
	if n == 0 {
		return
	}
	t.base += int64(n)
	t.acked = t.acked[n:]
	t.mark(t.base)
}

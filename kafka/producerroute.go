package kafka

import (
	"errors"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// partitionsCheck is how often the router refreshes the metadata of the
// topics it knows, to find partitions added to them. A variable for tests.
var partitionsCheck = 30 * time.Second

// router is the producer's goroutine for metadata, which can block for
// seconds: it finds the partitions of topics Send has not seen (records of
// such a topic wait in Producer.routing, in order), refreshes the metadata
// of topics whose batches failed so that the loop's retry finds the new
// leader, and every partitionsCheck looks for partitions added to the
// topics it knows. It ends with the loop.
func (p *Producer) router(loopDone <-chan struct{}) {
	tick := time.NewTicker(partitionsCheck)
	defer tick.Stop()
	for {
		select {
		case <-p.route:
		case <-tick.C:
			// Partitions may have been added to a topic: look, so that
			// records (and keys) spread over them too.
			p.mu.Lock()
			for topic, t := range p.topics {
				if t.parts != nil {
					p.refresh[topic] = true
				}
			}
			p.mu.Unlock()
		case <-loopDone:
			return
		}
		p.mu.Lock()
		n := len(p.routing)
		var unknown []string
		for _, q := range p.routing {
			if t := p.topics[q.msg.Topic]; t.parts == nil && !slices.Contains(unknown, q.msg.Topic) {
				unknown = append(unknown, q.msg.Topic)
			}
		}
		var stale []string
		for topic := range p.refresh {
			stale = append(stale, topic)
		}
		clear(p.refresh)
		p.mu.Unlock()

		if len(stale) > 0 {
			if err := p.client.RefreshMetadata(stale...); err != nil {
				p.log.Debug().Err(err).Strs("topics", stale).Msg("cannot refresh the metadata")
			}
		}
		counts := map[string]int{}
		errs := map[string]error{}
		for _, topic := range append(stale, unknown...) {
			parts, err := p.client.Partitions(topic)
			if err == nil && len(parts) == 0 {
				err = sarama.ErrUnknownTopicOrPartition
			}
			if err != nil {
				if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					err = sarama.ErrUnknownTopicOrPartition
				}
				errs[topic] = err
				continue
			}
			counts[topic] = len(parts)
		}
		p.applyRoutes(n, counts, p.leaders(counts), errs)
		poke(p.wake)
	}
}

// leaders looks up the leader of each partition of the topics in counts.
// Here, not in the loop: sarama's Leader refreshes the metadata, retrying,
// when it has no leader for a partition, which would hold up every other
// partition's requests (nil where there is no leader now).
func (p *Producer) leaders(counts map[string]int) map[string][]*sarama.Broker {
	out := make(map[string][]*sarama.Broker, len(counts))
	for topic, n := range counts {
		bs := make([]*sarama.Broker, n)
		for i := range bs {
			bs[i], _ = p.client.Leader(topic, int32(i))
		}
		out[topic] = bs
	}
	return out
}

// applyRoutes gives topics their partition queues (or more of them, when a
// topic has grown) and their leaders, and moves the first n records waiting
// for a route to their partitions' queues, failing those whose topic could
// not be found.
func (p *Producer) applyRoutes(n int, counts map[string]int, leaders map[string][]*sarama.Broker, errs map[string]error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for topic, count := range counts {
		t := p.topics[topic]
		if t == nil {
			continue
		}
		if t.partitioner == nil {
			t.partitioner = p.conf.Producer.Partitioner(topic)
		}
		for i := len(t.parts); i < count; i++ {
			t.parts = append(t.parts, &partQueue{topic: topic, partition: int32(i)})
		}
		for i, b := range leaders[topic] {
			t.parts[i].leader.Store(b)
		}
	}
	for _, q := range p.routing[:n] {
		t := p.topics[q.msg.Topic]
		t.routing--
		err := errs[q.msg.Topic]
		if t.parts != nil {
			err = p.enqueueLocked(t, q)
		}
		if err != nil {
			p.inbox = append(p.inbox, event{failed: []queued{q}, err: err})
		}
		if t.parts == nil && t.routing == 0 {
			// Forget it: a later Send looks the topic up again.
			delete(p.topics, q.msg.Topic)
		}
	}
	p.routing = append([]queued(nil), p.routing[n:]...)
	if len(p.routing) > 0 {
		poke(p.route)
	}
}

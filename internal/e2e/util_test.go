package e2e

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
)

func keys(ms []*sarama.ConsumerMessage) map[string]bool {
	out := make(map[string]bool, len(ms))
	for _, m := range ms {
		out[string(m.Key)] = true
	}
	return out
}

// highWater is the number of records in topic.
func highWater(t *testing.T, addr, topic string) int64 {
	t.Helper()
	c, err := sarama.NewClient([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		total += off
	}
	return total
}

type countingHandler struct {
	want int64
	n    atomic.Int64
	once sync.Once
	done chan struct{}
}

func (h *countingHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if h.n.Add(1) >= h.want {
			h.once.Do(func() { close(h.done) })
		}
	}
	return nil
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

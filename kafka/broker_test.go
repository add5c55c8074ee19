package kafka

import (
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestBrokerProduceConsume(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "events", 3)

	produceN(t, c, "events", "r", 300)
	if got := consumeAll(t, c, "events"); len(got) != 300 {
		t.Fatalf("consumed %d records, want 300", len(got))
	}
}

func TestBrokerConsumerGroupAndRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, BrokerOptions{DataDir: dir})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "events", 2)
	produceN(t, c, "events", "r", 200)

	seen := consumeGroup(t, c, "g1", "events", 200)
	if len(seen) != 200 {
		t.Fatalf("group consumed %d distinct records, want 200", len(seen))
	}
	c.Close()
	b.Close()

	// Restart on the same directory: records, offsets and the group's
	// committed offsets must all be back.
	b2 := startBroker(t, BrokerOptions{DataDir: dir})
	c2 := connect(t, ClientOptions{Brokers: []string{b2.Addr()}})
	if got := consumeAll(t, c2, "events"); len(got) != 200 {
		t.Fatalf("after restart: %d records, want 200", len(got))
	}
	offs, err := newAdmin(t, c2).ListConsumerGroupOffsets("g1", nil)
	if err != nil {
		t.Fatalf("ListConsumerGroupOffsets: %v", err)
	}
	var committed int64
	for p, blk := range offs.Blocks["events"] {
		hw, err := c2.GetOffset("events", p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if blk.Offset != hw {
			t.Errorf("partition %d: committed offset %d, want the high watermark %d", p, blk.Offset, hw)
		}
		committed += blk.Offset
	}
	if committed != 200 {
		t.Fatalf("committed offsets sum to %d, want 200", committed)
	}
}

func TestBrokerPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = StartBroker(BrokerOptions{Listen: ln.Addr().String()})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("err = %v, want EADDRINUSE", err)
	}
	want := "listen tcp " + ln.Addr().String()
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("error %q does not say %q and address already in use", err, want)
	}
}

func TestBrokerWildcardListenAdvertisesLoopback(t *testing.T) {
	b := startBroker(t, BrokerOptions{Listen: "0.0.0.0:0"})
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %s, want 127.0.0.1:<port>", b.Addr())
	}
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	brokers := c.Brokers()
	if len(brokers) != 1 || brokers[0].Addr() != b.Addr() {
		t.Fatalf("metadata advertises %v, want [%s]", brokerAddrs(brokers), b.Addr())
	}
}

func brokerAddrs(bs []*sarama.Broker) []string {
	var s []string
	for _, b := range bs {
		s = append(s, b.Addr())
	}
	return s
}

// groupHandler records the values it sees and marks every message.
type groupHandler struct {
	vals chan string
}

func (groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			s.MarkMessage(m, "")
			h.vals <- string(m.Value)
		case <-s.Context().Done():
			return nil
		}
	}
}

// consumeGroup consumes topic in group until want distinct values were
// seen, commits, and leaves the group.
func consumeGroup(t *testing.T, c sarama.Client, group, topic string, want int) map[string]bool {
	t.Helper()
	cfg := sarama.NewConfig()
	*cfg = *c.Config()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	gc, err := sarama.NewConsumerGroup(brokerAddrs(c.Brokers()), group, cfg)
	if err != nil {
		t.Fatalf("NewConsumerGroup: %v", err)
	}
	ctx := testContext(t, 30*time.Second)
	h := groupHandler{vals: make(chan string, want)}
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := gc.Consume(ctx, []string{topic}, h); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	seen := make(map[string]bool)
	for len(seen) < want {
		select {
		case v := <-h.vals:
			seen[v] = true
		case err := <-done:
			t.Fatalf("group stopped after %d records: %v", len(seen), err)
		case <-ctx.Done():
			t.Fatalf("group saw %d of %d records before the deadline", len(seen), want)
		}
	}
	// With autocommit on, Close flushes the marked offsets.
	if err := gc.Close(); err != nil {
		t.Fatalf("closing group: %v", err)
	}
	<-done
	return seen
}

package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// countingAck counts Done calls per record and errors by kind.
type countingAck struct {
	mu    sync.Mutex
	calls map[*sarama.ProducerMessage]int
	errs  []error
	done  chan struct{} // receives one value per call
}

func newCountingAck(n int) *countingAck {
	return &countingAck{calls: make(map[*sarama.ProducerMessage]int, n), done: make(chan struct{}, n+16)}
}

func (a *countingAck) Done(msg *sarama.ProducerMessage, err error) {
	a.mu.Lock()
	a.calls[msg]++
	if err != nil {
		a.errs = append(a.errs, err)
	}
	a.mu.Unlock()
	a.done <- struct{}{}
}

func (a *countingAck) check(t *testing.T, msgs []*sarama.ProducerMessage) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, m := range msgs {
		if n := a.calls[m]; n != 1 {
			t.Fatalf("record %d acknowledged %d times, want once", i, n)
		}
	}
}

func newProducer(t *testing.T, c sarama.Client) *Producer {
	t.Helper()
	p, err := NewProducer(c, ProducerOptions{Logger: testLog(t)})
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func TestProducerAcksEveryRecordOnce(t *testing.T) {
	const n = 10000
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "out", 4)
	p := newProducer(t, c)

	ack := newCountingAck(n)
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: "out", Key: sarama.StringEncoder(fmt.Sprint(i)), Value: sarama.StringEncoder("v")}
		p.Send(msgs[i], ack)
	}
	// Half of them are acknowledged while the producer runs ...
	deadline := time.After(20 * time.Second)
	for range n / 2 {
		select {
		case <-ack.done:
		case <-deadline:
			t.Fatalf("only some of %d acks before the deadline: %+v", n/2, p.Stats())
		}
	}
	// ... and Close flushes the rest.
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ack.check(t, msgs)
	if len(ack.errs) != 0 {
		t.Fatalf("%d delivery errors, first: %v", len(ack.errs), ack.errs[0])
	}
	if s := p.Stats(); s != (ProducerStats{Sent: n, Acked: n}) {
		t.Fatalf("Stats = %+v, want %d sent and acked", s, n)
	}
	if got := len(consumeAll(t, c, "out")); got != n {
		t.Fatalf("topic holds %d records, want %d", got, n)
	}
}

func TestProducerCloseFlushes(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "out", 1)
	p := newProducer(t, c)
	ack := newCountingAck(1000)
	msgs := make([]*sarama.ProducerMessage, 1000)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: "out", Value: sarama.StringEncoder("v")}
		p.Send(msgs[i], ack)
	}
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ack.check(t, msgs)
	if s := p.Stats(); s.Acked != 1000 {
		t.Fatalf("Stats = %+v, want 1000 acked", s)
	}

	// After Close, Send refuses at once.
	late := &sarama.ProducerMessage{Topic: "out", Value: sarama.StringEncoder("late")}
	p.Send(late, ack)
	if !errors.Is(ack.errs[len(ack.errs)-1], ErrProducerClosed) {
		t.Fatalf("Send after Close: err = %v, want ErrProducerClosed", ack.errs)
	}
	if s := p.Stats(); s != (ProducerStats{Sent: 1001, Acked: 1000, Failed: 1}) {
		t.Fatalf("Stats = %+v", s)
	}
}

// TestProducerDeliveryError produces to a topic that does not exist: the
// broker does not create topics, so sarama gives up after its metadata
// retries and the record fails.
func TestProducerDeliveryError(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	p := newProducer(t, c)
	ack := newCountingAck(1)
	msg := &sarama.ProducerMessage{Topic: "nowhere", Value: sarama.StringEncoder("v")}
	p.Send(msg, ack)

	// Close with a context that ends before sarama gives up: the record is
	// reported in flight ...
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := p.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 records still in flight") {
		t.Fatalf("Close: err = %v, want 1 record in flight", err)
	}
	// ... and acknowledged with the error once sarama gives up.
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ack.check(t, []*sarama.ProducerMessage{msg})
	if len(ack.errs) != 1 || !errors.Is(ack.errs[0], sarama.ErrUnknownTopicOrPartition) {
		t.Fatalf("errors = %v, want unknown topic", ack.errs)
	}
	if s := p.Stats(); s != (ProducerStats{Sent: 1, Failed: 1}) {
		t.Fatalf("Stats = %+v, want 1 sent, 1 failed", s)
	}
}

func TestProducerNilAck(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "out", 1)
	p := newProducer(t, c)
	p.Send(&sarama.ProducerMessage{Topic: "out", Value: sarama.StringEncoder("v")}, nil)
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s != (ProducerStats{Sent: 1, Acked: 1}) {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestNewProducerNeedsRecordBatches(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V0_10_2_0 // message sets only: no record batches
	c, err := sarama.NewClient([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := NewProducer(c, ProducerOptions{}); err == nil || !strings.Contains(err.Error(), "0.11") {
		t.Fatalf("err = %v, want a configuration error naming Kafka 0.11", err)
	}
}

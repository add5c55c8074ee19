package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// fakeSender records sends; the test acknowledges them in any order.
type fakeSender struct {
	mu   sync.Mutex
	sent []*sarama.ProducerMessage
	acks []kafka.Ack
}

func (f *fakeSender) Send(m *sarama.ProducerMessage, a kafka.Ack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	f.acks = append(f.acks, a)
}

func (f *fakeSender) ack(i int, err error) {
	f.mu.Lock()
	m, a := f.sent[i], f.acks[i]
	f.mu.Unlock()
	a.Done(m, err)
}

func TestAckQueueMarksInBatchOrder(t *testing.T) {
	var stopping atomic.Bool
	f := &fakeSender{}
	var marks []int64
	q := newAckQueue(f, func(n int64) { marks = append(marks, n) }, &stopping)

	b1, b2, b3 := q.open(), q.open(), q.open()
	b1.send(&sarama.ProducerMessage{}) // 0
	b2.send(&sarama.ProducerMessage{}) // 1
	b2.send(&sarama.ProducerMessage{}) // 2
	b1.seal(10)
	b2.seal(20)
	b3.seal(30) // produced nothing: complete at once, but after b1 and b2

	f.ack(1, nil)
	f.ack(2, nil)
	if len(marks) != 0 {
		t.Fatalf("marked %v before the first batch was acknowledged", marks)
	}
	f.ack(0, nil)
	if want := []int64{10, 20, 30}; !equal(marks, want) {
		t.Fatalf("marks %v, want %v", marks, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if !q.drain(ctx) {
		t.Fatal("queue not drained")
	}
}

func TestAckQueueResendsFailedDeliveries(t *testing.T) {
	var stopping atomic.Bool
	f := &fakeSender{}
	var marked atomic.Int64
	q := newAckQueue(f, func(n int64) { marked.Store(n) }, &stopping)
	b := q.open()
	b.send(&sarama.ProducerMessage{Topic: "t"})
	b.seal(5)
	f.ack(0, errors.New("broker said no"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.sent)
		f.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("failed record not resent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if marked.Load() != 0 {
		t.Fatal("marked before the resent record was acknowledged")
	}
	f.ack(1, nil)
	if marked.Load() != 5 {
		t.Fatalf("marked %d, want 5", marked.Load())
	}

	// While stopping, a failure leaves the batch unmarked for replay.
	stopping.Store(true)
	b = q.open()
	b.send(&sarama.ProducerMessage{})
	b.seal(9)
	f.ack(2, kafka.ErrProducerClosed)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if q.drain(ctx) || marked.Load() != 5 {
		t.Fatalf("a batch whose record failed at shutdown was marked (%d)", marked.Load())
	}
}

func TestCollectorKeepsOnlyRecordsBeforeTheStop(t *testing.T) {
	var c collector
	m := func() *sarama.ProducerMessage { return &sarama.ProducerMessage{} }
	a, b, x, d := m(), m(), m(), m()
	c.emit(a, 10)
	c.emit(b, 11)
	c.emit(x, -1)
	c.emit(d, 12)
	got := c.kept(10, 12)
	if len(got) != 3 || got[0] != a || got[1] != b || got[2] != x {
		t.Fatalf("kept %d records", len(got))
	}
	c.emit(a, 10)
	c.emit(x, -1)
	if got := c.kept(10, 10); len(got) != 0 {
		t.Fatalf("stopping at the first record kept %d records", len(got))
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// testLog sends logs at info and above to the test's output.
func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

// syncBuffer is a goroutine-safe log sink tests can read.
type syncBuffer = testutil.SyncBuffer

func startBroker(t *testing.T, o BrokerOptions) *Broker {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	o.Logger = testLog(t)
	b, err := StartBroker(o)
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// connect returns a client to addrs, closed at cleanup.
func connect(t *testing.T, o ClientOptions) sarama.Client {
	t.Helper()
	c, err := Connect(testContext(t, 20*time.Second), o, testLog(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newAdmin(t *testing.T, c sarama.Client) sarama.ClusterAdmin {
	t.Helper()
	a, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		t.Fatalf("NewClusterAdminFromClient: %v", err)
	}
	// Closing an admin made from a client closes the client too, which
	// the client's own cleanup tolerates.
	return a
}

func mustCreate(t *testing.T, c sarama.Client, name string, partitions int32) {
	t.Helper()
	res := SetupTopics(testContext(t, 10*time.Second), newAdmin(t, c),
		[]TopicSpec{{Name: name, Partitions: partitions, ReplicationFactor: 1}}, false)
	if res[0].Status != TopicCreated {
		t.Fatalf("creating topic: %v", res[0])
	}
}

// produceN writes n records "<prefix>-<i>" to topic, synchronously.
func produceN(t *testing.T, c sarama.Client, topic, prefix string, n int) {
	t.Helper()
	p, err := sarama.NewSyncProducerFromClient(c)
	if err != nil {
		t.Fatalf("NewSyncProducerFromClient: %v", err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("%s-%d", prefix, i))}
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatalf("SendMessages: %v", err)
	}
}

// consumeAll reads every record of topic from the oldest offset up to the
// high watermark, and returns the values.
func consumeAll(t *testing.T, c sarama.Client, topic string) []string {
	t.Helper()
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		t.Fatalf("NewConsumerFromClient: %v", err)
	}
	defer cons.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatalf("Partitions(%s): %v", topic, err)
	}
	// Subscribe to every partition before reading any: a subscription
	// added later waits for the fetch in flight (up to MaxWaitTime).
	hws := make(map[int32]int64)
	pcs := make(map[int32]sarama.PartitionConsumer)
	for _, p := range parts {
		hw, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("GetOffset: %v", err)
		}
		if hw == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("ConsumePartition: %v", err)
		}
		hws[p], pcs[p] = hw, pc
	}
	var vals []string
	deadline := time.After(10 * time.Second)
	for p, pc := range pcs {
		for next := int64(0); next < hws[p]; {
			select {
			case m := <-pc.Messages():
				vals = append(vals, string(m.Value))
				next = m.Offset + 1
			case <-deadline:
				t.Fatalf("partition %d: read up to offset %d of %d before the deadline", p, next, hws[p])
			}
		}
		pc.AsyncClose() // cons.Close waits for all of them at once
	}
	return vals
}

// freeAddr returns a loopback host:port nothing listens on (right now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// selfSigned makes a self-signed certificate for 127.0.0.1 and localhost in
// dir and returns the server TLS config and the certificate's path (to trust
// as a CA).
func selfSigned(t *testing.T, dir string) (*tls.Config, string) {
	t.Helper()
	certFile, keyFile := testutil.SelfSignedCert(t, dir)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, certFile
}

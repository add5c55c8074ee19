package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestConnectWaitsForBroker starts Connect before the broker exists.
func TestConnectWaitsForBroker(t *testing.T) {
	addr := freeAddr(t)
	started := make(chan *Broker, 1)
	go func() {
		time.Sleep(300 * time.Millisecond) // the broker comes up late
		b, err := StartBroker(BrokerOptions{Listen: addr})
		if err != nil {
			t.Errorf("StartBroker: %v", err)
		}
		started <- b
	}()
	t.Cleanup(func() {
		if b := <-started; b != nil {
			b.Close()
		}
	})

	c, err := Connect(testContext(t, 20*time.Second), ClientOptions{Brokers: []string{addr}}, testLog(t))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	if bs := c.Brokers(); len(bs) != 1 || bs[0].Addr() != addr {
		t.Fatalf("connected to %v, want %s", brokerAddrs(bs), addr)
	}
}

// TestConnectLogsAttempts has nothing to connect to: every attempt is
// logged, and ctx ends the loop with the last attempt's error.
func TestConnectLogsAttempts(t *testing.T) {
	var logs syncBuffer
	addr := freeAddr(t)
	start := time.Now()
	// Each attempt is a sarama.NewClient with its own metadata retries
	// (~750 ms, more on a loaded machine): leave room for several.
	const deadline = 6 * time.Second
	_, err := Connect(testContext(t, deadline), ClientOptions{Brokers: []string{addr}}, zerolog.New(&logs))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want deadline exceeded after connection refused", err)
	}
	if d := time.Since(start); d > deadline+2*time.Second {
		t.Fatalf("Connect returned %v after its deadline", d-deadline)
	}
	out := logs.String()
	for _, want := range []string{`"level":"warn"`, `"attempt":1`, `"attempt":2`, "connection refused", "cannot connect to Kafka, retrying"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

func TestConnectRefusesBadOptions(t *testing.T) {
	ctx := testContext(t, 5*time.Second)
	if _, err := Connect(ctx, ClientOptions{}, testLog(t)); err == nil {
		t.Error("no brokers: want an error")
	}
	_, err := Connect(ctx, ClientOptions{Brokers: []string{"127.0.0.1:1"}, Version: "x"}, testLog(t))
	if err == nil || !strings.Contains(err.Error(), `version "x"`) {
		t.Errorf("bad version: err = %v", err)
	}
}

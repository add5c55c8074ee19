package kafka

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

type benchAck struct{ failed atomic.Uint64 }

func (a *benchAck) Done(_ *sarama.ProducerMessage, err error) {
	if err != nil {
		a.failed.Add(1)
	}
}

// BenchmarkProducer measures the shared producer's throughput against the
// embedded broker with ~60-byte JSON records (records/s is reported).
func BenchmarkProducer(b *testing.B) {
	br, err := StartBroker(BrokerOptions{Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	c, err := Connect(context.Background(), ClientOptions{Brokers: []string{br.Addr()}}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	res := SetupTopics(context.Background(), newBenchAdmin(b, c), []TopicSpec{{Name: "bench", Partitions: 4, ReplicationFactor: 1}}, false)
	if res[0].Err != nil {
		b.Fatal(res[0].Err)
	}
	p, err := NewProducer(c, ProducerOptions{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	value := sarama.ByteEncoder(`{"user":"u-000123","event":"click","ts":1700000000000}`)
	msgs := make([]sarama.ProducerMessage, b.N)
	ack := &benchAck{}
	b.ResetTimer()
	for i := range msgs {
		msgs[i] = sarama.ProducerMessage{Topic: "bench", Value: value}
		p.Send(&msgs[i], ack)
	}
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if f := ack.failed.Load(); f != 0 {
		b.Fatalf("%d records failed", f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func newBenchAdmin(b *testing.B, c sarama.Client) sarama.ClusterAdmin {
	a, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

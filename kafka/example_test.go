package kafka_test

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/wasmhost/wasmhost/kafka"
)

// printAck prints each record's outcome.
type printAck struct{}

func (printAck) Done(msg *sarama.ProducerMessage, err error) {
	if err != nil {
		fmt.Printf("%s: failed: %v\n", msg.Topic, err)
		return
	}
	fmt.Printf("%s: delivered\n", msg.Topic)
}

// Example runs the daemon's Kafka side against the embedded broker: start
// it, connect, create the topics, produce, and shut down in reverse order.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := zerolog.Nop()

	broker, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer broker.Close()

	client, err := kafka.Connect(ctx, kafka.ClientOptions{Brokers: []string{broker.Addr()}}, log)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{{Name: "orders", Partitions: 3, ReplicationFactor: 1}})
	for _, r := range results {
		fmt.Println(r)
	}
	if err != nil {
		return
	}

	producer, err := kafka.NewProducer(client, kafka.ProducerOptions{Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	producer.Send(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder(`{"id":1}`)}, printAck{})
	if err := producer.Close(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", producer.Stats())
	// Output:
	// orders: created (3 partitions, replication factor 1)
	// orders: delivered
	// {Sent:1 Acked:1 Failed:0 Retried:0}
}

package pipeline

import (
	"testing"

	"github.com/wasmhost/wasmhost/kafka"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// A partition a plugin names reaches the producer's partitioner; -1 leaves
// the record to be partitioned by key.
func TestProducerMessageCarriesThePartition(t *testing.T) {
	part := kafka.NewPartitioner("out")
	for _, c := range []struct {
		named, want int32
	}{
		{3, 3}, {0, 0}, {-1, kafka.KeyPartition([]byte("k"), 8)},
	} {
		msg := producerMessage(&abi.Record{Topic: "out", Partition: c.named, Key: []byte("k")})
		got, err := part.Partition(msg, 8)
		if err != nil || got != c.want {
			t.Errorf("named %d: partition %d, %v; want %d", c.named, got, err, c.want)
		}
	}
}

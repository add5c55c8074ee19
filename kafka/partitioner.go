package kafka

import (
	"fmt"

	"github.com/IBM/sarama"
)

// The daemon's partitioner, installed by NewSaramaConfig:
//
//   - a message that names its partition (SetPartition) goes there;
//   - one with a key goes where Kafka's Java producer puts it: murmur2 of the
//     key, positive, modulo the partition count. That is also what Kafka
//     Streams, librdkafka's "murmur2_random" and franz-go's default do, so
//     topics that several clients write by key stay co-partitioned (sarama's
//     own default, FNV-1a, places keys elsewhere);
//   - one without a key goes to a random partition.
//
// A partition a message names travels in ProducerMessage.Partition encoded
// below -1, because every other message leaves the field at 0 (or, once
// sent, at the partition it went to) and must still be partitioned by key.

// SetPartition makes msg go to partition p (p >= 0), or be partitioned by key
// (p < 0).
func SetPartition(msg *sarama.ProducerMessage, p int32) {
	if p < 0 {
		msg.Partition = -1
		return
	}
	msg.Partition = -2 - p
}

// NewPartitioner is the partitioner described above, for a topic.
func NewPartitioner(topic string) sarama.Partitioner {
	return &partitioner{random: sarama.NewRandomPartitioner(topic)}
}

type partitioner struct{ random sarama.Partitioner }

func (p *partitioner) Partition(msg *sarama.ProducerMessage, n int32) (int32, error) {
	if msg.Partition < -1 {
		want := -2 - msg.Partition
		if want >= n {
			return -1, fmt.Errorf("kafka: partition %d of topic %q, which has %d", want, msg.Topic, n)
		}
		return want, nil
	}
	if msg.Key == nil {
		return p.random.Partition(msg, n)
	}
	key, err := msg.Key.Encode()
	if err != nil {
		return -1, err
	}
	return KeyPartition(key, n), nil
}

// RequiresConsistency is true: a message is not moved to another partition
// when it is retried.
func (p *partitioner) RequiresConsistency() bool { return true }

// KeyPartition is the partition of n that Kafka's Java producer picks for
// key.
func KeyPartition(key []byte, n int32) int32 {
	return int32(murmur2(key)&0x7fffffff) % n
}

// murmur2 is Kafka's Utils.murmur2 (MurmurHash2 with Kafka's seed).
func murmur2(b []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(b))
	for len(b) >= 4 {
		k := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		b = b[4:]
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

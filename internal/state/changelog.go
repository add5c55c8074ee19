package state

import (
	"strings"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// ChangelogTopic is the changelog topic of a pipeline's state for one of
// its input topics: one partition per input partition, so that the state
// of input partition p is partition p of this topic. It is named after the
// group, the pipeline and the input topic (a pipeline may consume several
// topics, each with its own partition count).
func ChangelogTopic(group, pipeline, input string) string {
	return sanitize(group) + "-" + sanitize(pipeline) + "-" + sanitize(input) + "-changelog"
}

// sanitize keeps a name within Kafka's topic alphabet.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// ChangelogConfigs are the topic configs of a changelog topic: compacted,
// so that it holds the last value of each key and restores in time
// proportional to the state, not to its history.
var ChangelogConfigs = map[string]string{"cleanup.policy": "compact"}

// AppendChangelog appends one changelog record per key the open
// transaction changed (its value now, or a tombstone for a deleted key) to
// msgs, for partition part of topic, and returns it with how many it added.
func (s *Store) AppendChangelog(msgs []*sarama.ProducerMessage, topic string, part int32) ([]*sarama.ProducerMessage, int) {
	n := len(msgs)
	s.Changes(func(key string, value []byte) {
		m := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key)}
		kafka.SetPartition(m, part)
		if value != nil {
			m.Value = sarama.ByteEncoder(value)
		}
		msgs = append(msgs, m)
	})
	return msgs, len(msgs) - n
}

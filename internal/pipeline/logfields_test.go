package pipeline

import (
	"bytes"
	"testing"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

func TestOffsetName(t *testing.T) {
	for o, want := range map[int64]string{sarama.OffsetOldest: "oldest", sarama.OffsetNewest: "newest", 0: "0", 17: "17"} {
		if got := offsetName(o); got != want {
			t.Errorf("offsetName(%d) = %q, want %q", o, got, want)
		}
	}
}

// TestTopicPartitionsLogged checks an assignment is logged as a sorted list
// of {topic, partitions} objects, never with a topic name as a key.
func TestTopicPartitionsLogged(t *testing.T) {
	var buf bytes.Buffer
	tp := newTopicPartitions(map[string][]int32{"users": {3, 0, 7}, "orders": {1}})
	log := zerolog.New(&buf)
	log.Info().Array("assigned", tp).Int("partitions", tp.count()).Msg("")
	want := `{"level":"info","assigned":[{"topic":"orders","partitions":[1]},{"topic":"users","partitions":[0,3,7]}],"partitions":4}` + "\n"
	if buf.String() != want {
		t.Errorf("got  %s\nwant %s", buf.String(), want)
	}
}

package kafka

import (
	"testing"

	"github.com/IBM/sarama"
)

// Kafka's UtilsTest.testMurmur2 vectors: keys land where the Java client
// puts them.
func TestMurmur2MatchesKafka(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	} {
		if got := int32(murmur2([]byte(c.in))); got != c.want {
			t.Errorf("murmur2(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestPartitioner(t *testing.T) {
	p := NewPartitioner("t")
	part := func(msg *sarama.ProducerMessage, n int32) int32 {
		t.Helper()
		got, err := p.Partition(msg, n)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// By key: Java's placement, whatever the field holds before (0 by
	// default, -1 when asked, the last partition on a resend).
	for _, before := range []int32{0, -1, 5} {
		msg := &sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder("foobar"), Partition: before}
		foobar := int32(-790332482) // murmur2 of "foobar", from the vectors above
		if got, want := part(msg, 12), (foobar&0x7fffffff)%12; got != want {
			t.Errorf("key foobar, field %d: partition %d, want %d", before, got, want)
		}
	}
	// Named: there, even with a key.
	msg := &sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder("foobar")}
	SetPartition(msg, 7)
	if got := part(msg, 12); got != 7 {
		t.Errorf("named partition 7: got %d", got)
	}
	SetPartition(msg, 12)
	if _, err := p.Partition(msg, 12); err == nil {
		t.Error("partition 12 of 12 accepted")
	}
	SetPartition(msg, -1)
	if got := part(msg, 12); got != KeyPartition([]byte("foobar"), 12) {
		t.Errorf("SetPartition(-1) did not partition by key: %d", got)
	}
	// No key: spread.
	seen := map[int32]bool{}
	for range 200 {
		seen[part(&sarama.ProducerMessage{Topic: "t"}, 4)] = true
	}
	if len(seen) != 4 {
		t.Errorf("keyless records went to %d of 4 partitions", len(seen))
	}
	if !p.RequiresConsistency() {
		t.Error("a retried message could move")
	}
}

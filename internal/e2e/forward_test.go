package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/kafka"
)

// TestForwardCopiesEveryRecord runs the daemon in-process against a broker
// over TCP: the forward plugin copies N records, keys and headers intact,
// none missing, and a graceful stop commits every offset.
func TestForwardCopiesEveryRecord(t *testing.T) {
	for _, g := range []string{"at-least-once", "at-most-once", "exactly-once"} {
		t.Run(g, func(t *testing.T) { testForwardCopies(t, g) })
	}
}

func testForwardCopies(t *testing.T, guarantee string) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 4, "in", "out")
	path := copyConfig(t, b.Addr(), fmt.Sprintf("consumers = 2\nguarantee = %q\nproduce_topics = [\"out\"]\n", guarantee))
	d := runInProcess(t, path)

	const n = 5000
	produceN(t, b.Addr(), "in", 0, n)
	out := readAllWith(t, b.Addr(), "out", n, 60*time.Second, guarantee == "exactly-once")
	seen := map[string]int{}
	for _, m := range out {
		k := string(m.Key)
		seen[k]++
		var i int
		if _, err := fmt.Sscanf(k, "key-%d", &i); err != nil {
			t.Fatalf("unexpected key %q", k)
		}
		if want := kafka.KeyPartition(m.Key, 4); m.Partition != want {
			t.Errorf("%s: in partition %d, where Kafka's Java client puts it is %d", k, m.Partition, want)
		}
		if string(m.Value) != fmt.Sprintf("value-%d", i) {
			t.Errorf("%s: value %q", k, m.Value)
		}
		if len(m.Headers) != 2 || string(m.Headers[0].Key) != "seq" || string(m.Headers[0].Value) != fmt.Sprint(i) ||
			string(m.Headers[1].Key) != "origin" || string(m.Headers[1].Value) != "e2e" {
			t.Errorf("%s: headers lost or changed", k)
		}
	}
	missing := 0
	for i := range n {
		if seen[fmt.Sprintf("key-%d", i)] == 0 {
			missing++
		}
	}
	if missing > 0 || len(out) != n {
		t.Fatalf("%d records in, %d out, %d missing", n, len(out), missing)
	}

	d.stop()
	total := int64(0)
	for _, off := range committed(t, b.Addr(), "wasmhost-copy", "in") {
		total += off
	}
	if total != n {
		t.Fatalf("committed offsets sum to %d after a graceful stop, want %d", total, n)
	}
}

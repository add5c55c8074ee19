package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/verify"
)

// librdkafkaRecord is a line of testdata/read_topic.py.
type librdkafkaRecord struct {
	Partition int32      `json:"partition"`
	Offset    int64      `json:"offset"`
	Key       []byte     `json:"key"`
	Value     []byte     `json:"value"`
	Headers   [][]string `json:"headers"` // [key, base64 value]
}

// readWithLibrdkafka reads topic with librdkafka (python3-confluent-kafka,
// which make test installs), CRCs checked: a reader that shares no code
// with the daemon's producer.
func readWithLibrdkafka(t *testing.T, addr, topic string, readCommitted bool) []librdkafkaRecord {
	t.Helper()
	args := []string{filepath.Join("testdata", "read_topic.py"), addr, topic}
	if readCommitted {
		args = append(args, "committed")
	}
	cmd := exec.Command("/usr/bin/python3", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_topic.py (needs python3-confluent-kafka: scripts/setup-python-kafka.sh): %v\n%s", err, stderr.String())
	}
	t.Logf("librdkafka read %s (read_committed %v):\n%s", topic, readCommitted, stderr.String())
	var recs []librdkafkaRecord
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r librdkafkaRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("read_topic.py line %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestOutputReadByLibrdkafka: what the daemon's producer writes (keys,
// values, headers, in batches of many records over 4 partitions) reads
// back with librdkafka exactly as sarama reads it, every record of the
// input once, and every batch passes librdkafka's CRC check.
func TestOutputReadByLibrdkafka(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 4, "in", "out")
	path := copyConfig(t, b.Addr(), "")
	const n = 20000
	produceN(t, b.Addr(), "in", 0, n)
	d := startDaemon(t, path)
	out := readAll(t, b.Addr(), "out", n, 90*time.Second)
	if code := d.stop(t); code != 0 {
		t.Fatalf("exit code %d\n%s", code, d.logs)
	}
	if len(out) != n {
		t.Fatalf("sarama read %d records, want %d", len(out), n)
	}
	bySarama := make(map[[2]int64]*sarama.ConsumerMessage, n)
	for _, m := range out {
		bySarama[[2]int64{int64(m.Partition), m.Offset}] = m
	}
	got := readWithLibrdkafka(t, b.Addr(), "out", false)
	if len(got) != n {
		t.Fatalf("librdkafka read %d records, sarama %d", len(got), n)
	}
	seen := make(map[string]bool, n)
	for _, r := range got {
		m := bySarama[[2]int64{int64(r.Partition), r.Offset}]
		if m == nil {
			t.Fatalf("librdkafka read %d/%d, which sarama did not", r.Partition, r.Offset)
		}
		if !bytes.Equal(r.Key, m.Key) || !bytes.Equal(r.Value, m.Value) {
			t.Fatalf("%d/%d: librdkafka read %q=%q, sarama %q=%q", r.Partition, r.Offset, r.Key, r.Value, m.Key, m.Value)
		}
		var i int
		if _, err := fmt.Sscanf(string(r.Key), "key-%d", &i); err != nil || string(r.Value) != fmt.Sprintf("value-%d", i) || seen[string(r.Key)] {
			t.Fatalf("%d/%d: record %q=%q is not an input record, or a second copy", r.Partition, r.Offset, r.Key, r.Value)
		}
		seen[string(r.Key)] = true
		if len(r.Headers) != len(m.Headers) {
			t.Fatalf("%d/%d: librdkafka read %d headers, sarama %d", r.Partition, r.Offset, len(r.Headers), len(m.Headers))
		}
		for j, h := range r.Headers {
			if h[0] != string(m.Headers[j].Key) || h[1] != base64.StdEncoding.EncodeToString(m.Headers[j].Value) {
				t.Fatalf("%d/%d: header %d is %v to librdkafka, %s=%q to sarama", r.Partition, r.Offset, j, h, m.Headers[j].Key, m.Headers[j].Value)
			}
		}
	}
}

// crossCheck reads the stream's input and output again with librdkafka
// (the output read_committed for exactly-once) and counts, by each
// record's seq header, what the verifier counted with sarama: the
// verdict must not rest on one client's reading.
func (s *stream) crossCheck(guarantee string, want verify.PartitionReport, stray int) {
	t := s.t
	t.Helper()
	seq := func(r librdkafkaRecord) (string, bool) {
		for _, h := range r.Headers {
			if h[0] == "seq" {
				return h[1], true
			}
		}
		return "", false
	}
	// As the verifier counts: an input record may be in the input more
	// than once (the stream's producer resends a chunk after a broker
	// crash); the k-th output of a seq answers its k-th input copy.
	copies, outputs := map[string]int{}, map[string]int{}
	var got verify.PartitionReport
	for _, r := range readWithLibrdkafka(t, s.addr, "in", false) {
		got.Input++
		if k, ok := seq(r); ok {
			copies[k]++
		}
	}
	gotStray := 0
	outRecs := readWithLibrdkafka(t, s.addr, "out", guarantee == "exactly-once")
	for _, r := range outRecs {
		k, ok := seq(r)
		if !ok || copies[k] == 0 {
			gotStray++
			continue
		}
		outputs[k]++
		got.Output++
	}
	for k, n := range copies {
		got.Missing += max(n-outputs[k], 0)
		got.Duplicated += max(outputs[k]-n, 0)
	}
	if guarantee == "exactly-once" && s.brokerKilled && got.Input == want.Input && got.Duplicated == want.Duplicated &&
		gotStray == stray && got.Missing > want.Missing && got.Output+got.Missing == want.Output+want.Missing {
		// The known limit of exactly-once on the embedded broker across
		// broker crashes (README, Guarantees): kfake's crash recovery
		// leaves transaction state that librdkafka's read_committed
		// filter and sarama's disagree on; librdkafka hides records
		// sarama reads as committed (seen in about 1 run in 5 under
		// load). Nothing may be duplicated or stray even then.
		t.Logf("KNOWN LIMIT (embedded broker, broker kill -9): librdkafka's read_committed hides %d output records that sarama reads as committed (librdkafka %d output, sarama %d); hidden offsets: %s",
			got.Missing-want.Missing, got.Output, want.Output, hiddenRanges(t, s.addr, want.Output, outRecs))
		return
	}
	if got.Input != want.Input || got.Output != want.Output || got.Missing != want.Missing ||
		got.Duplicated != want.Duplicated || gotStray != stray {
		t.Fatalf("librdkafka reads %d input, %d output, %d missing, %d duplicated, %d stray; the verifier (sarama) %d, %d, %d, %d, %d",
			got.Input, got.Output, got.Missing, got.Duplicated, gotStray, want.Input, want.Output, want.Missing, want.Duplicated, stray)
	}
	t.Logf("librdkafka agrees: %d input, %d output, %d missing, %d duplicated", got.Input, got.Output, got.Missing, got.Duplicated)
}

// hiddenRanges lists, per partition of "out", the offset ranges that
// sarama reads as committed and librdkafka does not (seen: what it read).
func hiddenRanges(t *testing.T, addr string, n int, seen []librdkafkaRecord) string {
	have := map[[2]int64]bool{}
	for _, r := range seen {
		have[[2]int64{int64(r.Partition), r.Offset}] = true
	}
	hidden := map[int32][]int64{}
	for _, m := range readAllWith(t, addr, "out", n, 60*time.Second, true) {
		if !have[[2]int64{int64(m.Partition), m.Offset}] {
			hidden[m.Partition] = append(hidden[m.Partition], m.Offset)
		}
	}
	var b strings.Builder
	for p := range int32(64) {
		offs := hidden[p]
		if len(offs) == 0 {
			continue
		}
		slices.Sort(offs)
		fmt.Fprintf(&b, "p%d:", p)
		for i := 0; i < len(offs); {
			j := i
			for j+1 < len(offs) && offs[j+1] == offs[j]+1 {
				j++
			}
			fmt.Fprintf(&b, " %d-%d", offs[i], offs[j])
			i = j + 1
		}
		b.WriteString("; ")
	}
	return b.String()
}

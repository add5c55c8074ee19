package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/internal/verify"
)

// feed produces sequenced records (verify's format) to a topic at a steady
// rate until stopped.
type feed struct {
	next   atomic.Int64 // the next sequence number
	cancel context.CancelFunc
	done   chan struct{}
}

func startFeed(t *testing.T, addr, topic string, rate int) *feed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &feed{cancel: cancel, done: make(chan struct{})}
	t.Cleanup(func() { f.stop() })
	go func() {
		defer close(f.done)
		chunk := max(rate/4, 1)
		for ctx.Err() == nil {
			from := int(f.next.Load())
			err := verify.Produce(ctx, saramaConfig(), []string{addr}, verify.ProduceOptions{Topic: topic, From: from, Count: chunk, Rate: rate})
			if err != nil && ctx.Err() != nil {
				return // stopped: the chunk in hand is not counted
			}
			if err != nil {
				// Never send a sequence number twice: what was written of
				// the chunk is input the verifier checks like the rest.
				t.Logf("feed: %v; going on after seq %d", err, from+chunk-1)
			}
			f.next.Store(int64(from + chunk))
		}
	}()
	return f
}

// stop ends the stream and returns how many sequence numbers were sent
// whole.
func (f *feed) stop() int {
	f.cancel()
	<-f.done
	return int(f.next.Load())
}

// logCount counts the daemon's JSON log lines with this message prefix.
func logCount(d *daemonProc, msg string) int {
	return strings.Count(d.logs.String(), `"message":"`+msg)
}

func waitLog(t *testing.T, d *daemonProc, msg string, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d log lines %q", n, msg), func() bool { return logCount(d, msg) >= n })
}

// waitProgress waits until n more records than now are in topic.
func waitProgress(t *testing.T, addr, topic string, n int64) {
	t.Helper()
	from := highWater(t, addr, topic)
	waitFor(t, 60*time.Second, fmt.Sprintf("%d more records in %s", n, topic), func() bool {
		return highWater(t, addr, topic) >= from+n
	})
}

// waitCommitted waits until group has committed every record of topic.
func waitCommitted(t *testing.T, addr, group, topic string) {
	t.Helper()
	inputs := highWater(t, addr, topic)
	waitFor(t, 120*time.Second, fmt.Sprintf("%s committed up to the %d records of %s", group, inputs, topic), func() bool {
		sum := int64(0)
		for _, off := range committedNoFail(addr, group, topic) {
			sum += off
		}
		return sum >= inputs
	})
}

// replaceFile puts content at path the way deploy tools do: write a
// temporary file next to it, then rename it over the old one.
func replaceFile(t testing.TB, path string, content []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func pluginBytes(t testing.TB, pkg string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.BuildPlugin(t, pkg))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// taggedOutput is one output of the version plugins, placed at its input.
type taggedOutput struct {
	offset   int64 // of the input record
	version  string
	instance int64
}

// switchReport checks that every input partition's outputs, in input offset
// order, come from plugin instances in the order they started: once an
// output of a newer instance appears, no later input offset carries an older
// one. It returns, per partition, the versions in the order they served.
func switchReport(t *testing.T, in, out []*sarama.ConsumerMessage) map[int32][]string {
	t.Helper()
	type origin struct {
		partition int32
		offset    int64
	}
	bySeq := map[string]origin{}
	for _, m := range in {
		bySeq[header(m, verify.HeaderSeq)] = origin{m.Partition, m.Offset}
	}
	parts := map[int32][]taggedOutput{}
	for _, m := range out {
		o, ok := bySeq[header(m, verify.HeaderSeq)]
		if !ok {
			t.Fatalf("output %s/%d has no input", m.Topic, m.Offset)
		}
		inst, err := strconv.ParseInt(header(m, "instance"), 10, 64)
		v := header(m, "version")
		if err != nil || (v != "A" && v != "B") {
			t.Fatalf("output %s/%d is not tagged by a version plugin: version=%q instance=%q", m.Topic, m.Offset, v, header(m, "instance"))
		}
		parts[o.partition] = append(parts[o.partition], taggedOutput{o.offset, v, inst})
	}
	runs := map[int32][]string{}
	for p, outs := range parts {
		sort.Slice(outs, func(i, j int) bool { return outs[i].offset < outs[j].offset })
		for i := 1; i < len(outs); i++ {
			if outs[i].instance < outs[i-1].instance {
				t.Fatalf("partition %d: input offset %d was handled by an instance (version %s) older than the one (version %s) that handled offset %d: not a clean switch",
					p, outs[i].offset, outs[i].version, outs[i-1].version, outs[i-1].offset)
			}
		}
		for i, o := range outs {
			if i == 0 || o.version != outs[i-1].version {
				runs[p] = append(runs[p], o.version)
			}
		}
	}
	return runs
}

// duplicates describes the input records with more than one output, for a
// failure message.
func duplicates(in, out []*sarama.ConsumerMessage) string {
	outs := map[string][]*sarama.ConsumerMessage{}
	for _, m := range out {
		seq := header(m, verify.HeaderSeq)
		outs[seq] = append(outs[seq], m)
	}
	var b strings.Builder
	for _, m := range in {
		seq := header(m, verify.HeaderSeq)
		if len(outs[seq]) < 2 {
			continue
		}
		fmt.Fprintf(&b, "input seq %s at %s/%d/%d:", seq, m.Topic, m.Partition, m.Offset)
		for _, o := range outs[seq] {
			fmt.Fprintf(&b, " [%s/%d/%d version %s instance %s]", o.Topic, o.Partition, o.Offset, header(o, "version"), header(o, "instance"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/kafka"
)

// startBroker starts an embedded broker on a free loopback port.
func startBroker(t testing.TB, dataDir string) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", DataDir: dataDir, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	return cfg
}

func createTopics(t testing.TB, addr string, partitions int32, names ...string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, n := range names {
		if err := admin.CreateTopic(n, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
}

// produceN produces n records key-i / value-i with two headers.
func produceN(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, 0, 500)
	flush := func() {
		if err := p.SendMessages(msgs); err != nil {
			t.Fatal(err)
		}
		msgs = msgs[:0]
	}
	for i := from; i < from+n; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{
			Topic: topic,
			Key:   sarama.StringEncoder(fmt.Sprintf("key-%d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i)),
			Headers: []sarama.RecordHeader{
				{Key: []byte("seq"), Value: []byte(fmt.Sprint(i))},
				{Key: []byte("origin"), Value: []byte("e2e")},
			},
		})
		if len(msgs) == cap(msgs) {
			flush()
		}
	}
	if len(msgs) > 0 {
		flush()
	}
}

// readAll consumes every partition of topic from the start until want
// records have been read or the timeout passes.
func readAll(t *testing.T, addr, topic string, want int, timeout time.Duration) []*sarama.ConsumerMessage {
	t.Helper()
	return readAllWith(t, addr, topic, want, timeout, false)
}

// readAllWith is readAll, with isolation read_committed when committed.
func readAllWith(t *testing.T, addr, topic string, want int, timeout time.Duration, committed bool) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := saramaConfig()
	if committed {
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *sarama.ConsumerMessage, 1024)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				ch <- m
			}
		}()
	}
	var out []*sarama.ConsumerMessage
	deadline := time.After(timeout)
	for len(out) < want {
		select {
		case m := <-ch:
			out = append(out, m)
		case <-deadline:
			return out
		}
	}
	// Anything beyond want (duplicates) that is already there.
	for {
		select {
		case m := <-ch:
			out = append(out, m)
		case <-time.After(300 * time.Millisecond):
			return out
		}
	}
}

// committed returns the group's committed offset per partition of topic.
func committed(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, b := range res.Blocks[topic] {
		out[p] = b.Offset
	}
	return out
}

// syncBuffer is a goroutine-safe log sink tests can read.
type syncBuffer = testutil.SyncBuffer

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// wasmhostBinary builds cmd/wasmhost once per test binary.
func wasmhostBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wasmhost-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "wasmhost")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/wasmhost")
		cmd.Dir = testutil.Root(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// pluginsDir builds the bundled plugins into one directory.
func pluginsDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		addPlugin(t, dir, n, "plugins/"+n)
	}
	return dir
}

// addPlugin builds the plugin package pkg into dir as name.wasm.
func addPlugin(t testing.TB, dir, name, pkg string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, name+".wasm"), string(pluginBytes(t, pkg)))
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func contextFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func contextWithCancel(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}

// filterRun is one run of a filtering plugin in the daemon, in process:
// pipeline name reads topic in with wasm, produces to out, and sends
// records it fails to the dead-letter topic "dlq" after one retry.
type filterRun struct {
	name, wasm, in, out string
	config              string // the plugin's config, a TOML inline table
}

// run sends msgs through the pipeline and returns what reached out and
// the dead-letter topic, waiting for wantOut and wantDead records.
func (r filterRun) run(t *testing.T, addr string, msgs []*sarama.ProducerMessage, wantOut, wantDead int) (out, dead []*sarama.ConsumerMessage) {
	t.Helper()
	path := writeFile(t, filepath.Join(t.TempDir(), r.name+".toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[[pipelines]]
name = %q
plugin = %q
topics = [%q]
batch_size = 32
produce_topics = [%q]
config = %s
[pipelines.failure]
policy = "dead-letter"
retries = 1
backoff = "10ms"
dead_letter_topic = "dlq"
`, addr, t.TempDir(), testutil.CacheDir(t), r.name, r.wasm, r.in, r.out, r.config))
	d := runInProcess(t, path)
	p, err := sarama.NewSyncProducer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	out = readAll(t, addr, r.out, wantOut, 60*time.Second)
	dead = readAll(t, addr, "dlq", wantDead, 30*time.Second)
	d.stop()
	return out, dead
}

// daemonConfig writes the config of a daemon on the broker at addr with
// plugins from dir (and the shared compilation cache); body holds the rest
// (TOML: pipelines, sources, ...).
func daemonConfig(t testing.TB, addr, dir, body string) string {
	t.Helper()
	return writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
%s`, addr, dir, testutil.CacheDir(t), body))
}

// copyConfig writes the config of a daemon on the broker at addr with one
// pipeline, "copy", running the forward plugin from "in" to "out";
// pipeline adds keys (TOML lines) to that pipeline.
func copyConfig(t *testing.T, addr, pipeline string) string {
	t.Helper()
	return daemonConfig(t, addr, pluginsDir(t, "forward"), `[[pipelines]]
name = "copy"
plugin = "forward"
topics = ["in"]
config = { to = "out" }
`+pipeline)
}

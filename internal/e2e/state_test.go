package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// The word count of Kafka Streams' exactly-once system test: a stateful
// plugin counts records per key in its state store and produces each new
// count, while daemons are killed with SIGKILL, join and leave the group
// (rebalances) and the plugin file is replaced (hot swap). Under
// exactly-once the read_committed output of every key must be exactly
// 1, 2, ..., its count, in order; under at-least-once no count may be
// lower than the truth. The plugin also traps now and then after changing
// its state, which the host must take back.

const (
	wcRecords = 6000
	wcWords   = 40
)

// wcProduce produces the input in the background: record i has key
// "w<i mod wcWords>", and each key always goes to the same partition.
func wcProduce(t *testing.T, addr string) <-chan error {
	done := make(chan error, 1)
	cfg := saramaConfig()
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer p.Close()
		const chunk = 100
		for from := 0; from < wcRecords; from += chunk {
			msgs := make([]*sarama.ProducerMessage, 0, chunk)
			for i := from; i < from+chunk; i++ {
				w := i % wcWords
				msgs = append(msgs, &sarama.ProducerMessage{Topic: "in", Partition: int32(w % 4),
					Key: sarama.StringEncoder(fmt.Sprintf("w%d", w)), Value: sarama.StringEncoder(strconv.Itoa(i))})
			}
			if err := p.SendMessages(msgs); err != nil {
				done <- err
				return
			}
			time.Sleep(80 * time.Millisecond) // ~1,200 records/s: the stream outlives the disruptions
		}
		done <- nil
	}()
	return done
}

// withSection appends a custom section to a module: the same code, another
// file and sha256, so the daemon swaps it in as a new version.
func withSection(wasm []byte, name string) []byte {
	payload := append([]byte{byte(len(name))}, name...)
	payload = append(payload, "swap"...)
	out := append([]byte{}, wasm...)
	out = append(out, 0, byte(len(payload)))
	return append(out, payload...)
}

func TestStatefulWordCount(t *testing.T) {
	for _, g := range []string{"exactly-once", "at-least-once"} {
		t.Run(g, func(t *testing.T) {
			t.Parallel()
			b := startBrokerProc(t, freePort(t), t.TempDir())
			createTopics(t, b.addr, 4, "in", "counts")
			plugins := t.TempDir()
			wasm := pluginBytes(t, "internal/e2e/testdata/plugins/wordcount")
			writeFile(t, filepath.Join(plugins, "wordcount.wasm"), string(wasm))
			cfg := writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
shutdown_timeout = "20s"
[log]
level = "info"
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[reload]
delay = "50ms"
[[pipelines]]
name = "wc"
plugin = "wordcount"
topics = ["in"]
guarantee = %q
batch_size = 50
session_timeout = "2s"
transaction_timeout = "3s"
transaction_size = 200
produce_topics = ["counts"]
config = { to = "counts", trap_every = "700" }
`, b.addr, plugins, testutil.CacheDir(t), g))
			produced := wcProduce(t, b.addr)
			progress := func(what string, n int64) {
				before := highWater(t, b.addr, "counts")
				waitFor(t, 60*time.Second, what, func() bool { return highWater(t, b.addr, "counts") >= before+n })
			}
			d1 := startDaemon(t, cfg)
			progress("output before the first kill", 300)
			d1.kill9(t)
			d1 = startDaemon(t, cfg)
			d2 := startDaemon(t, cfg) // a rebalance: partitions move, stores are restored elsewhere
			progress("output after the rebalance", 300)
			// Hot swap while both serve.
			if err := os.WriteFile(filepath.Join(plugins, "wordcount.wasm"), withSection(wasm, "v2"), 0o644); err != nil {
				t.Fatal(err)
			}
			progress("output after the swap", 300)
			d2.kill9(t) // its partitions go back to d1 after the session times out
			progress("output after the second kill", 300)
			d2 = startDaemon(t, cfg)
			select {
			case err := <-produced:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(90 * time.Second):
				t.Fatal("the producer did not finish")
			}
			waitFor(t, 90*time.Second, "the whole input committed", func() bool {
				sum := int64(0)
				for _, off := range committedNoFail(b.addr, "wasmhost-wc", "in") {
					sum += off
				}
				return sum >= wcRecords
			})
			stopAll(t, d1, d2)
			checkCounts(t, b.addr, g)
		})
	}
}

// checkCounts reads the counts in offset order per partition (a key's
// counts all land in one partition) and checks them against the truth.
func checkCounts(t *testing.T, addr, guarantee string) {
	t.Helper()
	exact := guarantee == "exactly-once"
	want := wcRecords
	if !exact {
		want = 0 // at least the truth: read what is there
	}
	msgs := readAllWith(t, addr, "counts", want, 60*time.Second, exact)
	byKey := map[string][]int{}
	// Messages of one partition arrive in offset order.
	for _, m := range msgs {
		n, err := strconv.Atoi(string(m.Value))
		if err != nil {
			t.Fatalf("count %q: %v", m.Value, err)
		}
		byKey[string(m.Key)] = append(byKey[string(m.Key)], n)
	}
	truth := wcRecords / wcWords
	if len(byKey) != wcWords {
		t.Fatalf("%d keys counted, want %d", len(byKey), wcWords)
	}
	for k, counts := range byKey {
		if exact {
			for i, n := range counts {
				if n != i+1 {
					t.Fatalf("key %s: count #%d is %d (counts %v): not exactly once", k, i+1, n, counts)
				}
			}
			if len(counts) != truth {
				t.Fatalf("key %s: %d counts, want %d", k, len(counts), truth)
			}
			continue
		}
		top := 0
		for _, n := range counts {
			top = max(top, n)
		}
		if top < truth {
			t.Fatalf("key %s: highest count %d, lower than the truth %d", k, top, truth)
		}
	}
	t.Logf("%s: %d keys, %d count records, truth %d per key", guarantee, len(byKey), len(msgs), truth)
}

// TestStatefulTicksExactlyOnce runs the counter example (its window in the
// state store) ticking under exactly-once while a daemon is killed with
// SIGKILL and another joins: every record is counted in exactly one
// committed window, so each key's read_committed counts sum to the truth.
func TestStatefulTicksExactlyOnce(t *testing.T) {
	t.Parallel()
	b := startBrokerProc(t, freePort(t), t.TempDir())
	createTopics(t, b.addr, 4, "in", "counts")
	cfg := counterConfig(t, b.addr)
	produced := wcProduce(t, b.addr)
	d1 := startDaemon(t, cfg)
	waitFor(t, 60*time.Second, "the first windows", func() bool { return highWater(t, b.addr, "counts") >= 40 })
	d1.kill9(t)
	d1 = startDaemon(t, cfg)
	d2 := startDaemon(t, cfg)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, "every record counted in a committed window", func() bool {
		_, total := windowSums(t, b.addr)
		return total >= wcRecords
	})
	stopAll(t, d1, d2)
	by, total := windowSums(t, b.addr)
	for k, n := range by {
		if n != wcRecords/wcWords {
			t.Errorf("key %s counted %d times, want %d", k, n, wcRecords/wcWords)
		}
	}
	if len(by) != wcWords || total != wcRecords {
		t.Fatalf("%d keys, %d counted; want %d keys, %d", len(by), total, wcWords, wcRecords)
	}
}

// counterConfig writes the config of a daemon running the counter example
// under exactly-once from "in" to "counts", ticking every 100ms.
func counterConfig(t *testing.T, addr string) string {
	t.Helper()
	plugins := t.TempDir()
	addPlugin(t, plugins, "counter", "examples/counter")
	return writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
shutdown_timeout = "20s"
[log]
level = "info"
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[[pipelines]]
name = "count"
plugin = "counter"
topics = ["in"]
guarantee = "exactly-once"
tick_interval = "100ms"
session_timeout = "2s"
transaction_timeout = "3s"
produce_topics = ["counts"]
config = { to = "counts" }
`, addr, plugins, testutil.CacheDir(t)))
}

// windowSums reads the counter's windows in "counts" read_committed and
// sums their counts per key, and in all.
func windowSums(t *testing.T, addr string) (map[string]int, int) {
	t.Helper()
	by, total := map[string]int{}, 0
	for _, m := range readAllWith(t, addr, "counts", 1<<30, 2*time.Second, true) {
		var v struct {
			Key   string `json:"key"`
			Count int    `json:"count"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("count record %q: %v", m.Value, err)
		}
		by[v.Key] += v.Count
		total += v.Count
	}
	return by, total
}

// stopAll stops daemons with SIGTERM once each has started its pipeline (a
// daemon signalled before it handles signals dies of the signal), and
// fails on an exit code other than 0.
func stopAll(t *testing.T, ds ...*daemonProc) {
	t.Helper()
	for _, d := range ds {
		waitFor(t, 60*time.Second, "the daemon to start its pipeline", func() bool {
			return strings.Contains(d.logs.String(), "pipeline started")
		})
	}
	for _, d := range ds {
		if code := d.stop(t); code != 0 {
			t.Fatalf("daemon exit code %d\n%s", code, tail(d.logs.String(), 30))
		}
	}
}

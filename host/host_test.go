package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func newRuntime(t testing.TB) *host.Runtime {
	t.Helper()
	rt, err := host.NewRuntime(context.Background(), host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func load(t testing.TB, rt *host.Runtime, pkg string) *host.Plugin {
	t.Helper()
	p, err := rt.Load(context.Background(), host.LoadOptions{Name: filepath.Base(pkg), Path: testutil.BuildPlugin(t, pkg)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func instantiate(t testing.TB, p *host.Plugin, o host.InstanceOptions) *host.Instance {
	t.Helper()
	i, err := p.Instantiate(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = i.Close(context.Background()) })
	return i
}

func batchOf(values ...string) *host.Batch {
	var b host.Batch
	for i, v := range values {
		b.Add(&abi.Record{Topic: "in", Partition: 2, Offset: int64(100 + i), Timestamp: 1700000000000,
			Key: []byte{'k', byte('0' + i)}, Value: []byte(v),
			Headers: []abi.Header{{Key: "h", Value: []byte("v")}, {Key: "null", Value: nil}}})
	}
	return &b
}

func TestForwardCopiesKeyValueHeaders(t *testing.T) {
	p := load(t, newRuntime(t), "plugins/forward")
	if !p.HandlesBatches() || len(p.SHA256()) != 64 {
		t.Fatalf("plugin shape: batches=%v sha=%q", p.HandlesBatches(), p.SHA256())
	}
	inst := instantiate(t, p, host.InstanceOptions{Pipeline: "t", Config: map[string]string{"to": "out"}})
	res, err := inst.HandleBatch(context.Background(), batchOf("a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 0 || len(res.Outputs) != 3 {
		t.Fatalf("failures %v, outputs %d", res.Failures, len(res.Outputs))
	}
	for i, o := range res.Outputs {
		r := o.Record
		if o.Input != uint32(i) || r.Topic != "out" || string(r.Value) != string(rune('a'+i)) || string(r.Key) != "k"+string(rune('0'+i)) {
			t.Errorf("output %d = input %d %s %q %q", i, o.Input, r.Topic, r.Key, r.Value)
		}
		if len(r.Headers) != 2 || r.Headers[0].Key != "h" || string(r.Headers[0].Value) != "v" || r.Headers[1].Value != nil {
			t.Errorf("output %d headers = %+v", i, r.Headers)
		}
	}
	// The instance is reusable: a second batch works the same.
	res, err = inst.HandleBatch(context.Background(), batchOf("d"))
	if err != nil || len(res.Outputs) != 1 || string(res.Outputs[0].Record.Value) != "d" {
		t.Fatalf("second batch: %v %+v", err, res)
	}
}

// Produced bytes that lie in the batch are referenced, resolved against the
// guest's copy at the produce call (so a change in place shows), and copied
// out of guest memory: the outputs of one batch survive the next.
func TestProduceByReference(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "host/testdata/plugins/inplace"), host.InstanceOptions{Pipeline: "t"})
	res, err := inst.HandleBatch(context.Background(), batchOf("abc", "def"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var values [][]byte
	for _, o := range res.Outputs {
		got = append(got, fmt.Sprintf("%d:%s:%s:%d", o.Input, o.Record.Key, o.Record.Value, len(o.Record.Headers)))
		values = append(values, o.Record.Value)
	}
	want := []string{"0:k0:!bc:2", "0::bc:0", "1:k1:!ef:2", "1::ef:0", "1::!bc:0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outputs %q, want %q", got, want)
	}
	if _, err := inst.HandleBatch(context.Background(), batchOf("xyz", "uvw")); err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if w := strings.Split(want[i], ":")[2]; string(v) != w {
			t.Errorf("output %d of the first batch changed to %q by the second", i, v)
		}
	}
}

// A Go plugin exports both handlers; what it registered is what the host
// believes, and one that registered none is refused at load.
func TestLoadKnowsWhichHandlersAGoPluginHas(t *testing.T) {
	rt := newRuntime(t)
	for _, c := range []struct {
		pkg            string
		batches, ticks bool
	}{
		{"plugins/users", false, true},
		{"plugins/print", true, false},
		{"plugins/forward", true, false},
	} {
		p := load(t, rt, c.pkg)
		if p.HandlesBatches() != c.batches || p.HandlesTicks() != c.ticks {
			t.Errorf("%s: handles batches %v, ticks %v; want %v, %v", c.pkg, p.HandlesBatches(), p.HandlesTicks(), c.batches, c.ticks)
		}
	}
	_, err := rt.Load(context.Background(), host.LoadOptions{Name: "nohandler", Path: testutil.BuildPlugin(t, "host/testdata/plugins/nohandler")})
	if !errors.Is(err, host.ErrInvalidPlugin) || !strings.Contains(err.Error(), "wasmhost_handlers says the plugin has no handler") {
		t.Errorf("a plugin with no handler: %v", err)
	}
}

// A record produced to a partition that does not exist fails its input
// record; one to a partition that does, or by key, is produced as it is.
func TestProducedPartitionsAreChecked(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "host/testdata/plugins/topartition"), host.InstanceOptions{
		Partitions: func(topic string) int32 {
			if topic == "out" {
				return 3
			}
			return 0
		},
	})
	res, err := inst.HandleBatch(context.Background(), batchOf("0", "2", "3", "-1", "-5"))
	if err != nil {
		t.Fatal(err)
	}
	var parts []int32
	for _, o := range res.Outputs {
		parts = append(parts, o.Record.Partition)
	}
	if fmt.Sprint(parts) != "[0 2 -1]" {
		t.Errorf("produced to partitions %v, want [0 2 -1]", parts)
	}
	if len(res.Failures) != 2 || res.Failures[0].Index != 2 || res.Failures[1].Index != 4 ||
		!strings.Contains(res.Failures[0].Reason, `partition 3 of topic "out", which has 3`) ||
		!strings.Contains(res.Failures[1].Reason, "partition -5: name a partition (0 or more), or -1 to partition by key") {
		t.Errorf("failures %+v", res.Failures)
	}
}

func TestForwardWithoutConfigFailsEachRecord(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "plugins/forward"), host.InstanceOptions{})
	res, err := inst.HandleBatch(context.Background(), batchOf("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 0 || len(res.Failures) != 2 || !strings.Contains(res.Failures[1].Reason, `"to"`) {
		t.Fatalf("outputs %d, failures %+v", len(res.Outputs), res.Failures)
	}
}

func TestProduceAllowlistRefusesOtherTopics(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "host/testdata/plugins/hostile"), host.InstanceOptions{
		Config:     map[string]string{"to": "out"},
		AllowTopic: func(topic string) bool { return topic == "out" },
	})
	res, err := inst.HandleBatch(context.Background(), batchOf("ok", "forbidden", "big", "fail", "ok2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 2 || string(res.Outputs[0].Record.Value) != "ok" || string(res.Outputs[1].Record.Value) != "ok2" {
		t.Fatalf("outputs = %+v", res.Outputs)
	}
	want := map[int]string{1: "forbidden-topic", 2: "over the", 3: "asked to fail"}
	if len(res.Failures) != len(want) {
		t.Fatalf("failures = %+v", res.Failures)
	}
	for _, f := range res.Failures {
		if !strings.Contains(f.Reason, want[f.Index]) {
			t.Errorf("failure %d: %q, want it to mention %q", f.Index, f.Reason, want[f.Index])
		}
	}
}

func TestTrapIsContainedAndNamed(t *testing.T) {
	p := load(t, newRuntime(t), "host/testdata/plugins/hostile")
	inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}})
	_, err := inst.HandleBatch(context.Background(), batchOf("a", "panic"))
	var pe *host.PluginError
	if !errors.Is(err, host.ErrTrap) || !errors.As(err, &pe) || pe.Func != abi.ExportOnBatch {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "panic: hostile: asked to panic") {
		t.Errorf("error does not carry the panic message: %v", err)
	}
	if !inst.Broken() {
		t.Fatal("instance not marked broken after a trap")
	}
	if _, err := inst.HandleBatch(context.Background(), batchOf("a")); !errors.Is(err, host.ErrClosed) {
		t.Fatalf("broken instance accepted a call: %v", err)
	}
	fresh := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}})
	if res, err := fresh.HandleBatch(context.Background(), batchOf("a")); err != nil || len(res.Outputs) != 1 {
		t.Fatalf("fresh instance: %v", err)
	}
}

func TestInfiniteLoopIsStoppedByTheCallTimeout(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "host/testdata/plugins/hostile"), host.InstanceOptions{
		Config: map[string]string{"to": "out"},
		Limits: host.Limits{CallTimeout: 200 * time.Millisecond},
	})
	start := time.Now()
	_, err := inst.HandleBatch(context.Background(), batchOf("loop"))
	if !errors.Is(err, host.ErrTimeout) || !inst.Broken() {
		t.Fatalf("err = %v, broken = %v", err, inst.Broken())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the loop ran for %s", d)
	}
}

func TestTickProducesWithNoInput(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), "plugins/users"), host.InstanceOptions{})
	res, err := inst.Tick(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 || res.Outputs[0].Input != abi.NoInput || res.Outputs[0].Record.Topic != "users" {
		t.Fatalf("outputs = %+v", res.Outputs)
	}
	if _, err := inst.HandleBatch(context.Background(), batchOf("x")); !errors.Is(err, host.ErrNoHandler) {
		t.Fatalf("batch to a tick-only plugin: %v", err)
	}
}

func TestLoadRefusesBadPlugins(t *testing.T) {
	rt := newRuntime(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("not wasm at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	forward := testutil.BuildPlugin(t, "plugins/forward")
	cases := []struct {
		name, path, pin string
		is              error
		says            string
	}{
		{"missing file", filepath.Join(dir, "nope.wasm"), "", host.ErrInvalidPlugin, "no such file"},
		{"not wasm", garbage, "", host.ErrInvalidPlugin, "not a valid WebAssembly module"},
		{"hash pin", forward, strings.Repeat("ab", 32), host.ErrInvalidPlugin, "sha256 mismatch"},
		{"wrong abi", testutil.BuildPlugin(t, "host/testdata/plugins/wrongabi"), "", host.ErrABIMismatch, "ABI version 999"},
		{"no exports", testutil.BuildPlugin(t, "host/testdata/plugins/noexports"), "", host.ErrInvalidPlugin, "missing export wasmhost_abi_version"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rt.Load(context.Background(), host.LoadOptions{Name: c.name, Path: c.path, SHA256: c.pin})
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), c.path) {
				t.Fatalf("err = %v; want %v mentioning %q and the path", err, c.is, c.says)
			}
		})
	}
}

// TestHandleBatchAllocatesPerCallNotPerRecord: once an instance has run a
// batch, the host side of the next one (decoding and checking what the
// plugin produced) allocates per call, never per record: the same for 1
// record as for 256.
func TestHandleBatchAllocatesPerCallNotPerRecord(t *testing.T) {
	p := load(t, newRuntime(t), "plugins/forward")
	inst := instantiate(t, p, host.InstanceOptions{Pipeline: "t", Config: map[string]string{"to": "out"}})
	allocs := func(n int) float64 {
		values := make([]string, n)
		for i := range values {
			values[i] = strings.Repeat("v", 100)
		}
		b := batchOf(values...)
		return testing.AllocsPerRun(20, func() {
			res, err := inst.HandleBatch(context.Background(), b)
			if err != nil || len(res.Outputs) != n {
				t.Fatalf("%d records: err %v, %d outputs", n, err, len(res.Outputs))
			}
		})
	}
	one, many := allocs(1), allocs(256)
	if many > one+2 {
		t.Errorf("%.0f allocations for a batch of 256, %.0f for a batch of 1: the host allocates per record", many, one)
	}
}

// A Go plugin's panic is one log line, its message, with the stack trace as
// a field, not a warning per line of the trace.
func TestPanicIsOneLogLine(t *testing.T) {
	var logs testutil.SyncBuffer
	p := load(t, newRuntime(t), "host/testdata/plugins/hostile")
	inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}, Logger: zerolog.New(&logs)})
	if _, err := inst.HandleBatch(context.Background(), batchOf("a", "panic")); !errors.Is(err, host.ErrTrap) {
		t.Fatalf("err = %v", err)
	}
	var stderr []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err == nil && m["stream"] == "stderr" {
			stderr = append(stderr, m)
		}
	}
	if len(stderr) != 1 {
		t.Fatalf("%d stderr log lines, want 1:\n%s", len(stderr), logs.String())
	}
	msg, _ := stderr[0]["message"].(string)
	stack, _ := stderr[0]["stack"].(string)
	if !strings.HasPrefix(msg, "panic: hostile: asked to panic") || !strings.Contains(stack, "goroutine") {
		t.Fatalf("message %q, stack %q", msg, stack)
	}
}

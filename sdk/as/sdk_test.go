package assdk_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/internal/testutil/jsoncheck"
	"github.com/wasmhost/wasmhost/sdk/abi"
	assdk "github.com/wasmhost/wasmhost/sdk/as"
)

var (
	builtMu sync.Mutex
	built   = map[string]string{}
)

// build lays out testdata/NAME/main.ts with the SDK's files beside it, as
// a scaffold has them, and builds it with plugin build's flags, once per
// test binary.
func build(t testing.TB, name string) string {
	t.Helper()
	builtMu.Lock()
	defer builtMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	tmp, err := os.MkdirTemp("", "wasmhost-as-")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for n, b := range assdk.Files {
		files[n] = b
	}
	main, err := os.ReadFile(filepath.Join("testdata", name, "main.ts"))
	if err != nil {
		t.Fatal(err)
	}
	files["main.ts"] = main
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv(plugintool.EnvASC) == "" {
		t.Setenv(plugintool.EnvASC, testutil.ASC(t))
	}
	var log strings.Builder
	wasm, err := plugintool.Build(plugintool.BuildOptions{Dir: dir, Log: &log})
	if err != nil {
		t.Fatalf("building %s: %v\n%s", name, err, log.String())
	}
	built[name] = wasm
	return wasm
}

// instance builds testdata/NAME and instantiates it, logging to logs.
func instance(t *testing.T, name string, cfg map[string]string, logs *strings.Builder) *host.Instance {
	t.Helper()
	ctx := context.Background()
	wasm := build(t, name)
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	p, err := rt.Load(ctx, host.LoadOptions{Name: name, Path: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(ctx) })
	if logs == nil {
		logs = &strings.Builder{}
	}
	inst, err := p.Instantiate(ctx, host.InstanceOptions{Config: cfg, Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Close(ctx) })
	return inst
}

func batch(values ...string) *host.Batch {
	var b host.Batch
	for i, v := range values {
		b.Add(&abi.Record{Topic: "in", Partition: 1, Offset: int64(10 + i), Timestamp: 1700000000000 + int64(i),
			Key: []byte{'k', byte('0' + i)}, Value: []byte(v),
			Headers: []abi.Header{{Key: "h", Value: []byte("v")}, {Key: "null"}, {Key: "empty", Value: []byte{}}}})
	}
	return &b
}

// TestASSDKRecordHandling is the C SDK's TestCSDKRecordHandling, record for
// record: the two SDKs must behave alike.
func TestASSDKRecordHandling(t *testing.T) {
	var logs strings.Builder
	inst := instance(t, "sdktest", map[string]string{"k": "v"}, &logs)
	res, err := inst.HandleBatch(context.Background(), batch("echo", "produce-then-fail", "big", "big-then-fail", "record", "config", "log", "nulls", "inplace", "topics"))
	if err != nil {
		t.Fatal(err)
	}
	wantFailures := []host.Failure{{Index: 1, Reason: "failed after producing 2"}, {Index: 3, Reason: "big then fail"}}
	if len(res.Failures) != len(wantFailures) {
		t.Fatalf("failures = %+v", res.Failures)
	}
	for i, f := range wantFailures {
		if res.Failures[i] != f {
			t.Errorf("failure %d = %+v, want %+v", i, res.Failures[i], f)
		}
	}
	type out struct {
		input     uint32
		topic     string
		partition int32
		ts        int64
		key, val  string
		keyNull   bool
		valNull   bool
		headers   int
	}
	var got []out
	for _, o := range res.Outputs {
		r := o.Record
		val := string(r.Value)
		if len(val) > 16 && strings.Count(val, val[:1]) == len(val) {
			val = fmt.Sprintf("%c*%d", val[0], len(val))
		}
		got = append(got, out{o.Input, r.Topic, r.Partition, r.Timestamp, string(r.Key), val, r.Key == nil, r.Value == nil, len(r.Headers)})
	}
	want := []out{
		{0, "echo", -1, 1700000000000, "k0", "echo", false, false, 3},
		{2, "out", -1, 1700000000002, "k2", "x*409600", false, false, 0},
		{2, "out", -1, 1700000000002, "k2", "x*409600", false, false, 0},
		{2, "out", -1, 1700000000002, "k2", "x*409600", false, false, 0},
		{4, "out", 2, 1700000000004, "k4", "record", false, false, 3},
		{4, "out", -1, 5, "k4", "record", false, false, 3},
		{5, "out", -1, 1700000000005, "nokey unset", "v", false, false, 0},
		{7, "out", -1, 1700000000007, "", "", true, false, 0},
		{8, "out", -1, 1700000000008, "k8", "InPlace", false, false, 0},
		{8, "in", 1, 1700000000008, "k8", "Place", false, false, 1},
		{9, "t0", -1, 1700000000009, "", "t0", true, false, 0},
		{9, "t1", -1, 1700000000009, "", "t1", true, false, 0},
		{9, "t2", -1, 1700000000009, "", "t2", true, false, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("outputs:\n%+v\nwant:\n%+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("output %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	echo := res.Outputs[0].Record.Headers
	if echo[0].Key != "h" || string(echo[0].Value) != "v" || echo[1].Value != nil || echo[2].Value == nil || len(echo[2].Value) != 0 {
		t.Errorf("echoed headers lost null or empty: %+v", echo)
	}
	if h := res.Outputs[9].Record.Headers; h[0].Key != "h" || string(h[0].Value) != "Place" {
		t.Errorf("a header made of part of the batch = %+v, want h: Place", h)
	}
	if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), strings.Repeat("L", 2000)+`"`) {
		t.Errorf("the 2000-byte log line is missing or cut:\n%.300s", logs.String())
	}
	// Memory stays bounded: the SDK collects after every call.
	for range 20 {
		if _, err := inst.HandleBatch(context.Background(), batch("big", "echo", "topics")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestASSDKTicks(t *testing.T) {
	var logs strings.Builder
	inst := instance(t, "sdktest", nil, &logs)
	res, err := inst.Tick(context.Background(), time.UnixMilli(1700000000123))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 || res.Outputs[0].Input != abi.NoInput || res.Outputs[0].Record.Topic != "ticks" ||
		string(res.Outputs[0].Record.Value) != "tick 1700000000123" || res.Outputs[0].Record.Timestamp != 1700000000123 {
		t.Fatalf("tick outputs = %+v", res.Outputs)
	}
	failing := instance(t, "sdktest", map[string]string{"tick_fail": "1"}, &logs)
	if _, err := failing.Tick(context.Background(), time.UnixMilli(1)); !errors.Is(err, host.ErrFailed) {
		t.Fatalf("failing tick: %v", err)
	}
	if !strings.Contains(logs.String(), "tick failed: asked to fail the tick") {
		t.Errorf("the tick's reason is not logged:\n%s", logs.String())
	}
	if res, err := failing.HandleBatch(context.Background(), batch("x")); err != nil || len(res.Outputs) != 1 {
		t.Fatalf("batch after a failed tick: %v", err)
	}
}

// TestASSDKAbortIsLoggedAndTraps: AssemblyScript's abort (assert, range
// errors) goes to the SDK's wasmhost_abort, which logs where and why, then
// traps; the host needs no env.abort.
func TestASSDKAbortIsLoggedAndTraps(t *testing.T) {
	var logs strings.Builder
	inst := instance(t, "sdktest", nil, &logs)
	_, err := inst.HandleBatch(context.Background(), batch("abort"))
	if err == nil || !errors.Is(err, host.ErrTrap) {
		t.Fatalf("abort: %v, want a trap", err)
	}
	if !strings.Contains(logs.String(), "abort: asked to abort at main.ts:") {
		t.Errorf("the abort is not logged with its reason and place:\n%s", logs.String())
	}
}

// TestASJSONAgreesWithEncodingJSON runs json.ts in the sandbox on tricky
// and random documents and compares every lookup with encoding/json.
func TestASJSONAgreesWithEncodingJSON(t *testing.T) {
	jsoncheck.Check(t, instance(t, "jsontest", nil, nil), jsoncheck.Cases(t, 400, 17))
}

// TestASJSONDottedPaths checks get's path syntax and malformed input, as
// sdk/c's TestCJSONDottedPaths does for wh_json_get.
func TestASJSONDottedPaths(t *testing.T) {
	cases := []struct{ doc, path, want string }{
		{jsoncheck.Tricky[0], "nested.favorite_number", "3:7"},
		{jsoncheck.Tricky[0], "favorite_number", "3:501"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.1.c", "4:d"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.01", "0:"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.2", "0:"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a..b", "0:"},
		{`{"a":1`, "a", "0:"},
		{`{"a":"\x"}`, "a", "0:"},
		{`{"a":tru}`, "a", "0:"},
		{`{"a":01}`, "a", "0:"},
		{`{"a":1} x`, "a", "0:"},
		{"", "a", "0:"},
	}
	var b host.Batch
	for _, c := range cases {
		b.Add(&abi.Record{Topic: "in", Key: []byte(c.path), Value: []byte(c.doc)})
	}
	res, err := instance(t, "jsontest", nil, nil).HandleBatch(context.Background(), &b)
	if err != nil || len(res.Failures) > 0 || len(res.Outputs) != len(cases) {
		t.Fatalf("%v, failures %+v, %d outputs", err, res.Failures, len(res.Outputs))
	}
	for _, o := range res.Outputs {
		c, got := cases[o.Input], string(o.Record.Value)
		if kind, num, ok := strings.Cut(got, ":"); ok && kind == "3" && strings.HasPrefix(c.want, "3:") {
			if g, err := strconv.ParseFloat(num, 64); err == nil && "3:"+strconv.FormatFloat(g, 'g', -1, 64) == c.want {
				continue
			}
		}
		if got != c.want {
			t.Errorf("%s in %q = %q, want %q", c.path, c.doc, got, c.want)
		}
	}
}

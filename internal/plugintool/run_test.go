package plugintool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func run(t *testing.T, o RunOptions) ([]Entry, Summary, string) {
	t.Helper()
	var report bytes.Buffer
	o.Report, o.CacheDir = &report, testutil.CacheDir(t)
	if o.Start.IsZero() {
		o.Start = defaults.Time
	}
	entries, sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, report.String())
	}
	return entries, sum, report.String()
}

func records(t *testing.T, lines string) []Step {
	t.Helper()
	steps, err := ReadInput(strings.NewReader(lines), defaults)
	if err != nil {
		t.Fatal(err)
	}
	return steps
}

func transcript(t *testing.T, entries []Entry) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTranscript(&b, entries); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRunBatchesLikeTheDaemon: batches never mix partitions nor pass the
// batch size, and every record keeps its input index across batches.
func TestRunBatchesLikeTheDaemon(t *testing.T) {
	entries, sum, report := run(t, RunOptions{
		Path:   testutil.BuildPlugin(t, "plugins/forward"),
		Config: map[string]string{"to": "copy"},
		Steps: records(t, `{"key":"a","value":"1"}
{"key":"b","value":"2"}
{"key":"c","value":"3"}
{"partition":1,"key":"d","value":"4","headers":[{"key":"h","value":null}]}
`),
		BatchSize: 2,
	})
	if sum != (Summary{Records: 4, Calls: 3, Produced: 4}) {
		t.Errorf("summary %+v", sum)
	}
	for _, want := range []string{"batch of 2: in/0 offsets 0..1", "batch of 1: in/0 offsets 2..2", "batch of 1: in/1 offsets 3..3"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	want := `{"input":0,"topic":"copy","partition":-1,"key":"a","value":"1","timestamp":1704067200000}
{"input":1,"topic":"copy","partition":-1,"key":"b","value":"2","timestamp":1704067200000}
{"input":2,"topic":"copy","partition":-1,"key":"c","value":"3","timestamp":1704067200000}
{"input":3,"topic":"copy","partition":-1,"key":"d","value":"4","headers":[{"key":"h","value":null}],"timestamp":1704067200000}
`
	if got := transcript(t, entries); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

// TestRunAppliesTheSandboxChecks: the produce allowlist and the size limit
// fail records as in the daemon, a trap fails its whole batch and the next
// batch gets a fresh instance, and the call time limit stops a loop.
func TestRunAppliesTheSandboxChecks(t *testing.T) {
	entries, sum, report := run(t, RunOptions{
		Path:          testutil.BuildPlugin(t, "host/testdata/plugins/hostile"),
		Config:        map[string]string{"to": "out"},
		ProduceTopics: []string{"out"},
		CallTimeout:   300 * time.Millisecond,
		BatchSize:     3,
		Steps: records(t, `{"value":"ok"}
{"value":"forbidden"}
{"value":"big"}
{"value":"panic"}
{"value":"ok"}
{"value":"ok"}
{"value":"loop"}
{"partition":1,"value":"ok"}
`),
	})
	got := transcript(t, entries)
	for _, want := range []string{
		`{"input":0,"topic":"out"`,
		`{"input":1,"failed":true,"reason":"produce: topic \"forbidden-topic\" is not in this pipeline's produce_topics"}`,
		`{"input":2,"failed":true,"reason":"produce: record of`,
		`{"input":3,"failed":true,"reason":"wasmhost_on_batch: plugin trapped`,
		`{"input":4,"failed":true,"reason":"wasmhost_on_batch: plugin trapped`,
		`{"input":5,"failed":true,"reason":"wasmhost_on_batch: plugin trapped`,
		`{"input":6,"failed":true,"reason":"wasmhost_on_batch: plugin call timed out: stopped after 300ms"}`,
		`{"input":7,"topic":"out"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %s:\n%s", want, got)
		}
	}
	if sum.Failed != 6 || sum.Produced != 2 || strings.Count(report, "replaced by a new one") != 2 {
		t.Errorf("summary %+v; report:\n%s", sum, report)
	}
	if strings.Contains(got, "hostile (") {
		t.Errorf("reasons carry the plugin's hash, which changes from build to build:\n%s", got)
	}
}

func TestRunTicksAtIntervals(t *testing.T) {
	entries, sum, report := run(t, RunOptions{
		Path:     testutil.BuildPlugin(t, "plugins/users"),
		Config:   map[string]string{"topic": "people"},
		Steps:    records(t, `{"tick":true,"timestamp":"2030-01-01T00:00:00Z"}`),
		Ticks:    2,
		Interval: time.Minute,
	})
	if sum != (Summary{Ticks: 3, Calls: 3, Produced: 3}) || len(entries) != 3 {
		t.Fatalf("summary %+v, entries %+v", sum, entries)
	}
	wantTimes := []time.Time{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), defaults.Time.Add(2 * time.Minute), defaults.Time.Add(3 * time.Minute)}
	for i, e := range entries {
		if e.Tick != i || e.Input != -1 || e.Record.Topic != "people" || e.Record.Timestamp != wantTimes[i].UnixMilli() {
			t.Errorf("entry %d = tick %d input %d topic %s ts %d, want ts %d", i, e.Tick, e.Input, e.Record.Topic, e.Record.Timestamp, wantTimes[i].UnixMilli())
		}
	}
	if !strings.Contains(report, "tick 2 at 2024-01-01T00:03:00Z") {
		t.Errorf("report:\n%s", report)
	}
}

func TestRunReportsGuestLogs(t *testing.T) {
	_, _, report := run(t, RunOptions{
		Path:     testutil.BuildPlugin(t, "plugins/print"),
		Steps:    records(t, `{"key":"7","value":{"name":"Ada","favorite_color":"teal","favorite_number":1}}`),
		Pipeline: "p", Consumer: "p-0",
	})
	if !strings.Contains(report, "Ada") || !strings.Contains(report, "  log info: ") {
		t.Errorf("the plugin's log line is not in the report:\n%s", report)
	}
}

func TestRunRefusesWhatTheDaemonRefuses(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "x.wasm")
	if err := os.WriteFile(garbage, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		is   error
	}{
		{garbage, host.ErrInvalidPlugin},
		{testutil.BuildPlugin(t, "host/testdata/plugins/wrongabi"), host.ErrABIMismatch},
	} {
		_, _, err := Run(context.Background(), RunOptions{Path: c.path, Steps: records(t, `{}`)})
		if !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want %v", c.path, err, c.is)
		}
	}
	// A memory limit below what a Go guest declares refuses it, as
	// limits.memory does in the daemon.
	_, _, err := Run(context.Background(), RunOptions{Path: testutil.BuildPlugin(t, "plugins/forward"), Memory: 1 << 20})
	if !errors.Is(err, host.ErrInvalidPlugin) {
		t.Errorf("1 MiB limit: %v", err)
	}
}

func TestRunOutputsOfNoInputInABatch(t *testing.T) {
	// The Go SDK always names the input; build the case by hand instead:
	// an Entry with neither input nor tick still round-trips.
	e := Entry{Input: -1, Tick: -1, Record: abi.Record{Topic: "t", Partition: -1}}
	b, err := e.MarshalJSON()
	if err != nil || string(b) != `{"topic":"t","partition":-1,"timestamp":0}` {
		t.Fatalf("%s %v", b, err)
	}
	exp := expected(t, fmt.Sprintf("%s\n", b))
	if !exp[0].Matches(&e) {
		t.Error("does not match itself")
	}
}

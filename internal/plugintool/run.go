package plugintool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/state"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// RunOptions say which plugin to run on what, and how.
type RunOptions struct {
	Path  string // the .wasm file
	Name  string // the plugin's name; "" = the file name without .wasm
	Steps []Step // records and ticks, in order
	Ticks int    // ticks after the steps
	// Start is the time of the run: tick n (0-based) that gives no time of
	// its own is at Start + (n+1)*Interval, as a source's first tick comes
	// one interval after it starts.
	Start    time.Time
	Interval time.Duration
	// Config is the plugin's config; Pipeline and Consumer fill the
	// reserved keys wasmhost.pipeline and wasmhost.consumer.
	Config             map[string]string
	Pipeline, Consumer string
	ProduceTopics      []string // allowlist; empty allows every topic
	// BatchSize, Memory and CallTimeout are the pipeline settings of the
	// same names; zero takes the daemon's defaults.
	BatchSize   int
	Memory      uint64
	CallTimeout time.Duration
	CacheDir    string // compilation cache; "" = none
	// Report receives a readable account of every call as it happens: the
	// plugin's log lines, each record's result and what it produced. nil
	// discards it.
	Report io.Writer
	// State is the initial state of a plugin that uses state (one store,
	// as for one input partition); its final state ends the transcript.
	State []StateEntry
}

// Summary counts what a run did.
type Summary struct {
	Records, Ticks, Calls int
	Produced, Failed      int
	StateKeys             int // keys in the final state of a plugin that uses state
}

// Run loads the plugin as the daemon does, hands it the steps and returns
// the transcript. An error means the plugin could not be loaded or
// instantiated; what it does with the records, failures included, is in the
// transcript.
func Run(ctx context.Context, o RunOptions) ([]Entry, Summary, error) {
	r, err := newRunner(ctx, o)
	if err != nil {
		return nil, Summary{}, err
	}
	defer r.close(ctx)
	var pending []int // indexes into steps of the records of the batch being filled
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := r.batch(ctx, pending)
		pending = pending[:0]
		return err
	}
	for i, s := range o.Steps {
		if s.Tick {
			if err := flush(); err != nil {
				return nil, r.sum, err
			}
			if err := r.tick(ctx, s.Record.Timestamp); err != nil {
				return nil, r.sum, err
			}
			continue
		}
		if len(pending) > 0 {
			first := &o.Steps[pending[0]].Record
			if len(pending) == r.batchSize || first.Topic != s.Record.Topic || first.Partition != s.Record.Partition {
				if err := flush(); err != nil {
					return nil, r.sum, err
				}
			}
		}
		pending = append(pending, i)
	}
	if err := flush(); err != nil {
		return nil, r.sum, err
	}
	for range o.Ticks {
		if err := r.tick(ctx, 0); err != nil {
			return nil, r.sum, err
		}
	}
	r.finalState(r.report)
	return r.entries, r.sum, nil
}

type runner struct {
	o         RunOptions
	rt        *host.Runtime
	plugin    *host.Plugin
	inst      *host.Instance
	instOpts  host.InstanceOptions
	batchSize int
	report    io.Writer
	b         host.Batch
	ticks     int
	entries   []Entry
	sum       Summary
	store     *state.Store // nil unless the plugin uses state
}

func newRunner(ctx context.Context, o RunOptions) (*runner, error) {
	def := config.DefaultPipeline()
	r := &runner{o: o, report: o.Report, batchSize: o.BatchSize}
	if r.report == nil {
		r.report = io.Discard
	}
	if r.batchSize <= 0 {
		r.batchSize = def.BatchSize
	}
	if o.Memory == 0 {
		o.Memory = uint64(def.Limits.Memory)
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = def.Limits.CallTimeout.Duration
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(o.Path), ".wasm")
	}
	r.o = o
	log := zerolog.New(&logWriter{w: r.report}).Level(zerolog.DebugLevel)
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: o.CacheDir, Logger: log})
	if err != nil {
		return nil, err
	}
	r.rt = rt
	r.plugin, err = rt.Load(ctx, host.LoadOptions{Name: o.Name, Path: o.Path, MemoryLimit: o.Memory})
	if err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	r.instOpts = host.InstanceOptions{
		Pipeline: o.Pipeline,
		Consumer: o.Consumer,
		Config:   o.Config,
		Logger:   log,
		Limits:   host.Limits{CallTimeout: o.CallTimeout},
	}
	if r.store = r.newStore(); r.store != nil {
		r.instOpts.State = r.store
	}
	if len(o.ProduceTopics) > 0 {
		allowed := slices.Clone(o.ProduceTopics)
		r.instOpts.AllowTopic = func(t string) bool { return slices.Contains(allowed, t) }
	}
	if r.inst, err = r.plugin.Instantiate(ctx, r.instOpts); err != nil {
		r.close(ctx)
		return nil, err
	}
	return r, nil
}

func (r *runner) close(ctx context.Context) {
	if r.inst != nil {
		_ = r.inst.Close(ctx)
	}
	if r.plugin != nil {
		_ = r.plugin.Close(ctx)
	}
	_ = r.rt.Close(ctx)
}

// renew replaces a broken instance, as an actor does after a trap.
func (r *runner) renew(ctx context.Context) error {
	if !r.inst.Broken() {
		return nil
	}
	_ = r.inst.Close(ctx)
	inst, err := r.plugin.Instantiate(ctx, r.instOpts)
	if err != nil {
		r.inst = nil
		return fmt.Errorf("replacing the broken instance: %w", err)
	}
	fmt.Fprintln(r.report, "  (the instance was broken and is replaced by a new one)")
	r.inst = inst
	return nil
}

// batch hands the records of the given steps to the plugin in one call.
func (r *runner) batch(ctx context.Context, steps []int) error {
	recs := make([]*abi.Record, len(steps))
	r.b.Reset()
	for i, s := range steps {
		recs[i] = &r.o.Steps[s].Record
		r.b.Add(recs[i])
	}
	first := len(r.entries)
	base := r.sum.Records
	r.sum.Records += len(steps)
	r.sum.Calls++
	fmt.Fprintf(r.report, "batch of %d: %s/%d offsets %d..%d\n", len(steps), recs[0].Topic, recs[0].Partition, recs[0].Offset, recs[len(recs)-1].Offset)
	r.beginCall()
	res, err := r.inst.HandleBatch(ctx, &r.b)
	r.endCall(err == nil && len(res.Failures) == 0)
	if err != nil {
		reason := describe(err)
		for i := range steps {
			r.fail(Entry{Input: base + i, Tick: -1, Reason: reason})
			fmt.Fprintf(r.report, "  record %d (offset %d): FAILED with the whole batch: %s\n", base+i, recs[i].Offset, reason)
		}
		return r.renew(ctx)
	}
	failed := make(map[int]string, len(res.Failures))
	for _, f := range res.Failures {
		failed[f.Index] = f.Reason
	}
	for i := range steps {
		if reason, ok := failed[i]; ok {
			r.fail(Entry{Input: base + i, Tick: -1, Reason: reason})
			fmt.Fprintf(r.report, "  record %d (offset %d): FAILED: %s\n", base+i, recs[i].Offset, reason)
			first = len(r.entries)
			continue
		}
		n := 0
		for _, out := range res.Outputs {
			if out.Input == uint32(i) {
				r.produced(Entry{Input: base + i, Tick: -1, Record: cloneRecord(&out.Record)})
				n++
			}
		}
		fmt.Fprintf(r.report, "  record %d (offset %d): ok, produced %d\n", base+i, recs[i].Offset, n)
		r.printSince(first)
		first = len(r.entries)
	}
	for _, out := range res.Outputs {
		if out.Input == abi.NoInput {
			r.produced(Entry{Input: -1, Tick: -1, Record: cloneRecord(&out.Record)})
		}
	}
	if first < len(r.entries) {
		fmt.Fprintln(r.report, "  produced for no input record:")
		r.printSince(first)
	}
	return nil
}

// tick calls the tick handler at the given Unix ms, or at the next
// interval when it is 0.
func (r *runner) tick(ctx context.Context, ms int64) error {
	n := r.ticks
	r.ticks++
	r.sum.Ticks++
	r.sum.Calls++
	now := r.o.Start.Add(time.Duration(n+1) * r.o.Interval)
	if ms != 0 {
		now = time.UnixMilli(ms)
	}
	fmt.Fprintf(r.report, "tick %d at %s\n", n, now.UTC().Format(time.RFC3339Nano))
	first := len(r.entries)
	r.beginCall()
	res, err := r.inst.Tick(ctx, now)
	r.endCall(err == nil)
	if err != nil {
		reason := describe(err)
		r.fail(Entry{Input: -1, Tick: n, Reason: reason})
		fmt.Fprintf(r.report, "  FAILED: %s\n", reason)
		return r.renew(ctx)
	}
	for _, out := range res.Outputs {
		r.produced(Entry{Input: -1, Tick: n, Record: cloneRecord(&out.Record)})
	}
	fmt.Fprintf(r.report, "  ok, produced %d\n", len(res.Outputs))
	r.printSince(first)
	return nil
}

func (r *runner) fail(e Entry) {
	e.Failed = true
	r.entries = append(r.entries, e)
	r.sum.Failed++
}

func (r *runner) produced(e Entry) {
	r.entries = append(r.entries, e)
	r.sum.Produced++
}

func (r *runner) printSince(first int) {
	for i := first; i < len(r.entries); i++ {
		b, err := r.entries[i].MarshalJSON()
		if err == nil {
			fmt.Fprintf(r.report, "    %s\n", b)
		}
	}
}

// describe is a whole-call error without the plugin's name and hash, which
// the reader knows and which would make transcripts differ from build to
// build.
func describe(err error) string {
	var pe *host.PluginError
	if errors.As(err, &pe) {
		return pe.Func + ": " + pe.Err.Error()
	}
	return err.Error()
}

// cloneRecord copies an output: its Headers slice is reused by the next call.
func cloneRecord(r *abi.Record) abi.Record {
	c := *r
	c.Headers = slices.Clone(r.Headers)
	return c
}

// logWriter renders the host's JSON log lines for the report: guest log
// lines as "  log <level>: message", stdout and stderr as "  stdout: line".
type logWriter struct{ w io.Writer }

func (l *logWriter) Write(p []byte) (int, error) {
	var ev map[string]any
	if err := json.Unmarshal(p, &ev); err != nil {
		fmt.Fprintf(l.w, "  log: %s", p)
		return len(p), nil
	}
	level, _ := ev[zerolog.LevelFieldName].(string)
	msg, _ := ev[zerolog.MessageFieldName].(string)
	prefix := "log " + level
	if s, ok := ev["stream"].(string); ok {
		prefix = s
	}
	var extra bytes.Buffer
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case zerolog.LevelFieldName, zerolog.MessageFieldName, "stream", "plugin", "plugin_version", "pipeline":
			continue
		}
		fmt.Fprintf(&extra, " %s=%v", k, ev[k])
	}
	fmt.Fprintf(l.w, "  %s: %s%s\n", prefix, msg, extra.String())
	return len(p), nil
}

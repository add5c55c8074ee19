package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
)

// Options configure Run. Zero values take the defaults of DefaultOptions.
type Options struct {
	// PluginsDir holds forward.wasm (`make plugins` builds it).
	PluginsDir string
	// StatefulPlugin is the counter example (examples/counter, one state
	// get and put per record), for the stateful exactly-once row; ""
	// leaves it out.
	StatefulPlugin string
	// Binary is the wasmhost executable used for the subprocess figures
	// (peak RSS, start-up time).
	Binary string
	// CacheDir is the compilation cache every daemon of the run shares;
	// the in-process runs warm it before the subprocess ones.
	CacheDir string
	// Runs is how many times each figure is measured; the median is
	// reported.
	Runs int
	// Scale multiplies every record count and the latency duration: 1 is
	// the full benchmark, a small value a quick check of the harness.
	Scale float64
	// Partitions and ValueBytes are the scaling grid. The throughput
	// comparison of the three guarantees uses MainPartitions and 100 B.
	Partitions     []int32
	ValueBytes     []int
	MainPartitions int32
	// LatencyRate is the fixed input rate (records/s) of the latency runs,
	// LatencyDuration how long each run measures.
	LatencyRate     int
	LatencyDuration time.Duration
	// ProcessPartitions is the partition count of the subprocess pipeline.
	ProcessPartitions int32
	// BoundaryFile is `go test -bench Boundary ./host/` output to include;
	// "" leaves the boundary rows out.
	BoundaryFile string
	// CPUProfile, when set, is a path prefix: the CPU profile of each
	// at-least-once throughput run, baseline and wasmhost, is written to
	// <prefix>-<kind>-<partitions>p-<bytes>B.pprof (the last run of a shape
	// wins). It covers the whole process: broker and harness too.
	CPUProfile string
	// Python is the interpreter that runs the original design's loop
	// (it needs confluent_kafka: scripts/setup-python-kafka.sh).
	Python string
	// Skip names parts not to run: "throughput", "latency", "process",
	// "original".
	Skip []string
	// Progress receives one line per measurement; nil discards them.
	Progress io.Writer
}

func (o *Options) runs(part string) bool { return !slices.Contains(o.Skip, part) }

// DefaultOptions is the full benchmark, sized to finish in about four
// minutes on two cores.
func DefaultOptions() Options {
	return Options{
		PluginsDir:        "plugins",
		StatefulPlugin:    "examples/counter/counter.wasm",
		Binary:            "bin/wasmhost",
		CacheDir:          ".cache/wasmhost",
		Runs:              5,
		Scale:             1,
		Partitions:        []int32{1, 4, 16},
		ValueBytes:        []int{100, 1 << 10, 10 << 10},
		MainPartitions:    4,
		LatencyRate:       10_000,
		LatencyDuration:   4 * time.Second,
		ProcessPartitions: 10,
		Python:            "/usr/bin/python3",
	}
}

// recordCount is how many records a throughput run copies for a value
// size: half a second or more of copying at the baseline's speed here
// (650k records/s of 100 B), long enough for the 2 ms sampling and the
// ramp-up of the partitions' actors to stay within a few percent. Large
// values get two seconds or more (≈200k and 30k records/s): shorter windows
// of them swung twofold from run to run, one garbage collection of the
// broker's stored records weighing on a single run.
func (o *Options) recordCount(valueBytes int) int {
	n := 400_000
	switch {
	case valueBytes >= 8<<10:
		n = 64_000
	case valueBytes >= 1<<10:
		n = 400_000
	}
	return max(int(float64(n)*o.Scale), 100)
}

type harness struct {
	opts Options
	env  *env
	work string // generated configs
	rep  *Report
}

// Run measures everything and returns the report. A figure that could not
// be measured is reported with its error; Run itself fails only when the
// harness cannot start.
func Run(ctx context.Context, o Options) (*Report, error) {
	d := DefaultOptions()
	if o.Runs <= 0 {
		o.Runs = d.Runs
	}
	if o.Scale <= 0 {
		o.Scale = d.Scale
	}
	if len(o.Partitions) == 0 {
		o.Partitions = d.Partitions
	}
	if len(o.ValueBytes) == 0 {
		o.ValueBytes = d.ValueBytes
	}
	if o.MainPartitions <= 0 {
		o.MainPartitions = d.MainPartitions
	}
	if o.LatencyRate <= 0 {
		o.LatencyRate = d.LatencyRate
	}
	if o.LatencyDuration <= 0 {
		o.LatencyDuration = d.LatencyDuration
	}
	if o.ProcessPartitions <= 0 {
		o.ProcessPartitions = d.ProcessPartitions
	}
	if o.Python == "" {
		o.Python = d.Python
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if _, err := os.Stat(o.PluginsDir + "/forward.wasm"); err != nil {
		return nil, fmt.Errorf("the forward plugin: %w (run `make plugins`)", err)
	}
	work, err := os.MkdirTemp("", "wasmhost-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	e, err := newEnv(ctx)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	defer e.close()
	h := &harness{opts: o, env: e, work: work, rep: newReport(o)}
	start := time.Now()
	if o.runs("throughput") {
		h.throughput(ctx)
	}
	if o.runs("latency") {
		h.latency(ctx)
	}
	if o.runs("process") {
		h.process(ctx)
	}
	if o.runs("original") {
		h.original(ctx)
	}
	h.boundary()
	h.rep.Seconds = time.Since(start).Seconds()
	return h.rep, ctx.Err()
}

func (h *harness) progress(format string, args ...any) {
	fmt.Fprintf(h.opts.Progress, format+"\n", args...)
}

// Kinds of copier.
const (
	kindBaseline = "baseline"
	kindWasmhost = "wasmhost"
)

// throughput runs the scaling grid; on the main shape it also runs the
// at-most-once and exactly-once pipelines, reported after the grid.
func (h *harness) throughput(ctx context.Context) {
	var guarantees []*Figure
	for _, parts := range h.opts.Partitions {
		for _, size := range h.opts.ValueBytes {
			if ctx.Err() != nil {
				return
			}
			r := records{Partitions: parts, Count: h.opts.recordCount(size), ValueBytes: size}
			main := parts == h.opts.MainPartitions && size == 100
			guarantees = append(guarantees, h.shape(ctx, r, main)...)
		}
	}
	for _, f := range guarantees {
		h.rep.add(f)
	}
}

// shape fills one input topic and copies it with each copier, the runs of
// the baseline and of wasmhost interleaved so that a burst of load from
// elsewhere on the machine does not favour one of them. On the main shape
// it returns the figures of the three guarantees.
func (h *harness) shape(ctx context.Context, r records, main bool) []*Figure {
	in := h.env.name("in")
	defer h.env.drop([]string{in}, nil)
	alo := &Figure{Section: "throughput, at-least-once", Name: fmt.Sprintf("%s, %s values", partitions(r.Partitions), byteSize(r.ValueBytes)),
		Unit: "records/s", Higher: true}
	if main {
		alo.Target = &Target{Ratio: 0.8, Of: kindBaseline}
	}
	defer h.rep.add(alo)
	if err := h.env.createTopic(ctx, in, r.Partitions); err != nil {
		alo.Err = err.Error()
		return nil
	}
	if err := h.env.fill(ctx, in, r); err != nil {
		alo.Err = err.Error()
		return nil
	}
	section := fmt.Sprintf("guarantees, %s, %s values", partitions(r.Partitions), byteSize(r.ValueBytes))
	amo := &Figure{Section: section, Name: "at-most-once", Unit: "records/s", Higher: true}
	eos := &Figure{Section: section, Name: "exactly-once", Unit: "records/s", Higher: true}
	stateful := &Figure{Section: section, Name: "stateful counter, exactly-once", Unit: "records/s", Higher: true}
	type copier struct {
		kind   string
		g      config.Guarantee
		fig    *Figure
		plugin string // "" = forward
	}
	copiers := []copier{{kindBaseline, config.AtLeastOnce, alo, ""}, {kindWasmhost, config.AtLeastOnce, alo, ""}}
	if main {
		copiers = append(copiers, copier{kindWasmhost, config.AtMostOnce, amo, ""}, copier{kindWasmhost, config.ExactlyOnce, eos, ""})
		if h.opts.StatefulPlugin != "" {
			path, err := filepath.Abs(h.opts.StatefulPlugin)
			if err == nil {
				_, err = os.Stat(path)
			}
			if err != nil {
				stateful.Err = fmt.Sprintf("the counter example: %v (make bench builds it)", err)
			}
			copiers = append(copiers, copier{kindWasmhost, config.ExactlyOnce, stateful, path})
		}
	}
	// One untimed copy first: the first copy after a fill ran at a third
	// of the speed of the later ones (the process's heap and pages still
	// growing), whichever copier it was.
	if _, err := h.copyRun(ctx, kindBaseline, config.AtLeastOnce, "", in, r, false); err != nil {
		h.progress("warm-up   %s: %v", r, err)
	}
	for run := range h.opts.Runs {
		order := slices.Clone(copiers)
		if run%2 == 1 {
			// Every other run, wasmhost copies first: whichever copier
			// runs right after the fill, or after the other, is not
			// always the same one.
			order[0], order[1] = order[1], order[0]
		}
		for _, c := range order {
			if c.fig.Err != "" {
				continue
			}
			// Exactly-once output is read back and checked (the counter
			// produces nothing without ticks: its progress is the
			// committed offsets).
			rate, err := h.copyRun(ctx, c.kind, c.g, c.plugin, in, r, c.g == config.ExactlyOnce && c.plugin == "")
			h.progress("%-9s %-14s %s run %d: %s", c.kind, c.g, r, run+1, rateOrErr(rate, err))
			if errors.Is(err, errNotImplemented) {
				c.fig.Err = err.Error()
				continue
			}
			c.fig.recordRate(c.kind, rate, err)
		}
	}
	if !main {
		return nil
	}
	same := &Figure{Section: section, Name: "at-least-once", Unit: "records/s", Higher: true,
		BaselineRuns: alo.BaselineRuns, WasmhostRuns: alo.WasmhostRuns, RunErrors: alo.RunErrors, Target: alo.Target,
		BaselineCPURuns: alo.BaselineCPURuns, WasmhostCPURuns: alo.WasmhostCPURuns}
	for _, f := range []*Figure{amo, eos, stateful} {
		f.BaselineRuns, f.BaselineCPURuns = alo.BaselineRuns, alo.BaselineCPURuns
	}
	eos.Target = &Target{Ratio: 0.5, Of: "at-least-once", Value: median(alo.WasmhostRuns), CPUValue: median(alo.WasmhostCPURuns)}
	if h.opts.StatefulPlugin == "" {
		return []*Figure{same, amo, eos}
	}
	stateful.Target = &Target{Ratio: 0.5, Of: "exactly-once", Value: median(eos.WasmhostRuns), CPUValue: median(eos.WasmhostCPURuns)}
	return []*Figure{same, amo, eos, stateful}
}

// errNotImplemented marks a guarantee the pipeline does not provide yet.
var errNotImplemented = errors.New("not implemented")

// copyRun copies the input topic once to a new output topic with a new
// group and returns the records/s. verify reads the output back afterwards
// and checks it holds every record once, each written in a transaction
// (exactly-once).
func (h *harness) copyRun(ctx context.Context, kind string, g config.Guarantee, plugin, in string, r records, verify bool) (copyRate, error) {
	out, group := h.env.name("out"), h.env.name("group")
	defer h.env.drop([]string{out}, []string{group})
	if err := h.env.createTopic(ctx, out, r.Partitions); err != nil {
		return copyRate{}, err
	}
	// Collect the garbage of the fill and of the last run (the broker's
	// dropped topics) now, so that no copier pays for its predecessor's.
	runtime.GC()
	var stop func() error
	switch kind {
	case kindBaseline:
		c, err := startCopyLoop([]string{h.env.addr}, group, in, out)
		if err != nil {
			return copyRate{}, err
		}
		stop = c.stop
		if stop, err = h.profiled(kind, r, stop); err != nil {
			return copyRate{}, err
		}
	default:
		d, err := h.startDaemon(ctx, pipelineSpec{in: in, out: out, group: group, guarantee: g, plugin: plugin})
		if err != nil {
			return copyRate{}, err
		}
		stop = d.stop
		if g == config.AtLeastOnce {
			if stop, err = h.profiled(kind, r, stop); err != nil {
				return copyRate{}, err
			}
		}
	}
	// The output's high-water mark counts records; under exactly-once it
	// also counts transaction markers, so progress is the committed
	// offsets, which move with each transaction.
	count := func() (int64, error) { return h.env.highWater(out, r.Partitions) }
	if g == config.ExactlyOnce {
		count = func() (int64, error) { return h.env.committed(group, in, r.Partitions) }
	}
	rate, err := timeCopy(ctx, count, int64(r.Count), 30*time.Second)
	if serr := stop(); err == nil {
		err = serr
	}
	if !verify || ctx.Err() != nil {
		return rate, err
	}
	// Read the output back even when the timing failed: whether the
	// guarantee is implemented at all matters more than one run's rate.
	c, verr := h.env.readOutput(ctx, out, r.Count, 2*time.Second)
	switch {
	case verr != nil:
		return rate, errors.Join(err, verr)
	case c.records > 0 && c.transactional == 0:
		return copyRate{}, fmt.Errorf("%w: the pipeline wrote its %d output records outside any transaction", errNotImplemented, c.records)
	case err != nil:
		return rate, err
	}
	return rate, c.exactlyOnce(r.Count)
}

func rateOrErr(rate copyRate, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%.0f records/s, %.0f per CPU-second", rate.perSecond, rate.perCPUSecond)
}

// hostInfo describes the machine for the report.
func hostInfo() (string, int) {
	return runtime.GOOS + "/" + runtime.GOARCH + " " + runtime.Version(), runtime.NumCPU()
}

// profiled starts the CPU profile of a run when Options.CPUProfile is set
// and returns stop extended to stop it too; on error it has called stop.
func (h *harness) profiled(kind string, r records, stop func() error) (func() error, error) {
	if h.opts.CPUProfile == "" {
		return stop, nil
	}
	stopProfile, err := startProfile(fmt.Sprintf("%s-%s-%dp-%dB.pprof", h.opts.CPUProfile, kind, r.Partitions, r.ValueBytes))
	if err != nil {
		_ = stop()
		return nil, err
	}
	return func() error { stopProfile(); return stop() }, nil
}

// startProfile starts the CPU profile; the function returned stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
)

// originalPy is the original design without Ray: a Python consumer loop on
// librdkafka (see the script's docstring).
//
//go:embed original.py
var originalPy []byte

// Kinds of copier in the original-design comparison.
const (
	kindPython      = "python"        // the original design's loop, one poll() per record
	kindPythonTuned = "python, tuned" // the same loop polling 1,000 records a call
	kindSubprocess  = "wasmhost process"
)

// originalRecords is how many records the original-design comparison
// copies: enough that neither process's start-up matters. However small
// Options.Scale, it copies at least originalMin, so that the CPU time of
// each process, counted in 10 ms ticks, moves during the copy.
const (
	originalRecords = 1_000_000
	originalMin     = 50_000
)

// original runs the original design (originalPy) and the wasmhost binary,
// each as its own process, alternately on the same pre-filled topic of JSON
// records, and compares their rates and the CPU time each process used per
// record. The Python loop is the baseline of both figures.
func (h *harness) original(ctx context.Context) {
	r := records{Partitions: h.opts.MainPartitions, Count: max(int(originalRecords*h.opts.Scale), originalMin), ValueBytes: 100, JSON: true}
	section := fmt.Sprintf("the original design (Python loop on librdkafka) as the baseline, %s, %s JSON values", partitions(r.Partitions), byteSize(r.ValueBytes))
	rate := &Figure{Section: section, Name: fmt.Sprintf("%d records, forward at-least-once", r.Count), Unit: "records/s", Higher: true,
		Target: &Target{Ratio: 3.5, Of: kindBaseline}}
	cpu := &Figure{Section: section, Name: "CPU time per record", Unit: "µs/record"}
	// The same comparison against the loop tuned to poll in batches, so
	// that the row does not rest on a slow baseline.
	tuned := "the original design tuned (Python loop polling 1,000 records a call) as the baseline"
	rateTuned := &Figure{Section: tuned, Name: rate.Name, Unit: "records/s", Higher: true}
	cpuTuned := &Figure{Section: tuned, Name: cpu.Name, Unit: "µs/record"}
	figures := []*Figure{rate, cpu, rateTuned, cpuTuned}
	defer func() {
		for _, f := range figures {
			h.rep.add(f)
		}
	}()
	fail := func(err error) {
		for _, f := range figures {
			f.Err = err.Error()
		}
	}
	script, err := h.pythonScript()
	if err != nil {
		h.progress("original  skipped: %v", err)
		fail(err)
		return
	}
	bin, err := h.daemonBinary(ctx)
	if err != nil {
		fail(err)
		return
	}
	in := h.env.name("orig-in")
	defer h.env.drop([]string{in}, nil)
	if err := h.env.createTopic(ctx, in, r.Partitions); err != nil {
		fail(err)
		return
	}
	if err := h.env.fill(ctx, in, r); err != nil {
		fail(err)
		return
	}
	for run := range h.opts.Runs {
		for _, kind := range []string{kindPython, kindPythonTuned, kindSubprocess} {
			if ctx.Err() != nil {
				return
			}
			res, err := h.originalRun(ctx, kind, bin, script, in, r)
			h.progress("%-16s %s run %d: %s", kind, r, run+1, rateOrErr(res, err))
			pairs := [][2]*Figure{{rate, cpu}, {rateTuned, cpuTuned}} // wasmhost is in both
			k := kindWasmhost
			switch kind {
			case kindPython:
				k, pairs = kindBaseline, pairs[:1]
			case kindPythonTuned:
				k, pairs = kindBaseline, pairs[1:]
			}
			for _, p := range pairs {
				p[0].record(k, res.perSecond, err)
				if err == nil {
					p[1].record(k, 1e6/res.perCPUSecond, nil)
				}
			}
		}
	}
}

// pythonScript checks that the Python interpreter imports confluent_kafka
// and writes the original design's script to the work directory.
func (h *harness) pythonScript() (string, error) {
	out, err := exec.Command(h.opts.Python, "-c", "import confluent_kafka").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s cannot import confluent_kafka (run scripts/setup-python-kafka.sh): %v: %s",
			h.opts.Python, err, strings.TrimSpace(string(out)))
	}
	path := filepath.Join(h.work, "original.py")
	return path, os.WriteFile(path, originalPy, 0o644)
}

// originalRun copies the input to a new topic with one copier process and
// returns its rate and records per CPU-second of that process.
func (h *harness) originalRun(ctx context.Context, kind, bin, script, in string, r records) (copyRate, error) {
	out, group := h.env.name("orig-out"), h.env.name("group")
	defer h.env.drop([]string{out}, []string{group})
	if err := h.env.createTopic(ctx, out, r.Partitions); err != nil {
		return copyRate{}, err
	}
	var cmd *exec.Cmd
	switch kind {
	case kindPython:
		cmd = exec.Command(h.opts.Python, script, h.env.addr, in, out, group, "poll")
	case kindPythonTuned:
		cmd = exec.Command(h.opts.Python, script, h.env.addr, in, out, group, "batch")
	default:
		path, err := h.writeConfig(pipelineSpec{in: in, out: out, group: group, guarantee: config.AtLeastOnce}, "json")
		if err != nil {
			return copyRate{}, err
		}
		cmd = exec.Command(bin, "run", "--config", path)
	}
	return h.processCopy(ctx, cmd, out, r)
}

// processCopy starts cmd, a copier in its own process, and times its copy to
// out as timeCopy does, dividing by the CPU time the process (not the
// harness, which runs the broker) used in the same window. It stops the
// process with SIGTERM; a process that exits with an error fails the run.
func (h *harness) processCopy(ctx context.Context, cmd *exec.Cmd, out string, r records) (copyRate, error) {
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return copyRate{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	count := func() (int64, error) {
		select {
		case err := <-exited:
			exited <- err
			return 0, fmt.Errorf("the process exited: %v", err)
		default:
		}
		return h.env.highWater(out, r.Partitions)
	}
	rate, err := timeCopyOf(ctx, count, func() time.Duration { return procCPU(pid) }, int64(r.Count), 60*time.Second)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case werr := <-exited:
		if err == nil && werr != nil {
			err = fmt.Errorf("the process failed: %w", werr)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		if err == nil {
			err = errors.New("did not stop within 60s of SIGTERM; killed")
		}
	}
	if err != nil {
		return copyRate{}, fmt.Errorf("%w\n%s", err, logs.tail())
	}
	return rate, nil
}

// clockTicks is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on Linux for every architecture Go supports).
const clockTicks = 100

// procCPU is the user and system time process pid has used, all its threads
// together, from /proc/PID/stat; 0 when it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: the fields that
	// follow it start with the state (field 3); utime and stime are fields
	// 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

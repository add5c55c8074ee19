package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
)

// process runs the wasmhost binary as its own process on a pipeline with
// ProcessPartitions partitions (one plugin instance each): the time from
// exec to the first record copied, with a warm compilation cache, and the
// peak resident set once the input has been copied at full speed.
func (h *harness) process(ctx context.Context) {
	section := fmt.Sprintf("daemon process, %s", partitions(h.opts.ProcessPartitions))
	rss := &Figure{Section: section, Name: "peak RSS", Unit: "MiB", Target: &Target{Max: 256}}
	startup := &Figure{Section: section, Name: "start to first record, warm cache", Unit: "ms"}
	defer func() {
		h.rep.add(rss)
		h.rep.add(startup)
	}()
	fail := func(err error) {
		rss.Err, startup.Err = err.Error(), err.Error()
	}
	bin, err := h.daemonBinary(ctx)
	if err != nil {
		fail(err)
		return
	}
	r := records{Partitions: h.opts.ProcessPartitions, Count: max(int(100_000*h.opts.Scale), 100), ValueBytes: 100}
	in := h.env.name("proc-in")
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
		if ctx.Err() != nil {
			return
		}
		first, peak, err := h.processRun(ctx, bin, in, r)
		if err != nil {
			h.progress("process   run %d: error: %v", run+1, err)
		} else {
			h.progress("process   run %d: first record after %.0f ms, peak RSS %.1f MiB (%s)", run+1, ms(first), peak, r)
		}
		startup.record(kindWasmhost, ms(first), err)
		rss.record(kindWasmhost, peak, err)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warmCache compiles the plugin into the cache the way the daemon does, so
// the start-up figure is that of a restart.
func (h *harness) warmCache(ctx context.Context) error {
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: h.opts.CacheDir, Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(ctx) }()
	lim := config.DefaultPipeline().Limits
	p, err := rt.Load(ctx, host.LoadOptions{Name: "forward", Path: filepath.Join(h.opts.PluginsDir, "forward.wasm"), MemoryLimit: uint64(lim.Memory)})
	if err != nil {
		return err
	}
	return p.Close(ctx)
}

// processRun starts the daemon, times its first output record, waits for
// the whole input to be copied, reads its peak RSS and stops it with
// SIGTERM.
func (h *harness) processRun(ctx context.Context, bin, in string, r records) (time.Duration, float64, error) {
	out, group := h.env.name("proc-out"), h.env.name("group")
	defer h.env.drop([]string{out}, []string{group})
	if err := h.env.createTopic(ctx, out, r.Partitions); err != nil {
		return 0, 0, err
	}
	path, err := h.writeConfig(pipelineSpec{in: in, out: out, group: group, guarantee: config.AtLeastOnce}, "json")
	if err != nil {
		return 0, 0, err
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Stdout, cmd.Stderr = logs, logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("did not stop within 60s of SIGTERM; killed")
		}
	}
	defer func() { _ = stop() }()
	withLogs := func(err error) error { return fmt.Errorf("%w\n%s", err, logs.tail()) }

	var first time.Duration
	for first == 0 {
		n, err := h.env.highWater(out, r.Partitions)
		switch {
		case err != nil:
			return 0, 0, err
		case n > 0:
			first = time.Since(start)
			continue
		case time.Since(start) > 60*time.Second:
			return 0, 0, withLogs(errors.New("no record copied within 60s"))
		}
		select {
		case err := <-exited:
			return 0, 0, withLogs(fmt.Errorf("daemon exited: %v", err))
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	count := func() (int64, error) { return h.env.highWater(out, r.Partitions) }
	if _, _, err := watch(ctx, count, int64(r.Count), 60*time.Second); err != nil {
		return 0, 0, withLogs(err)
	}
	peak, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	if err := stop(); err != nil {
		return 0, 0, withLogs(fmt.Errorf("daemon stop: %w", err))
	}
	return first, peak, nil
}

// peakRSS reads VmHWM, the peak resident set, of a process in MiB.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peak RSS: VmHWM %q: %w", rest, err)
		}
		return float64(kb) / 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/PID/status")
}

// daemonBinary is the wasmhost binary's absolute path, once it is known to
// exist and the compilation cache it will read is warm.
func (h *harness) daemonBinary(ctx context.Context) (string, error) {
	bin, err := filepath.Abs(h.opts.Binary)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return "", fmt.Errorf("the wasmhost binary: %w (run `make build`)", err)
	}
	if err := h.warmCache(ctx); err != nil {
		return "", fmt.Errorf("warming the compilation cache: %w", err)
	}
	return bin, nil
}

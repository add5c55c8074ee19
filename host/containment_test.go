package host_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Runaway calls without a loop: branching recursion makes 2^n calls within
// any depth limit. Each attack is a hand-assembled module; its WAT is in the
// comment of the function that builds it.

// recursionDepth makes 2^60 calls: forever.
const recursionDepth = 60

// branching adds to m
//
//	(func $f (param i32) (if (local.get 0) (then
//	  (call $f (i32.sub (local.get 0) (i32.const 1)))
//	  (call $f (i32.sub (local.get 0) (i32.const 1))))))
//
// and returns $f's index. With via set, each call goes through that
// function instead (mutual recursion).
func branching(m *wt.Module, via func(self uint32) wt.Code) uint32 {
	self := m.FuncCount()
	call := func(c *wt.Code) *wt.Code { return c.Call(self) }
	if via != nil {
		helper := self + 1
		call = func(c *wt.Code) *wt.Code { return c.Call(helper) }
	}
	body := new(wt.Code).LocalGet(0).If()
	call(body.LocalGet(0).I32Const(1).I32Sub())
	call(body.LocalGet(0).I32Const(1).I32Sub())
	f := m.Func([]byte{wt.I32}, nil, nil, body.EndBlock().End())
	if via != nil {
		m.Func([]byte{wt.I32}, nil, nil, via(self))
	}
	return f
}

// direct is the attack of issue 12 itself.
func direct(m *wt.Module) uint32 { return branching(m, nil) }

// mutual: $f calls $g, which calls $f.
//
//	(func $g (param i32) (call $f (local.get 0)))
func mutual(m *wt.Module) uint32 {
	return branching(m, func(f uint32) wt.Code { return new(wt.Code).LocalGet(0).Call(f).End() })
}

// indirect: $f calls $g, which calls $f through the table.
//
//	(table 1 funcref) (elem (i32.const 0) $f)
//	(func $g (param i32) (call_indirect (param i32) (local.get 0) (i32.const 0)))
func indirect(m *wt.Module) uint32 {
	typ := m.Type([]byte{wt.I32}, nil)
	f := branching(m, func(uint32) wt.Code {
		return new(wt.Code).LocalGet(0).I32Const(0).Op(0x11).Op(wt.U32(typ)...).Op(0).End()
	})
	m.Table(1)
	m.Elem(0, f)
	return f
}

// recurse is code calling f with recursionDepth.
func recurse(f uint32) *wt.Code { return new(wt.Code).I32Const(recursionDepth).Call(f) }

// recursionPlugin is a plugin whose on_batch and on_tick recurse.
func recursionPlugin(shape func(*wt.Module) uint32) *wt.Module {
	m := &wt.Module{}
	exportMemory(m)
	exportABIVersion(m)
	f := shape(m)
	exportOnBatch(m, recurse(f).I32Const(0).End())
	m.Export(abi.ExportOnTick, wt.KindFunc, m.Func([]byte{wt.I64}, []byte{wt.I32}, nil, recurse(f).I32Const(0).End()))
	return m
}

// stopsInTime fails t unless err is a timeout named for fn that came within
// a bound of the time limit.
func stopsInTime(t *testing.T, began time.Time, err error, fn string) {
	t.Helper()
	if !errors.Is(err, host.ErrTimeout) || !strings.Contains(err.Error(), fn+": plugin call timed out") {
		t.Fatalf("err = %v; want ErrTimeout in %s", err, fn)
	}
	// Generous for a shared machine: an unstopped call runs for ever.
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("stopped after %s", d)
	}
}

var recursionShapes = []struct {
	name  string
	shape func(*wt.Module) uint32
}{
	{"direct", direct}, {"mutual", mutual}, {"call_indirect", indirect},
}

// TestBranchingRecursionIsStopped: recursion that never goes deep but never
// ends is stopped at the time limit in a handler and in a tick, whatever
// way the calls are made.
func TestBranchingRecursionIsStopped(t *testing.T) {
	rt := newRuntime(t)
	for _, s := range recursionShapes {
		t.Run(s.name, func(t *testing.T) {
			p, err := loadWasm(t, rt, recursionPlugin(s.shape), host.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			limits := host.Limits{CallTimeout: 200 * time.Millisecond}
			inst := instantiate(t, p, host.InstanceOptions{Limits: limits})
			began := time.Now()
			_, err = inst.HandleBatch(context.Background(), batchOf("x"))
			stopsInTime(t, began, err, abi.ExportOnBatch)
			inst = instantiate(t, p, host.InstanceOptions{Limits: limits})
			began = time.Now()
			_, err = inst.Tick(context.Background(), time.Now())
			stopsInTime(t, began, err, abi.ExportOnTick)
		})
	}
}

// TestRecursionAtLoadIsStopped: the same recursion in _initialize or the
// start section is stopped at the load's time limit (the probe of plugin
// test and inspect, a reload), and at an instance's.
func TestRecursionAtLoadIsStopped(t *testing.T) {
	rt := newRuntime(t)
	inInit := &wt.Module{}
	exportMemory(inInit)
	exportABIVersion(inInit)
	exportOnBatch(inInit, new(wt.Code).I32Const(0).End())
	inInit.Export(abi.ExportInitialize, wt.KindFunc, inInit.Func(nil, nil, nil, recurse(mutual(inInit)).End()))
	inStart := plugin(new(wt.Code).I32Const(0).End())
	inStart.Start(inStart.Func(nil, nil, nil, recurse(indirect(inStart)).End()))
	for _, c := range []struct {
		name string
		m    *wt.Module
		fn   string
	}{
		{"_initialize", inInit, abi.ExportInitialize},
		{"start", inStart, "start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			began := time.Now()
			_, err := loadWasm(t, rt, c.m, host.LoadOptions{CallTimeout: 200 * time.Millisecond})
			stopsInTime(t, began, err, c.fn)
			// plugin inspect runs the same probe, with the same limit.
			began = time.Now()
			in, err := rt.Inspect(context.Background(), host.LoadOptions{Path: writeWasm(t, c.m), CallTimeout: 200 * time.Millisecond})
			if err != nil || len(in.Problems) == 0 || !strings.Contains(in.Problems[0], "plugin hand (") ||
				!strings.Contains(in.Problems[0], c.fn+": plugin call timed out: stopped after 200ms") {
				t.Fatalf("inspect: %v %+v", err, in)
			}
			if d := time.Since(began); d > 10*time.Second {
				t.Fatalf("inspect stopped after %s", d)
			}
		})
	}
}

// tableGrow is table.grow of table 0 by the count on the stack, null
// entries: (table.grow 0 (ref.null func) (count)).
func tableGrow(c *wt.Code, count int32) *wt.Code {
	return c.Op(0xd0, 0x70).I32Const(count).Op(0xfc, 15, 0)
}

// TestTablesAreBounded: tables live outside the memory limit (8 bytes an
// entry in wazero), so their size is bounded on its own: a module declaring
// a huge table is refused at load, and table.grow past the bound fails in
// the guest, as memory.grow does past the memory limit.
func TestTablesAreBounded(t *testing.T) {
	rt := newRuntime(t)
	huge := plugin(new(wt.Code).I32Const(0).End())
	huge.Table(100_000_000) // (table 100000000 funcref): 800 MB an instance
	_, err := loadWasm(t, rt, huge, host.LoadOptions{})
	if !errors.Is(err, host.ErrInvalidPlugin) || !strings.Contains(err.Error(), "over the limit of 1048576") {
		t.Fatalf("a table of 10^8 entries: %v", err)
	}
	// (if (i32.ne (table.grow (ref.null func) (i32.const 10000000)) (i32.const -1)) (unreachable))
	// then grow by 1000 until it fails: both must end, and fail.
	grow := plugin(tableGrow(new(wt.Code), 10_000_000).I32Const(-1).Op(0x47).If().Unreachable().EndBlock().
		// (loop (br_if 0 (i32.ne (table.grow (ref.null func) (i32.const 1000)) (i32.const -1))))
		Loop().Op(0xd0, 0x70).I32Const(1000).Op(0xfc, 15, 0).I32Const(-1).Op(0x47).BrIf(0).EndBlock().
		I32Const(0).End())
	grow.Table(1)
	p, err := loadWasm(t, rt, grow, host.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inst := instantiate(t, p, host.InstanceOptions{Limits: host.Limits{CallTimeout: 30 * time.Second}})
	if _, err := inst.HandleBatch(context.Background(), batchOf("x")); err != nil {
		t.Fatalf("table.grow past the bound did not fail in the guest: %v", err)
	}
}

// TestSleepPastTheDeadlineIsATimeout: a call asleep in poll_oneoff is woken
// at its deadline, and the call fails as timed out instead of going on.
func TestSleepPastTheDeadlineIsATimeout(t *testing.T) {
	m := &wt.Module{}
	poll := m.ImportFunc("wasi_snapshot_preview1", "poll_oneoff", []byte{wt.I32, wt.I32, wt.I32, wt.I32}, []byte{wt.I32})
	exportMemory(m)
	exportABIVersion(m)
	// One subscription at 0: userdata 0, tag 0 (clock), clock id 1
	// (monotonic) at 16, timeout at 24: an hour, relative.
	sub := make([]byte, 48)
	sub[16] = 1
	binary.LittleEndian.PutUint64(sub[24:], uint64(time.Hour))
	m.Data(0, sub)
	// (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))) (i32.const 0)
	exportOnBatch(m, new(wt.Code).I32Const(0).I32Const(64).I32Const(1).I32Const(128).Call(poll).Drop().I32Const(0).End())
	p, err := loadWasm(t, newRuntime(t), m, host.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inst := instantiate(t, p, host.InstanceOptions{Limits: host.Limits{CallTimeout: 200 * time.Millisecond}})
	began := time.Now()
	_, err = inst.HandleBatch(context.Background(), batchOf("x"))
	stopsInTime(t, began, err, abi.ExportOnBatch)
}

// countingWriter counts the bytes and lines written to it.
type countingWriter struct {
	mu           sync.Mutex
	bytes, lines int
	warnings     int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.bytes += len(p)
	w.lines++
	if strings.Contains(string(p), "over the rate limit") {
		w.warnings++
	}
	return len(p), nil
}

// TestLogFloodIsRateLimited: a plugin calling log with 64 KiB lines in a
// loop writes at most the instance's rate to the daemon's log; the rest is
// dropped, counted, and warned about once a second.
func TestLogFloodIsRateLimited(t *testing.T) {
	const calls = 2000
	m := &wt.Module{}
	logf := m.ImportFunc(abi.ModuleName, abi.FuncLog, []byte{wt.I32, wt.I32, wt.I32}, []byte{wt.I32})
	exportMemory(m)
	exportABIVersion(m)
	// (local $n i32) (loop (drop (call $log (i32.const 1) (i32.const 0) (i32.const 65536)))
	//   (local.set $n (i32.add (local.get $n) (i32.const 1)))
	//   (br_if 0 (i32.ne (local.get $n) (i32.const calls)))) (i32.const 0)
	m.Export(abi.ExportOnBatch, wt.KindFunc, m.Func([]byte{wt.I32, wt.I32}, []byte{wt.I32}, []byte{wt.I32}, new(wt.Code).
		Loop().I32Const(1).I32Const(0).I32Const(65536).Call(logf).Drop().
		LocalGet(2).I32Const(1).I32Add().LocalSet(2).
		LocalGet(2).I32Const(calls).Op(0x47).BrIf(0).EndBlock().I32Const(0).End()))
	p, err := loadWasm(t, newRuntime(t), m, host.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out countingWriter
	var dropped atomic.Uint64
	inst := instantiate(t, p, host.InstanceOptions{Logger: zerolog.New(&out), DroppedLines: &dropped})
	began := time.Now()
	if _, err := inst.HandleBatch(context.Background(), batchOf("x")); err != nil {
		t.Fatal(err)
	}
	seconds := int(time.Since(began)/time.Second) + 1
	out.mu.Lock()
	defer out.mu.Unlock()
	// Per second begun: 64 KiB of lines plus each line's JSON envelope,
	// and one warning.
	if limit := seconds * (64<<10 + 100*200 + 400); out.bytes > limit {
		t.Errorf("%d bytes of log in %d seconds begun, over %d", out.bytes, seconds, limit)
	}
	if n := dropped.Load(); n < calls-uint64(seconds)*4 || n > calls {
		t.Errorf("%d lines counted as dropped of %d", n, calls)
	}
	if out.warnings < 1 || out.warnings > seconds {
		t.Errorf("%d warnings in %d seconds begun, want one a second", out.warnings, seconds)
	}
}

// TestCRecursionIsStopped: the same attack written in C (clang compiles
// it to calls, with no loop), directly and through a function pointer.
func TestCRecursionIsStopped(t *testing.T) {
	p := cPlugin(t, "runaway-c", host.LoadOptions{})
	for _, value := range []string{"recurse", "recurse-indirect"} {
		t.Run(value, func(t *testing.T) {
			inst := instantiate(t, p, host.InstanceOptions{Limits: host.Limits{CallTimeout: 200 * time.Millisecond}})
			began := time.Now()
			_, err := inst.HandleBatch(context.Background(), batchOf(value))
			stopsInTime(t, began, err, abi.ExportOnBatch)
		})
	}
}

// vmSize is the process's virtual memory size in KiB.
func vmSize(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int
		if _, err := fmt.Sscanf(l, "VmSize: %d kB", &kb); err == nil {
			return kb
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}

// TestMemoryIsReturnedWhenAnInstanceExitsInACall: an instance closed under
// its own call (proc_exit) gives its memory mapping back once the call has
// returned, so a plugin exiting on every record leaks nothing.
func TestMemoryIsReturnedWhenAnInstanceExitsInACall(t *testing.T) {
	m := &wt.Module{}
	procExit := m.ImportFunc("wasi_snapshot_preview1", "proc_exit", []byte{wt.I32}, nil)
	exportMemory(m)
	exportABIVersion(m)
	// Touch the memory first, so that a leak would show in RSS too.
	exportOnBatch(m, new(wt.Code).I32Const(100).I32Const(7).I32Store(0).I32Const(3).Call(procExit).I32Const(0).End())
	p, err := loadWasm(t, newRuntime(t), m, host.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		inst, err := p.Instantiate(context.Background(), host.InstanceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inst.HandleBatch(context.Background(), batchOf("x")); !errors.Is(err, host.ErrTrap) {
			t.Fatalf("proc_exit: %v", err)
		}
		_ = inst.Close(context.Background())
	}
	run() // the first instance may map what later ones reuse
	before := vmSize(t)
	for range 50 {
		run()
	}
	// Each instance maps its 64 MiB limit: 50 leaks would be 3.2 GiB.
	if after := vmSize(t); after > before+(256<<10) {
		t.Fatalf("virtual memory grew from %d to %d KiB over 50 instances that exited in a call", before, after)
	}
}

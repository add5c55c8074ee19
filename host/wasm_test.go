package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/host"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Hand-assembled plugins, for attacks Go cannot express.

func exportMemory(m *wt.Module) {
	m.Memory(1, -1)
	m.Export(abi.ExportMemory, wt.KindMemory, 0)
}

func exportABIVersion(m *wt.Module) {
	m.Export(abi.ExportABIVersion, wt.KindFunc, m.Func(nil, []byte{wt.I32}, nil, new(wt.Code).I32Const(abi.Version).End()))
}

func exportOnBatch(m *wt.Module, body wt.Code) {
	m.Export(abi.ExportOnBatch, wt.KindFunc, m.Func([]byte{wt.I32, wt.I32}, []byte{wt.I32}, nil, body))
}

// plugin is a valid plugin whose on_batch runs body.
func plugin(body wt.Code) *wt.Module {
	m := &wt.Module{}
	exportMemory(m)
	exportABIVersion(m)
	exportOnBatch(m, body)
	return m
}

func writeWasm(t testing.TB, m *wt.Module) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hand.wasm")
	if err := os.WriteFile(path, m.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadWasm(t *testing.T, rt *host.Runtime, m *wt.Module, o host.LoadOptions) (*host.Plugin, error) {
	t.Helper()
	o.Name, o.Path = "hand", writeWasm(t, m)
	p, err := rt.Load(context.Background(), o)
	if err == nil {
		t.Cleanup(func() { _ = p.Close(context.Background()) })
	}
	return p, err
}

// TestHandWrittenRunaways: loops and recursion in hand-written code, where
// no Go runtime helps, are stopped or trap; the instance is broken.
func TestHandWrittenRunaways(t *testing.T) {
	rt := newRuntime(t)
	spin := new(wt.Code).Loop().Br(0).EndBlock().I32Const(0).End()
	// A loop that only calls a function that loops: two loop headers.
	inner := &wt.Module{}
	exportMemory(inner)
	exportABIVersion(inner)
	f := inner.Func(nil, nil, nil, new(wt.Code).Loop().I32Const(1).BrIf(0).EndBlock().End())
	exportOnBatch(inner, new(wt.Code).Loop().Call(f).Br(0).EndBlock().I32Const(0).End())
	recursion := &wt.Module{}
	exportMemory(recursion)
	rec := recursion.Func(nil, nil, nil, new(wt.Code).Call(0).End()) // calls itself
	exportABIVersion(recursion)
	exportOnBatch(recursion, new(wt.Code).Call(rec).I32Const(0).End())
	exit := &wt.Module{}
	procExit := exit.ImportFunc("wasi_snapshot_preview1", "proc_exit", []byte{wt.I32}, nil)
	exportMemory(exit)
	exportABIVersion(exit)
	exportOnBatch(exit, new(wt.Code).I32Const(3).Call(procExit).I32Const(0).End())

	for _, c := range []struct {
		name    string
		m       *wt.Module
		timeout time.Duration
		is      error
		says    string
	}{
		{"spin", plugin(spin), 200 * time.Millisecond, host.ErrTimeout, "stopped after 200ms"},
		{"nested", inner, 200 * time.Millisecond, host.ErrTimeout, "stopped after 200ms"},
		{"recursion", recursion, 30 * time.Second, host.ErrTrap, "call stack deeper than 1048576 slots"},
		{"proc_exit", exit, 30 * time.Second, host.ErrTrap, "exited with code 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := loadWasm(t, rt, c.m, host.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			inst := instantiate(t, p, host.InstanceOptions{Limits: host.Limits{CallTimeout: c.timeout}})
			_, err = inst.HandleBatch(context.Background(), batchOf("x"))
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) || !inst.Broken() {
				t.Fatalf("err = %v, broken = %v; want %v saying %q", err, inst.Broken(), c.is, c.says)
			}
		})
	}
}

// TestHandWrittenTickAndStartAreLimited: a tick handler and a start section
// run under the time limit too.
func TestHandWrittenTickAndStartAreLimited(t *testing.T) {
	rt := newRuntime(t)
	tick := &wt.Module{}
	exportMemory(tick)
	exportABIVersion(tick)
	tick.Export(abi.ExportOnTick, wt.KindFunc, tick.Func([]byte{wt.I64}, []byte{wt.I32}, nil,
		new(wt.Code).Loop().Br(0).EndBlock().I32Const(0).End()))
	p, err := loadWasm(t, rt, tick, host.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inst := instantiate(t, p, host.InstanceOptions{Limits: host.Limits{CallTimeout: 200 * time.Millisecond}})
	if _, err := inst.Tick(context.Background(), time.Now()); !errors.Is(err, host.ErrTimeout) || !inst.Broken() {
		t.Fatalf("tick: %v", err)
	}

	start := plugin(new(wt.Code).I32Const(0).End())
	start.Start(start.Func(nil, nil, nil, new(wt.Code).Loop().Br(0).EndBlock().End()))
	began := time.Now()
	_, err = loadWasm(t, rt, start, host.LoadOptions{CallTimeout: 200 * time.Millisecond})
	if !errors.Is(err, host.ErrTimeout) || !strings.Contains(err.Error(), "start: plugin call timed out") {
		t.Fatalf("load with a looping start section: %v", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("stopped after %s", d)
	}
}

// TestHandWrittenMemory: memory past the limit is refused at load, and
// memory.grow past it fails in the guest without harm.
func TestHandWrittenMemory(t *testing.T) {
	rt := newRuntime(t)
	huge := &wt.Module{}
	huge.Memory(2000, -1) // 125 MiB
	huge.Export(abi.ExportMemory, wt.KindMemory, 0)
	exportABIVersion(huge)
	exportOnBatch(huge, new(wt.Code).I32Const(0).End())
	if _, err := loadWasm(t, rt, huge, host.LoadOptions{MemoryLimit: 64 << 20}); !errors.Is(err, host.ErrInvalidPlugin) {
		t.Fatalf("memory of 2000 pages under a 1024-page limit: %v", err)
	}
	// grow(2000) must return -1: then return 0, else trap.
	grow := plugin(new(wt.Code).I32Const(2000).MemoryGrow().I32Const(-1).Op(0x46).
		If().I32Const(0).Return().EndBlock().Unreachable().End())
	p, err := loadWasm(t, rt, grow, host.LoadOptions{MemoryLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	inst := instantiate(t, p, host.InstanceOptions{})
	if _, err := inst.HandleBatch(context.Background(), batchOf("x")); err != nil {
		t.Fatalf("memory.grow past the limit: %v", err)
	}
}

// TestHandWrittenShapes: modules that do not fit the ABI are refused at
// load, before any of their code runs, saying what is wrong.
func TestHandWrittenShapes(t *testing.T) {
	rt := newRuntime(t)
	ok := wt.Code(new(wt.Code).I32Const(0).End())
	noMemory := &wt.Module{}
	exportABIVersion(noMemory)
	exportOnBatch(noMemory, ok)
	badExport := &wt.Module{}
	exportMemory(badExport)
	exportABIVersion(badExport)
	badExport.Export(abi.ExportOnBatch, wt.KindFunc, badExport.Func([]byte{wt.I64}, []byte{wt.I32}, nil, ok))
	badVersion := &wt.Module{}
	exportMemory(badVersion)
	badVersion.Export(abi.ExportABIVersion, wt.KindFunc, badVersion.Func(nil, []byte{wt.I64}, nil, new(wt.Code).I64Const(1).End()))
	exportOnBatch(badVersion, ok)
	noHandler := &wt.Module{}
	exportMemory(noHandler)
	exportABIVersion(noHandler)
	withImport := func(module, name string, params []byte) *wt.Module {
		m := &wt.Module{}
		m.ImportFunc(module, name, params, []byte{wt.I32})
		exportMemory(m)
		exportABIVersion(m)
		exportOnBatch(m, ok)
		return m
	}
	for _, c := range []struct {
		name string
		m    *wt.Module
		says string
	}{
		{"no memory export", noMemory, `does not export its memory as "memory"`},
		{"handler signature", badExport, "export wasmhost_on_batch has signature (i64) -> (i32), the ABI says (i32, i32) -> (i32)"},
		{"version signature", badVersion, "export wasmhost_abi_version has signature () -> (i64)"},
		{"no handler", noHandler, "exports neither wasmhost_on_batch nor wasmhost_on_tick"},
		{"host function signature", withImport(abi.ModuleName, abi.FuncProduce, []byte{wt.I32}), "imports wasmhost.produce with signature (i32) -> (i32), the ABI says (i32, i32, i32, i32) -> (i32): was it built for another ABI version? This host speaks version 2"},
		{"unknown host function", withImport(abi.ModuleName, "exec", nil), "imports wasmhost.exec, which this host does not provide"},
		{"unknown module", withImport("env", "system", []byte{wt.I32}), "imports env.system, which this host does not provide"},
		{"socket", withImport("wasi_snapshot_preview1", "sock_open", []byte{wt.I32, wt.I32, wt.I32}), "sock_open"},
		{"sandbox module", withImport("wasmhost:sandbox", "yield", nil), "reserved for the host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadWasm(t, rt, c.m, host.LoadOptions{})
			if !errors.Is(err, host.ErrInvalidPlugin) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v; want ErrInvalidPlugin saying %q", err, c.says)
			}
		})
	}
}

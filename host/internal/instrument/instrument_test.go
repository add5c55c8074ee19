package instrument_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/host/internal/instrument"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
)

var opts = instrument.Options{Module: "sandbox", Yield: "yield", Overflow: "overflow", Every: 10, MaxDepth: 1000}

// sample is a module that uses every place a function index can hide: an
// imported function and global, calls, a table filled by an element
// segment and called through, ref.func in a global initializer, a start
// function, exports and a name section. Its exports:
//
//	sum(n) = 0+1+...+(n-1), in a loop
//	indirect(i) = table[i](), the table holding seven and eight
//	twice(x) = env.double(x), the import
//	started() = 1 if the start function ran
//	boom() traps in a function named "boom"
func sample() []byte {
	var m wt.Module
	double := m.ImportFunc("env", "double", []byte{wt.I32}, []byte{wt.I32})
	m.ImportGlobal("envg", "base", wt.I32)
	m.Memory(1, -1)
	started := m.Global(wt.I32, true, new(wt.Code).I32Const(0).End()) + 1 // after the imported global
	seven := m.Func(nil, []byte{wt.I32}, nil, new(wt.Code).I32Const(7).End())
	eight := m.Func(nil, []byte{wt.I32}, nil, new(wt.Code).I32Const(8).End())
	m.Global(wt.FuncRef, false, new(wt.Code).Op(0xd2).Op(wt.U32(eight)...).End()) // ref.func
	sum := m.Func([]byte{wt.I32}, []byte{wt.I32}, []byte{wt.I32, wt.I32}, new(wt.Code).
		Block().Loop().
		LocalGet(1).LocalGet(0).Op(0x4e).BrIf(1). // i >= n: out
		LocalGet(2).LocalGet(1).I32Add().LocalSet(2).
		LocalGet(1).I32Const(1).I32Add().LocalSet(1).
		Br(0).EndBlock().EndBlock().
		LocalGet(2).End())
	typ := m.Type(nil, []byte{wt.I32})
	indirect := m.Func([]byte{wt.I32}, []byte{wt.I32}, nil, new(wt.Code).
		LocalGet(0).Op(0x11).Op(wt.U32(typ)...).Op(0).End()) // call_indirect
	twice := m.Func([]byte{wt.I32}, []byte{wt.I32}, nil, new(wt.Code).LocalGet(0).Call(double).End())
	start := m.Func(nil, nil, nil, new(wt.Code).I32Const(1).GlobalSet(started).End())
	isStarted := m.Func(nil, []byte{wt.I32}, nil, new(wt.Code).GlobalGet(started).End())
	boom := m.Func(nil, nil, nil, new(wt.Code).Unreachable().End())
	m.Table(2)
	m.Elem(0, seven, eight)
	m.Start(start)
	for name, f := range map[string]uint32{"sum": sum, "indirect": indirect, "twice": twice, "started": isStarted, "boom": boom} {
		m.Export(name, wt.KindFunc, f)
	}
	var names []byte
	names = append(names, wt.U32(1)...)
	names = append(names, wt.U32(boom)...)
	names = append(names, wt.Name("boom")...)
	m.Custom("name", wt.Section(nil, 1, names))
	m.Custom(".debug_info", []byte{1, 2, 3})
	return m.Bytes()
}

// run instantiates bin with env and the yield import, and returns the
// module and a pointer to the yield count.
func run(t *testing.T, bin []byte) (api.Module, *int) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	yields := new(int)
	env := rt.NewHostModuleBuilder("env")
	env.NewFunctionBuilder().WithFunc(func(x int32) int32 { return 2 * x }).Export("double")
	if _, err := env.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	// Host modules cannot export globals: one from wasm.
	var g wt.Module
	g.Global(wt.I32, false, new(wt.Code).I32Const(100).End())
	g.Export("base", wt.KindGlobal, 0)
	if _, err := rt.InstantiateWithConfig(ctx, g.Bytes(), wazero.NewModuleConfig().WithName("envg")); err != nil {
		t.Fatal(err)
	}
	_, err := rt.NewHostModuleBuilder(opts.Module).
		NewFunctionBuilder().WithFunc(func() { *yields++ }).Export(opts.Yield).
		NewFunctionBuilder().WithFunc(func() { panic("too deep") }).Export(opts.Overflow).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithName("m"))
	if err != nil {
		t.Fatal(err)
	}
	return mod, yields
}

func call(t *testing.T, m api.Module, name string, args ...uint64) (uint64, error) {
	t.Helper()
	res, err := m.ExportedFunction(name).Call(context.Background(), args...)
	if err != nil || len(res) == 0 {
		return 0, err
	}
	return res[0], nil
}

func TestInstrumentedModuleBehavesTheSame(t *testing.T) {
	orig := sample()
	bin, err := instrument.Interruptible(orig, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := run(t, orig)
	b, yields := run(t, bin)
	for _, c := range []struct {
		name string
		args []uint64
		want uint64
	}{
		{"sum", []uint64{100}, 4950},
		{"indirect", []uint64{0}, 7},
		{"indirect", []uint64{1}, 8},
		{"twice", []uint64{21}, 42},
		{"started", nil, 1},
	} {
		for _, m := range []api.Module{a, b} {
			got, err := call(t, m, c.name, c.args...)
			if err != nil || got != c.want {
				t.Errorf("%s %s%v = %d, %v; want %d", m.Name(), c.name, c.args, got, err, c.want)
			}
		}
	}
	// sum(100) is charged 102 times (its entry and 101 loop headers): the
	// budget of 10 runs out 10 or 11 times, as what the calls before left
	// of it.
	*yields = 0
	if _, err := call(t, b, "sum", 100); err != nil {
		t.Fatal(err)
	}
	if *yields != 10 && *yields != 11 {
		t.Errorf("yield called %d times for 102 checks every %d, want 10 or 11", *yields, opts.Every)
	}
	_, err = call(t, b, "boom")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("trap in boom: %v; want the name section to still name it", err)
	}
	if strings.Contains(string(bin), ".debug_info") {
		t.Error("DWARF section kept: its code offsets are wrong after the rewrite")
	}
}

func TestYieldCanStopALoop(t *testing.T) {
	var m wt.Module
	spin := m.Func(nil, nil, nil, new(wt.Code).Loop().Br(0).EndBlock().End())
	m.Export("spin", wt.KindFunc, spin)
	bin, err := instrument.Interruptible(m.Bytes(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	n := 0
	_, err = rt.NewHostModuleBuilder(opts.Module).NewFunctionBuilder().WithFunc(func() {
		if n++; n == 5 {
			panic("enough")
		}
	}).Export(opts.Yield).NewFunctionBuilder().WithFunc(func() {}).Export(opts.Overflow).Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.ExportedFunction("spin").Call(ctx); err == nil || !strings.Contains(err.Error(), "enough") {
		t.Fatalf("spin returned %v", err)
	}
}

// TestYieldCanStopRecursion: code with no loop that calls itself twice per
// call (2^n calls within a small depth) reaches yield, through direct,
// and indirect calls (wazero refuses tail calls: its tail-call feature is
// off).
func TestYieldCanStopRecursion(t *testing.T) {
	for _, op := range []string{"call", "call_indirect"} {
		t.Run(op, func(t *testing.T) {
			var m wt.Module
			typ := m.Type([]byte{wt.I32}, nil)
			m.Table(1)
			m.Elem(0, 0)
			// (if (local.get 0) (then (call 0 (n-1)) (<op> 0 (n-1))))
			body := new(wt.Code).LocalGet(0).If().
				LocalGet(0).I32Const(1).I32Sub().Call(0).
				LocalGet(0).I32Const(1).I32Sub()
			switch op {
			case "call_indirect":
				body.I32Const(0).Op(0x11).Op(wt.U32(typ)...).Op(0)
			default:
				body.Call(0)
			}
			f := m.Func([]byte{wt.I32}, nil, nil, body.EndBlock().End())
			m.Export("rec", wt.KindFunc, f)
			bin, err := instrument.Interruptible(m.Bytes(), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rt := wazero.NewRuntime(ctx)
			defer rt.Close(ctx)
			n := 0
			_, err = rt.NewHostModuleBuilder(opts.Module).NewFunctionBuilder().WithFunc(func() {
				if n++; n == 5 {
					panic("enough")
				}
			}).Export(opts.Yield).NewFunctionBuilder().WithFunc(func() {}).Export(opts.Overflow).Instantiate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mod, err := rt.Instantiate(ctx, bin)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mod.ExportedFunction("rec").Call(ctx, 60); err == nil || !strings.Contains(err.Error(), "enough") {
				t.Fatalf("rec returned %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	var reserved wt.Module
	reserved.ImportFunc(opts.Module, "other", nil, nil)
	var atomics wt.Module
	atomics.Memory(1, 1)
	atomics.Func(nil, nil, nil, new(wt.Code).Op(0xfe, 0x03, 0x00).End()) // atomic.fence
	good := sample()
	cases := []struct {
		name string
		bin  []byte
		says string
	}{
		{"empty", nil, "not a WebAssembly"},
		{"text format", []byte("(module)"), "not a WebAssembly"},
		{"truncated", good[:len(good)-3], "runs past the end"},
		{"reserved import", reserved.Bytes(), "reserved"},
		{"unsupported instruction", atomics.Bytes(), "unsupported instruction 0xfe"},
		{"sections out of order", wt.Section(wt.Section([]byte{0, 'a', 's', 'm', 1, 0, 0, 0}, 3, []byte{0}), 1, []byte{0}), "out of order"},
		{"zero budget", good, "Every"},
		{"zero depth", good, "MaxDepth"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			switch c.name {
			case "zero budget":
				o.Every = 0
			case "zero depth":
				o.MaxDepth = 0
			}
			_, err := instrument.Interruptible(c.bin, o)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("err = %v; want it to say %q", err, c.says)
			}
		})
	}
}

// TestEmptyModule: a module with no type, import or global section gets
// them, in order.
func TestEmptyModule(t *testing.T) {
	var m wt.Module
	bin, err := instrument.Interruptible(m.Bytes(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, bin); err != nil {
		t.Fatalf("instrumented empty module does not compile: %v", err)
	}
}

// TestDepthIsBoundedAndGivenBack: a recursion deeper than MaxDepth calls
// Overflow; every way out of a function gives its weight back, so calls
// that returned, however they did, leave nothing behind.
func TestDepthIsBoundedAndGivenBack(t *testing.T) {
	var m wt.Module
	i := []byte{wt.I32}
	// rec(n): n == 0 ? 0 : rec(n-1). Weight 2 + 1 parameter = 3.
	rec := m.Func(i, i, nil, new(wt.Code).
		LocalGet(0).I32Eqz().If().I32Const(0).Return().EndBlock().
		LocalGet(0).I32Const(1).I32Sub().Call(0).End())
	exits := []uint32{
		m.Func(i, i, nil, new(wt.Code).LocalGet(0).End()),                                                           // falls off the end
		m.Func(i, i, nil, new(wt.Code).LocalGet(0).Return().End()),                                                  // return
		m.Func(i, i, nil, new(wt.Code).LocalGet(0).Br(0).End()),                                                     // br to the function
		m.Func(i, i, nil, new(wt.Code).Block().LocalGet(0).LocalGet(0).BrIf(1).Drop().EndBlock().I32Const(0).End()), // br_if out of a block
		m.Func(i, i, nil, new(wt.Code).Op(0x02, wt.I32).LocalGet(0).LocalGet(0).Op(0x0e, 1, 0, 1).EndBlock().End()), // br_table: to the block or out
	}
	pair := m.Func(nil, []byte{wt.I32, wt.I32}, nil, new(wt.Code).I32Const(1).I32Const(2).Br(0).End()) // two results
	body := new(wt.Code).Loop()
	for _, f := range exits {
		body.LocalGet(0).Call(f).Drop().I32Const(0).Call(f).Drop()
	}
	body.Call(pair).Drop().Drop().
		LocalGet(0).I32Const(1).I32Sub().LocalSet(0).LocalGet(0).BrIf(0).EndBlock().
		I32Const(300).Call(rec)
	drive := m.Func(i, i, nil, body.End())
	m.Export("rec", wt.KindFunc, rec)
	m.Export("drive", wt.KindFunc, drive)
	bin, err := instrument.Interruptible(m.Bytes(), opts)
	if err != nil {
		t.Fatal(err)
	}
	mod, _ := run(t, bin)
	if _, err := call(t, mod, "rec", 300); err != nil {
		t.Fatalf("rec(300), 903 slots deep: %v", err)
	}
	if _, err := call(t, mod, "drive", 1000); err != nil {
		t.Fatalf("thousands of calls leaving every way, then rec(300): %v", err)
	}
	mod, _ = run(t, bin)
	if _, err := call(t, mod, "rec", 400); err == nil || !strings.Contains(err.Error(), "too deep") {
		t.Fatalf("rec(400), 1203 slots deep: %v; want the overflow import called", err)
	}
}

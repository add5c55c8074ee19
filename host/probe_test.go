package host

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// The probe plugin calls one host function with arguments it reads from
// its own memory, so a test can hand every host function any pointer,
// length and memory contents:
//
//	[0]  u32 function (an index into probeFuncs)
//	[4]  u32 first argument, [8] second, [12] third, [16] fourth
//	[20] i32 what the host function returned, written by the probe
//	[probeData...] whatever the test puts there
//
// on_batch and on_tick run the script; the export "script" runs it outside
// any call.

var probeFuncs = []struct {
	name   string
	params int
}{
	{abi.FuncBatchRead, 2},
	{abi.FuncProduce, 4},
	{abi.FuncRecordFail, 3},
	{abi.FuncLog, 3},
	{abi.FuncConfigRead, 2},
}

const (
	probeMemory = 2 * wasmPage
	probeResult = 20
	probeData   = 1024
	probeUnset  = 0x7eadbeef // in [16] before a run
)

func probeModule() []byte {
	m := &wt.Module{}
	i32s := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = wt.I32
		}
		return b
	}
	for _, f := range probeFuncs {
		m.ImportFunc(abi.ModuleName, f.name, i32s(f.params), []byte{wt.I32})
	}
	m.Memory(2, -1)
	m.Export(abi.ExportMemory, wt.KindMemory, 0)
	body := new(wt.Code)
	for k, f := range probeFuncs {
		body.I32Const(0).I32Load(0).I32Const(int32(k)).Op(0x46).If(). // function == k
										I32Const(probeResult)
		for j := range f.params {
			body.I32Const(0).I32Load(uint32(4 + 4*j))
		}
		body.Call(uint32(k)).I32Store(0).EndBlock()
	}
	script := m.Func(nil, nil, nil, body.End())
	m.Export("script", wt.KindFunc, script)
	m.Export(abi.ExportABIVersion, wt.KindFunc, m.Func(nil, []byte{wt.I32}, nil, new(wt.Code).I32Const(abi.Version).End()))
	m.Export(abi.ExportOnBatch, wt.KindFunc, m.Func([]byte{wt.I32, wt.I32}, []byte{wt.I32}, nil, new(wt.Code).Call(script).I32Const(0).End()))
	m.Export(abi.ExportOnTick, wt.KindFunc, m.Func([]byte{wt.I64}, []byte{wt.I32}, nil, new(wt.Code).Call(script).I32Const(0).End()))
	return m.Bytes()
}

type probe struct {
	inst  *Instance
	batch Batch
}

func newProbe(t testing.TB) *probe {
	t.Helper()
	ctx := context.Background()
	rt, err := NewRuntime(ctx, RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	path := filepath.Join(t.TempDir(), "probe.wasm")
	if err := os.WriteFile(path, probeModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := rt.Load(ctx, LoadOptions{Name: "probe", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Instantiate(ctx, InstanceOptions{
		Config:     map[string]string{"to": "out"},
		AllowTopic: func(topic string) bool { return topic == "out" },
		Limits:     Limits{CallTimeout: 10 * time.Second, MaxOutputBytes: 1 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	pr := &probe{inst: inst}
	for _, v := range []string{"a", "b"} {
		pr.batch.Add(&abi.Record{Topic: "in", Key: []byte("k"), Value: []byte(v)})
	}
	return pr
}

// Where the probe calls from.
const (
	inBatch = iota
	inTick
	outside // no call in progress
)

// run makes the probe call function fn with args, data at probeData, and
// returns what the host function returned and the call's error.
func (p *probe) run(t testing.TB, where int, fn uint32, args [4]uint32, data []byte) (int32, error) {
	t.Helper()
	mem := p.inst.mod.Memory()
	var script [24]byte
	binary.LittleEndian.PutUint32(script[0:], fn)
	for i, a := range args {
		binary.LittleEndian.PutUint32(script[4+4*i:], a)
	}
	binary.LittleEndian.PutUint32(script[probeResult:], probeUnset)
	if !mem.Write(0, script[:]) || !mem.Write(probeData, data) {
		t.Fatal("writing the probe's memory")
	}
	var err error
	switch where {
	case inBatch:
		_, err = p.inst.HandleBatch(context.Background(), &p.batch)
	case inTick:
		_, err = p.inst.Tick(context.Background(), time.Now())
	default:
		_, err = p.inst.mod.ExportedFunction("script").Call(context.Background())
	}
	res, ok := mem.ReadUint32Le(probeResult)
	if !ok {
		t.Fatal("reading the probe's result")
	}
	return int32(res), err
}

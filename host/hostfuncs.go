package host

import (
	"context"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// Bounds on what a guest may hand a host function in one call.
const (
	maxLogBytes    = 16 << 10 // longer log lines are cut
	maxReasonBytes = 4 << 10  // longer failure reasons are cut
)

type funcSig struct{ params, results []api.ValueType }

func (s funcSig) matches(def api.FunctionDefinition) bool {
	return equalTypes(s.params, def.ParamTypes()) && equalTypes(s.results, def.ResultTypes())
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sigString(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}

type hostFunc struct {
	sig funcSig
	fn  func(st *callState, mem api.Memory, stack []uint64) int32
}

var hostFuncs = map[string]hostFunc{
	abi.FuncBatchRead:  {funcSig{[]api.ValueType{i32, i32}, []api.ValueType{i32}}, batchRead},
	abi.FuncProduce:    {funcSig{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}}, produce},
	abi.FuncRecordFail: {funcSig{[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}}, recordFail},
	abi.FuncLog:        {funcSig{[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}}, guestLog},
	abi.FuncConfigRead: {funcSig{[]api.ValueType{i32, i32}, []api.ValueType{i32}}, configRead},
}

var hostFuncSigs = func() map[string]funcSig {
	m := make(map[string]funcSig, len(hostFuncs))
	for name, f := range hostFuncs {
		m[name] = f.sig
	}
	return m
}()

// instantiateHostModule registers the "wasmhost" module in rt. Each function
// finds the calling instance's state in the call's context, so one host
// module serves every instance.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.ModuleName)
	for name, f := range hostFuncs {
		b.NewFunctionBuilder().
			WithGoModuleFunction(wrap(f.fn), f.sig.params, f.sig.results).
			Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// wrap turns a host function into a stack-based wazero function that finds
// its state and never panics into the daemon.
func wrap(fn func(*callState, api.Memory, []uint64) int32) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		st, _ := ctx.Value(stateKey{}).(*callState)
		mem := m.Memory()
		if st == nil || mem == nil {
			stack[0] = api.EncodeI32(abi.StatusNoBatch)
			return
		}
		stack[0] = api.EncodeI32(fn(st, mem, stack))
	}
}

// inMemory reports whether [ptr, ptr+n) lies in guest memory. Every
// (ptr, len) pair a guest passes is checked whole, before a length is cut
// or compared with anything: the ABI's BadPointer means exactly this.
func inMemory(mem api.Memory, ptr, n uint32) bool {
	return uint64(ptr)+uint64(n) <= uint64(mem.Size())
}

// readCut returns a view of the first at most limit bytes of [ptr, ptr+n),
// or false when the whole pair is not in guest memory.
func readCut(mem api.Memory, ptr, n, limit uint32) ([]byte, bool) {
	if !inMemory(mem, ptr, n) {
		return nil, false
	}
	return read(mem, ptr, min(n, limit))
}

// read returns a view of guest memory for a (ptr, len) pair, or false when it
// is out of range. The view aliases guest memory: copy what you keep.
func read(mem api.Memory, ptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, uint64(ptr) <= uint64(mem.Size())
	}
	return mem.Read(ptr, n)
}

func batchRead(st *callState, mem api.Memory, stack []uint64) int32 {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if !st.inBatch {
		return abi.StatusNoBatch
	}
	// The whole buffer first: then no part's address can wrap around.
	if !inMemory(mem, ptr, n) {
		return abi.StatusBadPointer
	}
	size := st.batch.Size()
	if uint64(n) < uint64(size) {
		return abi.StatusBufferTooSmall
	}
	head, descs, data := st.batch.Parts()
	if !mem.Write(ptr, head) || !mem.Write(ptr+uint32(len(head)), descs) || !mem.Write(ptr+uint32(len(head)+len(descs)), data) {
		return abi.StatusBadPointer
	}
	st.batchData, st.hasBatchData = ptr+uint32(len(head)+len(descs)), true
	return int32(size)
}

func recordFail(st *callState, mem api.Memory, stack []uint64) int32 {
	idx, ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if !st.inBatch {
		return abi.StatusNoBatch
	}
	if idx >= uint32(st.count) {
		return abi.StatusBadIndex
	}
	msg, ok := readCut(mem, ptr, n, maxReasonBytes)
	if !ok {
		return abi.StatusBadPointer
	}
	reason := string(msg)
	if reason == "" {
		reason = "plugin failed the record without a reason"
	}
	st.fail(idx, reason)
	return abi.StatusOK
}

func guestLog(st *callState, mem api.Memory, stack []uint64) int32 {
	level, ptr, n := abi.LogLevel(api.DecodeI32(stack[0])), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if level < abi.LevelDebug || level > abi.LevelError {
		return abi.StatusBadLevel
	}
	msg, ok := readCut(mem, ptr, n, maxLogBytes)
	if !ok {
		return abi.StatusBadPointer
	}
	st.inst.logGuest(level, msg)
	return abi.StatusOK
}

func configRead(st *callState, mem api.Memory, stack []uint64) int32 {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	cfg := st.inst.config
	if !inMemory(mem, ptr, n) {
		return abi.StatusBadPointer
	}
	if uint64(n) >= uint64(len(cfg)) && len(cfg) > 0 {
		if !mem.Write(ptr, cfg) {
			return abi.StatusBadPointer
		}
	}
	return int32(len(cfg))
}

func produce(st *callState, mem api.Memory, stack []uint64) int32 {
	dptr, dn := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	ptr, n := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	descs, ok := read(mem, dptr, dn)
	if !ok {
		return abi.StatusBadPointer
	}
	data, ok := read(mem, ptr, n)
	if !ok {
		return abi.StatusBadPointer
	}
	var batch []byte
	if st.inBatch && st.hasBatchData {
		// The guest may have moved on since batch_read, even freed the
		// buffer: references are checked against memory, and what they
		// point at is what the guest produced.
		batch, ok = read(mem, st.batchData, uint32(len(st.batch.Data())))
		if !ok {
			return abi.StatusBadPointer
		}
	}
	return st.addOutputs(descs, data, batch)
}

package host

import (
	"encoding/binary"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// State is the key-value store of an instance's state_* host functions:
// one per pipeline and input partition, owned by the caller (the daemon's
// internal/state keeps it in memory and makes it durable). It is called on
// the instance's goroutine only, during a call.
type State interface {
	// Get returns key's value. The key aliases guest memory; the value is
	// copied into the guest before the store changes again.
	Get(key []byte) (value []byte, ok bool)
	// Put sets key to value; both alias guest memory, so it copies them.
	// An error refuses the change (a limit), and its text is the reason
	// the call fails with.
	Put(key, value []byte) error
	// Delete removes key, which aliases guest memory.
	Delete(key []byte)
	// Scan calls fn with each key in [start, end) in byte order and its
	// value until fn returns false; a nil end has no bound. fn does not
	// change the store.
	Scan(start, end []byte, fn func(key, value []byte) bool)
}

// The state functions join the host module beside the others: importing
// them is optional, and a plugin that does not is unaffected.
var stateFuncs = map[string]hostFunc{
	abi.FuncStateGet:    {funcSig{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}}, stateGet},
	abi.FuncStatePut:    {funcSig{[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}}, statePut},
	abi.FuncStateDelete: {funcSig{[]api.ValueType{i32, i32}, []api.ValueType{i32}}, stateDelete},
	abi.FuncStateScan:   {funcSig{[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}}, stateScan},
}

func init() {
	for name, f := range stateFuncs {
		hostFuncs[name] = f
		hostFuncSigs[name] = f.sig
	}
}

// UsesState reports whether the plugin imports any state function, so
// that its host keeps (and restores) state for it.
func (p *Plugin) UsesState() bool {
	for _, f := range p.compiled.ImportedFunctions() {
		mod, name, ok := f.Import()
		if _, state := stateFuncs[name]; ok && state && mod == abi.ModuleName {
			return true
		}
	}
	return false
}

// stateKey reads a key from guest memory and checks its length; a status
// when it cannot be used.
func stateKeyArg(mem api.Memory, ptr, n uint32) ([]byte, int32) {
	if n == 0 {
		return nil, abi.StatusBadEncoding
	}
	if n > abi.MaxStateKey {
		return nil, abi.StatusTooLarge
	}
	k, ok := read(mem, ptr, n)
	if !ok {
		return nil, abi.StatusBadPointer
	}
	return k, abi.StatusOK
}

func stateGet(st *callState, mem api.Memory, stack []uint64) int32 {
	kp, kn := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	vp, vcap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if st.inst.state == nil {
		return abi.StatusNoState
	}
	key, s := stateKeyArg(mem, kp, kn)
	if s != abi.StatusOK {
		return s
	}
	v, ok := st.inst.state.Get(key)
	if !ok {
		return abi.StatusNotFound
	}
	if uint64(len(v)) <= uint64(vcap) && len(v) > 0 && !mem.Write(vp, v) {
		return abi.StatusBadPointer
	}
	return int32(len(v))
}

func statePut(st *callState, mem api.Memory, stack []uint64) int32 {
	kp, kn := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	vp, vn := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if st.inst.state == nil {
		return abi.StatusNoState
	}
	if !st.inHandler {
		return abi.StatusNoBatch
	}
	key, s := stateKeyArg(mem, kp, kn)
	if s != abi.StatusOK {
		return s
	}
	if vn > abi.MaxStateValue {
		return abi.StatusTooLarge
	}
	v, ok := read(mem, vp, vn)
	if !ok {
		return abi.StatusBadPointer
	}
	if v == nil {
		v = []byte{}
	}
	if err := st.inst.state.Put(key, v); err != nil {
		// A refusal fails the call whatever the guest does next: the
		// pipeline then runs its records alone, and the record whose put
		// was refused fails with this reason.
		if st.callErr == nil {
			st.callErr = err
		}
		return abi.StatusTooLarge
	}
	return abi.StatusOK
}

func stateDelete(st *callState, mem api.Memory, stack []uint64) int32 {
	kp, kn := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if st.inst.state == nil {
		return abi.StatusNoState
	}
	if !st.inHandler {
		return abi.StatusNoBatch
	}
	key, s := stateKeyArg(mem, kp, kn)
	if s != abi.StatusOK {
		return s
	}
	st.inst.state.Delete(key)
	return abi.StatusOK
}

func stateScan(st *callState, mem api.Memory, stack []uint64) int32 {
	sp, sn := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	ep, en := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	bp, bcap := api.DecodeU32(stack[4]), api.DecodeU32(stack[5])
	if st.inst.state == nil {
		return abi.StatusNoState
	}
	if sn > abi.MaxStateKey+1 || (en != abi.NoBound && en > abi.MaxStateKey+1) {
		return abi.StatusTooLarge
	}
	start, ok := read(mem, sp, sn)
	if !ok {
		return abi.StatusBadPointer
	}
	var end []byte
	if en != abi.NoBound {
		if end, ok = read(mem, ep, en); !ok {
			return abi.StatusBadPointer
		}
		if end == nil {
			end = []byte{} // an empty end: nothing is before it
		}
	}
	// Bounds first: [bp, bp+bcap) must be guest memory before anything is
	// written there.
	if uint64(bp)+uint64(bcap) > uint64(mem.Size()) {
		return abi.StatusBadPointer
	}
	// One answer holds at most maxScanBytes, so its size fits the i32 it
	// returns and the host's copy stays small.
	bcap = min(bcap, maxScanBytes)
	// start and end alias guest memory that the writes below may cover:
	// copy them.
	start, end = clone(start), cloneKeepEmpty(end)
	buf := st.scanBuf[:0]
	need := 0
	st.inst.state.Scan(start, end, func(k, v []byte) bool {
		n := abi.StateEntryHeader + len(k) + len(v)
		if len(buf)+n > int(bcap) {
			if len(buf) == 0 {
				need = n
			}
			return false
		}
		buf = abi.AppendStateEntry(buf, k, v)
		return true
	})
	st.scanBuf = buf[:0]
	if need > 0 {
		if bcap >= 4 {
			var b [4]byte
			binary.LittleEndian.PutUint32(b[:], uint32(need))
			mem.Write(bp, b[:])
		}
		return abi.StatusBufferTooSmall
	}
	if len(buf) > 0 && !mem.Write(bp, buf) {
		return abi.StatusBadPointer
	}
	return int32(len(buf))
}

// maxScanBytes bounds one state_scan answer.
const maxScanBytes = 16 << 20

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func cloneKeepEmpty(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/host/internal/instrument"
)

// The guards compiled into every plugin at load (package instrument):
//
//   - time: the plugin calls the host function yield once every yieldEvery
//     loop iterations and function entries (so branching recursion, which
//     needs no loop, is charged too); yield panics once the call's
//     deadline has passed, which traps the call. A plugin sleeping in
//     WASI's poll_oneoff is woken at the deadline and stopped
//     (Instance.nanosleep). Between yields the guest runs native code with
//     no exit to Go, so the check costs a counter decrement per loop
//     iteration and call rather than wazero's WithCloseOnContextDone exit
//     to Go at every loop header (see BenchmarkCallTimeLimit). Reaching Go
//     that often matters beyond the call: a goroutine in guest code cannot
//     be preempted, and one that never left it would stall the GC's
//     stop-the-world and so the whole daemon.
//   - tables: all of a plugin's tables together hold at most
//     maxTableEntries entries: a module declaring more is refused at load,
//     and table.grow past it returns -1 in the guest.
//   - stack: each function's frame is counted on a depth counter; past
//     maxDepth the plugin calls overflow, which traps the call. Without it
//     a plain recursion grows wazero's call stack to its ceiling, about
//     160 MiB of host memory per instance, outside the memory limit.
const (
	sandboxModule = "wasmhost:sandbox"
	yieldName     = "yield"
	overflowName  = "stack_overflow"
	// yieldEvery bounds the native code run between two visits to Go, which
	// is also how long the Go scheduler may have to wait to preempt the
	// goroutine running a plugin (for a GC, say): microseconds.
	yieldEvery = 1024
	// maxDepth is in frame slots (parameters, locals and two more per
	// call), each about 8 bytes of wazero's stack.
	maxDepth = 1 << 20
	// maxTableEntries bounds the entries of all of an instance's tables
	// together: wazero keeps 8 bytes per entry, outside the memory limit,
	// so 8 MiB at most. A Go guest's function table has a few thousand.
	maxTableEntries = 1 << 20
)

// errDeadline is what yield panics with when a call's time is up.
var errDeadline = errors.New("call deadline passed")

// errStackDepth is what overflow panics with.
var errStackDepth = fmt.Errorf("call stack deeper than %d slots", maxDepth)

// timeLimit selects the mechanism; only benchmarks choose another than
// limitChecked, to measure what it costs.
type timeLimit int

const (
	limitChecked timeLimit = iota // instrumented plugins and yield
	limitNone                     // no limit, no instrumentation
	limitWazero                   // wazero's WithCloseOnContextDone and a context deadline per call
)

// instantiateSandboxModule registers yield and overflow in rt.
func instantiateSandboxModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(sandboxModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(yield), nil, nil).Export(yieldName).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(overflow), nil, nil).Export(overflowName).
		Instantiate(ctx)
	return err
}

// overflow stops a call whose stack is too deep.
func overflow(context.Context, api.Module, []uint64) { panic(errStackDepth) }

// yield stops the call when its deadline has passed or its context ended.
// A panic in a host function unwinds the guest: wazero returns it from the
// call, wrapped.
func yield(ctx context.Context, _ api.Module, _ []uint64) {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		return
	}
	if time.Now().After(st.inst.deadline) {
		panic(errDeadline)
	}
	if err := ctx.Err(); err != nil {
		panic(err)
	}
}

// prepare returns the code to compile for a plugin file.
func (r *Runtime) prepare(code []byte) ([]byte, error) {
	if r.timeLimit != limitChecked {
		return code, nil
	}
	return instrument.Interruptible(code, instrument.Options{
		Module: sandboxModule, Yield: yieldName, Overflow: overflowName,
		Every: yieldEvery, MaxDepth: maxDepth, MaxTable: maxTableEntries,
	})
}

// prepareError says why prepare refused a module.
func prepareError(err error) error {
	if errors.Is(err, instrument.ErrReserved) || errors.Is(err, instrument.ErrTableLimit) {
		return err
	}
	return fmt.Errorf("not a valid WebAssembly module: %w", err)
}

// nanosleep is the instance's WASI sleep: it never sleeps past the call's
// deadline, and a sleep the deadline cuts short stops the call as timed out
// (by panicking, as yield does) instead of letting it go on.
func (i *Instance) nanosleep(ns int64) {
	d := time.Duration(ns)
	left := time.Until(i.deadline)
	if left < d {
		if left > 0 {
			time.Sleep(left)
		}
		panic(errDeadline)
	}
	if d > 0 {
		time.Sleep(d)
	}
}

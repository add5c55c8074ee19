package host

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/host/internal/instrument"
)

// How a call's time limit is enforced: every plugin is rewritten at load
// (package instrument) so that it calls the host function yield once every
// yieldEvery loop iterations; yield panics once the call's deadline has
// passed, which traps the call. A plugin sleeping in WASI's poll_oneoff is
// woken at the deadline (Instance.nanosleep). Between yields the guest runs
// native code with no exit to Go, so the check costs a counter decrement per
// loop iteration rather than wazero's WithCloseOnContextDone exit to Go at
// every loop header (see BenchmarkCallTimeLimit).
const (
	sandboxModule = "wasmhost:sandbox"
	yieldName     = "yield"
	// yieldEvery bounds the native code run between two visits to Go, which
	// is also how long the Go scheduler may have to wait to preempt the
	// goroutine running a plugin (for a GC, say): microseconds.
	yieldEvery = 1024
)

// errDeadline is what yield panics with when a call's time is up.
var errDeadline = errors.New("call deadline passed")

// timeLimit selects the mechanism; only benchmarks choose another than
// limitChecked, to measure what it costs.
type timeLimit int

const (
	limitChecked timeLimit = iota // instrumented plugins and yield
	limitNone                     // no limit, no instrumentation
	limitWazero                   // wazero's WithCloseOnContextDone and a context deadline per call
)

// instantiateSandboxModule registers yield in rt.
func instantiateSandboxModule(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(sandboxModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(yield), nil, nil).Export(yieldName).
		Instantiate(ctx)
	return err
}

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
	return instrument.Interruptible(code, instrument.Options{Module: sandboxModule, Name: yieldName, Every: yieldEvery})
}

// nanosleep is the instance's WASI sleep: it never sleeps past the call's
// deadline, so a plugin blocked in poll_oneoff reaches its next yield in
// time.
func (i *Instance) nanosleep(ns int64) {
	d := time.Duration(ns)
	if left := time.Until(i.deadline); left < d {
		d = left
	}
	if d > 0 {
		time.Sleep(d)
	}
}

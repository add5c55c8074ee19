package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Instance is one instantiated plugin, used by one goroutine at a time.
type Instance struct {
	plugin  *Plugin
	mod     api.Module
	onBatch api.Function
	onTick  api.Function
	limits  Limits
	allow   func(string) bool
	parts   func(string) int32
	config  []byte
	log     zerolog.Logger
	stdout  *lineWriter
	stderr  *lineWriter
	limit   *logLimit // of log, stdout and stderr together
	st      callState
	stack   [2]uint64
	res     Result
	scratch scratch // for batches with records over MaxInputRecord
	// deadline is when the call in progress must end; yield and
	// nanosleep read it on the calling goroutine.
	deadline time.Time
	state    State // nil: no state
	broken   bool
	closed   bool
	roots    []*os.Root    // granted directories, closed with the instance
	inCall   atomic.Bool   // guest code is running (linearmem.go)
	mem      *linearMemory // its memory, when it comes from a mapping
}

type stateKey struct{}

// Instantiate makes a new instance of the plugin and runs its initializer.
func (p *Plugin) Instantiate(ctx context.Context, o InstanceOptions) (*Instance, error) {
	if p.closed.Load() {
		return nil, &PluginError{Plugin: p.name, Version: p.sha, Func: "instantiate", Err: ErrClosed}
	}
	i, err := p.newInstance(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := i.start(ctx); err != nil {
		_ = i.Close(ctx)
		return nil, err
	}
	i.onBatch = i.mod.ExportedFunction(abi.ExportOnBatch)
	i.onTick = i.mod.ExportedFunction(abi.ExportOnTick)
	return i, nil
}

// newInstance instantiates the module in the sandbox without running any of
// its code.
func (p *Plugin) newInstance(ctx context.Context, o InstanceOptions) (*Instance, error) {
	// The caller's logger carries the pipeline and where the instance
	// works (topic, partition); the instance adds the plugin and version.
	log := o.Logger.With().Str("plugin", p.name).Str("plugin_version", shortSHA(p.sha)).Logger()
	cfg := make(map[string]string, len(o.Config)+3)
	maps.Copy(cfg, o.Config)
	// The reserved keys of the ABI (sdk/abi/config.go).
	cfg[abi.ConfigPipeline], cfg[abi.ConfigPlugin], cfg[abi.ConfigConsumer] = o.Pipeline, p.name, o.Consumer
	i := &Instance{
		plugin: p,
		limits: o.Limits.withDefaults(),
		allow:  o.AllowTopic,
		parts:  o.Partitions,
		state:  o.State,
		config: abi.AppendConfig(nil, cfg),
		log:    log,
		limit:  newLogLimit(log, o.DroppedLines),
	}
	i.stdout = newLineWriter(log, zerolog.InfoLevel, "stdout", i.limit)
	i.stderr = newLineWriter(log, zerolog.WarnLevel, "stderr", i.limit)
	i.st.inst = i
	// A start section runs inside InstantiateModule: under the time limit
	// too.
	i.deadline = time.Now().Add(i.limits.CallTimeout)
	mc, err := i.moduleConfig(o.Grants)
	if err != nil {
		return nil, i.errorf("instantiate", "%w", err)
	}
	i.inCall.Store(true) // a start section runs in InstantiateModule
	mod, err := p.rt.InstantiateModule(withLinearMemory(context.WithValue(ctx, stateKey{}, &i.st), i), p.compiled, mc)
	i.endCall()
	if err != nil {
		i.closeRoots()
		if errors.Is(err, errDeadline) {
			return nil, i.errorf("start", "%w: stopped after %s", ErrTimeout, i.limits.CallTimeout)
		}
		return nil, i.errorf("instantiate", "%w: %w%s", ErrInvalidPlugin, err, i.stderr.recentSuffix())
	}
	i.mod = mod
	return i, nil
}

// start runs _initialize and checks the ABI version.
func (i *Instance) start(ctx context.Context) error {
	v, err := i.abiVersion(ctx)
	if err != nil {
		return err
	}
	if v != abi.Version {
		return i.errorf(abi.ExportABIVersion, "%w: plugin was built for ABI version %d, this host speaks version %d", ErrABIMismatch, v, abi.Version)
	}
	return nil
}

// abiVersion runs _initialize, then returns what the ABI version export
// says, both under the call time limit.
func (i *Instance) abiVersion(ctx context.Context) (int32, error) {
	i.st.reset(nil, 0, false)
	if i.plugin.hasInit {
		if err := i.call(ctx, i.mod.ExportedFunction(abi.ExportInitialize), abi.ExportInitialize, 0); err != nil {
			return 0, err
		}
	}
	if err := i.call(ctx, i.mod.ExportedFunction(abi.ExportABIVersion), abi.ExportABIVersion, 0); err != nil {
		return 0, err
	}
	return api.DecodeI32(i.stack[0]), nil
}

// handlers calls the optional wasmhost_handlers export; ok is false when
// the plugin does not export it.
func (i *Instance) handlers(ctx context.Context) (h int32, ok bool, err error) {
	fn := i.mod.ExportedFunction(abi.ExportHandlers)
	if fn == nil {
		return 0, false, nil
	}
	i.st.reset(nil, 0, false)
	if err := i.call(ctx, fn, abi.ExportHandlers, 0); err != nil {
		return 0, false, err
	}
	return api.DecodeI32(i.stack[0]), true, nil
}

// Plugin is the plugin version this instance runs.
func (i *Instance) Plugin() *Plugin { return i.plugin }

// Broken reports whether a trap or timeout has made the instance unusable.
func (i *Instance) Broken() bool { return i.broken }

// HandleBatch hands a batch to the plugin and returns what it produced and
// which records failed. A record over Limits.MaxInputRecord is not handed in:
// it fails with Failure.Refused set. An error means the whole batch failed;
// with ErrTrap or ErrTimeout the instance is broken.
func (i *Instance) HandleBatch(ctx context.Context, b *Batch) (*Result, error) {
	if i.onBatch == nil {
		return nil, i.errorf(abi.ExportOnBatch, "%w: the plugin does not export %s", ErrNoHandler, abi.ExportOnBatch)
	}
	if b.largest > i.limits.MaxInputRecord {
		return i.handleOversized(ctx, b)
	}
	return i.handleBatch(ctx, b)
}

func (i *Instance) handleBatch(ctx context.Context, b *Batch) (*Result, error) {
	i.st.reset(&b.w, b.w.Len(), true)
	i.st.in = b
	i.stack[0], i.stack[1] = api.EncodeU32(uint32(b.w.Size())), api.EncodeU32(uint32(b.w.Len()))
	return i.finish(ctx, i.onBatch, abi.ExportOnBatch)
}

// Tick calls the plugin's tick handler.
func (i *Instance) Tick(ctx context.Context, now time.Time) (*Result, error) {
	if i.onTick == nil {
		return nil, i.errorf(abi.ExportOnTick, "%w: the plugin does not export %s", ErrNoHandler, abi.ExportOnTick)
	}
	i.st.reset(nil, 0, false)
	i.stack[0] = api.EncodeI64(now.UnixMilli())
	return i.finish(ctx, i.onTick, abi.ExportOnTick)
}

func (i *Instance) finish(ctx context.Context, fn api.Function, name string) (*Result, error) {
	i.st.inHandler = true
	err := i.call(ctx, fn, name, 2)
	i.st.inBatch, i.st.inHandler = false, false
	if err != nil {
		return nil, err
	}
	if s := api.DecodeI32(i.stack[0]); s != abi.StatusOK {
		switch s {
		case abi.StatusNoHandler:
			return nil, i.errorf(name, "%w", ErrNoHandler)
		default:
			return nil, i.errorf(name, "%w: status %d (%s)%s", ErrFailed, s, abi.StatusText(s), i.st.callErrSuffix())
		}
	}
	if i.st.callErr != nil {
		return nil, i.errorf(name, "%w: %w", ErrFailed, i.st.callErr)
	}
	i.st.result(&i.res)
	return &i.res, nil
}

// call runs fn with the state in its context and under the time limit.
// Params are in i.stack; the result lands in i.stack[0].
func (i *Instance) call(ctx context.Context, fn api.Function, name string, nparams int) error {
	if i.closed || i.broken {
		return i.errorf(name, "%w", ErrClosed)
	}
	i.deadline = time.Now().Add(i.limits.CallTimeout)
	cctx := context.WithValue(ctx, stateKey{}, &i.st)
	var err error
	i.inCall.Store(true)
	defer i.endCall()
	if i.plugin.timeLimit == limitWazero {
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadline(cctx, i.deadline)
		err = fn.CallWithStack(cctx, i.stack[:max(nparams, 1)])
		cancel()
	} else {
		err = fn.CallWithStack(cctx, i.stack[:max(nparams, 1)])
	}
	if err == nil {
		return nil
	}
	i.broken = true
	return i.callError(name, err)
}

// endCall marks the guest code of the instance as no longer running, and
// unmaps its memory if the instance was closed under it.
func (i *Instance) endCall() {
	i.inCall.Store(false)
	if i.mem != nil {
		i.mem.afterCall()
	}
}

// callError names why a call failed.
func (i *Instance) callError(name string, err error) error {
	var exit *sys.ExitError
	switch {
	case errors.Is(err, errDeadline):
		return i.errorf(name, "%w: stopped after %s", ErrTimeout, i.limits.CallTimeout)
	case errors.Is(err, errStackDepth):
		return i.errorf(name, "%w: %w", ErrTrap, errStackDepth)
	case errors.Is(err, context.DeadlineExceeded):
		return i.errorf(name, "%w: %w", ErrTimeout, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return i.errorf(name, "%w: %w", ErrTrap, context.Canceled)
	case errors.As(err, &exit):
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return i.errorf(name, "%w: stopped after %s", ErrTimeout, i.limits.CallTimeout)
		case sys.ExitCodeContextCanceled:
			return i.errorf(name, "%w: %w", ErrTrap, context.Canceled)
		}
		return i.errorf(name, "%w: exited with code %d%s", ErrTrap, exit.ExitCode(), i.stderr.recentSuffix())
	}
	return i.errorf(name, "%w: %w%s", ErrTrap, err, i.stderr.recentSuffix())
}

func (i *Instance) errorf(fn, format string, args ...any) error {
	return &PluginError{Plugin: i.plugin.name, Version: i.plugin.sha, Func: fn, Err: fmt.Errorf(format, args...)}
}

// Close closes the instance. Safe to call more than once.
func (i *Instance) Close(ctx context.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	i.stdout.Flush()
	i.stderr.Flush()
	defer i.closeRoots()
	if i.mod == nil {
		return nil
	}
	return i.mod.Close(ctx)
}

func (i *Instance) logGuest(level abi.LogLevel, msg []byte) {
	if !i.limit.allow("log", msg) {
		return
	}
	var ev *zerolog.Event
	switch level {
	case abi.LevelDebug:
		ev = i.log.Debug()
	case abi.LevelInfo:
		ev = i.log.Info()
	case abi.LevelWarn:
		ev = i.log.Warn()
	default:
		ev = i.log.Error()
	}
	ev.Msg(string(msg))
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

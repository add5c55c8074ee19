package host

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Limits bound what one call may do. Zero fields take the defaults.
type Limits struct {
	CallTimeout     time.Duration // a call running longer is stopped (default 5s)
	MaxRecordBytes  int           // encoded size of one produced record (default 1 MiB)
	MaxProduceBytes int           // bytes produced in one call (default 64 MiB)
	MaxOutputs      int           // records produced in one call (default 100,000)
}

func (l Limits) withDefaults() Limits {
	if l.CallTimeout <= 0 {
		l.CallTimeout = 5 * time.Second
	}
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = 1 << 20
	}
	if l.MaxProduceBytes <= 0 {
		l.MaxProduceBytes = 64 << 20
	}
	if l.MaxOutputs <= 0 {
		l.MaxOutputs = 100_000
	}
	return l
}

// Reserved config keys the host adds to every instance's config.
const (
	ConfigPipeline = "wasmhost.pipeline"
	ConfigPlugin   = "wasmhost.plugin"
	ConfigConsumer = "wasmhost.consumer"
)

// InstanceOptions configure one instance.
type InstanceOptions struct {
	Pipeline string            // pipeline or source name, for logs
	Consumer string            // group member id, "" for sources
	Config   map[string]string // the plugin's config from the pipeline
	Logger   zerolog.Logger    // plugin log lines go here, tagged with plugin and version
	// AllowTopic says whether the plugin may produce to a topic; nil allows all.
	AllowTopic func(topic string) bool
	Limits     Limits
}

// Output is one record the plugin produced. Input is the index in the batch
// of the record it derives from, or abi.NoInput. The record's byte slices may
// be kept; its Headers slice is reused by the next call.
type Output struct {
	Input  uint32
	Record abi.Record
}

// Failure is an input record the plugin (or the host, on its behalf) failed.
type Failure struct {
	Index  int
	Reason string
}

// Result is what a call produced. It is owned by the Instance and overwritten
// by its next call.
type Result struct {
	// Outputs of the records that did not fail, in the order produced.
	Outputs []Output
	// Failures, sorted by index, one per failed record.
	Failures []Failure
}

// Instance is one instantiated plugin, used by one goroutine at a time.
type Instance struct {
	plugin  *Plugin
	mod     api.Module
	onBatch api.Function
	onTick  api.Function
	limits  Limits
	allow   func(string) bool
	config  []byte
	log     zerolog.Logger
	stdout  *lineWriter
	stderr  *lineWriter
	st      callState
	stack   [2]uint64
	res     Result
	broken  bool
	closed  bool
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
		_ = i.mod.Close(ctx)
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
	cfg[ConfigPipeline], cfg[ConfigPlugin], cfg[ConfigConsumer] = o.Pipeline, p.name, o.Consumer
	i := &Instance{
		plugin: p,
		limits: o.Limits.withDefaults(),
		allow:  o.AllowTopic,
		config: abi.AppendConfig(nil, cfg),
		log:    log,
		stdout: newLineWriter(log, zerolog.InfoLevel, "stdout"),
		stderr: newLineWriter(log, zerolog.WarnLevel, "stderr"),
	}
	i.st.inst = i
	// No filesystem, network, environment or arguments: a plugin gets only
	// clocks, randomness and its stdout/stderr, which become log lines.
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(crand.Reader).
		WithStdout(i.stdout).WithStderr(i.stderr)
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, mc)
	if err != nil {
		return nil, i.errorf("instantiate", "%w: %w", ErrInvalidPlugin, err)
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

// Plugin is the plugin version this instance runs.
func (i *Instance) Plugin() *Plugin { return i.plugin }

// Broken reports whether a trap or timeout has made the instance unusable.
func (i *Instance) Broken() bool { return i.broken }

// HandleBatch hands a batch to the plugin and returns what it produced and
// which records failed. An error means the whole batch failed; with ErrTrap
// or ErrTimeout the instance is broken.
func (i *Instance) HandleBatch(ctx context.Context, b *Batch) (*Result, error) {
	if i.onBatch == nil {
		return nil, i.errorf(abi.ExportOnBatch, "%w: the plugin does not export %s", ErrNoHandler, abi.ExportOnBatch)
	}
	i.st.reset(b.buf, b.n, true)
	i.stack[0], i.stack[1] = api.EncodeU32(uint32(len(b.buf))), api.EncodeU32(uint32(b.n))
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
	err := i.call(ctx, fn, name, 2)
	i.st.inBatch = false
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

// call runs fn with the state and time limit in its context. Params are in
// i.stack; the result lands in i.stack[0].
func (i *Instance) call(ctx context.Context, fn api.Function, name string, nparams int) error {
	if i.closed || i.broken {
		return i.errorf(name, "%w", ErrClosed)
	}
	cctx, cancel := context.WithTimeout(context.WithValue(ctx, stateKey{}, &i.st), i.limits.CallTimeout)
	err := fn.CallWithStack(cctx, i.stack[:max(nparams, 1)])
	cancel()
	if err == nil {
		return nil
	}
	i.broken = true
	var exit *sys.ExitError
	if errors.As(err, &exit) {
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
	if i.mod == nil {
		return nil
	}
	return i.mod.Close(ctx)
}

func (i *Instance) logGuest(level abi.LogLevel, msg []byte) {
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

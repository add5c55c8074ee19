package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// DefaultMemoryLimit is the memory a plugin instance may grow to when the
// configuration names none.
const DefaultMemoryLimit = 64 << 20

const (
	wasmPage = 64 << 10
	maxPages = 65536 // 4 GiB, all a 32-bit memory can address
)

// LoadOptions say which file to load and how to check it.
type LoadOptions struct {
	Name string // plugin name used in logs and errors
	Path string // the .wasm file
	// SHA256, when set, pins the file's hash (hex); a mismatch refuses it.
	SHA256 string
	// MemoryLimit caps an instance's linear memory in bytes (rounded down to
	// 64 KiB pages). 0 means DefaultMemoryLimit.
	MemoryLimit uint64
	// CallTimeout bounds each call of the load-time check (start section,
	// initializer, ABI version, handlers): the pipeline's call time limit.
	// 0 means DefaultCallTimeout.
	CallTimeout time.Duration
}

// Plugin is one compiled version of a plugin file. Safe for concurrent use.
type Plugin struct {
	name     string
	path     string
	sha      string
	size     int
	compiled wazero.CompiledModule
	rt       wazero.Runtime
	hasBatch bool
	hasTick  bool
	hasInit  bool
	closed   atomic.Bool
	// timeLimit is how calls are limited (Runtime.timeLimit at load).
	timeLimit timeLimit
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.name }

// Path is the file the plugin was loaded from.
func (p *Plugin) Path() string { return p.path }

// SHA256 is the hex sha256 of the file: the plugin's version.
func (p *Plugin) SHA256() string { return p.sha }

// HandlesBatches reports whether the plugin handles records: it exports the
// batch handler and, if it says which handlers it has, says so.
func (p *Plugin) HandlesBatches() bool { return p.hasBatch }

// HandlesTicks reports whether the plugin handles ticks, in the same way.
func (p *Plugin) HandlesTicks() bool { return p.hasTick }

// Close releases the compiled code; Instantiate fails with ErrClosed after
// it. Close the plugin's instances first. Safe to call more than once.
func (p *Plugin) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	return p.compiled.Close(ctx)
}

// Load reads, verifies and compiles a plugin, then instantiates it once to
// run its initializer and check its ABI version, so a bad plugin is refused
// here, with the file and the reason, rather than on its first record.
func (r *Runtime) Load(ctx context.Context, o LoadOptions) (*Plugin, error) {
	p, err := r.load(ctx, o)
	if err != nil {
		return nil, &PluginError{Plugin: o.Name, Func: "load " + o.Path, Err: err}
	}
	return p, nil
}

// LoadCode is Load for a module already in memory (read from Kafka, or a
// file whose bytes were checked first): o.Path only names where the code
// came from, in logs and errors. code is not kept.
func (r *Runtime) LoadCode(ctx context.Context, o LoadOptions, code []byte) (*Plugin, error) {
	p, err := r.loadCode(ctx, o, code)
	if err != nil {
		return nil, &PluginError{Plugin: o.Name, Func: "load " + o.Path, Err: err}
	}
	return p, nil
}

func (r *Runtime) load(ctx context.Context, o LoadOptions) (*Plugin, error) {
	code, err := os.ReadFile(o.Path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPlugin, err)
	}
	return r.loadCode(ctx, o, code)
}

func (r *Runtime) loadCode(ctx context.Context, o LoadOptions, code []byte) (*Plugin, error) {
	sum := sha256.Sum256(code)
	sha := hex.EncodeToString(sum[:])
	if o.SHA256 != "" && !strings.EqualFold(o.SHA256, sha) {
		return nil, fmt.Errorf("%w: sha256 mismatch: file has %s, config pins %s", ErrInvalidPlugin, sha, o.SHA256)
	}
	pages, err := limitPages(o.MemoryLimit)
	if err != nil {
		return nil, err
	}
	rt, err := r.runtimeFor(ctx, pages)
	if err != nil {
		return nil, err
	}
	prepared, err := r.prepare(code)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPlugin, prepareError(err))
	}
	compiled, err := rt.CompileModule(ctx, prepared)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid WebAssembly module: %w", ErrInvalidPlugin, err)
	}
	p := &Plugin{name: o.Name, path: o.Path, sha: sha, size: len(code), compiled: compiled, rt: rt, timeLimit: r.timeLimit}
	if err := p.checkShape(); err != nil {
		_ = compiled.Close(ctx)
		return nil, fmt.Errorf("%w: %w", ErrInvalidPlugin, err)
	}
	probe, err := p.Instantiate(ctx, InstanceOptions{Logger: r.log, Limits: Limits{CallTimeout: o.CallTimeout}})
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	}
	defer func() { _ = probe.Close(ctx) }()
	if h, ok, err := probe.handlers(ctx); err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	} else if ok {
		p.hasBatch = p.hasBatch && h&abi.HandlesBatches != 0
		p.hasTick = p.hasTick && h&abi.HandlesTicks != 0
		if !p.hasBatch && !p.hasTick {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("%w: %s says the plugin has no handler (Go: call sdk.OnRecord or sdk.OnTick from an init function)", ErrInvalidPlugin, abi.ExportHandlers)
		}
	}
	return p, nil
}

// limitPages turns a memory limit in bytes (0 = DefaultMemoryLimit) into
// whole 64 KiB pages.
func limitPages(limit uint64) (uint32, error) {
	if limit == 0 {
		limit = DefaultMemoryLimit
	}
	pages := uint32(min(limit/wasmPage, maxPages))
	if pages == 0 {
		return 0, fmt.Errorf("%w: memory limit %d bytes is below one 64 KiB page", ErrInvalidPlugin, limit)
	}
	return pages, nil
}

// checkShape checks exports and imports against the ABI before any guest
// code runs, and notes which handlers the plugin has.
func (p *Plugin) checkShape() error {
	if problems := shapeProblems(p.compiled); len(problems) > 0 {
		return errors.New(problems[0])
	}
	exports := p.compiled.ExportedFunctions()
	_, p.hasBatch = exports[abi.ExportOnBatch]
	_, p.hasTick = exports[abi.ExportOnTick]
	_, p.hasInit = exports[abi.ExportInitialize]
	return nil
}

// abiExports are the exports the ABI knows, with their signatures.
var abiExports = map[string]funcSig{
	abi.ExportABIVersion: {nil, []api.ValueType{i32}},
	abi.ExportOnBatch:    {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	abi.ExportOnTick:     {[]api.ValueType{i64}, []api.ValueType{i32}},
	abi.ExportInitialize: {nil, nil},
	abi.ExportHandlers:   {nil, []api.ValueType{i32}},
}

// shapeProblems lists every reason the module's exports and imports do not
// fit the ABI, most fundamental first; none means the shape is right.
func shapeProblems(m wazero.CompiledModule) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	exports := m.ExportedFunctions()
	if _, ok := exports[abi.ExportABIVersion]; !ok {
		add("missing export %s: not a wasmhost plugin (build it with the wasmhost SDK)", abi.ExportABIVersion)
	}
	if _, ok := m.ExportedMemories()[abi.ExportMemory]; !ok {
		add("does not export its memory as %q", abi.ExportMemory)
	}
	for _, name := range sortedKeys(abiExports) {
		sig := abiExports[name]
		if def, ok := exports[name]; ok && !sig.matches(def) {
			add("export %s has signature %s, the ABI says %s", name, sigString(def.ParamTypes(), def.ResultTypes()), sigString(sig.params, sig.results))
		}
	}
	_, batch := exports[abi.ExportOnBatch]
	_, tick := exports[abi.ExportOnTick]
	if !batch && !tick {
		add("exports neither %s nor %s", abi.ExportOnBatch, abi.ExportOnTick)
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		add("imports its memory (%s.%s), which this host does not provide: export it instead (C: do not link with --import-memory)", mod, name)
	}
	for _, imp := range m.ImportedFunctions() {
		mod, name, _ := imp.Import()
		switch mod {
		case sandboxModule: // added by prepare; a plugin's own import of it is refused there
		case "wasi_snapshot_preview1":
		case abi.ModuleName:
			sig, ok := hostFuncSigs[name]
			if !ok {
				add("imports %s.%s, which this host does not provide (ABI version %d)", mod, name, abi.Version)
			} else if !sig.matches(imp) {
				add("imports %s.%s with signature %s, the ABI says %s: was it built for another ABI version? This host speaks version %d; rebuild it with the current SDK",
					mod, name, sigString(imp.ParamTypes(), imp.ResultTypes()), sigString(sig.params, sig.results), abi.Version)
			}
		default:
			add("imports %s.%s, which this host does not provide", mod, name)
		}
	}
	return problems
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

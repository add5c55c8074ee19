package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Inspection is what the host sees in a plugin file, and every reason it
// would refuse to load it.
type Inspection struct {
	Path   string
	Size   int
	SHA256 string
	// ABIVersion is what the plugin's wasmhost_abi_version export returned,
	// valid when HasABIVersion (the plugin got far enough to be asked).
	ABIVersion    int32
	HasABIVersion bool
	// Handlers is what the plugin's optional wasmhost_handlers export
	// returned, valid when HasHandlers.
	Handlers    int32
	HasHandlers bool
	Exports     []Symbol // functions and memories, sorted by name
	Imports     []Symbol // in the module's order
	// Memory is the exported memory as declared, nil when there is none.
	Memory *MemoryDecl
	// MemoryLimit is the limit the file was checked against, in bytes.
	MemoryLimit uint64
	// Problems are the reasons Runtime.Load would refuse the file, each a
	// sentence; empty means it loads.
	Problems []string
}

// Symbol is an import or export.
type Symbol struct {
	Module string // imports only
	Name   string
	Kind   string // "func" or "memory"
	// Type is a function's signature, "(i32, i32) -> (i32)", or a memory's
	// limits in pages, "min 17 max 65536".
	Type string
}

// MemoryDecl is a memory's declared limits, in 64 KiB pages.
type MemoryDecl struct {
	MinPages uint32
	MaxPages uint32 // valid when HasMax
	HasMax   bool
}

// HandlesBatches reports whether the plugin handles records: it exports the
// batch handler and, if it says which handlers it has, says so.
func (in *Inspection) HandlesBatches() bool {
	return in.hasExport(abi.ExportOnBatch) && (!in.HasHandlers || in.Handlers&abi.HandlesBatches != 0)
}

// HandlesTicks reports whether the plugin handles ticks, in the same way.
func (in *Inspection) HandlesTicks() bool {
	return in.hasExport(abi.ExportOnTick) && (!in.HasHandlers || in.Handlers&abi.HandlesTicks != 0)
}

func (in *Inspection) hasExport(name string) bool {
	for _, s := range in.Exports {
		if s.Name == name && s.Kind == "func" {
			return true
		}
	}
	return false
}

func (in *Inspection) problem(format string, args ...any) {
	in.Problems = append(in.Problems, fmt.Sprintf(format, args...))
}

// Inspect makes the checks Load makes, with the same options, but reports
// what it finds instead of stopping at the first problem: the file's size and
// hash, its imports and exports, its declared memory and, when the module
// is well formed enough to run, the ABI version its initialized instance
// reports. An error means the file could not be read or the options are
// invalid; everything wrong with the file itself is in Problems.
func (r *Runtime) Inspect(ctx context.Context, o LoadOptions) (*Inspection, error) {
	if o.Name == "" { // the name plugin test and the daemon would give it
		o.Name = strings.TrimSuffix(filepath.Base(o.Path), ".wasm")
	}
	code, err := os.ReadFile(o.Path)
	if err != nil {
		return nil, err
	}
	return r.InspectCode(ctx, o, code)
}

// InspectCode is Inspect for a module already in memory; o.Path only names
// it. `wasmhost plugin deploy` inspects the bytes it then publishes.
func (r *Runtime) InspectCode(ctx context.Context, o LoadOptions, code []byte) (*Inspection, error) {
	pages, err := limitPages(o.MemoryLimit)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(code)
	in := &Inspection{Path: o.Path, Size: len(code), SHA256: hex.EncodeToString(sum[:]), MemoryLimit: uint64(pages) * wasmPage}
	if o.SHA256 != "" && !strings.EqualFold(o.SHA256, in.SHA256) {
		in.problem("sha256 mismatch: file has %s, the pin says %s", in.SHA256, o.SHA256)
	}
	rt, err := r.runtimeFor(ctx, pages)
	if err != nil {
		return nil, err
	}
	// The code Load would run, with the guards that bound its time and
	// stack: inspecting a plugin runs its initializer too.
	code, err = r.prepare(code)
	if err != nil {
		in.problem("%v", prepareError(err))
		return in, nil
	}
	compiled, err := rt.CompileModule(ctx, code)
	if err != nil {
		// Compiled without the limit, the module may still be valid: then
		// only its declared memory is over the limit, and its symbols can
		// still be listed.
		if pages == maxPages {
			in.problem("not a valid WebAssembly module: %v", err)
			return in, nil
		}
		unlimited, rerr := r.runtimeFor(ctx, maxPages)
		if rerr != nil {
			return nil, rerr
		}
		all, cerr := unlimited.CompileModule(ctx, code)
		if cerr != nil {
			in.problem("not a valid WebAssembly module: %v", cerr)
			return in, nil
		}
		defer all.Close(ctx)
		in.problem("declared memory does not fit the memory limit of %s: %v", sizeString(in.MemoryLimit), err)
		in.describe(all)
		in.Problems = append(in.Problems, shapeProblems(all)...)
		return in, nil
	}
	defer compiled.Close(ctx)
	in.describe(compiled)
	if problems := shapeProblems(compiled); len(problems) > 0 {
		in.Problems = append(in.Problems, problems...)
		return in, nil
	}
	p := &Plugin{name: o.Name, path: o.Path, sha: in.SHA256, size: in.Size, compiled: compiled, rt: rt, timeLimit: r.timeLimit}
	if err := p.checkShape(); err != nil {
		in.problem("%v", err)
		return in, nil
	}
	inst, err := p.newInstance(ctx, InstanceOptions{Logger: r.log, Limits: Limits{CallTimeout: o.CallTimeout}})
	if err != nil {
		in.problem("%v", err)
		return in, nil
	}
	defer inst.Close(ctx)
	v, err := inst.abiVersion(ctx)
	if err != nil {
		in.problem("%v", err)
		return in, nil
	}
	in.ABIVersion, in.HasABIVersion = v, true
	if v != abi.Version {
		in.problem("built for ABI version %d, this host speaks version %d", v, abi.Version)
		return in, nil
	}
	h, ok, err := inst.handlers(ctx)
	switch {
	case err != nil:
		in.problem("%v", err)
	case ok:
		in.Handlers, in.HasHandlers = h, true
		if !in.HandlesBatches() && !in.HandlesTicks() {
			in.problem("%s says the plugin has no handler (Go: call sdk.OnRecord or sdk.OnTick from an init function)", abi.ExportHandlers)
		}
	}
	return in, nil
}

// describe lists the module's imports, exports and memory.
func (in *Inspection) describe(m wazero.CompiledModule) {
	for name, def := range m.ExportedFunctions() {
		in.Exports = append(in.Exports, Symbol{Name: name, Kind: "func", Type: sigString(def.ParamTypes(), def.ResultTypes())})
	}
	for name, def := range m.ExportedMemories() {
		in.Exports = append(in.Exports, Symbol{Name: name, Kind: "memory", Type: memString(def)})
		if name == abi.ExportMemory {
			in.Memory = &MemoryDecl{MinPages: def.Min()}
			in.Memory.MaxPages, in.Memory.HasMax = def.Max()
		}
	}
	sort.Slice(in.Exports, func(a, b int) bool { return in.Exports[a].Name < in.Exports[b].Name })
	for _, def := range m.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod == sandboxModule {
			continue // the guards' imports, not the plugin's
		}
		in.Imports = append(in.Imports, Symbol{Module: mod, Name: name, Kind: "func", Type: sigString(def.ParamTypes(), def.ResultTypes())})
	}
	for _, def := range m.ImportedMemories() {
		mod, name, _ := def.Import()
		in.Imports = append(in.Imports, Symbol{Module: mod, Name: name, Kind: "memory", Type: memString(def)})
	}
}

func memString(def api.MemoryDefinition) string {
	if max, ok := def.Max(); ok {
		return fmt.Sprintf("min %d max %d", def.Min(), max)
	}
	return fmt.Sprintf("min %d", def.Min())
}

func sizeString(b uint64) string {
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d bytes", b)
}

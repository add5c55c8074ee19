package host

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// RuntimeOptions configure a Runtime.
type RuntimeOptions struct {
	// CacheDir holds wazero's compilation cache, so a restart or a reload of
	// a known plugin skips compilation. "" keeps the cache in memory.
	CacheDir string
	// Logger receives the runtime's own lines; plugins log through loggers
	// derived from it.
	Logger zerolog.Logger
}

// Runtime owns the wazero runtimes that plugins run in. Memory limits are a
// per-runtime setting in wazero, so there is one runtime per distinct limit,
// all sharing one compilation cache. Safe for concurrent use.
type Runtime struct {
	log   zerolog.Logger
	cache wazero.CompilationCache

	// timeLimit is limitChecked but in benchmarks that measure the
	// mechanism (export_test.go).
	timeLimit timeLimit

	mu       sync.Mutex
	runtimes map[uint32]wazero.Runtime // by memory limit in pages
	closed   bool
}

// NewRuntime creates a Runtime. Close it after every plugin is closed.
func NewRuntime(ctx context.Context, o RuntimeOptions) (*Runtime, error) {
	cache := wazero.NewCompilationCache()
	if o.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(o.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", o.CacheDir, err)
		}
		cache = c
	}
	return &Runtime{log: o.Logger, cache: cache, runtimes: map[uint32]wazero.Runtime{}}, nil
}

// runtimeFor returns the wazero runtime for a memory limit, creating it (with
// WASI and the wasmhost host module) on first use.
func (r *Runtime) runtimeFor(ctx context.Context, pages uint32) (wazero.Runtime, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("runtime closed")
	}
	if rt, ok := r.runtimes[pages]; ok {
		return rt, nil
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(pages).
		// Off but in the benchmark that compares it: time limits are
		// enforced by instrumenting the plugin (timelimit.go).
		WithCloseOnContextDone(r.timeLimit == limitWazero)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := instantiateHostModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate host module: %w", err)
	}
	if err := instantiateSandboxModule(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("instantiate sandbox module: %w", err)
	}
	r.runtimes[pages] = rt
	return rt, nil
}

// Close closes every wazero runtime (and with them any module still open)
// and the compilation cache.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var errs []error
	for _, rt := range r.runtimes {
		errs = append(errs, rt.Close(ctx))
	}
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}

package plugintool

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
)

// Cost is what a plugin module costs the daemon before it handles a record.
type Cost struct {
	Size int64 // bytes of the .wasm
	// Cold is loading it with an empty compilation cache: compiling it to
	// machine code and the host's load checks, as at a daemon's first start
	// or a new plugin version. Warm is loading it again from the cache, as
	// at a restart or another worker.
	Cold, Warm time.Duration
}

// MeasureCost loads the plugin at path as the daemon does, twice: with a new
// compilation cache, then from that cache.
func MeasureCost(ctx context.Context, path string) (Cost, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Cost{}, err
	}
	c := Cost{Size: st.Size()}
	cache, err := os.MkdirTemp("", "wasmhost-measure-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(cache)
	if c.Cold, err = timeLoad(ctx, path, cache); err != nil {
		return c, err
	}
	c.Warm, err = timeLoad(ctx, path, cache)
	return c, err
}

func timeLoad(ctx context.Context, path, cache string) (time.Duration, error) {
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: cache, Logger: zerolog.New(io.Discard)})
	if err != nil {
		return 0, err
	}
	defer rt.Close(ctx)
	start := time.Now()
	p, err := rt.Load(ctx, host.LoadOptions{Name: "measure", Path: path})
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	return d, p.Close(ctx)
}

// String is one line for plugin build: size, cold and warm load times.
func (c Cost) String() string {
	return fmt.Sprintf("%s, loads in %s cold (compiling), %s warm (from the compilation cache)",
		formatSize(c.Size), c.Cold.Round(time.Millisecond), c.Warm.Round(100*time.Microsecond))
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// A pipeline whose plugin cannot tick refuses tick_interval at start, with
// the pipeline and plugin named.
func TestStartRefusesTicksWithoutATickHandler(t *testing.T) {
	ctx := context.Background()
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	plugin, err := rt.Load(ctx, host.LoadOptions{Name: "forward", Path: testutil.BuildPlugin(t, "plugins/forward")})
	if err != nil {
		t.Fatal(err)
	}
	slot := NewSlot(plugin, zerolog.Nop())
	t.Cleanup(slot.Close)
	cfg := config.DefaultPipeline()
	cfg.Name, cfg.Plugin, cfg.Topics = "copy", "forward", []string{"in"}
	cfg.TickInterval = config.Duration{Duration: time.Second}
	_, err = Start(cfg, Options{Plugin: slot, Logger: zerolog.Nop()})
	if err == nil || !strings.Contains(err.Error(), "pipeline copy: tick_interval is set but plugin forward has no tick handler") {
		t.Fatalf("start: %v", err)
	}
}

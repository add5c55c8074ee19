package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
)

// pluginSet loads each distinct (file, memory limit, pin) once and shares
// the compiled plugin between the pipelines and sources that use it.
type pluginSet struct {
	rt      *host.Runtime
	dir     string
	byKey   map[host.LoadOptions]*host.Plugin
	byOwner map[string]*host.Plugin
}

func newPluginSet(rt *host.Runtime, dir string) *pluginSet {
	return &pluginSet{rt: rt, dir: dir, byKey: map[host.LoadOptions]*host.Plugin{}, byOwner: map[string]*host.Plugin{}}
}

// loadAll loads every plugin the config names and reports every failure.
func (s *pluginSet) loadAll(ctx context.Context, cfg *config.Config, log zerolog.Logger) error {
	var errs []error
	for i, p := range cfg.Pipelines {
		errs = append(errs, s.load(ctx, fmt.Sprintf("pipelines[%d]", i), p.Name, p.Plugin, p.PluginPath(s.dir), p.SHA256, p.Limits, log))
	}
	for i, src := range cfg.Sources {
		errs = append(errs, s.load(ctx, fmt.Sprintf("sources[%d]", i), src.Name, src.Plugin, src.PluginPath(s.dir), src.SHA256, src.Limits, log))
	}
	return errors.Join(errs...)
}

func (s *pluginSet) load(ctx context.Context, key, owner, name, path string, pin config.Digest, lim config.Limits, log zerolog.Logger) error {
	o := host.LoadOptions{Name: name, Path: path, MemoryLimit: uint64(lim.Memory)}
	if !pin.IsZero() {
		o.SHA256 = pin.String()
	}
	p, ok := s.byKey[o]
	if !ok {
		var err error
		if p, err = s.rt.Load(ctx, o); err != nil {
			return fmt.Errorf("%s.plugin: %w", key, err)
		}
		s.byKey[o] = p
		log.Info().Str("plugin", name).Str("path", path).Str("sha256", p.SHA256()).Msg("plugin loaded")
	}
	s.byOwner[owner] = p
	return nil
}

func (s *pluginSet) pipeline(name string) *host.Plugin { return s.byOwner[name] }
func (s *pluginSet) source(name string) *host.Plugin   { return s.byOwner[name] }

func (s *pluginSet) close(ctx context.Context) error {
	var errs []error
	for _, p := range s.byKey {
		errs = append(errs, p.Close(ctx))
	}
	return errors.Join(errs...)
}

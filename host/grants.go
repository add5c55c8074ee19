package host

import (
	crand "crypto/rand"
	"maps"
	"slices"

	"github.com/tetratelabs/wazero"
)

// moduleConfig is what an instance may reach. By default: clocks (the sleep
// bounded by the call's deadline), randomness, and stdout/stderr, which
// become log lines; no filesystem, environment or arguments. Grants add
// those, explicitly. No network: WASI preview 1 cannot open sockets, and no
// socket is preopened.
func (i *Instance) moduleConfig(g Grants) wazero.ModuleConfig {
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithNanosleep(i.nanosleep).
		WithRandSource(crand.Reader).
		WithStdout(i.stdout).WithStderr(i.stderr)
	for _, k := range slices.Sorted(maps.Keys(g.Env)) {
		mc = mc.WithEnv(k, g.Env[k])
	}
	if len(g.Args) > 0 {
		mc = mc.WithArgs(append([]string{i.plugin.name}, g.Args...)...)
	}
	if len(g.Dirs) > 0 {
		fs := wazero.NewFSConfig()
		for _, d := range g.Dirs {
			if d.Write {
				fs = fs.WithDirMount(d.Host, d.Guest)
			} else {
				fs = fs.WithReadOnlyDirMount(d.Host, d.Guest)
			}
		}
		mc = mc.WithFSConfig(fs)
	}
	return mc
}

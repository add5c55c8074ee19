package host

import (
	crand "crypto/rand"
	"fmt"
	"maps"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// moduleConfig is what an instance may reach. By default: clocks (the sleep
// bounded by the call's deadline), randomness, and stdout/stderr, which
// become log lines; no filesystem, environment or arguments. Grants add
// those, explicitly. No network: WASI preview 1 cannot open sockets, and no
// socket is preopened. Each granted directory is opened as an os.Root
// (rootfs.go) that the instance keeps in i.roots until it closes.
func (i *Instance) moduleConfig(g Grants) (wazero.ModuleConfig, error) {
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
		fsc := wazero.NewFSConfig()
		for _, d := range g.Dirs {
			root, err := newRootFS(d.Host, !d.Write)
			if err != nil {
				i.closeRoots()
				return nil, fmt.Errorf("granted directory %s: %w", d.Host, err)
			}
			i.roots = append(i.roots, root.root)
			fsc = fsc.(sysfs.FSConfig).WithSysFSMount(root, d.Guest)
		}
		mc = mc.WithFSConfig(fsc)
	}
	return mc, nil
}

// closeRoots closes the granted directories.
func (i *Instance) closeRoots() {
	for _, r := range i.roots {
		_ = r.Close()
	}
	i.roots = nil
}

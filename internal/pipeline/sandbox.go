package pipeline

import (
	"maps"
	"slices"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
)

// instanceLimits are the host's limits for a pipeline's or source's
// plugin instances; maxInput is 0 for a source, which has no input.
func instanceLimits(l config.Limits, maxInput config.Size) host.Limits {
	return host.Limits{
		CallTimeout:     l.CallTimeout.Duration,
		MaxInputRecord:  int(maxInput),
		MaxOutputRecord: int(l.MaxOutputRecord),
		MaxOutputBytes:  int(l.MaxOutputBytes),
		MaxOutputs:      l.MaxOutputs,
	}
}

// instanceGrants are the host's grants for what the config grants.
func instanceGrants(g config.Grants) host.Grants {
	out := host.Grants{Env: maps.Clone(g.Env), Args: slices.Clone(g.Args)}
	for _, guest := range slices.Sorted(maps.Keys(g.ReadDirs)) {
		out.Dirs = append(out.Dirs, host.Dir{Host: g.ReadDirs[guest], Guest: guest})
	}
	for _, guest := range slices.Sorted(maps.Keys(g.WriteDirs)) {
		out.Dirs = append(out.Dirs, host.Dir{Host: g.WriteDirs[guest], Guest: guest, Write: true})
	}
	return out
}

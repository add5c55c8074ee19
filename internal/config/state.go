package config

// State bounds each input partition's key-value store, for plugins that
// use state (docs/design.md, "State").
type State struct {
	MaxKeys  int  `toml:"max_keys"`  // keys one partition's store may hold
	MaxBytes Size `toml:"max_bytes"` // bytes of keys and values one partition's store may hold
}

// Defaults of State.
const (
	DefaultStateMaxKeys  = 1_000_000
	DefaultStateMaxBytes = 128 * MiB
)

func (s State) validate(p *problems, key string) {
	between(p, key+".max_keys", s.MaxKeys, 1, 1_000_000_000)
	if s.MaxBytes < KiB || s.MaxBytes > 64*GiB {
		p.add(key+".max_bytes", "must be between 1KiB and 64GiB, got %s", s.MaxBytes)
	}
}

package config

import (
	"fmt"
	"os"
)

// Load reads the TOML file at path, applies it on top of Default and
// validates the result.
//
// Errors name the file: a syntax error reads "path:line:col: message"; any
// other problem is a *ValidationError, wrapped as "path: ...", that lists the
// unknown keys, the values of the wrong type or syntax and the failed checks
// of Validate together.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError, which names the file
	}
	cfg, probs, err := decode(data)
	if err != nil {
		if pe, ok := asParseError(err); ok {
			return nil, &syntaxError{path: path, err: pe}
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// A key whose value could not be decoded kept its default; do not also
	// report what Validate thinks of that default.
	bad := make(map[string]bool, len(probs))
	for _, p := range probs {
		bad[p.Key] = true
	}
	var checks problems
	cfg.validate(&checks)
	for _, p := range checks {
		if !bad[p.Key] {
			probs = append(probs, p)
		}
	}
	if err := probs.err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

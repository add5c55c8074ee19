// Package assdk holds the wasmhost AssemblyScript SDK, wasmhost.ts and
// json.ts, and hands it to Go code: `wasmhost plugin new --lang as` copies
// the files into a new plugin, so the SDK always matches the ABI of the
// binary that wrote it, and pins the compiler version of package.json.
// AssemblyScript authors use the .ts files directly; the Go package is only
// their carrier.
package assdk

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Files are the SDK's files by name, as a plugin imports them.
var Files = map[string][]byte{"wasmhost.ts": sdk, "json.ts": jsonReader}

var (
	//go:embed wasmhost.ts
	sdk []byte
	//go:embed json.ts
	jsonReader []byte
	//go:embed package.json
	packageJSON []byte
)

// CompilerVersion is the assemblyscript npm package version the SDK is
// built and tested with (package.json).
func CompilerVersion() (string, error) {
	var p struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(packageJSON, &p); err != nil {
		return "", fmt.Errorf("sdk/as/package.json: %w", err)
	}
	v := p.DevDependencies["assemblyscript"]
	if v == "" {
		return "", fmt.Errorf("sdk/as/package.json pins no assemblyscript version")
	}
	return v, nil
}

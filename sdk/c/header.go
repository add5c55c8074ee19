// Package csdk holds the wasmhost C SDK, the single header wasmhost.h, and
// hands it to Go code: `wasmhost plugin new --lang c` copies Header into a
// new plugin, so the header always matches the ABI of the binary that wrote
// it. C authors use wasmhost.h directly; the Go package is only its carrier.
package csdk

import _ "embed"

// Header is the content of wasmhost.h.
//
//go:embed wasmhost.h
var Header []byte

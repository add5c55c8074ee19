// Package wasmhost carries the Go guest SDK's source in the binary, so that
// `wasmhost plugin new` writes a Go plugin that builds without a checkout of
// this repository: it copies these files into the plugin's own tree. Nothing
// else lives here; the daemon's code is under cmd/, internal/, host/ and
// kafka/.
package wasmhost

import "embed"

// GoSDK holds the sdk tree as it is in this module, and go.mod for its go
// directive; the scaffold copies the Go packages' non-test files (the C and
// AssemblyScript SDKs beside them have carriers of their own).
//
//go:embed go.mod sdk
var GoSDK embed.FS

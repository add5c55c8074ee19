package host

import (
	"errors"
	"fmt"
)

// Errors a caller can act on; match them with errors.Is.
var (
	// ErrABIMismatch: the plugin was built for another ABI version.
	ErrABIMismatch = errors.New("plugin ABI version mismatch")
	// ErrInvalidPlugin: the file is not a usable wasmhost plugin (bad wasm,
	// missing exports, unknown imports, hash mismatch).
	ErrInvalidPlugin = errors.New("invalid plugin")
	// ErrTrap: the guest trapped (a Go panic, unreachable, out of memory,
	// out-of-bounds access). The instance is broken.
	ErrTrap = errors.New("plugin trapped")
	// ErrTimeout: the call ran past its time limit and was stopped. The
	// instance is broken.
	ErrTimeout = errors.New("plugin call timed out")
	// ErrInputTooLarge: an input record is over Limits.MaxInputRecord; the
	// host failed it without handing it to the plugin (see Failure.Err).
	ErrInputTooLarge = errors.New("input record over the size limit")
	// ErrNoHandler: the plugin does not handle this kind of call.
	ErrNoHandler = errors.New("plugin has no handler for this call")
	// ErrFailed: the plugin reported that the whole call failed.
	ErrFailed = errors.New("plugin call failed")
	// ErrClosed: the instance, or the plugin version it would run, was closed.
	ErrClosed = errors.New("closed")
)

// PluginError gives the context of a failure inside a plugin.
type PluginError struct {
	Plugin  string // plugin name
	Version string // sha256 of the plugin file
	Func    string // export or phase: "load", "_initialize", "wasmhost_on_batch", ...
	Err     error
}

func (e *PluginError) Error() string {
	v := e.Version
	if len(v) > 12 {
		v = v[:12]
	}
	if v == "" { // not known yet: the file was not read
		return fmt.Sprintf("plugin %s %s: %v", e.Plugin, e.Func, e.Err)
	}
	return fmt.Sprintf("plugin %s (%s) %s: %v", e.Plugin, v, e.Func, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

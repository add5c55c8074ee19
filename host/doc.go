// Package host runs wasmhost plugins in wazero.
//
// # Lifecycle
//
// A [Runtime] is created once per daemon; it owns the wazero runtimes (one per
// distinct memory limit, sharing one on-disk compilation cache) and the
// "wasmhost" host module. [Runtime.Load] reads, verifies, instruments and
// compiles a plugin file once, producing a [Plugin]: an immutable, compiled
// version identified by the file's sha256. [Plugin.Instantiate] makes an
// [Instance] for one worker (one per partition actor or source). Closing a
// Plugin does not close its instances; close every Instance, then the
// Plugin, then the Runtime. [Runtime.Inspect] makes Load's checks on a file
// without keeping it, and reports everything it finds instead of stopping
// at the first problem (it is behind `wasmhost plugin inspect`).
//
// # Concurrency
//
// Runtime and Plugin are safe for concurrent use. An Instance is not: one
// goroutine owns it and calls [Instance.HandleBatch] or [Instance.Tick] one at
// a time. After a call fails with a trap or a timeout the instance is broken
// ([Instance.Broken]); close it and instantiate a new one.
//
// # Sandbox
//
// An instance reaches clocks, randomness and its stdout/stderr (rate-limited
// log lines tagged with the plugin); a filesystem, environment variables and
// arguments only as [Grants] give them, each granted directory resolved
// beneath itself by an os.Root (no symlink or ".." leads out); never the
// network (WASI preview 1 cannot open a socket). Its memory is capped by
// [LoadOptions.MemoryLimit] and each call by [Limits]: a time limit, the
// largest input record handed in, and what one call may produce.
// docs/limits.md lists them all.
//
// Load rewrites every plugin (package host/internal/instrument) with two
// guards. Time: the plugin calls back into the host once every 1024 loop
// iterations and function entries; there the host checks the call's deadline
// and traps the call when it has passed. WASI sleeps end at the deadline too.
// The start section, the initializer and every handler call run under it.
// Stack: a call deeper than about a million frame slots traps, where wazero's
// own ceiling would let one instance take ~160 MiB of host memory outside its
// memory limit. wazero's WithCloseOnContextDone is not used: it leaves native
// code at every loop iteration and more than triples the cost of a Go plugin's
// call; the guards cost a few percent of it (BenchmarkCallTimeLimit).
//
// # Memory
//
// Host functions never trust the guest: every pointer and length is bounds
// checked and answered with an abi status code, never a panic. Bytes the guest
// hands over (produced records, log lines) are copied before the host function
// returns. A [Result] belongs to its Instance and is overwritten by the next
// call, but the byte slices of its outputs are freshly allocated per call and
// may be kept (the producer holds them until the broker acknowledges). A
// key or value equal, byte for byte, to its input record's, in a batch built
// with [Batch.AddKept], is the caller's slice instead: a plugin that passes
// large values through costs no copy out of guest memory.
package host

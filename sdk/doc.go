// Package sdk is the Go guest SDK for wasmhost plugins: WebAssembly modules
// that handle Kafka records the wasmhost daemon consumes, and produce records
// back through it.
//
// A plugin is a main package that registers its handlers in an init function
// and has an empty main:
//
//	package main
//
//	import "github.com/wasmhost/wasmhost/sdk"
//
//	func init() {
//		sdk.OnRecord(func(r *sdk.Record) error {
//			return sdk.Produce("copy", r.Key, r.Value, r.Headers...)
//		})
//	}
//
//	func main() {}
//
// built with the standard Go toolchain as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o copy.wasm .
//
// The package depends on the standard library and on package abi only; it
// exports the ABI's functions itself, so a plugin declares none.
//
// # Lifecycle
//
// The host instantiates a plugin once per worker and runs its init functions
// (main is never called in a reactor). It then checks the ABI version the
// SDK declares, and calls into the instance for as long as it lives:
//
//   - for each batch of input records, the [OnRecord] handler runs once per
//     record, in offset order; then what the handlers produced goes to the
//     host in one call;
//   - for a source, the [OnTick] handler runs at the configured interval.
//
// A handler's error fails one record (or the tick). A panic is not recovered:
// it traps, and the host throws the instance away and applies its failure
// policy; it makes a new instance when it needs one, which runs init again.
// Package-level state therefore lives as long as one instance, and a plugin
// must not rely on it surviving.
//
// # Memory
//
// The Record a handler receives, and every byte slice in it, belongs to the
// SDK and is valid only until the handler returns: the next record is
// decoded into the same Record, and the next batch into the same buffer.
// Copy what you keep (bytes.Clone, strings.Clone). A handler may modify the
// bytes in place while it runs.
//
// [Produce] and [ProduceRecord] copy what they are given before they return,
// so a handler may reuse its own buffers at once, with one exception that
// makes passing records on cheap: bytes of the batch (the record's key,
// value, header values or any part of them) are not copied but referenced,
// and the host reads them when the produced records are handed over, after
// the handler returns. Changing a record's bytes and then producing them
// produces the change; changing them after producing them may change what
// was produced.
//
// On the hot path the SDK allocates nothing per record: the batch buffer, the
// Record, the header slice and the produce buffers are reused and only grow,
// and records on one topic share one topic string. A plugin that does
// not allocate in its handler runs a batch without allocating.
//
// # Concurrency
//
// An instance is single-threaded: the host never calls into it while a call
// is running, so handlers need no locks. Call the SDK's functions during a
// handler call, from the handler's goroutine. A handler must not wait for a
// goroutine that outlives its call: between calls no goroutine runs.
//
// # Config
//
// [Config] and [ConfigMap] read the plugin's config, the key/value pairs of
// its entry in the daemon's config file. Besides them the host sets these
// reserved keys in every instance's config (abi.ConfigPipeline,
// abi.ConfigPlugin, abi.ConfigConsumer):
//
//	wasmhost.pipeline  the pipeline's name
//	wasmhost.plugin    the plugin's name
//	wasmhost.consumer  the consumer group member id of the instance's worker;
//	                   empty for sources
//
// # Native builds
//
// Built for anything but wasip1 (for go vet, go test and godoc), the host
// functions are implemented in-process by a stub host, so the package and the
// plugins that import it compile and the SDK's own tests run natively. The
// stub is not a wasmhost: test plugins end to end by running the daemon.
package sdk

// Package abi is the wasmhost plugin ABI, version 1: the one place that names
// the WebAssembly imports and exports shared by the host and every guest SDK,
// the status codes they return, and the binary encoding of records.
//
// It depends on the standard library only, so the Go guest SDK and the host
// both import it and cannot drift apart. docs/abi.md describes the same
// contract for authors writing plugins in other languages; the constants here
// are normative.
//
// # Calls
//
// The host instantiates a plugin, runs its "_initialize" export if present
// (Go and WASI reactors need it), then calls [ExportABIVersion]; a result other
// than [Version] refuses the plugin. For each batch of input records the host
// calls [ExportOnBatch] with the encoded batch's length and record count; the
// guest copies the batch into its own memory with [FuncBatchRead], handles the
// records, reports per-record failures with [FuncRecordFail] and hands produced
// records to the host with [FuncProduce]. Tick-driven plugins export
// [ExportOnTick] instead of (or as well as) [ExportOnBatch].
//
// # Memory ownership
//
// The guest owns all of its linear memory: the host never allocates in it and
// writes only into a buffer the guest passed to a host function, within the
// length the guest gave. The host copies out every byte it keeps before the
// host function returns.
//
// # Encoding
//
// All integers are little-endian. A byte string is a u32 length then the bytes;
// a nullable byte string is an i32 length (-1 = null) then the bytes. A record is
//
//	i32 partition | i64 offset | i64 timestamp (Unix ms) | string topic |
//	nullable key | nullable value | u32 header count | headers...
//
// where a header is a string key then a nullable value. A batch is a u32 record
// count followed by the records. A produce buffer is a u32 count followed by
// entries, each a u32 input index (the position of the input record in the
// current batch it derives from, or [NoInput]) followed by a record whose
// partition is -1 to let the host partition by key and whose offset is ignored.
//
// # Concurrency
//
// A plugin instance is single-threaded: the host never calls into one instance
// from two goroutines at once. The encoders and decoders here hold no state.
package abi

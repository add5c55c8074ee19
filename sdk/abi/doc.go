// Package abi is the wasmhost plugin ABI, version 2: the one place that names
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
// All integers are little-endian. A byte string is given by a u32 offset and
// a u32 length; a length of 0xFFFFFFFF (-1) is null. Records cross the
// boundary as fixed-size descriptors that point into a data area, so that a
// guest reads any field of any record without parsing what comes before it.
//
// A batch (host to guest, [FuncBatchRead]) is
//
//	u32 count | u32 reserved (0) | count record descriptors | data area
//
// and a record descriptor ([RecordDescSize] = 56 bytes) is
//
//	0  i32 partition        4  u32 header count
//	8  i64 offset           16 i64 timestamp (Unix ms)
//	24 u32 topic offset     28 u32 topic length
//	32 u32 key offset       36 u32 key length (-1: null)
//	40 u32 value offset     44 u32 value length (-1: null)
//	48 u32 headers offset   52 u32 reserved (0)
//
// Offsets are relative to the start of the data area, which follows the last
// descriptor (at 8 + 56 × count). The headers offset locates an array of
// header descriptors ([HeaderDescSize] = 16 bytes): u32 key offset, u32 key
// length, u32 value offset, u32 value length (-1: null). Records of one batch
// usually share one copy of their topic's bytes.
//
// What a guest produces in one [FuncProduce] call is two areas: an array of
// produce descriptors ([OutputDescSize] = 48 bytes each) and a data area:
//
//	0  u32 input index      4  i32 partition (-1: by key)
//	8  i64 timestamp        16 u32 topic ref     20 u32 topic length
//	24 u32 key ref          28 u32 key length (-1: null)
//	32 u32 value ref        36 u32 value length (-1: null)
//	40 u32 headers offset   44 u32 header count
//
// The input index is the position in the current batch of the input record
// the output derives from, or [NoInput]. A ref is an offset into the call's
// data area or, with [BatchRef] (bit 31) set, into the data area of the
// current batch as the guest holds it: where it last copied the batch with
// [FuncBatchRead]. The host reads a batch reference from the guest's memory
// at the produce call, so a byte string changed in place is produced as
// changed. That lets a guest produce what it received without copying it.
// The headers offset locates header descriptors in the call's data area;
// their key and value refs follow the same rule.
//
// # Concurrency
//
// A plugin instance is single-threaded: the host never calls into one instance
// from two goroutines at once. The encoders and decoders here hold no state.
package abi

package abi

// Version is the ABI version this package describes. A guest declares the
// version it was built for through [ExportABIVersion]; the host refuses any
// other.
const Version = 2

// ModuleName is the import module of every host function.
const ModuleName = "wasmhost"

// Exports a guest provides.
const (
	// ExportABIVersion: () -> i32. Required. Returns the ABI version.
	ExportABIVersion = "wasmhost_abi_version"
	// ExportOnBatch: (batch_len i32, count i32) -> i32 status. Handles one
	// batch of input records; returns [StatusOK] once every record has been
	// handled (failures are reported per record with [FuncRecordFail]), or a
	// negative status if the whole batch failed.
	ExportOnBatch = "wasmhost_on_batch"
	// ExportOnTick: (now_unix_ms i64) -> i32 status. Called at the source's
	// interval; records it produces use [NoInput] as their input index.
	ExportOnTick = "wasmhost_on_tick"
	// ExportHandlers: () -> i32. Optional. Returns the handlers the guest
	// has, as [HandlesBatches] | [HandlesTicks], once initialized. A guest
	// whose exports are fixed whatever it registers (the Go SDK exports
	// both handlers) declares here which it really has, so that the host
	// refuses a plugin used for what it cannot do when it loads it, not
	// at its first call. Without it, the handler exports are the truth.
	ExportHandlers = "wasmhost_handlers"
	// ExportInitialize is the WASI reactor initializer; the host runs it once
	// per instance, before anything else, when it is exported.
	ExportInitialize = "_initialize"
	// ExportMemory is the linear memory every guest must export.
	ExportMemory = "memory"
)

// Host functions, imported from [ModuleName]. Every pointer and length is an
// i32 into the guest's memory; every result is an i32 status or size.
const (
	// FuncBatchRead: (ptr, len) -> i32. Copies the current input batch to
	// [ptr, ptr+len). Returns the number of bytes written, or a negative
	// status: [StatusNoBatch] outside ExportOnBatch, [StatusBufferTooSmall]
	// when len is shorter than the batch.
	FuncBatchRead = "batch_read"
	// FuncProduce: (descs_ptr, descs_len, data_ptr, data_len) -> i32. Hands
	// the host produced records: an array of produce descriptors and the data
	// area their refs index (see the package doc); descs_len is a multiple
	// of [OutputDescSize]. The host checks every entry before it keeps any; an entry
	// it refuses (a topic the plugin may not write to, a record over the size
	// limit) fails the input record it derives from (or the whole call, for
	// an entry with [NoInput]) and the rest are kept: the call still returns
	// [StatusOK]. A negative status means the whole call's records were
	// refused (malformed, an input index out of range, over the per-call
	// limits).
	FuncProduce = "produce"
	// FuncRecordFail: (index, msg_ptr, msg_len) -> i32. Marks input record
	// `index` of the current batch as failed, with a reason. The host applies
	// the pipeline's failure policy to it and discards what it produced.
	FuncRecordFail = "record_fail"
	// FuncLog: (level, ptr, len) -> i32. Writes one log line at a [LogLevel].
	FuncLog = "log"
	// FuncConfigRead: (ptr, cap) -> i32. Returns the size of the plugin's
	// encoded config (see [AppendConfig]) and, if cap is large enough, writes
	// it to [ptr, ptr+cap). Call with cap 0 to learn the size.
	FuncConfigRead = "config_read"
)

// Bits of what [ExportHandlers] returns.
const (
	HandlesBatches int32 = 1 << 0 // ExportOnBatch handles records
	HandlesTicks   int32 = 1 << 1 // ExportOnTick handles ticks
)

// NoInput is the input index of a produced record that derives from no input
// record (one produced on a tick).
const NoInput = ^uint32(0)

// Status codes returned by host functions and guest exports. Negative values
// are errors.
const (
	StatusOK             int32 = 0
	StatusBadPointer     int32 = -1 // a pointer/length pair outside guest memory
	StatusBufferTooSmall int32 = -2 // the guest's buffer cannot hold the result
	StatusNoBatch        int32 = -3 // batch_read or record_fail outside on_batch
	StatusBadEncoding    int32 = -4 // a buffer the guest passed does not decode
	StatusBadIndex       int32 = -5 // an input index outside the current batch
	StatusTooLarge       int32 = -6 // over a size or count limit
	StatusForbidden      int32 = -7 // an entry names a topic the plugin may not produce to
	StatusNoHandler      int32 = -8 // the guest has no handler for this call
	StatusFailed         int32 = -9 // the guest's handler failed the whole call
	StatusBadLevel       int32 = -10
)

// StatusText names a status code for logs and errors.
func StatusText(s int32) string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusBadPointer:
		return "pointer or length out of range"
	case StatusBufferTooSmall:
		return "buffer too small"
	case StatusNoBatch:
		return "no batch in progress"
	case StatusBadEncoding:
		return "malformed encoding"
	case StatusBadIndex:
		return "input index out of range"
	case StatusTooLarge:
		return "over a size or count limit"
	case StatusForbidden:
		return "topic not allowed"
	case StatusNoHandler:
		return "no handler registered"
	case StatusFailed:
		return "handler failed"
	case StatusBadLevel:
		return "unknown log level"
	case StatusNotFound:
		return "key not found"
	case StatusNoState:
		return "no state for this instance"
	}
	return "unknown status"
}

// LogLevel is the level argument of [FuncLog].
type LogLevel int32

// Log levels, in increasing severity.
const (
	LevelDebug LogLevel = 0
	LevelInfo  LogLevel = 1
	LevelWarn  LogLevel = 2
	LevelError LogLevel = 3
)

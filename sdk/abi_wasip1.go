//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// The host functions, imported from module "wasmhost" (abi.ModuleName). The
// names must match the abi.Func* constants; names_test.go checks them.

//go:wasmimport wasmhost batch_read
func wasmBatchRead(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmhost produce
func wasmProduce(descs unsafe.Pointer, descsLen uint32, data unsafe.Pointer, dataLen uint32) int32

//go:wasmimport wasmhost record_fail
func wasmRecordFail(index uint32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmhost log
func wasmLog(level int32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wasmhost config_read
func wasmConfigRead(ptr unsafe.Pointer, cap uint32) int32

// The exports. They only call the dispatch code the native tests run.

//go:wasmexport wasmhost_abi_version
func wasmhostABIVersion() int32 { return abiVersion() }

//go:wasmexport wasmhost_handlers
func wasmhostHandlers() int32 { return handlers() }

//go:wasmexport wasmhost_on_batch
func wasmhostOnBatch(batchLen, count int32) int32 { return onBatch(batchLen, count) }

//go:wasmexport wasmhost_on_tick
func wasmhostOnTick(nowMs int64) int32 { return onTick(nowMs) }

// bytesPtr is the address of b's first byte, or nil for an empty b; the host
// reads nothing at a zero length.
func bytesPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func hostBatchRead(b []byte) int32 { return wasmBatchRead(bytesPtr(b), uint32(len(b))) }

func hostProduce(descs, data []byte) int32 {
	return wasmProduce(bytesPtr(descs), uint32(len(descs)), bytesPtr(data), uint32(len(data)))
}

func hostRecordFail(index uint32, msg string) int32 {
	return wasmRecordFail(index, stringPtr(msg), uint32(len(msg)))
}

func hostLog(level abi.LogLevel, msg string) int32 {
	return wasmLog(int32(level), stringPtr(msg), uint32(len(msg)))
}

func hostConfigRead(b []byte) int32 { return wasmConfigRead(bytesPtr(b), uint32(len(b))) }

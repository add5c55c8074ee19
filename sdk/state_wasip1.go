//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// The state host functions (abi.FuncState*). A plugin that never calls the
// Store's methods does not import them: the linker drops them.

//go:wasmimport wasmhost state_get
func wasmStateGet(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valCap uint32) int32

//go:wasmimport wasmhost state_put
func wasmStatePut(key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport wasmhost state_delete
func wasmStateDelete(key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport wasmhost state_scan
func wasmStateScan(start unsafe.Pointer, startLen uint32, end unsafe.Pointer, endLen uint32, buf unsafe.Pointer, bufCap uint32) int32

func hostStateGet(key, buf []byte) int32 {
	return wasmStateGet(bytesPtr(key), uint32(len(key)), bytesPtr(buf), uint32(len(buf)))
}

func hostStatePut(key, value []byte) int32 {
	return wasmStatePut(bytesPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value)))
}

func hostStateDelete(key []byte) int32 { return wasmStateDelete(bytesPtr(key), uint32(len(key))) }

func hostStateScan(start, end, buf []byte) int32 {
	endLen := uint32(len(end))
	if end == nil {
		endLen = abi.NoBound
	}
	return wasmStateScan(bytesPtr(start), uint32(len(start)), bytesPtr(end), endLen, bytesPtr(buf), uint32(len(buf)))
}

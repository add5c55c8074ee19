// Command statehostile attacks the state host functions with pointers and
// lengths a well-behaved SDK never passes, and fails its record with the
// status each attack got, for host/kv_test.go to check. It is built from
// source by the test.
package main

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/wasmhost/wasmhost/sdk"
)

//go:wasmimport wasmhost state_get
func get(kp, kl, vp, vc uint32) int32

//go:wasmimport wasmhost state_put
func put(kp, kl, vp, vl uint32) int32

//go:wasmimport wasmhost state_delete
func del(kp, kl uint32) int32

//go:wasmimport wasmhost state_scan
func scan(sp, sl, ep, el, bp, bc uint32) int32

var buf [64]byte

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

const far = 0xfffffff0 // past any memory under 4 GiB

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		k := []byte("key")
		kp := addr(k)
		bp := addr(buf[:])
		var out []string
		try := func(name string, s int32) { out = append(out, fmt.Sprintf("%s=%d", name, s)) }
		try("put_key_far", put(far, 100, kp, 3))
		try("put_value_far", put(kp, 3, far, 100))
		try("put_key_wraps", put(0xffffffff, 2, kp, 3))
		try("put_key_huge", put(kp, 5000, kp, 3))
		try("put_value_huge", put(kp, 3, kp, 2<<20))
		try("put_key_empty", put(kp, 0, kp, 3))
		try("put_ok", put(kp, 3, kp, 3))
		try("get_val_far", get(kp, 3, far, 64))
		try("get_small_cap", get(kp, 3, bp, 1))
		try("get_ok", get(kp, 3, bp, 64))
		try("delete_far", del(far, 3))
		try("scan_buf_far", scan(kp, 0, 0, 0xffffffff, far, 64))
		try("scan_buf_wraps", scan(kp, 0, 0, 0xffffffff, bp, 0xffffffff))
		try("scan_start_huge", scan(kp, 0xfffffffe, 0, 0xffffffff, bp, 64))
		try("scan_cap_3", scan(kp, 0, 0, 0xffffffff, bp, 3))
		try("scan_ok", scan(kp, 0, 0, 0xffffffff, bp, 64))
		return fmt.Errorf("%s", strings.Join(out, " "))
	})
}

func main() {}

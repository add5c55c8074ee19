package instrument_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasmhost/wasmhost/host/internal/instrument"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
)

// fillModule exports fill<n>(addr) = memory.fill(addr, 0, n), written the way
// Go's compiler writes it (i32.const 0; i32.const n; memory.fill), for each
// size, and fill_var(addr, n) with a size that is not a constant. Its one
// page of memory is exported.
func fillModule(sizes []int32) []byte {
	var m wt.Module
	m.Memory(1, -1)
	m.Export("memory", wt.KindMemory, 0)
	for _, n := range sizes {
		// A local of its own, so the scratch local lands after it.
		f := m.Func([]byte{wt.I32}, nil, []byte{wt.I64}, new(wt.Code).
			LocalGet(0).I32Const(0).I32Const(n).Op(0xfc, 11, 0).End())
		m.Export("fill"+itoa(int(n)), wt.KindFunc, f)
	}
	f := m.Func([]byte{wt.I32, wt.I32}, nil, nil, new(wt.Code).
		LocalGet(0).I32Const(0).LocalGet(1).Op(0xfc, 11, 0).End())
	m.Export("fill_var", wt.KindFunc, f)
	return m.Bytes()
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSmallFillsBecomeStores: a constant-size memory.fill of zeros is
// rewritten as stores that zero exactly the same bytes, up to 256 bytes; a
// larger one, or one of a size that is not constant, is left as it is; one
// past the end of memory still traps.
func TestSmallFillsBecomeStores(t *testing.T) {
	sizes := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 112, 255, 256, 257, 1000}
	orig := fillModule(sizes)
	bin, err := instrument.Interruptible(orig, opts)
	if err != nil {
		t.Fatal(err)
	}
	fills := bytes.Count(bin, []byte{0xfc, 11, 0})
	if want := 3; fills != want { // 257, 1000 and the variable size
		t.Errorf("%d memory.fill left, want %d", fills, want)
	}
	a, _ := run(t, orig)
	b, _ := run(t, bin)
	const at = 1000
	ones := bytes.Repeat([]byte{0xff}, 2048)
	for _, n := range sizes {
		var got [2][]byte
		for k, mod := range []api.Module{a, b} {
			if !mod.Memory().Write(0, ones) {
				t.Fatal("writing memory")
			}
			if _, err := call(t, mod, "fill"+itoa(int(n)), at); err != nil {
				t.Fatalf("fill%d: %v", n, err)
			}
			mem, _ := mod.Memory().Read(0, 2048)
			got[k] = bytes.Clone(mem)
		}
		if !bytes.Equal(got[0], got[1]) {
			t.Errorf("fill%d: the rewrite wrote other bytes", n)
		}
		if zeros := bytes.Count(got[1], []byte{0}); zeros != int(n) || got[1][at-1] != 0xff || got[1][at+int(n)] != 0xff {
			t.Errorf("fill%d: %d bytes zeroed", n, zeros)
		}
	}
	// Past the end of the page: still a trap.
	for _, n := range []int32{8, 100} {
		if _, err := call(t, b, "fill"+itoa(int(n)), 65536-uint64(n)/2); err == nil {
			t.Errorf("fill%d across the end of memory did not trap", n)
		}
	}
	if _, err := call(t, b, "fill_var", 100, 50); err != nil {
		t.Errorf("fill_var: %v", err)
	}
}

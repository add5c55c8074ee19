//go:build !wasip1

package sdk

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func TestStateScanPagesThroughASmallBuffer(t *testing.T) {
	stubState = map[string][]byte{}
	t.Cleanup(func() { stubState = nil; stateBuf = make([]byte, 256) })
	stateBuf = make([]byte, 20) // one or two entries per page
	for i := range 30 {
		if err := State.Put(fmt.Appendf(nil, "w/%02d", i), fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := State.Put([]byte("x"), make([]byte, 100)); err != nil { // larger than the buffer
		t.Fatal(err)
	}
	var keys []string
	if err := State.Prefix([]byte("w/"), func(k, v []byte) bool {
		keys = append(keys, string(k)+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 30 || keys[0] != "w/00=0" || keys[29] != "w/29=29" {
		t.Fatalf("Prefix(w/) = %v", keys)
	}
	n := 0
	if err := State.Scan(nil, nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 31 {
		t.Fatalf("Scan(all) saw %d keys, %v", n, err)
	}
	v, ok, err := State.Get([]byte("x"))
	if err != nil || !ok || len(v) != 100 {
		t.Fatalf("Get(x) = %d bytes, %v, %v", len(v), ok, err)
	}
	if _, ok, err := State.Get([]byte("missing")); ok || err != nil {
		t.Fatalf("Get(missing) = %v, %v", ok, err)
	}
}

func TestStateWithoutHostState(t *testing.T) {
	stubState = nil
	if err := State.Put([]byte("k"), nil); !errors.Is(err, ErrNoState) {
		t.Fatalf("Put without state: %v, want ErrNoState", err)
	}
	if _, _, err := State.Get([]byte("k")); !errors.Is(err, ErrNoState) {
		t.Fatalf("Get without state: %v, want ErrNoState", err)
	}
}

func TestStateWasip1NamesMatchABI(t *testing.T) {
	src, err := os.ReadFile("state_wasip1.go")
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmimport (\S+) (\S+)$`).FindAllStringSubmatch(string(src), -1) {
		if m[1] != abi.ModuleName {
			t.Errorf("import %s from module %q", m[2], m[1])
		}
		imports = append(imports, m[2])
	}
	slices.Sort(imports)
	want := []string{abi.FuncStateDelete, abi.FuncStateGet, abi.FuncStatePut, abi.FuncStateScan}
	if !slices.Equal(imports, want) {
		t.Errorf("wasmimports %q, want %q", imports, want)
	}
}

package sdk

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Directives cannot name constants, so abi_wasip1.go spells the import and
// export names out; check them against package abi.
func TestWasip1NamesMatchABI(t *testing.T) {
	src, err := os.ReadFile("abi_wasip1.go")
	if err != nil {
		t.Fatal(err)
	}
	var imports, exports []string
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmimport (\S+) (\S+)$`).FindAllStringSubmatch(string(src), -1) {
		if m[1] != abi.ModuleName {
			t.Errorf("import %s from module %q, want %q", m[2], m[1], abi.ModuleName)
		}
		imports = append(imports, m[2])
	}
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmexport (\S+)$`).FindAllStringSubmatch(string(src), -1) {
		exports = append(exports, m[1])
	}
	slices.Sort(imports)
	slices.Sort(exports)
	wantImports := []string{abi.FuncBatchRead, abi.FuncConfigRead, abi.FuncLog, abi.FuncProduce, abi.FuncRecordFail}
	wantExports := []string{abi.ExportABIVersion, abi.ExportHandlers, abi.ExportOnBatch, abi.ExportOnTick}
	slices.Sort(wantImports)
	slices.Sort(wantExports)
	if !slices.Equal(imports, wantImports) {
		t.Errorf("wasmimports %q, want %q", imports, wantImports)
	}
	if !slices.Equal(exports, wantExports) {
		t.Errorf("wasmexports %q, want %q", exports, wantExports)
	}
}

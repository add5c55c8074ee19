package csdk

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// The header restates the ABI in C; these tests keep the two in step.

func TestHeaderNamesMatchTheABI(t *testing.T) {
	h := string(Header)
	imports := map[string]bool{}
	for _, m := range regexp.MustCompile(`import_module\("([^"]+)"\), import_name\("([^"]+)"\)`).FindAllStringSubmatch(h, -1) {
		if m[1] != abi.ModuleName {
			t.Errorf("import module %q, the ABI says %q", m[1], abi.ModuleName)
		}
		imports[m[2]] = true
	}
	for _, f := range []string{abi.FuncBatchRead, abi.FuncProduce, abi.FuncRecordFail, abi.FuncLog, abi.FuncConfigRead,
		abi.FuncStateGet, abi.FuncStatePut, abi.FuncStateDelete, abi.FuncStateScan} {
		if !imports[f] {
			t.Errorf("host function %s is not declared", f)
		}
		delete(imports, f)
	}
	if len(imports) > 0 {
		t.Errorf("declares imports the ABI does not have: %v", imports)
	}
	exports := map[string]bool{}
	for _, m := range regexp.MustCompile(`export_name\("([^"]+)"\)`).FindAllStringSubmatch(h, -1) {
		exports[m[1]] = true
	}
	for _, e := range []string{abi.ExportABIVersion, abi.ExportOnBatch, abi.ExportOnTick} {
		if !exports[e] {
			t.Errorf("export %s is not defined", e)
		}
	}
	if m := regexp.MustCompile(`#define WH_ABI_VERSION (\d+)`).FindStringSubmatch(h); m == nil || m[1] != strconv.Itoa(abi.Version) {
		t.Errorf("WH_ABI_VERSION = %v, the ABI is version %d", m, abi.Version)
	}
	if m := regexp.MustCompile(`#define WH_NO_INPUT (0x[0-9a-f]+)u`).FindStringSubmatch(h); m == nil || m[1] != "0x"+strconv.FormatUint(uint64(abi.NoInput), 16) {
		t.Errorf("WH_NO_INPUT = %v", m)
	}
}

func TestHeaderStatusCodesMatchTheABI(t *testing.T) {
	want := map[string]int32{
		"WH_OK": abi.StatusOK, "WH_BAD_POINTER": abi.StatusBadPointer, "WH_BUFFER_TOO_SMALL": abi.StatusBufferTooSmall,
		"WH_NO_BATCH": abi.StatusNoBatch, "WH_BAD_ENCODING": abi.StatusBadEncoding, "WH_BAD_INDEX": abi.StatusBadIndex,
		"WH_TOO_LARGE": abi.StatusTooLarge, "WH_FORBIDDEN": abi.StatusForbidden, "WH_NO_HANDLER": abi.StatusNoHandler,
		"WH_FAILED": abi.StatusFailed, "WH_BAD_LEVEL": abi.StatusBadLevel,
		"WH_NOT_FOUND": abi.StatusNotFound, "WH_NO_STATE": abi.StatusNoState,
		"WH_DEBUG": int32(abi.LevelDebug), "WH_INFO": int32(abi.LevelInfo), "WH_WARN": int32(abi.LevelWarn), "WH_ERROR": int32(abi.LevelError),
	}
	got := map[string]int32{}
	for _, m := range regexp.MustCompile(`\b(WH_[A-Z_]+) = (-?\d+)`).FindAllStringSubmatch(string(Header), -1) {
		n, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]] = int32(n)
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %d (defined: %v), the ABI says %d", name, g, ok, v)
		}
		delete(got, name)
	}
	if len(got) > 0 {
		t.Errorf("the header defines codes the test does not know: %v", got)
	}
}

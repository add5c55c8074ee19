package assdk

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// wasmhost.ts restates the ABI in AssemblyScript; these tests keep the two
// in step, as sdk/c's do for wasmhost.h.

func TestSDKNamesMatchTheABI(t *testing.T) {
	src := string(sdk)
	imports := map[string]bool{}
	for _, m := range regexp.MustCompile(`@external\("([^"]+)", "([^"]+)"\)`).FindAllStringSubmatch(src, -1) {
		if m[1] != abi.ModuleName {
			t.Errorf("import module %q, the ABI says %q", m[1], abi.ModuleName)
		}
		imports[m[2]] = true
	}
	for _, f := range []string{abi.FuncBatchRead, abi.FuncProduce, abi.FuncRecordFail, abi.FuncLog, abi.FuncConfigRead} {
		if !imports[f] {
			t.Errorf("host function %s is not declared", f)
		}
		delete(imports, f)
	}
	if len(imports) > 0 {
		t.Errorf("declares imports the ABI does not have: %v", imports)
	}
	for _, e := range []string{abi.ExportABIVersion, abi.ExportOnBatch, abi.ExportOnTick, abi.ExportHandlers} {
		if !regexp.MustCompile(`export function ` + e + `\(`).MatchString(src) {
			t.Errorf("export %s is not defined", e)
		}
	}
	if m := regexp.MustCompile(`export const ABI_VERSION: i32 = (\d+);`).FindStringSubmatch(src); m == nil || m[1] != strconv.Itoa(abi.Version) {
		t.Errorf("ABI_VERSION = %v, the ABI is version %d", m, abi.Version)
	}
	for name, want := range map[string]int64{
		"NO_INPUT": int64(abi.NoInput), "BATCH_REF": abi.BatchRef, "BATCH_HEAD": abi.BatchHeaderSize,
		"RECORD_DESC": abi.RecordDescSize, "HEADER_DESC": abi.HeaderDescSize, "OUTPUT_DESC": abi.OutputDescSize,
		"HANDLES_BATCHES": int64(abi.HandlesBatches), "HANDLES_TICKS": int64(abi.HandlesTicks),
	} {
		m := regexp.MustCompile(`const ` + name + `: \w+ = (0x[0-9a-f]+|\d+);`).FindStringSubmatch(src)
		if m == nil {
			t.Errorf("%s is not defined", name)
			continue
		}
		if got, err := strconv.ParseInt(m[1], 0, 64); err != nil || got != want {
			t.Errorf("%s = %s, the ABI says %d", name, m[1], want)
		}
	}
}

func TestSDKStatusCodesMatchTheABI(t *testing.T) {
	want := map[string]int32{
		"OK": abi.StatusOK, "BAD_POINTER": abi.StatusBadPointer, "BUFFER_TOO_SMALL": abi.StatusBufferTooSmall,
		"NO_BATCH": abi.StatusNoBatch, "BAD_ENCODING": abi.StatusBadEncoding, "BAD_INDEX": abi.StatusBadIndex,
		"TOO_LARGE": abi.StatusTooLarge, "FORBIDDEN": abi.StatusForbidden, "NO_HANDLER": abi.StatusNoHandler,
		"FAILED": abi.StatusFailed, "BAD_LEVEL": abi.StatusBadLevel,
	}
	got := map[string]int32{}
	for _, m := range regexp.MustCompile(`export const STATUS_([A-Z_]+): i32 = (-?\d+);`).FindAllStringSubmatch(string(sdk), -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] = int32(n)
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("STATUS_%s = %d (defined: %v), the ABI says %d", name, g, ok, v)
		}
		delete(got, name)
	}
	if len(got) > 0 {
		t.Errorf("defines codes the ABI does not know: %v", got)
	}
	levels := regexp.MustCompile(`export enum Level \{ Debug = (\d), Info = (\d), Warn = (\d), Error = (\d) \}`).FindStringSubmatch(string(sdk))
	if levels == nil || levels[1] != strconv.Itoa(int(abi.LevelDebug)) || levels[2] != strconv.Itoa(int(abi.LevelInfo)) ||
		levels[3] != strconv.Itoa(int(abi.LevelWarn)) || levels[4] != strconv.Itoa(int(abi.LevelError)) {
		t.Errorf("Level = %v", levels)
	}
}

func TestCompilerVersionIsPinned(t *testing.T) {
	v, err := CompilerVersion()
	if err != nil || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("CompilerVersion = %q, %v: pin an exact version", v, err)
	}
}

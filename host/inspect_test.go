package host_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func inspect(t *testing.T, o host.LoadOptions) *host.Inspection {
	t.Helper()
	in, err := newRuntime(t).Inspect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestInspectAGoodPlugin(t *testing.T) {
	path := testutil.BuildPlugin(t, "plugins/forward")
	in := inspect(t, host.LoadOptions{Name: "forward", Path: path})
	if len(in.Problems) != 0 {
		t.Fatalf("problems: %q", in.Problems)
	}
	if !in.HasABIVersion || in.ABIVersion != abi.Version || !in.HandlesBatches() {
		t.Errorf("abi %d (%v), batches %v, ticks %v", in.ABIVersion, in.HasABIVersion, in.HandlesBatches(), in.HandlesTicks())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Size != int(st.Size()) || len(in.SHA256) != 64 || in.MemoryLimit != host.DefaultMemoryLimit {
		t.Errorf("size %d (file %d), sha %q, limit %d", in.Size, st.Size(), in.SHA256, in.MemoryLimit)
	}
	if in.Memory == nil || in.Memory.MinPages == 0 {
		t.Errorf("memory = %+v", in.Memory)
	}
	want := map[string]string{
		abi.ExportOnBatch:    "func (i32, i32) -> (i32)",
		abi.ExportABIVersion: "func () -> (i32)",
		abi.ExportMemory:     "memory min ",
	}
	for _, s := range in.Exports {
		if w, ok := want[s.Name]; ok && strings.HasPrefix(s.Kind+" "+s.Type, w) {
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("exports %+v lack %v", in.Exports, want)
	}
	var hostImports []string
	for _, s := range in.Imports {
		if s.Module == abi.ModuleName {
			hostImports = append(hostImports, s.Name)
		}
	}
	if !strings.Contains(strings.Join(hostImports, ","), abi.FuncProduce) {
		t.Errorf("imports from %s: %v", abi.ModuleName, hostImports)
	}
	for _, s := range in.Imports {
		if strings.HasPrefix(s.Module, "wasmhost:") {
			t.Errorf("the guards' import %s.%s is listed as the plugin's", s.Module, s.Name)
		}
	}
	// The same file with a matching pin has no problems, with another one it has.
	if in := inspect(t, host.LoadOptions{Path: path, SHA256: in.SHA256}); len(in.Problems) != 0 {
		t.Errorf("matching pin: %q", in.Problems)
	}
	if in := inspect(t, host.LoadOptions{Path: path, SHA256: strings.Repeat("0", 64)}); len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "sha256 mismatch") {
		t.Errorf("other pin: %q", in.Problems)
	}
}

func TestInspectNamesEveryProblem(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("\x00asm but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	reserved := &wt.Module{}
	reserved.ImportFunc("wasmhost:sandbox", "yield", nil, nil)
	exportMemory(reserved)
	exportABIVersion(reserved)
	exportOnBatch(reserved, new(wt.Code).I32Const(0).End())
	cases := []struct {
		name    string
		o       host.LoadOptions
		says    []string
		version int32 // 0: not asked
	}{
		{"wrong abi", host.LoadOptions{Path: testutil.BuildPlugin(t, "host/testdata/plugins/wrongabi")},
			[]string{"built for ABI version 999, this host speaks version 2"}, 999},
		{"no exports", host.LoadOptions{Path: testutil.BuildPlugin(t, "host/testdata/plugins/noexports")},
			[]string{"missing export wasmhost_abi_version", "exports neither wasmhost_on_batch nor wasmhost_on_tick"}, 0},
		{"not wasm", host.LoadOptions{Path: garbage}, []string{"not a valid WebAssembly module"}, 0},
		{"reserved import", host.LoadOptions{Path: writeWasm(t, reserved)}, []string{`imports from the module reserved for the host: "wasmhost:sandbox"`}, 0},
		// A Go guest declares more initial memory than 1 MiB.
		{"memory over the limit", host.LoadOptions{Path: testutil.BuildPlugin(t, "plugins/forward"), MemoryLimit: 1 << 20},
			[]string{"declared memory does not fit the memory limit of 1 MiB"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := inspect(t, c.o)
			if len(in.Problems) != len(c.says) {
				t.Fatalf("problems %q, want %d", in.Problems, len(c.says))
			}
			for i, s := range c.says {
				if !strings.Contains(in.Problems[i], s) {
					t.Errorf("problem %d = %q, want it to say %q", i, in.Problems[i], s)
				}
			}
			if in.HasABIVersion != (c.version != 0) || in.ABIVersion != c.version {
				t.Errorf("abi version %d (asked: %v), want %d", in.ABIVersion, in.HasABIVersion, c.version)
			}
		})
	}
	if _, err := newRuntime(t).Inspect(context.Background(), host.LoadOptions{Path: filepath.Join(t.TempDir(), "nope.wasm")}); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

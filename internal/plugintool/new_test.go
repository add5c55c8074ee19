package plugintool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
	csdk "github.com/wasmhost/wasmhost/sdk/c"
)

func TestNewWritesAGoPluginWithItsOwnSDK(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	files, err := New(NewOptions{Name: "my-plugin", Lang: LangGo, Dir: dir, Version: "v9"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(files, " ")
	for _, w := range []string{".gitignore README.md go.mod main.go testdata/expected.jsonl testdata/input.jsonl wasmhost-sdk.toml wasmhost-sdk/go.mod ",
		"wasmhost-sdk/sdk/abi/abi.go", "wasmhost-sdk/sdk/handler.go", "wasmhost-sdk/sdk/json/json.go"} {
		if !strings.Contains(got, w) {
			t.Errorf("files %q lack %q", got, w)
		}
	}
	if strings.Contains(got, "_test.go") || strings.Contains(got, "testdata/sdktest") || strings.Contains(got, "sdk/c/") {
		t.Errorf("the SDK copy holds more than the Go packages: %s", got)
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"module my-plugin\n", "require " + ModulePath + " v0.0.0\n", "replace " + ModulePath + " => ./wasmhost-sdk\n"} {
		if !strings.Contains(string(mod), w) {
			t.Errorf("go.mod lacks %q:\n%s", w, mod)
		}
	}
	if info, ok, err := ReadSDKInfo(dir); err != nil || !ok || info != (SDKInfo{ABI: abi.Version, Wasmhost: "v9", Lang: LangGo}) {
		t.Errorf("%s = %+v %v %v", SDKFile, info, ok, err)
	}
	if lang, err := Detect(dir); err != nil || lang != LangGo {
		t.Errorf("Detect = %q, %v", lang, err)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	if !strings.Contains(string(readme), "wasmhost plugin test my-plugin.wasm") || strings.Contains(string(readme), "{{") {
		t.Errorf("README not rendered:\n%s", readme)
	}

	// --sdk points the plugin at a source tree instead.
	root := testutil.Root(t)
	dir = filepath.Join(t.TempDir(), "q")
	if _, err := New(NewOptions{Name: "q", Lang: LangGo, Dir: dir, SDK: root}); err != nil {
		t.Fatal(err)
	}
	mod, _ = os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(mod), "replace "+ModulePath+" => "+root+"\n") {
		t.Errorf("--sdk: go.mod\n%s", mod)
	}
	if _, err := os.Stat(filepath.Join(dir, GoSDKDir)); !os.IsNotExist(err) {
		t.Errorf("--sdk still copied the SDK: %v", err)
	}
}

func TestNewWritesACPluginWithTheHeader(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	files, err := New(NewOptions{Name: "cplug", Lang: LangC, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(files, " "); got != ".gitignore README.md cplug.c testdata/expected.jsonl testdata/input.jsonl wasmhost-sdk.toml wasmhost.h wasmhost_json.h" {
		t.Errorf("files %q", got)
	}
	h, err := os.ReadFile(filepath.Join(dir, "wasmhost.h"))
	if err != nil || string(h) != string(csdk.Header) {
		t.Errorf("wasmhost.h is not the SDK's header (%v)", err)
	}
	if lang, err := Detect(dir); err != nil || lang != LangC {
		t.Errorf("Detect = %q, %v", lang, err)
	}
}

func TestNewRefusesBadRequests(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    NewOptions
		says string
	}{
		{NewOptions{Name: "../evil", Lang: LangGo, Dir: t.TempDir()}, "use letters, digits"},
		{NewOptions{Name: "", Lang: LangGo}, "use letters, digits"},
		{NewOptions{Name: "p", Lang: "rust", Dir: filepath.Join(t.TempDir(), "p")}, `language "rust"`},
		{NewOptions{Name: "p", Lang: LangC, Dir: full}, "not empty"},
		{NewOptions{Name: "p", Lang: LangGo, Dir: filepath.Join(t.TempDir(), "p"), SDK: t.TempDir()}, "not a wasmhost source tree"},
	} {
		if _, err := New(c.o); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%+v: err = %v, want %q", c.o, err, c.says)
		}
	}
}

func TestFindSDK(t *testing.T) {
	root := testutil.Root(t)
	t.Setenv(EnvSDK, "")
	if got, err := FindSDK(""); err == nil {
		t.Errorf("FindSDK() with nothing given = %q: a plugin must not depend on where the binary was built", got)
	}
	t.Setenv(EnvSDK, root)
	if got, err := FindSDK(""); err != nil || got != root {
		t.Errorf("FindSDK() with $%s = %q, %v", EnvSDK, got, err)
	}
	t.Setenv(EnvSDK, filepath.Join(root, "sdk"))
	if _, err := FindSDK(""); err == nil || !strings.Contains(err.Error(), "not a wasmhost source tree") {
		t.Errorf("$%s pointing into the tree: %v", EnvSDK, err)
	}
	if got, err := FindSDK(root); err != nil || got != root {
		t.Errorf("FindSDK(root) = %q, %v", got, err)
	}
}

func TestDetectNeedsOneLanguage(t *testing.T) {
	dir := t.TempDir()
	if _, err := Detect(dir); !errors.Is(err, ErrNotAPlugin) {
		t.Errorf("empty dir: %v", err)
	}
	for _, f := range []string{"a.c", "b.go"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Detect(dir); err == nil || !strings.Contains(err.Error(), "both Go and C") {
		t.Errorf("mixed dir: %v", err)
	}
	if _, err := Build(BuildOptions{Dir: filepath.Join(dir, "nope")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestOutputPath(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "plug")
	for out, want := range map[string]string{
		"":                           filepath.Join(src, "plug.wasm"),
		dir:                          filepath.Join(dir, "plug.wasm"),
		filepath.Join(dir, "x.wasm"): filepath.Join(dir, "x.wasm"),
	} {
		if got, err := outputPath(src, out); err != nil || got != want {
			t.Errorf("outputPath(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
}

func TestBuildWarnsAboutAnSDKForAnotherABI(t *testing.T) {
	dir := t.TempDir()
	if w := sdkWarning(dir); w != "" {
		t.Errorf("no %s: warning %q", SDKFile, w)
	}
	for abiVersion, says := range map[int]string{abi.Version - 1: "older than this wasmhost's ABI", abi.Version + 1: "newer than", abi.Version: ""} {
		content := strings.Replace(string(sdkRecord(LangC, "v1")), fmt.Sprintf("abi = %d", abi.Version), fmt.Sprintf("abi = %d", abiVersion), 1)
		if err := os.WriteFile(filepath.Join(dir, SDKFile), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		w := sdkWarning(dir)
		if (says == "") != (w == "") || !strings.Contains(w, says) {
			t.Errorf("abi %d: warning %q, want %q", abiVersion, w, says)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, SDKFile), []byte("abi = \"x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w := sdkWarning(dir); !strings.Contains(w, SDKFile) {
		t.Errorf("a broken %s: warning %q", SDKFile, w)
	}
}

package plugintool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	wasmhost "github.com/wasmhost/wasmhost"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// ModulePath is the Go module that holds the SDK.
const ModulePath = "github.com/wasmhost/wasmhost"

// EnvSDK names a wasmhost source tree to take the Go SDK from.
const EnvSDK = "WASMHOST_SDK"

// GoSDKDir is where a scaffolded Go plugin keeps its copy of the SDK: a
// module of its own, ModulePath, that the plugin's go.mod replaces the SDK
// with, so the plugin builds with nothing but Go, anywhere.
const GoSDKDir = "wasmhost-sdk"

// SDKFile records, in a scaffolded plugin, the SDK it carries: its ABI
// version, the wasmhost that wrote it and the language.
const SDKFile = "wasmhost-sdk.toml"

// SDKInfo is the content of SDKFile.
type SDKInfo struct {
	ABI      int    `toml:"abi"`
	Wasmhost string `toml:"wasmhost"`
	Lang     string `toml:"lang"`
}

func sdkRecord(lang, version string) []byte {
	if version == "" {
		version = "dev"
	}
	return fmt.Appendf(nil, "# The wasmhost SDK this plugin carries, written by `wasmhost plugin new`.\n"+
		"# `wasmhost plugin build` warns when abi is not the ABI of the wasmhost running it.\n"+
		"abi = %d\nwasmhost = %q\nlang = %q\n", abi.Version, version, lang)
}

// ReadSDKInfo reads dir's SDKFile; ok is false when there is none (a plugin
// not scaffolded by wasmhost plugin new, or by an older one).
func ReadSDKInfo(dir string) (info SDKInfo, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, SDKFile))
	if errors.Is(err, fs.ErrNotExist) {
		return info, false, nil
	}
	if err != nil {
		return info, false, err
	}
	if _, err := toml.Decode(string(b), &info); err != nil {
		return info, false, fmt.Errorf("%s: %w", filepath.Join(dir, SDKFile), err)
	}
	return info, true, nil
}

// sdkWarning says what is wrong with the SDK a plugin in dir carries, or "".
func sdkWarning(dir string) string {
	info, ok, err := ReadSDKInfo(dir)
	switch {
	case err != nil:
		return err.Error()
	case !ok || info.ABI == abi.Version:
		return ""
	case info.ABI < abi.Version:
		return fmt.Sprintf("%s: this plugin carries the SDK for ABI %d (from wasmhost %s), older than this wasmhost's ABI %d: the daemon will refuse the plugin. "+
			"Take the current SDK from a new scaffold (wasmhost plugin new NAME --lang %s) and rebuild.",
			SDKFile, info.ABI, info.Wasmhost, abi.Version, info.Lang)
	}
	return fmt.Sprintf("%s: this plugin carries the SDK for ABI %d (from wasmhost %s), newer than this wasmhost's ABI %d: a daemon of this version will refuse the plugin.",
		SDKFile, info.ABI, info.Wasmhost, abi.Version)
}

// goFiles adds a Go plugin's go.mod and, unless o.SDK or $WASMHOST_SDK
// names a source tree, the copy of the SDK the binary carries.
func goFiles(o NewOptions, data map[string]string, files map[string][]byte) error {
	goVersion, err := goDirective(wasmhost.GoSDK, "go.mod")
	if err != nil {
		return err
	}
	replace := "./" + GoSDKDir
	data["SDK"] = replace
	if o.SDK != "" || os.Getenv(EnvSDK) != "" {
		tree, err := FindSDK(o.SDK)
		if err != nil {
			return err
		}
		replace, data["SDK"] = tree, tree
	} else if err := copyGoSDK(files, goVersion); err != nil {
		return err
	}
	files["go.mod"] = fmt.Appendf(nil, "module %s\n\ngo %s\n\nrequire %s v0.0.0\n\n// The SDK's source: see %s.\nreplace %s => %s\n",
		o.Name, goVersion, ModulePath, SDKFile, ModulePath, replace)
	return nil
}

// copyGoSDK adds GoSDKDir: a go.mod declaring ModulePath and the SDK
// packages' source, tests left out.
func copyGoSDK(files map[string][]byte, goVersion string) error {
	files[GoSDKDir+"/go.mod"] = fmt.Appendf(nil, "// A copy of the wasmhost Go SDK, written by `wasmhost plugin new`; standard library only.\nmodule %s\n\ngo %s\n", ModulePath, goVersion)
	return fs.WalkDir(wasmhost.GoSDK, "sdk", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || p == "sdk/c" || p == "sdk/as") {
			return fs.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(p, "_test.go") || path.Ext(p) != ".go" {
			return nil
		}
		b, err := fs.ReadFile(wasmhost.GoSDK, p)
		if err != nil {
			return err
		}
		files[GoSDKDir+"/"+p] = b
		return nil
	})
}

// FindSDK returns the root of the wasmhost source tree dir, or of
// $WASMHOST_SDK when dir is "", checking that it holds the Go SDK.
func FindSDK(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(EnvSDK)
	}
	if dir == "" {
		return "", fmt.Errorf("no wasmhost source tree given: pass --sdk PATH or set %s", EnvSDK)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := checkSDK(abs); err != nil {
		return "", err
	}
	return abs, nil
}

// checkSDK checks that dir holds module ModulePath with the sdk package.
func checkSDK(dir string) error {
	mod, err := goModLine(filepath.Join(dir, "go.mod"), "module")
	if err != nil || mod != ModulePath {
		return fmt.Errorf("%s is not a wasmhost source tree (its go.mod must declare module %s)", dir, ModulePath)
	}
	if _, err := os.Stat(filepath.Join(dir, "sdk", "doc.go")); err != nil {
		return fmt.Errorf("%s has no Go SDK in sdk/: %w", dir, err)
	}
	return nil
}

// goModLine returns the argument of the first go.mod directive named
// directive ("module", "go").
func goModLine(path, directive string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v, ok := directiveIn(b, directive)
	if !ok {
		return "", fmt.Errorf("%s: no %s directive", path, directive)
	}
	return v, nil
}

func goDirective(fsys fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", err
	}
	v, ok := directiveIn(b, "go")
	if !ok {
		return "", fmt.Errorf("embedded %s: no go directive", name)
	}
	return v, nil
}

func directiveIn(b []byte, directive string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == directive {
			return strings.Trim(fields[1], `"`), true
		}
	}
	return "", false
}

package plugintool

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ModulePath is the Go module that holds the SDK.
const ModulePath = "github.com/wasmhost/wasmhost"

// EnvSDK names a wasmhost source tree to take the Go SDK from.
const EnvSDK = "WASMHOST_SDK"

// FindSDK returns the root of a wasmhost source tree for a Go plugin's
// go.mod to point at: dir when given, else $WASMHOST_SDK, else the tree this
// binary was built from when it is still there (the usual case for a user
// with a clone of the repository).
func FindSDK(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(EnvSDK)
	}
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if err := checkSDK(abs); err != nil {
			return "", err
		}
		return abs, nil
	}
	if root := builtFrom(); root != "" && checkSDK(root) == nil {
		return root, nil
	}
	return "", fmt.Errorf("cannot find the wasmhost Go SDK: pass --sdk with the path of a wasmhost clone, or set %s", EnvSDK)
}

// builtFrom is the source tree this file was compiled from, recorded in the
// binary unless it was built with -trimpath.
func builtFrom() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file))) // internal/plugintool/sdk.go
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
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == directive {
			return strings.Trim(fields[1], `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no %s directive", path, directive)
}

package plugintool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Languages a plugin can be written in.
const (
	LangGo = "go"
	LangC  = "c"
	LangAS = "as" // AssemblyScript
)

// Environment variables the C build reads.
const (
	// EnvClang names the clang to use; default "clang" from PATH.
	EnvClang = "WASMHOST_CLANG"
	// EnvSysroot is a WASI sysroot for clang; default clang's own (Debian's
	// clang finds the wasi-libc package without one).
	EnvSysroot = "WASI_SYSROOT"
	// EnvASC names the AssemblyScript compiler; default the plugin's own
	// node_modules/.bin/asc (after npm install), else asc from PATH.
	EnvASC = "WASMHOST_ASC"
)

// ErrNotAPlugin: a directory holds no Go or C plugin source.
var ErrNotAPlugin = errors.New("no plugin source")

// BuildOptions say what to build and where.
type BuildOptions struct {
	Dir string // the plugin's source directory
	// Out is the .wasm to write, or an existing directory to write NAME.wasm
	// into; "" writes NAME.wasm in Dir. NAME is Dir's base name.
	Out string
	// Log receives the compiler command line and its output, and warnings
	// (an SDK older than this wasmhost's ABI).
	Log io.Writer
	// Debug keeps the symbols a release build strips (a Go plugin's
	// function names in the wasm name section, which trap traces show).
	Debug bool
}

// Detect tells a plugin's language from its files: Go files (a main
// package) or C files.
func Detect(dir string) (string, error) {
	goFiles, err := sourceFiles(dir, ".go")
	if err != nil {
		return "", err
	}
	cFiles, err := sourceFiles(dir, ".c")
	if err != nil {
		return "", err
	}
	_, err = os.Stat(filepath.Join(dir, ASEntry))
	hasAS := err == nil
	switch {
	case len(goFiles) > 0 && len(cFiles) > 0:
		return "", fmt.Errorf("%s has both Go and C files: keep one language per plugin directory", dir)
	case hasAS && len(goFiles)+len(cFiles) > 0:
		return "", fmt.Errorf("%s has %s and Go or C files: keep one language per plugin directory", dir, ASEntry)
	case len(goFiles) > 0:
		return LangGo, nil
	case len(cFiles) > 0:
		return LangC, nil
	case hasAS:
		return LangAS, nil
	}
	return "", fmt.Errorf("%w in %s: expected .go files (a main package), .c files or an AssemblyScript %s", ErrNotAPlugin, dir, ASEntry)
}

// sourceFiles lists dir's files with the extension, tests excluded, sorted.
func sourceFiles(dir, ext string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ext) && !strings.HasSuffix(n, "_test.go") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Build compiles the plugin in o.Dir to WebAssembly and returns the path of
// the .wasm it wrote.
func Build(o BuildOptions) (string, error) {
	if o.Dir == "" {
		o.Dir = "."
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return "", err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	lang, err := Detect(dir)
	if err != nil {
		return "", err
	}
	out, err := outputPath(dir, o.Out)
	if err != nil {
		return "", err
	}
	if w := sdkWarning(dir); w != "" {
		fmt.Fprintln(o.Log, "warning:", w)
	}
	var cmd *exec.Cmd
	switch lang {
	case LangGo:
		cmd, err = goBuild(dir, out, o.Debug)
	case LangC:
		cmd, err = cBuild(dir, out)
	case LangAS:
		cmd, err = asBuild(dir, out, o.Debug)
	}
	if err != nil {
		return "", err
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	fmt.Fprintln(o.Log, commandLine(cmd))
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s (%s): %w", dir, lang, err)
	}
	return out, nil
}

func outputPath(dir, out string) (string, error) {
	name := filepath.Base(dir) + ".wasm"
	if out == "" {
		return filepath.Join(dir, name), nil
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return filepath.Join(out, name), nil
	}
	return out, nil
}

// GoFlags are the flags every Go plugin is built with besides
// -buildmode=c-shared: no file system paths in the module, and no symbol
// table or DWARF (-s also drops the wasm name section, so traps show
// function indexes, not names: BuildOptions.Debug keeps it).
var GoFlags = []string{"-trimpath", "-ldflags=-s -w"}

// goBuild is the standard Go toolchain building a WASI reactor: the SDK
// exports the ABI's functions, and c-shared makes the host run its init
// functions through _initialize instead of main.
func goBuild(dir, out string, debug bool) (*exec.Cmd, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("go not found in PATH: install Go to build Go plugins: %w", err)
	}
	args := []string{"build", "-buildmode=c-shared", GoFlags[0]}
	if !debug {
		args = append(args, GoFlags[1:]...)
	}
	cmd := exec.Command(gobin, append(args, "-o", out, ".")...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	return cmd, nil
}

// CFlags are the flags every C plugin is built with: a WASI reactor (the
// host runs _initialize, never main), optimized, warnings on, DWARF stripped
// but function names kept so traps name the function.
var CFlags = []string{"--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Wl,--strip-debug"}

func cBuild(dir, out string) (*exec.Cmd, error) {
	clang := os.Getenv(EnvClang)
	if clang == "" {
		clang = "clang"
	}
	bin, err := exec.LookPath(clang)
	if err != nil {
		return nil, fmt.Errorf("%s not found: C plugins need clang, lld and wasi-libc (on Debian: scripts/setup-c.sh, or apt-get install clang lld wasi-libc libclang-rt-dev-wasm32): %w", clang, err)
	}
	files, err := sourceFiles(dir, ".c")
	if err != nil {
		return nil, err
	}
	args := append([]string{}, CFlags...)
	if sr := os.Getenv(EnvSysroot); sr != "" {
		args = append(args, "--sysroot="+sr)
	}
	args = append(args, "-I", dir, "-o", out)
	args = append(args, files...)
	return exec.Command(bin, args...), nil
}

func commandLine(cmd *exec.Cmd) string {
	var env []string
	for _, e := range cmd.Env {
		if strings.HasPrefix(e, "GOOS=") || strings.HasPrefix(e, "GOARCH=") {
			env = append(env, e)
		}
	}
	args := append([]string{filepath.Base(cmd.Args[0])}, cmd.Args[1:]...)
	return strings.Join(append(env, args...), " ")
}

package plugintool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// ASEntry is the entry file of an AssemblyScript plugin: the file asc
// compiles, which imports the SDK (wasmhost.ts) and re-exports its exports.
const ASEntry = "main.ts"

// ASFlags are the flags every AssemblyScript plugin is built with: optimized;
// the minimal runtime, whose garbage the SDK collects after each call; the
// top-level code run by _initialize as in any WASI reactor; and the SDK's
// abort, which logs through the host and traps, instead of an env.abort
// import the host does not have. The abort's path is the one the entry
// file imports the SDK by ("./wasmhost" in a scaffold).
var ASFlags = []string{"-O3", "--runtime", "minimal", "--exportStart", "_initialize", "--use", "abort=wasmhost/wasmhost_abort"}

// sdkImport finds the SDK's module path in an entry file's imports.
var sdkImport = regexp.MustCompile(`from\s+["']((?:\.{1,2}/)*(?:[\w.-]+/)*wasmhost)["']`)

func asBuild(dir, out string, debug bool) (*exec.Cmd, error) {
	asc, err := findASC(dir)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(dir, ASEntry))
	if err != nil {
		return nil, err
	}
	m := sdkImport.FindSubmatch(src)
	if m == nil {
		return nil, fmt.Errorf("%s does not import the wasmhost SDK (from \"./wasmhost\")", filepath.Join(dir, ASEntry))
	}
	flags := append([]string(nil), ASFlags...)
	flags[len(flags)-1] = "abort=" + strings.TrimPrefix(string(m[1]), "./") + "/wasmhost_abort"
	args := append([]string{ASEntry, "-o", out}, flags...)
	if debug {
		args = append(args, "--debug")
	}
	return exec.Command(asc, args...), nil
}

// findASC is $WASMHOST_ASC, else the plugin's node_modules/.bin/asc, else
// asc from PATH.
func findASC(dir string) (string, error) {
	if p := os.Getenv(EnvASC); p != "" {
		return p, nil
	}
	local := filepath.Join(dir, "node_modules", ".bin", "asc")
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	p, err := exec.LookPath("asc")
	if err != nil {
		return "", fmt.Errorf("the AssemblyScript compiler asc is not installed: run npm install in %s (its package.json pins assemblyscript), or set %s: %w", dir, EnvASC, err)
	}
	return p, nil
}

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// TestExamplesPassTheirReadmeTest builds every example with `wasmhost plugin
// build` and runs the `wasmhost plugin test` command its README documents,
// which compares the plugin's output with testdata/expected.jsonl.
func TestExamplesPassTheirReadmeTest(t *testing.T) {
	root := testutil.Root(t)
	readmes, err := filepath.Glob(filepath.Join(root, "examples", "*", "README.md"))
	if err != nil || len(readmes) < 5 {
		t.Fatalf("examples: %v %v", readmes, err)
	}
	for _, readme := range readmes {
		dir := filepath.Dir(readme)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := readmeCommand(t, readme, "wasmhost plugin test ")
			wasm := filepath.Join(t.TempDir(), name+".wasm")
			if out, stderr, code := runCLIEnv(t, root, []string{"WASMHOST_ASC=" + testutil.ASC(t)}, "plugin", "build", "-q", "examples/"+name, "-o", wasm); code != 0 {
				t.Fatalf("plugin build: exit %d\n%s%s", code, out, stderr)
			}
			// The README names the .wasm plugin build writes next to the
			// source; the test builds it elsewhere.
			for i, a := range args {
				if strings.HasSuffix(a, ".wasm") {
					args[i] = wasm
				}
			}
			out, stderr, code := runCLIIn(t, root, args[1:]...)
			if code != 0 || !strings.Contains(out, "PASS: the output matches") {
				t.Fatalf("%s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
			}
		})
	}
}

// readmeCommand returns the first line of a README that starts with
// prefix, split into words as a shell would (double quotes only).
func readmeCommand(t *testing.T, readme, prefix string) []string {
	t.Helper()
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var words []string
		var cur strings.Builder
		quoted, inWord := false, false
		for _, r := range line {
			switch {
			case r == '"':
				quoted, inWord = !quoted, true
			case r == ' ' && !quoted:
				if inWord {
					words = append(words, cur.String())
					cur.Reset()
					inWord = false
				}
			default:
				cur.WriteRune(r)
				inWord = true
			}
		}
		if inWord {
			words = append(words, cur.String())
		}
		return words
	}
	t.Fatalf("%s has no line starting with %q", readme, prefix)
	return nil
}

// TestScaffoldedPluginsPassTheirOwnTest is the plugin author's first five
// minutes, in Go, C and AssemblyScript: plugin new in an empty directory
// outside this module, the project moved to another empty directory (it
// carries its SDK: no path leads back to a checkout), plugin build with the
// Go module proxy off, plugin test against the scaffold's expected output;
// then a wrong expectation fails with a diff and exit code 1, --update
// rewrites it, and plugin inspect accepts the build.
func TestScaffoldedPluginsPassTheirOwnTest(t *testing.T) {
	offline := []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "WASMHOST_SDK=", "WASMHOST_ASC=" + testutil.ASC(t)}
	for _, lang := range []string{"go", "c", "as"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			name := "hello-" + lang
			if out, stderr, code := runCLIEnv(t, work, offline, "plugin", "new", name, "--lang", lang); code != 0 {
				t.Fatalf("plugin new: exit %d\n%s%s", code, out, stderr)
			}
			dir := filepath.Join(t.TempDir(), name)
			if err := os.CopyFS(dir, os.DirFS(filepath.Join(work, name))); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(work); err != nil {
				t.Fatal(err)
			}
			root := testutil.Root(t)
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if b, _ := os.ReadFile(p); err == nil && !d.IsDir() && bytes.Contains(b, []byte(root)) {
					t.Errorf("%s names the checkout %s", p, root)
				}
				return err
			})
			out, stderr, code := runCLIEnv(t, dir, offline, "plugin", "build")
			if code != 0 || !strings.Contains(stderr, name+".wasm: ") || !strings.Contains(stderr, "cold (compiling)") || strings.Contains(stderr, "warning") {
				t.Fatalf("plugin build: exit %d\n%s%s", code, out, stderr)
			}
			test := []string{"plugin", "test", name + ".wasm", "--input", "testdata/input.jsonl", "--expect", "testdata/expected.jsonl"}
			out, stderr, code = runCLIIn(t, dir, test...)
			if code != 0 || !strings.Contains(out, "PASS") || !strings.Contains(out, "record 1 (offset 1): FAILED: empty value") {
				t.Fatalf("plugin test: exit %d\n%s%s", code, out, stderr)
			}

			// Another config sends the records elsewhere: the test fails
			// and shows why.
			out, stderr, code = runCLIIn(t, dir, append(test, "--config", "to=elsewhere")...)
			if code != 1 || !strings.Contains(out, `- {"input":0,"topic":"out"`) || !strings.Contains(out, `+ {"input":0,"topic":"elsewhere"`) ||
				!strings.Contains(stderr, "FAIL: the plugin's output differs from testdata/expected.jsonl") {
				t.Fatalf("mismatch: exit %d\n%s%s", code, out, stderr)
			}
			// --update makes the new behaviour the expectation.
			if out, stderr, code := runCLIIn(t, dir, append(test, "--config", "to=elsewhere", "--update")...); code != 0 {
				t.Fatalf("--update: exit %d\n%s%s", code, out, stderr)
			}
			if out, stderr, code := runCLIIn(t, dir, append(test, "--config", "to=elsewhere")...); code != 0 {
				t.Fatalf("after --update: exit %d\n%s%s", code, out, stderr)
			}
			// --json prints the transcript alone.
			out, _, code = runCLIIn(t, dir, "plugin", "test", name+".wasm", "--input", "testdata/input.jsonl", "--json")
			if code != 0 || len(lines(out)) != 3 || !strings.HasPrefix(out, `{"input":0,"topic":"out"`) {
				t.Fatalf("--json: exit %d\n%s", code, out)
			}

			out, stderr, code = runCLIIn(t, dir, "plugin", "inspect", name+".wasm")
			if code != 0 || !regexp.MustCompile(fmt.Sprintf(`(?m)^abi +version %d `, abi.Version)).MatchString(out) || !strings.Contains(out, "ok: the host would load this plugin") {
				t.Fatalf("plugin inspect: exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}

func TestPluginCommandsReportBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, filepath.Join(dir, "garbage.wasm"), "not wasm")
	input := writeFile(t, filepath.Join(dir, "in.jsonl"), "{\"value\":\"x\"}\n{\"vlaue\":\"y\"}\n")
	forward := testutil.BuildPlugin(t, "plugins/forward")
	cases := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"plugin", "inspect", garbage}, 1, "REFUSED"},
		{[]string{"plugin", "inspect", filepath.Join(dir, "missing.wasm")}, 2, "no such file"},
		{[]string{"plugin", "inspect", forward, "--memory", "1MiB"}, 1, "declared memory does not fit the memory limit of 1 MiB"},
		{[]string{"plugin", "test", forward}, 2, "nothing to run"},
		{[]string{"plugin", "test", forward, "--input", input}, 2, "in.jsonl:2: not a valid line: json: unknown field \"vlaue\""},
		{[]string{"plugin", "test", forward, "--tick", "1", "--config", "novalue"}, 2, `--config "novalue": want KEY=VALUE`},
		{[]string{"plugin", "test", forward, "--tick", "1", "--update"}, 2, "--update needs --expect"},
		{[]string{"plugin", "test", garbage, "--tick", "1"}, 1, "not a valid WebAssembly module"},
		{[]string{"plugin", "build", dir}, 2, "no plugin source"},
		{[]string{"plugin", "new", "bad/name"}, 2, "use letters, digits"},
		{[]string{"plugin", "new", "x", "--lang", "cobol", "--dir", filepath.Join(dir, "x")}, 2, `language "cobol"`},
		{[]string{"plugin"}, 2, "missing subcommand"},
	}
	for _, c := range cases {
		out, stderr, code := runCLIIn(t, dir, c.args...)
		if code != c.code || !strings.Contains(out+stderr, c.says) {
			t.Errorf("%v: exit %d (want %d), output does not say %q:\n%s%s", c.args, code, c.code, c.says, out, stderr)
		}
	}
}

// runCLIIn runs the wasmhost binary in dir.
func runCLIIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLIEnv(t, dir, nil, args...)
}

// runCLIEnv is runCLIIn with env added to the test's environment.
func runCLIEnv(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(wasmhostBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

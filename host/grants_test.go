package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

var (
	cMu    sync.Mutex
	cBuilt = map[string]string{}
)

// cPlugin builds the C plugin in testdata/plugins/NAME once per test
// binary, with clang as plugin build does, and loads it.
func cPlugin(t *testing.T, name string, o host.LoadOptions) *host.Plugin {
	t.Helper()
	cMu.Lock()
	wasm, ok := cBuilt[name]
	if !ok {
		out, err := os.MkdirTemp("", "wasmhost-"+name+"-")
		if err == nil {
			wasm, err = plugintool.Build(plugintool.BuildOptions{
				Dir: filepath.Join(testutil.Root(t), "host", "testdata", "plugins", name), Out: out,
			})
		}
		if err != nil {
			cMu.Unlock()
			t.Fatalf("building the C plugin %s (does scripts/setup-c.sh pass?): %v", name, err)
		}
		cBuilt[name] = wasm
	}
	cMu.Unlock()
	o.Name, o.Path = name, wasm
	p, err := newRuntime(t).Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

// run hands inst one record per command and returns what each produced.
func run(t *testing.T, inst *host.Instance, cmds ...string) []string {
	t.Helper()
	res, err := inst.HandleBatch(context.Background(), batchOf(cmds...))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != len(cmds) {
		t.Fatalf("%d outputs for %d commands: %+v", len(res.Outputs), len(cmds), res)
	}
	got := make([]string, len(cmds))
	for i, o := range res.Outputs {
		got[i] = string(o.Record.Value)
	}
	return got
}

// TestGrantsCannotBeLeft: a plugin granted a directory reaches nothing
// outside it, by any path: symlinks it makes, symlinks already there (to a
// directory outside, or to a file), "..", absolute link targets. Each
// attempt fails with a permission error; links inside the grant still work.
// A read-only grant refuses every write with a permission error.
func TestGrantsCannotBeLeft(t *testing.T) {
	rw, ro, outside := t.TempDir(), t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("outside the grant"), 0o644))
	must(os.WriteFile(filepath.Join(rw, "mine"), []byte("inside the grant"), 0o644))
	must(os.WriteFile(filepath.Join(ro, "ref"), []byte("reference"), 0o644))
	// Links the plugin finds already there.
	must(os.Symlink(outside, filepath.Join(rw, "out-dir")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(rw, "out-file")))
	must(os.Symlink("/etc", filepath.Join(ro, "etc")))
	must(os.Symlink("mine", filepath.Join(rw, "in-link")))
	rel, err := filepath.Rel(rw, outside)
	must(err)

	inst := instantiate(t, cPlugin(t, "escape-c", host.LoadOptions{}), host.InstanceOptions{Grants: host.Grants{Dirs: []host.Dir{
		{Host: rw, Guest: "/w", Write: true}, {Host: ro, Guest: "/ro"},
	}}})
	cases := []struct {
		cmd  string
		want string // a prefix of the result
	}{
		{"read /w/mine", "ok: inside the grant"},
		{"read /w/in-link", "ok: inside the grant"},
		{"read /ro/ref", "ok: reference"},
		{"symlink mine /w/link2", "ok: "},
		{"read /w/link2", "ok: inside the grant"},
		// The attack of issue 12: a link made by the plugin up and out.
		{"symlink ../../../../../.. /w/r", "ok: "},
		{"read /w/r/etc/passwd", "error: "},
		{"list /w/r", "error: "},
		{"symlink " + rel + " /w/rel", "ok: "},
		{"read /w/rel/secret", "error: "},
		{"write /w/rel/pwned", "error: "},
		// Links already there.
		{"read /w/out-dir/secret", "error: "},
		{"read /w/out-file", "error: "},
		{"write /w/out-dir/pwned", "error: "},
		{"write /w/out-file", "error: "},
		{"read /ro/etc/passwd", "error: "},
		{"list /ro/etc", "error: "},
		// Dot-dot, absolute link targets.
		{"read /w/../" + filepath.Base(outside) + "/secret", "error: "},
		{"read /w/../../../../etc/passwd", "error: "},
		{"symlink /etc /w/abs", "error: "},
		// A read-only grant is read-only.
		{"write /ro/new", "error: "},
		{"write /ro/ref", "error: "},
		{"mkdir /ro/d", "error: "},
		{"symlink ref /ro/l", "error: "},
		{"write /w/new", "ok: "},
		{"list /w", "ok: "},
		{"list /w", "ok: "}, // a second listing rewinds the directory
	}
	cmds := make([]string, len(cases))
	for i, c := range cases {
		cmds[i] = c.cmd
	}
	got := run(t, inst, cmds...)
	for i, c := range cases {
		if !strings.HasPrefix(got[i], c.want) {
			t.Errorf("%s: %q; want %q...", c.cmd, got[i], c.want)
		}
		if strings.HasPrefix(c.want, "error") && !permissionError(got[i]) {
			t.Errorf("%s: %q; want a permission error", c.cmd, got[i])
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "pwned")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plugin wrote outside its grant: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "outside the grant" {
		t.Errorf("the file outside the grant was overwritten: %q", b)
	}
	if ents, _ := os.ReadDir(ro); len(ents) != 2 {
		t.Errorf("the read-only grant was written to: %v", ents)
	}
	if n := len(cases); !strings.Contains(got[n-1], ",mine,") && !strings.Contains(got[n-1], " mine,") {
		t.Errorf("listing the grant: %q", got[n-1])
	}
	if b, err := os.ReadFile(filepath.Join(rw, "new")); err != nil || string(b) != "pwned" {
		t.Errorf("writing in the grant: %q, %v", b, err)
	}
}

// permissionError reports whether a result is one of the errors a refused
// path gives: no permission, or a read-only filesystem.
func permissionError(res string) bool {
	for _, s := range []string{"Operation not permitted", "Permission denied", "Read-only file system"} {
		if strings.Contains(res, s) {
			return true
		}
	}
	return false
}

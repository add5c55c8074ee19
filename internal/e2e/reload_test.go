package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/internal/verify"
)

// These tests run the daemon as a subprocess on a continuous stream and
// replace its plugin file under it, or send it SIGHUP with a new config.

const swaps = 10

// swapConfig is a daemon config copying "in" to "out" with the plugin file
// tag.wasm in pluginDir.
func swapConfig(t *testing.T, addr, pluginDir, guarantee, delay string) string {
	t.Helper()
	return writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
shutdown_timeout = "20s"
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[reload]
delay = %q
[[pipelines]]
name = "copy"
plugin = "tag"
topics = ["in"]
guarantee = %q
batch_size = 100
batch_wait = "5ms"
session_timeout = "2s"
transaction_timeout = "3s"
produce_topics = ["out"]
config = { to = "out" }
`, addr, pluginDir, testutil.CacheDir(t), delay, guarantee))
}

// TestHotSwapUnderStream replaces the plugin ten times, alternating two
// versions, while records stream through: exactly-once copies every record
// exactly once, each input record's output comes from one version, and each
// partition switches version at one clean point per swap; at-least-once
// loses nothing.
func TestHotSwapUnderStream(t *testing.T) {
	for _, g := range []string{"exactly-once", "at-least-once"} {
		t.Run(g, func(t *testing.T) {
			t.Parallel()
			a := pluginBytes(t, "internal/e2e/testdata/plugins/versiona")
			b := pluginBytes(t, "internal/e2e/testdata/plugins/versionb")
			br := startBroker(t, "")
			createTopics(t, br.Addr(), 4, "in", "out")
			dir := t.TempDir()
			plugin := filepath.Join(dir, "tag.wasm")
			writeFile(t, plugin, string(a))
			d := startDaemon(t, swapConfig(t, br.Addr(), dir, g, "250ms"))
			f := startFeed(t, br.Addr(), "in", 2000)
			waitProgress(t, br.Addr(), "out", 200)
			for i := 1; i <= swaps; i++ {
				next := b
				if i%2 == 0 {
					next = a
				}
				if i%3 == 0 {
					// In place, as `cp` does: the watcher sees the writes
					// and waits for them to settle.
					writeFile(t, plugin, string(next))
				} else {
					replaceFile(t, plugin, next)
				}
				waitLog(t, d, "plugin reloaded", i)
				waitProgress(t, br.Addr(), "out", 300)
			}
			n := f.stop()
			waitCommitted(t, br.Addr(), "wasmhost-copy", "in")
			if code := d.stop(t); code != 0 {
				t.Fatalf("daemon exit code %d", code)
			}
			if got := logCount(d, "new plugin version refused"); got != 0 {
				t.Fatalf("%d versions refused", got)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			eo := g == "exactly-once"
			r, err := verify.Check(ctx, saramaConfig(), []string{br.Addr()}, verify.CheckOptions{
				Input: "in", Output: "out", Group: "wasmhost-copy", ReadCommitted: eo,
			})
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			_ = r.WriteTable(&table)
			t.Logf("%d records, %d swaps:\n%s", n, swaps, table.String())
			tot := r.Totals()
			if tot.Input < n {
				t.Fatalf("%d input records, %d produced", tot.Input, n)
			}
			if tot.Missing > 0 || tot.CommittedMissing > 0 || r.Stray > 0 {
				t.Fatalf("records lost across plugin swaps")
			}
			if !eo {
				return
			}
			in := readAll(t, br.Addr(), "in", tot.Input, 30*time.Second)
			out := readAllWith(t, br.Addr(), "out", tot.Output, 30*time.Second, true)
			if !r.Exact() {
				t.Fatalf("exactly-once: output differs from input\n%s", duplicates(in, out))
			}
			runs := switchReport(t, in, out)
			switched := 0
			for p, vs := range runs {
				t.Logf("partition %d: versions %v", p, vs)
				if vs[0] != "A" || len(vs) > swaps+1 {
					t.Fatalf("partition %d served versions %v: want A first and at most one switch per swap", p, vs)
				}
				switched += len(vs) - 1
			}
			if switched == 0 {
				t.Fatal("no partition ever switched version")
			}
		})
	}
}

// TestBadPluginVersionsKeepServing drops in everything that must not take
// over (a corrupt file, a plugin for another ABI, one that traps in its
// initializer, a half-written file) and then rapid overwrites and a deleted
// file: the running version keeps serving, each refusal is logged, the
// burst loads once, and no record is lost.
func TestBadPluginVersionsKeepServing(t *testing.T) {
	t.Parallel()
	a := pluginBytes(t, "internal/e2e/testdata/plugins/versiona")
	b := pluginBytes(t, "internal/e2e/testdata/plugins/versionb")
	br := startBroker(t, "")
	createTopics(t, br.Addr(), 4, "in", "out")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "tag.wasm")
	writeFile(t, plugin, string(a))
	d := startDaemon(t, swapConfig(t, br.Addr(), dir, "at-least-once", "1s"))
	f := startFeed(t, br.Addr(), "in", 1000)
	waitProgress(t, br.Addr(), "out", 200)

	refused := 0
	for _, bad := range []struct{ name, pkg, want string }{
		{"corrupt", "", "not a valid WebAssembly module"},
		{"wrong ABI", "host/testdata/plugins/wrongabi", "ABI version 999"},
		{"traps in init", "internal/e2e/testdata/plugins/inittrap", "inittrap: refusing to start"},
	} {
		content := []byte("\x00asm\x01\x00\x00\x00 this is not a module")
		if bad.pkg != "" {
			content = pluginBytes(t, bad.pkg)
		}
		replaceFile(t, plugin, content)
		refused++
		waitLog(t, d, "new plugin version refused", refused)
		if !contains(d.logs.String(), bad.want) {
			t.Fatalf("%s: the refusal does not say %q", bad.name, bad.want)
		}
		waitProgress(t, br.Addr(), "out", 200) // the old version keeps serving
	}

	// Half a file, the writer pausing longer than the delay: it is tried,
	// refused, and loaded once the writer finishes.
	fh, err := os.Create(plugin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	refused++
	waitLog(t, d, "new plugin version refused", refused)
	waitProgress(t, br.Addr(), "out", 200)
	if _, err := fh.Write(b[len(b)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, d, "plugin reloaded", 1)
	waitProgress(t, br.Addr(), "out", 200)

	// Rapid overwrites, ending on A: one load, of the last content.
	for i := range 20 {
		content := a
		if i%2 == 0 {
			content = b
		}
		writeFile(t, plugin, string(content))
	}
	writeFile(t, plugin, string(a))
	waitLog(t, d, "plugin reloaded", 2)
	waitProgress(t, br.Addr(), "out", 200)

	// A deleted file: the loaded version keeps serving.
	if err := os.Remove(plugin); err != nil {
		t.Fatal(err)
	}
	waitLog(t, d, "plugin file deleted", 1)
	waitProgress(t, br.Addr(), "out", 200)
	replaceFile(t, plugin, b)
	waitLog(t, d, "plugin reloaded", 3)
	waitProgress(t, br.Addr(), "out", 200)

	n := f.stop()
	waitCommitted(t, br.Addr(), "wasmhost-copy", "in")
	if code := d.stop(t); code != 0 {
		t.Fatalf("daemon exit code %d", code)
	}
	if got := logCount(d, "plugin reloaded"); got != 3 {
		t.Fatalf("%d reloads, want 3: the half-written file finished, the burst, the file put back", got)
	}
	if got := logCount(d, "new plugin version refused"); got != refused {
		t.Fatalf("%d refusals logged, want %d", got, refused)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := verify.Check(ctx, saramaConfig(), []string{br.Addr()}, verify.CheckOptions{Input: "in", Output: "out", Group: "wasmhost-copy"})
	if err != nil {
		t.Fatal(err)
	}
	tot := r.Totals()
	if tot.Input < n || tot.Missing > 0 || tot.CommittedMissing > 0 || r.Stray > 0 {
		var table bytes.Buffer
		_ = r.WriteTable(&table)
		t.Fatalf("records lost while bad versions were dropped in:\n%s", table.String())
	}
}

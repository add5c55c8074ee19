package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/internal/verify"
	"github.com/wasmhost/wasmhost/kafka"
)

// TestFleetDeploysThroughKafka runs three daemons in one group, under
// exactly-once, with no plugin files: their plugin comes from the plugin
// topic. While records stream through: `plugin deploy` of v2 reaches every
// daemon (timed); the CLI refuses a broken module before publishing it;
// every daemon refuses, each with its reason, an unsigned module, one
// signed by an untrusted key, a tampered one, a broken one published around
// the CLI and one without the handler the pipeline needs, and v2 keeps
// serving, also on a daemon restarted after kill -9 then (it falls back to
// v2); `plugin rollback` returns the fleet to v1; a daemon started later
// and one restarted after kill -9 serve v1. The output is then
// exactly the input: nothing missing, nothing duplicated.
func TestFleetDeploysThroughKafka(t *testing.T) {
	t.Parallel()
	a := testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versionb")
	forward := testutil.BuildPlugin(t, "plugins/forward")
	users := testutil.BuildPlugin(t, "plugins/users")
	br := startBroker(t, "")
	createTopics(t, br.Addr(), 6, "in", "out")
	dir := t.TempDir()
	key, other := filepath.Join(dir, "release.key"), filepath.Join(dir, "other.key")
	cfg := fleetConfig(t, br.Addr(), keygen(t, key))
	keygen(t, other)
	deploy := func(file string, args ...string) {
		t.Helper()
		args = append([]string{"plugin", "deploy", "tag", file, "--brokers", br.Addr(), "--by", "e2e"}, args...)
		if out, errOut, code := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	v1, v2 := fileSHA(t, a), fileSHA(t, b)

	deploy(a, "--sign", key)
	ds := []*daemonProc{startDaemon(t, cfg), startDaemon(t, cfg), startDaemon(t, cfg)}
	waitFleet(t, ds, "tag", v1)
	f := startFeed(t, br.Addr(), "in", 1000)
	waitProgress(t, br.Addr(), "out", 300)

	start := time.Now()
	deploy(b, "--sign", key)
	published := time.Since(start)
	waitFleet(t, ds, "tag", v2)
	t.Logf("plugin deploy to the whole fleet (3 daemons) serving v2: %s (the CLI took %s to check and publish it)", time.Since(start).Round(time.Millisecond), published.Round(time.Millisecond))
	waitProgress(t, br.Addr(), "out", 300)

	// The CLI refuses a broken module: nothing reaches the topic.
	records := highWater(t, br.Addr(), "wasmhost-plugins")
	junk := writeFile(t, filepath.Join(dir, "junk.wasm"), "\x00asm junk")
	if _, errOut, code := runCLI(t, "plugin", "deploy", "tag", junk, "--brokers", br.Addr()); code != 1 || !strings.Contains(errOut, "not deployed") {
		t.Fatalf("deploy of a broken module: exit %d\n%s", code, errOut)
	}
	// With the daemons' config, it refuses what they would refuse for its
	// signature.
	if _, errOut, code := runCLI(t, "plugin", "deploy", "tag", forward, "--config", cfg); code != 1 || !strings.Contains(errOut, "would refuse it") || !strings.Contains(errOut, "has no signature") {
		t.Fatalf("deploy of an unsigned module with the daemons' config: exit %d\n%s", code, errOut)
	}
	if n := highWater(t, br.Addr(), "wasmhost-plugins"); n != records {
		t.Fatalf("a refused module reached the topic: %d records, were %d", n, records)
	}

	pub := publisher(t, br.Addr())
	signed := func(code []byte) *fleet.Signature {
		k, err := fleet.ReadPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		s := fleet.Sign(k, "tag", fleet.SHA256(code))
		return &s
	}
	fwd, err := os.ReadFile(forward)
	if err != nil {
		t.Fatal(err)
	}
	v2sig := signed(pluginBytes(t, "internal/e2e/testdata/plugins/versionb"))
	junkCode := []byte("\x00asm\x01\x00\x00\x00junk")
	refused := []struct {
		what, reason string
		publish      func()
	}{
		{"unsigned", "has no signature", func() { deploy(forward) }},
		{"signed by another key", "not in plugins.trusted_keys", func() { deploy(forward, "--sign", other) }},
		{"tampered: v2's signature on other bytes", "changed after it was signed", func() {
			pub.deploy(t, fleet.Module{Name: "tag", Code: fwd, ABI: 2, Signature: v2sig})
		}},
		{"broken, published around the CLI", "not a valid WebAssembly module", func() {
			pub.deploy(t, fleet.Module{Name: "tag", Code: junkCode, ABI: 2, Signature: signed(junkCode)})
		}},
		{"no record handler", "lacks a handler", func() { deploy(users, "--sign", key) }},
	}
	for _, r := range refused {
		r.publish()
		waitFor(t, 60*time.Second, r.what+": refused by every daemon", func() bool {
			for _, d := range ds {
				if refusals(d, r.reason) == 0 {
					return false
				}
			}
			return true
		})
		for i, d := range ds {
			if got := serving(t, d, "tag"); got != v2 {
				t.Fatalf("%s: daemon %d serves %.12s, want v2 %.12s", r.what, i, got, v2)
			}
		}
		t.Logf("%s: refused by every daemon (%q); v2 serves on", r.what, r.reason)
	}
	waitProgress(t, br.Addr(), "out", 300)

	// Restarted while the current version is one no daemon loads, a daemon
	// starts on the version the fleet serves instead of exiting.
	ds[2].kill9(t)
	ds[2] = startDaemon(t, cfg)
	waitFleet(t, ds, "tag", v2)
	if !strings.Contains(ds[2].logs.String(), "current plugin version refused; serving an earlier one") {
		t.Fatalf("the restarted daemon does not say it fell back:\n%s", tail(ds[2].logs.String(), 20))
	}
	waitProgress(t, br.Addr(), "out", 300)

	if out, errOut, code := runCLI(t, "plugin", "rollback", "tag", "--to", v1[:12], "--brokers", br.Addr()); code != 0 {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	waitFleet(t, ds, "tag", v1)
	waitProgress(t, br.Addr(), "out", 300)

	ds[1].kill9(t)
	ds[1] = startDaemon(t, cfg)
	ds = append(ds, startDaemon(t, cfg))
	waitFleet(t, ds, "tag", v1)
	waitProgress(t, br.Addr(), "out", 300)

	n := f.stop()
	waitCommitted(t, br.Addr(), "wasmhost-copy", "in")
	for i, d := range ds {
		if code := d.stop(t); code != 0 {
			t.Fatalf("daemon %d exit code %d", i, code)
		}
	}
	checkExact(t, br.Addr(), n)
}

// checkExact verifies that out holds exactly the records of in, and that
// both versions served some.
func checkExact(t *testing.T, addr string, produced int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := verify.Check(ctx, saramaConfig(), []string{addr}, verify.CheckOptions{
		Input: "in", Output: "out", Group: "wasmhost-copy", ReadCommitted: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	_ = r.WriteTable(&table)
	t.Logf("%d records:\n%s", produced, table.String())
	tot := r.Totals()
	if tot.Input < produced || !r.Exact() {
		t.Fatalf("exactly-once across deploys, refusals, a rollback and a kill -9: output differs from input (%d produced)", produced)
	}
	out := readAllWith(t, addr, "out", tot.Output, 30*time.Second, true)
	versions := map[string]int{}
	for _, m := range out {
		versions[header(m, "version")]++
	}
	if versions["A"] == 0 || versions["B"] == 0 || len(versions) != 2 {
		t.Fatalf("outputs by version: %v; want A and B only", versions)
	}
	t.Logf("outputs by version: %v", versions)
}

// topicPublisher writes to the plugin topic directly, around the CLI's
// checks: what a hostile or broken publisher could do.
type topicPublisher struct{ p *fleet.Publisher }

func publisher(t *testing.T, addr string) *topicPublisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kafka.Connect(ctx, kafka.ClientOptions{Brokers: []string{addr}, MaxMessageBytes: 16<<20 + fleet.RecordHeadroom}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p, err := fleet.NewPublisher(c, "wasmhost-plugins", "mallory")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(); _ = c.Close() })
	return &topicPublisher{p}
}

func (tp *topicPublisher) deploy(t *testing.T, m fleet.Module) {
	t.Helper()
	if _, _, err := tp.p.Deploy(context.Background(), m, false); err != nil {
		t.Fatal(err)
	}
}

// TestPluginTopicSurvivesBrokerKill9: a daemon following the plugin topic
// goes on following it after the broker is killed with SIGKILL and
// restarted on its data: a version deployed afterwards is swapped in, and
// the history (list) survived.
func TestPluginTopicSurvivesBrokerKill9(t *testing.T) {
	t.Parallel()
	a := testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := testutil.BuildPlugin(t, "internal/e2e/testdata/plugins/versionb")
	br := startBrokerProc(t, freePort(t), t.TempDir())
	createTopics(t, br.addr, 2, "in", "out")
	dir := t.TempDir()
	key := filepath.Join(dir, "release.key")
	cfg := fleetConfig(t, br.addr, keygen(t, key))
	deploy := func(file string) {
		t.Helper()
		if out, errOut, code := runCLI(t, "plugin", "deploy", "tag", file, "--brokers", br.addr, "--sign", key); code != 0 {
			t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
		}
	}
	deploy(a)
	d := startDaemon(t, cfg)
	waitFleet(t, []*daemonProc{d}, "tag", fileSHA(t, a))

	br.kill()
	br = startBrokerProc(t, br.addr, br.dir)
	deploy(b)
	waitFleet(t, []*daemonProc{d}, "tag", fileSHA(t, b))
	out, errOut, code := runCLI(t, "plugin", "list", "--brokers", br.addr)
	if code != 0 || strings.Count(out, "signed") != 2 || strings.Contains(out, "unsigned") || !strings.Contains(out, "tag: current "+fileSHA(t, b)[:12]) {
		t.Fatalf("plugin list after the broker's kill -9: exit %d\n%s%s", code, out, errOut)
	}
	if code := d.stop(t); code != 0 {
		t.Fatalf("daemon exit code %d", code)
	}
}

package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

const hostile = "host/testdata/plugins/hostile"

// TestRunawayCallsAreStopped: a plugin spinning or sleeping is stopped at
// its time limit, its instance is broken, and a new one works.
func TestRunawayCallsAreStopped(t *testing.T) {
	p := load(t, newRuntime(t), hostile)
	for _, value := range []string{"loop", "sleep"} {
		t.Run(value, func(t *testing.T) {
			inst := instantiate(t, p, host.InstanceOptions{
				Config: map[string]string{"to": "out"},
				Limits: host.Limits{CallTimeout: 300 * time.Millisecond},
			})
			start := time.Now()
			_, err := inst.HandleBatch(context.Background(), batchOf("ok", value))
			var pe *host.PluginError
			if !errors.Is(err, host.ErrTimeout) || !errors.As(err, &pe) || pe.Func != abi.ExportOnBatch || !inst.Broken() {
				t.Fatalf("err = %v, broken = %v", err, inst.Broken())
			}
			if !strings.Contains(err.Error(), "stopped after 300ms") {
				t.Errorf("error does not say why: %v", err)
			}
			// Generous: the machine is shared; an unstopped call runs for an hour.
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("stopped after %s", d)
			}
			fresh := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}})
			if res, err := fresh.HandleBatch(context.Background(), batchOf("ok")); err != nil || len(res.Outputs) != 1 {
				t.Fatalf("fresh instance: %v", err)
			}
		})
	}
}

// TestTrapsInInitAreNamed: a panic or a loop in the plugin's init fails
// Instantiate with the function and the cause.
func TestTrapsInInitAreNamed(t *testing.T) {
	p := load(t, newRuntime(t), hostile)
	for _, c := range []struct {
		init    string
		timeout time.Duration
		is      error
		says    string
	}{
		{"panic", 30 * time.Second, host.ErrTrap, "panic: hostile: asked to panic in init"},
		{"loop", 300 * time.Millisecond, host.ErrTimeout, "stopped after 300ms"},
	} {
		t.Run(c.init, func(t *testing.T) {
			_, err := p.Instantiate(context.Background(), host.InstanceOptions{
				Grants: host.Grants{Env: map[string]string{"HOSTILE_INIT": c.init}},
				Limits: host.Limits{CallTimeout: c.timeout},
			})
			var pe *host.PluginError
			if !errors.Is(err, c.is) || !errors.As(err, &pe) || pe.Func != abi.ExportInitialize || pe.Plugin != "hostile" {
				t.Fatalf("err = %v; want %v in %s", err, c.is, abi.ExportInitialize)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v; want it to say %q", err, c.says)
			}
		})
	}
}

// TestMemoryBombIsContained: allocating past the memory limit traps the
// call, not the daemon.
func TestMemoryBombIsContained(t *testing.T) {
	rt := newRuntime(t)
	p, err := rt.Load(context.Background(), host.LoadOptions{Name: "hostile", Path: testutil.BuildPlugin(t, hostile), MemoryLimit: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}})
	_, err = inst.HandleBatch(context.Background(), batchOf("bomb"))
	if !errors.Is(err, host.ErrTrap) || !inst.Broken() {
		t.Fatalf("err = %v, broken = %v", err, inst.Broken())
	}
	if !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("error does not say out of memory: %v", err)
	}
}

// TestOutputBounds: too many records or bytes in one call fail the call;
// a record over the size limit fails its input record only.
func TestOutputBounds(t *testing.T) {
	p := load(t, newRuntime(t), hostile)
	for _, c := range []struct {
		value  string
		limits host.Limits
		says   string
	}{
		{"flood", host.Limits{MaxOutputs: 1000}, "produced more than 1000 records in one call"},
		{"heavy", host.Limits{MaxOutputBytes: 4 << 20}, "produced more than 4194304 bytes in one call"},
	} {
		t.Run(c.value, func(t *testing.T) {
			inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}, Limits: c.limits})
			_, err := inst.HandleBatch(context.Background(), batchOf("ok", c.value))
			if !errors.Is(err, host.ErrFailed) || !strings.Contains(err.Error(), c.says) || inst.Broken() {
				t.Fatalf("err = %v, broken = %v; want ErrFailed saying %q", err, inst.Broken(), c.says)
			}
			res, err := inst.HandleBatch(context.Background(), batchOf("ok"))
			if err != nil || len(res.Outputs) != 1 {
				t.Fatalf("next call: %v", err)
			}
		})
	}
	inst := instantiate(t, p, host.InstanceOptions{Config: map[string]string{"to": "out"}, Limits: host.Limits{MaxOutputRecord: 64 << 10}})
	res, err := inst.HandleBatch(context.Background(), batchOf("ok", "big"))
	if err != nil || len(res.Outputs) != 1 || len(res.Failures) != 1 || res.Failures[0].Index != 1 ||
		!strings.Contains(res.Failures[0].Reason, "over the 65536-byte limit") || res.Failures[0].Refused {
		t.Fatalf("err = %v, result = %+v", err, res)
	}
}

// TestOversizedInputIsNotHandedIn: a record over MaxInputRecord fails,
// refused, without the plugin seeing it; the others are handled and keep
// their indexes.
func TestOversizedInputIsNotHandedIn(t *testing.T) {
	inst := instantiate(t, load(t, newRuntime(t), hostile), host.InstanceOptions{
		Config: map[string]string{"to": "out"},
		Limits: host.Limits{MaxInputRecord: 1024},
	})
	// "panic" would trap if the plugin saw it: the size check must come first.
	big := "panic" + strings.Repeat(" ", 2000)
	res, err := inst.HandleBatch(context.Background(), batchOf("a", big, "fail", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 2 || res.Outputs[0].Input != 0 || res.Outputs[1].Input != 3 || string(res.Outputs[1].Record.Value) != "b" {
		t.Fatalf("outputs = %+v", res.Outputs)
	}
	if len(res.Failures) != 2 || res.Failures[0].Index != 1 || !res.Failures[0].Refused || res.Failures[1].Index != 2 || res.Failures[1].Refused {
		t.Fatalf("failures = %+v", res.Failures)
	}
	if f := res.Failures[0]; !errors.Is(f.Err(), host.ErrInputTooLarge) || !strings.Contains(f.Reason, "over the 1024-byte input limit") {
		t.Errorf("refusal = %v", f.Err())
	}
	if errors.Is(res.Failures[1].Err(), host.ErrInputTooLarge) {
		t.Error("a plugin failure reads as a refusal")
	}
	res, err = inst.HandleBatch(context.Background(), batchOf(big))
	if err != nil || len(res.Outputs) != 0 || len(res.Failures) != 1 || !res.Failures[0].Refused {
		t.Fatalf("batch of one oversized record: %v %+v", err, res)
	}
}

// probeOf runs the hostile plugin's probe and decodes what it reports.
func probeOf(t *testing.T, inst *host.Instance) map[string]string {
	t.Helper()
	res, err := inst.HandleBatch(context.Background(), batchOf("probe"))
	if err != nil || len(res.Outputs) != 1 {
		t.Fatalf("probe: %v %+v", err, res)
	}
	var got map[string]string
	if err := json.Unmarshal(res.Outputs[0].Record.Value, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// hostListener listens on the host's loopback and counts the connections
// it accepts.
func hostListener(t *testing.T) (addr string, accepted func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	return l.Addr().String(), func() int { return int(n.Load()) }
}

// TestNoAmbientAuthority: without grants a plugin sees no file, directory,
// environment variable, argument or network.
func TestNoAmbientAuthority(t *testing.T) {
	t.Setenv("WASMHOST_SECRET", "daemon-only")
	addr, accepted := hostListener(t)
	inst := instantiate(t, load(t, newRuntime(t), hostile), host.InstanceOptions{
		Config: map[string]string{"to": "out", "env": "WASMHOST_SECRET", "dial": addr},
	})
	got := probeOf(t, inst)
	if accepted() != 0 {
		t.Error("the plugin connected to a host socket")
	}
	for _, k := range []string{"read /etc/passwd", "list /", "write /tmp/hostile", "dial"} {
		if !strings.HasPrefix(got[k], "error: ") {
			t.Errorf("%s: %q; want an error", k, got[k])
		}
	}
	for k, want := range map[string]string{"environ": "ok: ", "args": "ok: ", "env WASMHOST_SECRET": "unset"} {
		if got[k] != want {
			t.Errorf("%s: %q; want %q", k, got[k], want)
		}
	}
}

// TestGrants: what a pipeline grants, and only that, is reachable.
func TestGrants(t *testing.T) {
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "ref.txt"), []byte("reference data"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, newRuntime(t), hostile)
	grants := host.Grants{
		Env:  map[string]string{"REGION": "eu-west"},
		Args: []string{"--mode", "strict"},
		Dirs: []host.Dir{{Host: ro, Guest: "/ref"}, {Host: rw, Guest: "/out", Write: true}},
	}
	addr, accepted := hostListener(t)
	probe := func(cfg map[string]string) map[string]string {
		cfg["to"], cfg["dial"] = "out", addr
		return probeOf(t, instantiate(t, p, host.InstanceOptions{Config: cfg, Grants: grants}))
	}
	got := probe(map[string]string{"read": "/ref/ref.txt", "write": "/out/result.txt", "env": "REGION"})
	for k, want := range map[string]string{
		"read /ref/ref.txt":     "ok: reference data",
		"write /out/result.txt": "ok: ",
		"env REGION":            "ok: eu-west",
		"environ":               "ok: REGION=eu-west",
		"args":                  "ok: hostile,--mode,strict",
	} {
		if got[k] != want {
			t.Errorf("%s: %q; want %q", k, got[k], want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(rw, "result.txt")); err != nil || string(b) != "written by hostile" {
		t.Errorf("file written through the grant: %q, %v", b, err)
	}
	for _, k := range []string{"read /etc/passwd", "dial"} {
		if !strings.HasPrefix(got[k], "error: ") {
			t.Errorf("%s: %q; want an error even with grants", k, got[k])
		}
	}
	if accepted() != 0 {
		t.Error("the plugin connected to a host socket")
	}
	got = probe(map[string]string{"write": "/ref/evil.txt"})
	if !strings.HasPrefix(got["write /ref/evil.txt"], "error: ") {
		t.Errorf("write to a read-only grant: %q", got["write /ref/evil.txt"])
	}
	if _, err := os.Stat(filepath.Join(ro, "evil.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the read-only directory was written to: %v", err)
	}
}

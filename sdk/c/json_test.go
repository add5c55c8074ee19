package csdk_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/internal/testutil"
	"github.com/wasmhost/wasmhost/internal/testutil/jsoncheck"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func jsonInstance(t *testing.T) *host.Instance {
	t.Helper()
	ctx := context.Background()
	wasm, err := plugintool.Build(plugintool.BuildOptions{Dir: filepath.Join("testdata", "jsontest"), Out: t.TempDir()})
	if err != nil {
		t.Fatalf("building the C JSON test plugin (does scripts/setup-c.sh pass?): %v", err)
	}
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testutil.CacheDir(t), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	p, err := rt.Load(ctx, host.LoadOptions{Name: "jsontest", Path: wasm})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(ctx) })
	inst, err := p.Instantiate(ctx, host.InstanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Close(ctx) })
	return inst
}

// TestCJSONAgreesWithEncodingJSON runs wasmhost_json.h, built to wasm, on
// tricky and random documents and compares every lookup with encoding/json.
func TestCJSONAgreesWithEncodingJSON(t *testing.T) {
	jsoncheck.Check(t, jsonInstance(t), jsoncheck.Cases(t, 400, 16))
}

// TestCJSONDottedPaths checks wh_json_get's path syntax and malformed input.
func TestCJSONDottedPaths(t *testing.T) {
	doc := []byte(jsoncheck.Tricky[0] + "")
	cases := []struct{ doc, path, want string }{
		{string(doc), "nested.favorite_number", "3:7"},
		{string(doc), "favorite_number", "3:501"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.1.c", "4:d"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.01", "0:"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a.b.2", "0:"},
		{`{"a":{"b":[10,{"c":"d"}]}}`, "a..b", "0:"},
		{`{"a":1`, "a", "0:"},
		{`{"a":"\x"}`, "a", "0:"},
		{`{"a":tru}`, "a", "0:"},
		{`{"a":01}`, "a", "0:"},
		{`{"a":1} x`, "a", "0:"},
		{`{"n":1e400}`, "n", "fail"},
		{"", "a", "0:"},
	}
	var b host.Batch
	for _, c := range cases {
		b.Add(&abi.Record{Topic: "in", Key: []byte(c.path), Value: []byte(c.doc)})
	}
	res, err := jsonInstance(t).HandleBatch(context.Background(), &b)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(cases))
	for _, f := range res.Failures {
		got[f.Index] = "fail"
		if !strings.Contains(f.Reason, "refused a number") {
			t.Errorf("failure %d: %s", f.Index, f.Reason)
		}
	}
	for _, o := range res.Outputs {
		got[o.Input] = string(o.Record.Value)
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("%s in %q = %q, want %q", c.path, c.doc, got[i], c.want)
		}
	}
}

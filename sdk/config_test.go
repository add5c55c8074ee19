//go:build !wasip1

package sdk

import (
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func TestConfigReadOnceAndCached(t *testing.T) {
	h := setup(t, map[string]string{
		"to":               "out",
		abi.ConfigPipeline: "copy",
		abi.ConfigPlugin:   "forward",
		abi.ConfigConsumer: "wasmhost-copy-0",
		"empty":            "",
	})
	if v, ok := Config("to"); v != "out" || !ok {
		t.Errorf(`Config("to") = %q, %v`, v, ok)
	}
	if v, ok := Config("empty"); v != "" || !ok {
		t.Errorf(`Config("empty") = %q, %v`, v, ok)
	}
	if v, ok := Config("missing"); v != "" || ok {
		t.Errorf(`Config("missing") = %q, %v`, v, ok)
	}
	m := ConfigMap()
	if len(m) != 5 || m[abi.ConfigConsumer] != "wasmhost-copy-0" {
		t.Errorf("ConfigMap() = %v", m)
	}
	m["to"] = "changed"
	if v, _ := Config("to"); v != "out" {
		t.Error("changing the map ConfigMap returned changed the config")
	}
	// One call for the size, one for the bytes, then never again.
	wantFuncs(t, h, abi.FuncConfigRead, abi.FuncConfigRead)
}

func TestConfigEmpty(t *testing.T) {
	h := setup(t, nil)
	if m := ConfigMap(); m == nil || len(m) != 0 {
		t.Errorf("ConfigMap() = %#v", m)
	}
	wantFuncs(t, h, abi.FuncConfigRead, abi.FuncConfigRead)
}

func TestConfigReadFailure(t *testing.T) {
	h := setup(t, map[string]string{"to": "out"})
	h.configStatus = abi.StatusBadPointer
	if _, ok := Config("to"); ok {
		t.Error("Config found a key though config_read failed")
	}
	Config("to")
	wantFuncs(t, h, abi.FuncConfigRead, abi.FuncLog)
	if l := h.only(abi.FuncLog)[0]; !strings.Contains(l.Text, "reading config: config_read returned -1") {
		t.Errorf("log %q", l.Text)
	}
}

package config

import "testing"

func TestPluginName(t *testing.T) {
	for plugin, want := range map[string]string{
		"print":                      "print",
		"build/grep.wasm":            "grep",
		"/opt/wasmhost/x/print.wasm": "print",
		"a.b.wasm":                   "a.b",
	} {
		if got := PluginName(plugin); got != want {
			t.Errorf("PluginName(%q) = %q, want %q", plugin, got, want)
		}
	}
}

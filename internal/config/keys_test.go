package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// leafKeys lists the dotted keys of every value under struct type t, with
// array-of-tables entries unindexed: "pipelines.failure.policy".
func leafKeys(prefix string, t reflect.Type) []string {
	var keys []string
	for name, i := range tomlFields(t) {
		ft := t.FieldByIndex(i).Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		key := joinKey(prefix, name)
		_, text := reflect.New(ft).Interface().(interface{ UnmarshalText([]byte) error })
		if ft.Kind() == reflect.Struct && !text {
			keys = append(keys, leafKeys(key, ft)...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// TestShippedConfigHasEveryKey: config.toml is where users read the defaults,
// so it must set every key (pipelines.group is commented out: its default
// derives from the name).
func TestShippedConfigHasEveryKey(t *testing.T) {
	var raw map[string]any
	md, err := toml.DecodeFile("../../config.toml", &raw)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, k := range md.Keys() {
		set[k.String()] = true
	}
	text, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range leafKeys("", reflect.TypeFor[Config]()) {
		if k == "pipelines.group" {
			if !strings.Contains(string(text), "# group = ") {
				t.Error("config.toml does not show pipelines.group in a comment")
			}
			continue
		}
		if !set[k] {
			t.Errorf("config.toml does not set %s", k)
		}
	}
}

// TestDocsHaveEveryKey: docs/config.md has a table row for every key, named
// relative to its [[array]] entry.
func TestDocsHaveEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range leafKeys("", reflect.TypeFor[Config]()) {
		for _, array := range []string{"topics.", "pipelines.", "sources."} {
			k = strings.TrimPrefix(k, array)
		}
		if !strings.Contains(string(doc), "| `"+k+"` |") {
			t.Errorf("docs/config.md has no row for %s", k)
		}
	}
}

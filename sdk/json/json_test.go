package json

import (
	stdjson "encoding/json"
	"strings"
	"testing"
)

// tricky documents: nesting, escapes, strings that hold keys and brackets,
// duplicate keys, numbers at the edges, whitespace everywhere.
const tricky = ` {
  "note": "a \"favorite_number\": 1000 inside a string, and } ] { [",
  "nested": {"favorite_number": 7, "deeper": {"favorite_number": 8}},
  "favorite_number" : 501 ,
  "esc\u0061ped": "tab\there \u00e9 \ud83d\ude00 \/ \\",
  "arr": [1, "two", {"three": [3]}, [], {}, null, true, false, -0.5e+2],
  "dup": 1, "dup": 2,
  "empty": "",
  "bad surrogate": "\udc00x\ud800",
  "big": 1e308, "neg": -9223372036854775808, "frac": 0.1,
  "": "empty key",
  "a.b": "dotted key"
}
`

func TestGetOnATrickyDocument(t *testing.T) {
	doc := []byte(tricky)
	for _, c := range []struct {
		path []string
		kind Kind
		raw  string
	}{
		{[]string{"favorite_number"}, Number, "501"},
		{[]string{"nested", "favorite_number"}, Number, "7"},
		{[]string{"nested", "deeper", "favorite_number"}, Number, "8"},
		{[]string{"escaped"}, String, `"tab\there \u00e9 \ud83d\ude00 \/ \\"`},
		{[]string{"arr", "0"}, Number, "1"},
		{[]string{"arr", "2", "three", "0"}, Number, "3"},
		{[]string{"arr", "3"}, Array, "[]"},
		{[]string{"arr", "5"}, Null, "null"},
		{[]string{"arr", "8"}, Number, "-0.5e+2"},
		{[]string{"arr", "9"}, Missing, ""},
		{[]string{"arr", "01"}, Missing, ""},
		{[]string{"arr", "-1"}, Missing, ""},
		{[]string{"dup"}, Number, "2"},
		{[]string{""}, String, `"empty key"`},
		{[]string{"a.b"}, String, `"dotted key"`},
		{[]string{"a"}, Missing, ""},
		{[]string{"note", "x"}, Missing, ""},
		{[]string{"inside"}, Missing, ""},
		{nil, Object, strings.TrimSpace(tricky)},
	} {
		v := Get(doc, c.path...)
		if v.Kind() != c.kind || string(v.Raw()) != c.raw {
			t.Errorf("Get(%q) = %s %q, want %s %q", c.path, v.Kind(), v.Raw(), c.kind, c.raw)
		}
	}
	if s, ok := Get(doc, "escaped").Text(); !ok || s != "tab\there é 😀 / \\" {
		t.Errorf("Text = %q, %v", s, ok)
	}
	if !Get(doc, "escaped").Equal("tab\there é 😀 / \\") || Get(doc, "escaped").Equal("tab\there") {
		t.Error("Equal disagrees with Text")
	}
	if s, _ := Get(doc, "bad surrogate").Text(); s != "\ufffdx\ufffd" {
		t.Errorf("unpaired surrogates = %q", s)
	}
	if n, ok := Get(doc, "neg").Int(); !ok || n != -9223372036854775808 {
		t.Errorf("Int = %d %v", n, ok)
	}
	if _, ok := Get(doc, "frac").Int(); ok {
		t.Error("Int accepted 0.1")
	}
	if f, ok := Get(doc, "big").Float(); !ok || f != 1e308 {
		t.Errorf("Float = %g %v", f, ok)
	}
	if b, ok := Get(doc, "arr", "6").Bool(); !ok || !b {
		t.Errorf("Bool = %v %v", b, ok)
	}
	var kinds []string
	for it := Get(doc, "arr").Iter(); it.Next(); {
		kinds = append(kinds, it.Value().Kind().String())
	}
	if got := strings.Join(kinds, " "); got != "number string object array object null bool bool number" {
		t.Errorf("Iter kinds: %s", got)
	}
	if it := Get(doc, "nested").Iter(); it.Next() {
		t.Error("Iter over an object yielded")
	}
}

func TestMalformedDocumentsGiveMissing(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a" 1}`, `{a:1}`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`,
		`{"a":-}`, `{"a":tru}`, `{"a":"x}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":1} x`, `{"a":[1,]}`,
	} {
		v := Get([]byte(doc), "a")
		if v.Exists() && doc != `{"a":[1,]}` {
			t.Errorf("%q: a = %s %q", doc, v.Kind(), v.Raw())
		}
	}
	// Off the path, the inside of a container is skipped, not checked.
	if v := Get([]byte(`{"x":[1,,],"a":2}`), "a"); string(v.Raw()) != "2" {
		t.Errorf("skipped container: %q", v.Raw())
	}
	n := 0
	for it := Get([]byte(`{"a":[1,,2]}`), "a").Iter(); it.Next(); {
		n++
	}
	if n != 1 {
		t.Errorf("Iter over [1,,2] yielded %d, want 1 then stop", n)
	}
}

func TestSet(t *testing.T) {
	for _, c := range []struct{ doc, key, val, want string }{
		{`{"a":1,"b":2}`, "a", `"x"`, `{"a":"x","b":2}`},
		{`{"a":1,"b":2}`, "c", `[1]`, `{"a":1,"b":2,"c":[1]}`},
		{` { } `, "c", `true`, ` { "c":true} `},
		{`{"a":1,"a":2}`, "a", `3`, `{"a":1,"a":3}`},
		{`{"s":"\"a\": 1","a" : {"a":1} }`, "a", `0`, `{"s":"\"a\": 1","a" : 0 }`},
		{`{"\u0061":1}`, "a", `2`, `{"\u0061":2}`},
	} {
		got, err := Set(nil, []byte(c.doc), c.key, []byte(c.val))
		if err != nil || string(got) != c.want {
			t.Errorf("Set(%s, %q, %s) = %s, %v; want %s", c.doc, c.key, c.val, got, err, c.want)
		}
	}
	for _, c := range []struct {
		doc, val string
		err      error
	}{
		{`[1]`, `1`, ErrNotObject},
		{`"x"`, `1`, ErrNotObject},
		{`{"a":}`, `1`, ErrSyntax},
		{`{"a":1} x`, `1`, ErrSyntax},
		{`{"a":1}`, `1 2`, ErrBadValue},
		{`{"a":1}`, ``, ErrBadValue},
	} {
		if _, err := Set(nil, []byte(c.doc), "a", []byte(c.val)); err != c.err {
			t.Errorf("Set(%s, %s): %v, want %v", c.doc, c.val, err, c.err)
		}
	}
	got, err := SetString(nil, []byte(`{"k":"v"}`), "quote\"d", "line\nbreak \x01 \xff é")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := stdjson.Unmarshal(got, &m); err != nil || m["quote\"d"] != "line\nbreak \x01 \ufffd é" || m["k"] != "v" {
		t.Errorf("SetString wrote %s: %v %q", got, err, m)
	}
}

func TestNoAllocations(t *testing.T) {
	doc := []byte(tricky)
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		if !Get(doc, "nested", "deeper", "favorite_number").Exists() || !Get(doc, "escaped").Equal("tab\there é 😀 / \\") {
			t.Fatal("lost a field")
		}
		buf, _ = Get(doc, "escaped").AppendString(buf[:0])
		if f, _ := Get(doc, "favorite_number").Float(); f != 501 {
			t.Fatal(f)
		}
		for it := Get(doc, "arr").Iter(); it.Next(); {
		}
		buf, _ = SetString(buf[:0], doc, "region", "eu")
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run, want 0", allocs)
	}
}

func BenchmarkGetNumber(b *testing.B) {
	doc := []byte(`{"name":"Ada Lovelace","favorite_color":"blue","favorite_number":742,"country":"NO"}`)
	for b.Loop() {
		if f, ok := Get(doc, "favorite_number").Float(); !ok || f != 742 {
			b.Fatal(f)
		}
	}
}

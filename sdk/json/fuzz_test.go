package json

import (
	stdjson "encoding/json"
	"strconv"
	"testing"
)

// seeds is the corpus both fuzz targets start from; `go test` runs them as
// plain tests, `go test -fuzz FuzzGet ./sdk/json` explores from them.
var seeds = []string{
	tricky,
	`{}`, `[]`, `null`, `"x"`, `0`, `-1.5e-3`, `true`,
	`{"a":{"b":{"c":[0,{"d":"e"}]}}}`,
	`{"a":"\"b\":1","b":2}`,
	`{"k":1,"k":{"x":1},"k":[3]}`,
	`{"\ud83d\ude00":"emoji key","\u00e9":1,"é":2}`,
	"{\"\xff\":\"invalid utf-8 key\",\"v\":\"\xc3\"}",
	`{"n":1e400}`, `{"n":123456789012345678901234567890}`,
	`[[[[[[[[[[1]]]]]]]]]]`,
	`{"a" : [ 1 , 2 , { "b" : null } ] , "c" : "}" }`,
}

// FuzzGet checks that on every document encoding/json accepts, Get finds
// every member and element encoding/json decodes, with the same kind and
// value, and finds nothing where there is nothing.
func FuzzGet(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var want any
		if err := stdjson.Unmarshal(doc, &want); err != nil {
			// Not JSON: reading must still be safe.
			Get(doc, "a", "0", "b").Float()
			for it := Parse(doc).Iter(); it.Next(); {
				it.Value().AppendString(nil)
			}
			return
		}
		budget := 2000
		agree(t, doc, nil, want, &budget)
	})
}

// agree compares Get(doc, path...) with want, encoding/json's decoding of
// the value at path, and recurses into it.
func agree(t *testing.T, doc []byte, path []string, want any, budget *int) {
	if *budget--; *budget < 0 {
		return
	}
	v := Get(doc, path...)
	switch w := want.(type) {
	case nil:
		if v.Kind() != Null {
			t.Fatalf("%q: %s %q, want null", path, v.Kind(), v.Raw())
		}
	case bool:
		if b, ok := v.Bool(); !ok || b != w {
			t.Fatalf("%q: %s %q, want %v", path, v.Kind(), v.Raw(), w)
		}
	case float64:
		if f, ok := v.Float(); !ok || f != w {
			t.Fatalf("%q: %s %q = %v, want %v", path, v.Kind(), v.Raw(), f, w)
		}
	case string:
		s, ok := v.Text()
		if !ok || s != w || !v.Equal(w) {
			t.Fatalf("%q: %s %q = %q, want %q", path, v.Kind(), v.Raw(), s, w)
		}
		if b, _ := v.AppendString(nil); string(b) != w {
			t.Fatalf("%q: AppendString %q, want %q", path, b, w)
		}
	case []any:
		n := 0
		for it := v.Iter(); it.Next(); n++ {
		}
		if v.Kind() != Array || n != len(w) {
			t.Fatalf("%q: %s with %d elements, want an array of %d", path, v.Kind(), n, len(w))
		}
		for i, e := range w {
			agree(t, doc, append(path[:len(path):len(path)], strconv.Itoa(i)), e, budget)
		}
		if Get(doc, append(path[:len(path):len(path)], strconv.Itoa(len(w)))...).Exists() {
			t.Fatalf("%q: an element past the end", path)
		}
	case map[string]any:
		if v.Kind() != Object {
			t.Fatalf("%q: %s, want an object", path, v.Kind())
		}
		for k, e := range w {
			agree(t, doc, append(path[:len(path):len(path)], k), e, budget)
		}
		if _, ok := w["no such key"]; !ok && Get(doc, append(path[:len(path):len(path)], "no such key")...).Exists() {
			t.Fatalf("%q: found a key that is not there", path)
		}
	}
}

// FuzzSet checks that SetString on an object encoding/json accepts gives a
// document encoding/json accepts, with the member set and the others kept.
func FuzzSet(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s), "a", "new \"value\"\n")
	}
	f.Add([]byte(`{"a":1}`), "\xff", "\xfe")
	f.Fuzz(func(t *testing.T, doc []byte, key, val string) {
		var before map[string]any
		if err := stdjson.Unmarshal(doc, &before); err != nil || before == nil {
			return
		}
		out, err := SetString(nil, doc, key, val)
		if err != nil {
			t.Fatalf("SetString(%q): %v", doc, err)
		}
		var after map[string]any
		if err := stdjson.Unmarshal(out, &after); err != nil {
			t.Fatalf("SetString(%q, %q, %q) wrote %q: %v", doc, key, val, out, err)
		}
		// What encoding/json makes of key and val (invalid UTF-8 replaced).
		var k, v string
		kb, _ := stdjson.Marshal(key)
		vb, _ := stdjson.Marshal(val)
		_ = stdjson.Unmarshal(kb, &k)
		_ = stdjson.Unmarshal(vb, &v)
		before[k] = v
		a, _ := stdjson.Marshal(after)
		b, _ := stdjson.Marshal(before)
		if string(a) != string(b) {
			t.Fatalf("SetString(%q, %q, %q) = %q:\n got %s\nwant %s", doc, key, val, out, a, b)
		}
	})
}

package plugintool

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func produced(input int, topic, key, value string, headers ...abi.Header) Entry {
	r := abi.Record{Topic: topic, Partition: -1, Timestamp: 1704067200000, Value: []byte(value), Headers: headers}
	if key != "" {
		r.Key = []byte(key)
	}
	return Entry{Input: input, Tick: -1, Record: r}
}

func expected(t *testing.T, lines string) []Expected {
	t.Helper()
	exp, err := ReadExpected(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

func TestTranscriptRoundTripsThroughExpected(t *testing.T) {
	entries := []Entry{
		produced(0, "out", "k", `{"n":1}`, abi.Header{Key: "h", Value: []byte("v")}, abi.Header{Key: "nul"}),
		{Input: 1, Tick: -1, Failed: true, Reason: "bad <record>"},
		{Input: -1, Tick: 2, Record: abi.Record{Topic: "counts", Partition: -1, Value: []byte{0xff}}},
	}
	var b bytes.Buffer
	if err := WriteTranscript(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := `{"input":0,"topic":"out","partition":-1,"key":"k","value":{"n":1},"headers":[{"key":"h","value":"v"},{"key":"nul","value":null}],"timestamp":1704067200000}
{"input":1,"failed":true,"reason":"bad <record>"}
{"tick":2,"topic":"counts","partition":-1,"value_b64":"/w==","timestamp":0}
`
	if b.String() != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", b.String(), want)
	}
	exp := expected(t, b.String())
	if d := Diff("golden", exp, entries); d != "" {
		t.Fatalf("a transcript does not match itself:\n%s", d)
	}
}

func TestExpectedMatchingRules(t *testing.T) {
	actual := produced(0, "out", "k", `{"b":2,"a":[1,2.0]}`, abi.Header{Key: "h", Value: []byte("v")})
	for _, c := range []struct {
		line  string
		match bool
	}{
		{`{"input":0,"topic":"out","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, true}, // JSON by meaning
		{`{"topic":"out","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, true},           // no input: not compared
		{`{"input":1,"topic":"out","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, false},
		{`{"input":0,"topic":"out","key":"k","value":"{\"a\":[1,2],\"b\":2}","headers":[{"key":"h","value":"v"}]}`, false}, // a string: byte for byte
		{`{"input":0,"topic":"out","key":"k","value":{"a":[1,2],"b":3},"headers":[{"key":"h","value":"v"}]}`, false},
		{`{"input":0,"topic":"out","key":"k","value":{"a":[1,2],"b":2}}`, false},                           // missing headers mean none
		{`{"input":0,"topic":"out","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, false}, // missing key means null
		{`{"input":0,"topic":"out","key_b64":"aw==","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}],"partition":-1,"timestamp":1704067200000}`, true},
		{`{"input":0,"topic":"out","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}],"partition":0}`, false},
		{`{"input":0,"topic":"other","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, false},
		{`{"input":0,"failed":true}`, false},
		{`{"tick":0,"topic":"out","key":"k","value":{"a":[1,2],"b":2},"headers":[{"key":"h","value":"v"}]}`, false},
	} {
		exp := expected(t, c.line)
		if got := exp[0].Matches(&actual); got != c.match {
			t.Errorf("%s: match = %v, want %v", c.line, got, c.match)
		}
	}
	failed := Entry{Input: 3, Tick: -1, Failed: true, Reason: "boom"}
	for line, want := range map[string]bool{
		`{"input":3,"failed":true}`:                  true,
		`{"input":3,"failed":true,"reason":"boom"}`:  true,
		`{"input":3,"failed":true,"reason":"other"}`: false,
		`{"input":3,"topic":"out"}`:                  false,
	} {
		if got := expected(t, line)[0].Matches(&failed); got != want {
			t.Errorf("%s: match = %v, want %v", line, got, want)
		}
	}
}

func TestReadExpectedRefusesContradictions(t *testing.T) {
	for _, c := range []struct{ line, says string }{
		{`{"input":0,"tick":0}`, `"input" or "tick", not both`},
		{`{"input":0,"failed":true,"topic":"x"}`, `a "failed" line has only`},
		{`{"input":0,"reason":"x"}`, `"reason" without "failed"`},
		{`{"value_b64":"??"}`, "value_b64"},
		{`{"inputs":0}`, `unknown field "inputs"`},
	} {
		_, err := ReadExpected(strings.NewReader(c.line))
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.HasPrefix(err.Error(), "1: ") {
			t.Errorf("%s: err = %v, want %q", c.line, err, c.says)
		}
	}
}

func TestDiffShowsMissingAndUnexpectedLines(t *testing.T) {
	exp := expected(t, `{"input":0,"value":"a","topic":"out","key":"k"}
# a comment keeps line numbers honest
{"input":1,"value":"b","topic":"out","key":"k"}
{"input":2,"failed":true}
`)
	actual := []Entry{
		produced(0, "out", "k", "a"),
		produced(1, "out", "k", "B"),
		{Input: 2, Tick: -1, Failed: true, Reason: "x"},
		produced(3, "out", "k", "d"),
	}
	d := Diff("exp.jsonl", exp, actual)
	want := []string{
		"--- exp.jsonl (expected)",
		"+++ actual",
		`  {"input":0,"value":"a","topic":"out","key":"k"}`,
		`- {"input":1,"value":"b","topic":"out","key":"k"}  (line 3)`,
		`+ {"input":1,"topic":"out","partition":-1,"key":"k","value":"B","timestamp":1704067200000}`,
		`  {"input":2,"failed":true}`,
		`+ {"input":3,"topic":"out","partition":-1,"key":"k","value":"d","timestamp":1704067200000}`,
	}
	if got := strings.Split(strings.TrimSuffix(d, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff:\n%s\nwant:\n%s", d, strings.Join(want, "\n"))
	}
	if d := Diff("x", nil, nil); d != "" {
		t.Errorf("empty against empty: %q", d)
	}
}

func TestStateLines(t *testing.T) {
	e := Entry{Input: -1, Tick: -1, State: true, Record: abi.Record{Key: []byte("c/k"), Value: []byte("3")}}
	b, err := e.MarshalJSON()
	if err != nil || string(b) != `{"state":true,"key":"c/k","value":"3"}` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	exp, err := ReadExpected(strings.NewReader(string(b) + "\n"))
	if err != nil || !exp[0].Matches(&e) {
		t.Fatalf("a state line does not match itself: %v", err)
	}
	other := e
	other.Record.Value = []byte("4")
	produced := Entry{Input: -1, Tick: 0, Record: abi.Record{Topic: "t", Key: []byte("c/k"), Value: []byte("3")}}
	if exp[0].Matches(&other) || exp[0].Matches(&produced) {
		t.Fatal("a state line matches another value, or a produced record")
	}
	for _, bad := range []string{`{"state":true,"value":"3"}`, `{"state":true,"key":"k","topic":"t"}`, `{"state":true,"key":"k","input":0}`} {
		if _, err := ReadExpected(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

package plugintool

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

var defaults = InputDefaults{Topic: "in", Time: time.UnixMilli(1704067200000)}

func TestReadInputFillsDefaultsAndDecodesValues(t *testing.T) {
	steps, err := ReadInput(strings.NewReader(`
# a comment, then a blank line

{"key":"k","value":"text"}
{"offset":10,"value":{"a": [1, 2]},"key_b64":"AP8="}
{"topic":"t2","partition":3,"timestamp":"2024-01-01T00:00:01Z","value":null,"headers":[{"key":"h","value":"v"},{"key":"n","value":null},{"key":"b","value_b64":"AQI="},{"key":"j","value":42}]}
{"tick":true}
{"tick":true,"timestamp":1704067205000}
{"value":""}
`), defaults)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 6 {
		t.Fatalf("%d steps", len(steps))
	}
	r0, r1, r2 := steps[0].Record, steps[1].Record, steps[2].Record
	if steps[0].Line != 4 || r0.Topic != "in" || r0.Partition != 0 || r0.Offset != 0 || r0.Timestamp != 1704067200000 ||
		string(r0.Key) != "k" || string(r0.Value) != "text" || r0.Headers != nil {
		t.Errorf("record 0 = %+v (line %d)", r0, steps[0].Line)
	}
	if r1.Offset != 10 || !bytes.Equal(r1.Key, []byte{0, 0xff}) || string(r1.Value) != `{"a":[1,2]}` {
		t.Errorf("record 1 = %+v", r1)
	}
	if r2.Topic != "t2" || r2.Partition != 3 || r2.Offset != 11 || r2.Timestamp != 1704067201000 || r2.Value != nil || r2.Key != nil {
		t.Errorf("record 2 = %+v", r2)
	}
	wantH := []abi.Header{{Key: "h", Value: []byte("v")}, {Key: "n"}, {Key: "b", Value: []byte{1, 2}}, {Key: "j", Value: []byte("42")}}
	if len(r2.Headers) != len(wantH) {
		t.Fatalf("headers = %+v", r2.Headers)
	}
	for i, h := range wantH {
		g := r2.Headers[i]
		if g.Key != h.Key || !bytes.Equal(g.Value, h.Value) || (g.Value == nil) != (h.Value == nil) {
			t.Errorf("header %d = %+v, want %+v", i, g, h)
		}
	}
	if !steps[3].Tick || steps[3].Record.Timestamp != 0 || !steps[4].Tick || steps[4].Record.Timestamp != 1704067205000 {
		t.Errorf("ticks = %+v %+v", steps[3], steps[4])
	}
	if r5 := steps[5].Record; r5.Value == nil || len(r5.Value) != 0 || r5.Offset != 12 {
		t.Errorf("empty value decoded as %+v", r5)
	}
}

func TestReadInputNamesTheBadLine(t *testing.T) {
	for _, c := range []struct{ in, says string }{
		{`{"vaule":"x"}`, `unknown field "vaule"`},
		{`{"value":"x","value_b64":"eA=="}`, "value and value_b64 both given"},
		{`{"key_b64":"%%"}`, "key_b64"},
		{`{"partition":-2}`, "partition: -2 is negative"},
		{`{"timestamp":"yesterday"}`, "not RFC 3339"},
		{`{"timestamp":true}`, "neither Unix milliseconds"},
		{`{"tick":true,"value":"x"}`, "a tick line has no fields"},
		{`{"topic":""}`, "topic: empty"},
		{`{"headers":[{"key":"h","value_b64":"!"}]}`, "headers[0].value_b64"},
		{`not json`, "not a valid line"},
		{`{"value":"a"} {"value":"b"}`, "more than one JSON value"},
	} {
		_, err := ReadInput(strings.NewReader("{\"value\":\"ok\"}\n"+c.in+"\n"), defaults)
		if err == nil || !strings.HasPrefix(err.Error(), "2: ") || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: err = %v, want line 2 and %q", c.in, err, c.says)
		}
	}
}

func TestEncodeBytesPicksAReadableForm(t *testing.T) {
	for _, c := range []struct {
		in        []byte
		raw, b64  string
		roundTrip bool
	}{
		{nil, "", "", true},
		{[]byte("hello"), `"hello"`, "", true},
		{[]byte{}, `""`, "", true},
		{[]byte(`{"b": 1, "a": [true]}`), `{"b":1,"a":[true]}`, "", false}, // compacted
		{[]byte("42"), `"42"`, "", true},                                   // a number stays text
		{[]byte("tab\there <&>"), `"tab\there <&>"`, "", true},
		{[]byte{0, 1, 0xff}, "", "AAH/", true},
		{[]byte("bell\a"), "", "YmVsbAc=", true},
	} {
		raw, b64 := encodeBytes(c.in)
		gotB64 := ""
		if b64 != nil {
			gotB64 = *b64
		}
		if string(raw) != c.raw || gotB64 != c.b64 {
			t.Errorf("%q: raw %s b64 %q, want %s %q", c.in, raw, gotB64, c.raw, c.b64)
		}
		back, err := decodeBytes("v", raw, b64)
		if err != nil {
			t.Fatal(err)
		}
		if c.roundTrip && (!bytes.Equal(back, c.in) || (back == nil) != (c.in == nil)) {
			t.Errorf("%q: decodes back as %q", c.in, back)
		}
	}
}

// Command print is a wasmhost plugin that logs one info line per record: its
// offset, its key and the fields of its JSON value. The host's log line
// already carries the daemon, pipeline, consumer, topic and partition as
// fields, so the message does not repeat them; the offset stays because the
// host cannot know which record of a batch the plugin is on. On a console:
//
//	INF offset=17 key=42 name="Ada" favorite_color="teal" favorite_number=412 consumer=wasmhost-1f2e3d4c-print-users-0 partition=3 pipeline=print-users plugin=print topic=users ...
//
// A value that is not a JSON object is printed whole: valid JSON as it is,
// anything else quoted, with a note. Such a record does not fail. It produces
// nothing.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o print.wasm ./plugins/print
package main

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/wasmhost/wasmhost/sdk"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

func init() { sdk.OnRecord(printRecord) }

// line is reused from record to record.
var line []byte

func printRecord(r *sdk.Record) error {
	line = format(line[:0], r)
	sdk.Log(abi.LevelInfo, string(line))
	return nil
}

// format appends r's log line to b.
func format(b []byte, r *sdk.Record) []byte {
	b = append(b, "offset="...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, " key="...)
	b = appendBytes(b, r.Key)
	return appendValue(b, r.Value)
}

// appendValue appends the fields of a JSON object as name=value pairs, in
// the order they appear; anything else as one value= pair.
func appendValue(b, v []byte) []byte {
	switch {
	case v == nil:
		return append(b, " value=<null>"...)
	case !json.Valid(v):
		b = append(b, " value="...)
		b = strconv.AppendQuote(b, string(v))
		return append(b, ` note="value is not valid JSON"`...)
	}
	trimmed := bytes.TrimSpace(v)
	if trimmed[0] != '{' {
		return appendJSON(append(b, " value="...), trimmed)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // the object's '{'
		return appendJSON(append(b, " value="...), trimmed)
	}
	for dec.More() {
		name, err := dec.Token()
		var raw json.RawMessage
		if err == nil {
			err = dec.Decode(&raw)
		}
		if err != nil { // cannot happen for valid JSON
			return appendJSON(append(b, " value="...), trimmed)
		}
		b = append(b, ' ')
		b = appendText(b, name.(string))
		b = append(b, '=')
		b = appendJSON(b, raw)
	}
	return b
}

// appendJSON appends one valid JSON value: a string quoted Go-style, anything
// else compacted.
func appendJSON(b []byte, raw []byte) []byte {
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strconv.AppendQuote(b, s)
		}
	}
	var c bytes.Buffer
	if json.Compact(&c, raw) != nil {
		return strconv.AppendQuote(b, string(raw))
	}
	return append(b, c.Bytes()...)
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, "<null>"...)
	}
	return appendText(b, string(v))
}

// appendText appends s bare when it is plain printable ASCII, and quoted
// otherwise (empty, spaces, quotes, '=', '<', control or non-ASCII bytes).
func appendText(b []byte, s string) []byte {
	if s == "" || s[0] == '<' {
		return strconv.AppendQuote(b, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '=' {
			return strconv.AppendQuote(b, s)
		}
	}
	return append(b, s...)
}

func main() {}

package plugintool

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Entry is one transcript line: a record the plugin produced, or an input
// record (or tick) that failed, or (State) a key of a stateful plugin's
// final state, in Record.Key and Record.Value, after everything else.
type Entry struct {
	Input  int // index of the input record it derives from, or -1
	Tick   int // number of the tick that produced it, or -1
	Failed bool
	State  bool
	Reason string     // why it failed
	Record abi.Record // what was produced, when not Failed
}

// lineJSON is the JSON shape of a transcript line; the field order is the
// order they are written in.
type lineJSON struct {
	State     bool            `json:"state,omitempty"`
	Input     *int            `json:"input,omitempty"`
	Tick      *int            `json:"tick,omitempty"`
	Failed    bool            `json:"failed,omitempty"`
	Reason    *string         `json:"reason,omitempty"`
	Topic     *string         `json:"topic,omitempty"`
	Partition *int32          `json:"partition,omitempty"`
	Key       json.RawMessage `json:"key,omitempty"`
	KeyB64    *string         `json:"key_b64,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	ValueB64  *string         `json:"value_b64,omitempty"`
	Headers   []jsonHeader    `json:"headers,omitempty"`
	Timestamp *int64          `json:"timestamp,omitempty"`
}

// MarshalJSON writes the entry as a transcript line.
func (e *Entry) MarshalJSON() ([]byte, error) {
	var l lineJSON
	if e.Input >= 0 {
		l.Input = &e.Input
	}
	if e.Tick >= 0 {
		l.Tick = &e.Tick
	}
	switch {
	case e.State:
		l.State = true
		l.Key, l.KeyB64 = encodeBytes(e.Record.Key)
		l.Value, l.ValueB64 = encodeBytes(e.Record.Value)
	case e.Failed:
		l.Failed, l.Reason = true, &e.Reason
	default:
		r := &e.Record
		l.Topic, l.Partition, l.Timestamp = &r.Topic, &r.Partition, &r.Timestamp
		l.Key, l.KeyB64 = encodeBytes(r.Key)
		l.Value, l.ValueB64 = encodeBytes(r.Value)
		for _, h := range r.Headers {
			jh := jsonHeader{Key: h.Key}
			jh.Value, jh.ValueB64 = encodeBytes(h.Value)
			if jh.Value == nil && jh.ValueB64 == nil {
				jh.Value = json.RawMessage("null")
			}
			l.Headers = append(l.Headers, jh)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&l); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// WriteTranscript writes entries as JSON lines.
func WriteTranscript(w io.Writer, entries []Entry) error {
	for i := range entries {
		b, err := entries[i].MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
			return err
		}
	}
	return nil
}

// Expected is one line of an expected-output file.
type Expected struct {
	Line int    // line number in the file
	Text string // the line as written
	l    lineJSON
}

// ReadExpectedFile reads an expected-output file.
func ReadExpectedFile(path string) ([]Expected, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	exp, err := ReadExpected(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return exp, nil
}

// ReadExpected reads expected transcript lines; an error names the line.
func ReadExpected(r io.Reader) ([]Expected, error) {
	var out []Expected
	err := eachLine(r, func(n int, line []byte) error {
		e := Expected{Line: n, Text: string(line)}
		if err := strictUnmarshal(line, &e.l); err != nil {
			return err
		}
		if err := e.check(); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func (e *Expected) check() error {
	l := &e.l
	if l.State {
		if l.Input != nil || l.Tick != nil || l.Failed || l.Reason != nil || l.Topic != nil || l.Partition != nil ||
			l.Headers != nil || l.Timestamp != nil {
			return errors.New(`a "state" line has only "key" and "value"`)
		}
		if (l.Key == nil || string(l.Key) == "null") && l.KeyB64 == nil {
			return errors.New(`a "state" line needs a "key"`)
		}
	}
	if l.Input != nil && l.Tick != nil {
		return errors.New(`a line has "input" or "tick", not both`)
	}
	if l.Failed {
		if l.Topic != nil || l.Partition != nil || l.Key != nil || l.KeyB64 != nil || l.Value != nil ||
			l.ValueB64 != nil || l.Headers != nil || l.Timestamp != nil {
			return errors.New(`a "failed" line has only "input" or "tick", and "reason"`)
		}
		return nil
	}
	if l.Reason != nil {
		return errors.New(`"reason" without "failed": true`)
	}
	checks := []struct {
		field string
		raw   json.RawMessage
		b64   *string
	}{{"key", l.Key, l.KeyB64}, {"value", l.Value, l.ValueB64}}
	for i, h := range l.Headers {
		checks = append(checks, struct {
			field string
			raw   json.RawMessage
			b64   *string
		}{fmt.Sprintf("headers[%d].value", i), h.Value, h.ValueB64})
	}
	for _, c := range checks {
		if _, err := decodeBytes(c.field, c.raw, c.b64); err != nil {
			return err
		}
	}
	return nil
}

// Matches reports whether the entry is what the line expects: every field
// the line gives must match; a missing key or value is null and missing
// headers are none.
func (e *Expected) Matches(a *Entry) bool {
	l := &e.l
	if l.State != a.State {
		return false
	}
	if a.State {
		return bytesMatch(l.Key, l.KeyB64, a.Record.Key) && bytesMatch(l.Value, l.ValueB64, a.Record.Value)
	}
	if l.Input != nil && *l.Input != a.Input || l.Tick != nil && *l.Tick != a.Tick || l.Failed != a.Failed {
		return false
	}
	if a.Failed {
		return l.Reason == nil || *l.Reason == a.Reason
	}
	r := &a.Record
	if l.Topic != nil && *l.Topic != r.Topic || l.Partition != nil && *l.Partition != r.Partition ||
		l.Timestamp != nil && *l.Timestamp != r.Timestamp {
		return false
	}
	if !bytesMatch(l.Key, l.KeyB64, r.Key) || !bytesMatch(l.Value, l.ValueB64, r.Value) || len(l.Headers) != len(r.Headers) {
		return false
	}
	for i, h := range l.Headers {
		if h.Key != r.Headers[i].Key || !bytesMatch(h.Value, h.ValueB64, r.Headers[i].Value) {
			return false
		}
	}
	return true
}

// bytesMatch compares actual bytes with an expected key, value or header
// value: a JSON string by its bytes, other JSON by meaning, base64 by its
// bytes, null or absent as null.
func bytesMatch(raw json.RawMessage, b64 *string, actual []byte) bool {
	if b64 != nil {
		want, _ := base64.StdEncoding.DecodeString(*b64) // checked when read
		return actual != nil && bytes.Equal(want, actual)
	}
	if raw == nil || string(raw) == "null" {
		return actual == nil
	}
	if actual == nil {
		return false
	}
	if raw[0] == '"' {
		return bytes.Equal(jsonBytes(raw), actual)
	}
	var want, got any
	if json.Unmarshal(raw, &want) != nil || json.Unmarshal(actual, &got) != nil {
		return false
	}
	return jsonEqual(want, got)
}

func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// Diff compares a transcript with the expected lines. It returns "" when
// they match, else a line diff: "  " lines match, "- " lines are expected
// (with their line number) but missing, "+ " lines were not expected.
func Diff(name string, expected []Expected, actual []Entry) string {
	n, m := len(expected), len(actual)
	// lcs[i][j] is the longest common subsequence of expected[i:] and
	// actual[j:]; fixtures are small, so the quadratic table is fine.
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if expected[i].Matches(&actual[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	if lcs[0][0] == n && n == m {
		return ""
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "--- %s (expected)\n+++ actual\n", name)
	plus := func(j int) {
		line, _ := actual[j].MarshalJSON()
		fmt.Fprintf(&b, "+ %s\n", line)
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && expected[i].Matches(&actual[j]) && lcs[i][j] == lcs[i+1][j+1]+1:
			fmt.Fprintf(&b, "  %s\n", expected[i].Text)
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&b, "- %s  (line %d)\n", expected[i].Text, expected[i].Line)
			i++
		default:
			plus(j)
			j++
		}
	}
	return b.String()
}

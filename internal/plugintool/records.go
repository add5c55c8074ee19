package plugintool

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Step is one line of an input file: a record, or a tick.
type Step struct {
	Line   int // line number in the file, for messages
	Tick   bool
	Record abi.Record // the record, or for a tick only its Timestamp (0 = not given)
}

// InputDefaults fill the fields an input line leaves out.
type InputDefaults struct {
	Topic string
	Time  time.Time // timestamp of records that give none
}

// inputLine is the JSON shape of an input line.
type inputLine struct {
	Topic     *string         `json:"topic"`
	Partition *int32          `json:"partition"`
	Offset    *int64          `json:"offset"`
	Timestamp json.RawMessage `json:"timestamp"`
	Key       json.RawMessage `json:"key"`
	KeyB64    *string         `json:"key_b64"`
	Value     json.RawMessage `json:"value"`
	ValueB64  *string         `json:"value_b64"`
	Headers   []jsonHeader    `json:"headers"`
	Tick      bool            `json:"tick"`
}

type jsonHeader struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value,omitempty"`
	ValueB64 *string         `json:"value_b64,omitempty"`
}

// ReadInputFile reads an input records file.
func ReadInputFile(path string, d InputDefaults) ([]Step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	steps, err := ReadInput(f, d)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return steps, nil
}

// ReadInput reads input records; an error names the line ("3: ...").
func ReadInput(r io.Reader, d InputDefaults) ([]Step, error) {
	var steps []Step
	next := int64(0)
	err := eachLine(r, func(n int, line []byte) error {
		var in inputLine
		if err := strictUnmarshal(line, &in); err != nil {
			return err
		}
		ts, err := parseTimestamp(in.Timestamp)
		if err != nil {
			return err
		}
		if in.Tick {
			if in.Topic != nil || in.Partition != nil || in.Offset != nil || in.Key != nil || in.KeyB64 != nil ||
				in.Value != nil || in.ValueB64 != nil || in.Headers != nil {
				return errors.New(`a tick line has no fields but "tick" and "timestamp"`)
			}
			steps = append(steps, Step{Line: n, Tick: true, Record: abi.Record{Timestamp: ts}})
			return nil
		}
		rec := abi.Record{Topic: d.Topic, Offset: next, Timestamp: d.Time.UnixMilli()}
		if in.Timestamp != nil {
			rec.Timestamp = ts
		}
		if in.Topic != nil {
			rec.Topic = *in.Topic
		}
		if rec.Topic == "" {
			return errors.New("topic: empty")
		}
		if in.Partition != nil {
			if *in.Partition < 0 {
				return fmt.Errorf("partition: %d is negative", *in.Partition)
			}
			rec.Partition = *in.Partition
		}
		if in.Offset != nil {
			if *in.Offset < 0 {
				return fmt.Errorf("offset: %d is negative", *in.Offset)
			}
			rec.Offset = *in.Offset
		}
		next = rec.Offset + 1
		if rec.Key, err = decodeBytes("key", in.Key, in.KeyB64); err != nil {
			return err
		}
		if rec.Value, err = decodeBytes("value", in.Value, in.ValueB64); err != nil {
			return err
		}
		if rec.Headers, err = decodeHeaders(in.Headers); err != nil {
			return err
		}
		steps = append(steps, Step{Line: n, Record: rec})
		return nil
	})
	return steps, err
}

// eachLine calls fn with each line that is not blank or a # comment.
func eachLine(r io.Reader, fn func(n int, line []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%d: %w", n, err)
		}
	}
	return sc.Err()
}

// strictUnmarshal decodes one JSON object, refusing unknown fields (a typo
// such as "vaule" would otherwise pass silently).
func strictUnmarshal(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not a valid line: %w", err)
	}
	if dec.More() {
		return errors.New("not a valid line: more than one JSON value")
	}
	return nil
}

func parseTimestamp(raw json.RawMessage) (int64, error) {
	if raw == nil {
		return 0, nil
	}
	var ms int64
	if err := json.Unmarshal(raw, &ms); err == nil {
		return ms, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, fmt.Errorf("timestamp: %q is not RFC 3339 (2024-01-01T00:00:00Z)", s)
		}
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("timestamp: %s is neither Unix milliseconds nor an RFC 3339 string", raw)
}

// decodeBytes decodes a key, value or header value given as JSON (raw) or
// base64 (b64). Neither given is null.
func decodeBytes(field string, raw json.RawMessage, b64 *string) ([]byte, error) {
	if raw != nil && b64 != nil {
		return nil, fmt.Errorf("%s and %s_b64 both given", field, field)
	}
	if b64 != nil {
		b, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			return nil, fmt.Errorf("%s_b64: %w", field, err)
		}
		return b, nil
	}
	return jsonBytes(raw), nil
}

// jsonBytes is the bytes a JSON field stands for: nil for null or absent, a
// string's UTF-8, or any other value's compact encoding.
func jsonBytes(raw json.RawMessage) []byte {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s) // raw came from a successful decode
		return []byte(s)
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, raw)
	return buf.Bytes()
}

func decodeHeaders(hs []jsonHeader) ([]abi.Header, error) {
	var out []abi.Header
	for i, h := range hs {
		v, err := decodeBytes(fmt.Sprintf("headers[%d].value", i), h.Value, h.ValueB64)
		if err != nil {
			return nil, err
		}
		out = append(out, abi.Header{Key: h.Key, Value: v})
	}
	return out, nil
}

// isJSONDoc reports whether b is a JSON object or array, which transcripts
// show as JSON rather than as a string.
func isJSONDoc(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// encodeBytes renders bytes for a transcript line: JSON documents as JSON,
// other UTF-8 as a string, the rest as base64 in the _b64 field.
func encodeBytes(b []byte) (raw json.RawMessage, b64 *string) {
	switch {
	case b == nil:
		return nil, nil
	case isJSONDoc(b):
		var buf bytes.Buffer
		_ = json.Compact(&buf, b)
		return buf.Bytes(), nil
	case isText(b):
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(string(b))
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

// isText reports whether b is valid UTF-8 without control characters other
// than tab, newline and carriage return, so that it reads well as a string.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return false
		}
	}
	return true
}

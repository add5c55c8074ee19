package abi

import (
	"encoding/binary"
	"testing"
)

// decoders runs each decoder over b and returns its error, so every malformed
// case is checked against all three.
var decoders = map[string]func(b []byte) error{
	"batch": func(b []byte) error {
		_, err := decodeBatch(b)
		return err
	},
	"output": func(b []byte) error {
		_, err := decodeOutput(b)
		return err
	},
	"config": func(b []byte) error {
		_, err := DecodeConfig(b)
		return err
	},
}

// valid returns a well-formed buffer for each decoder.
func valid() map[string][]byte {
	out := AppendCount(nil, 3)
	recs := sampleRecords()
	out = AppendOutput(out, 0, &recs[0])
	out = AppendOutput(out, NoInput, &recs[4])
	out = AppendOutput(out, 2, &recs[5])
	return map[string][]byte{
		"batch":  AppendBatch(nil, recs),
		"output": out,
		"config": AppendConfig(nil, map[string]string{"to": "out", "wasmhost.plugin": "forward", "": ""}),
	}
}

func expectMalformed(t *testing.T, name string, b []byte, what string) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s decoder panicked on %s: %v", name, what, p)
		}
	}()
	err := decoders[name](b)
	if err == nil {
		t.Fatalf("%s decoder accepted %s: % x", name, what, b)
	}
	if !isMalformed(err) {
		t.Fatalf("%s decoder on %s: %v does not wrap ErrMalformed", name, what, err)
	}
}

func TestTruncatedAtEveryByte(t *testing.T) {
	for name, b := range valid() {
		if err := decoders[name](b); err != nil {
			t.Fatalf("%s: valid buffer refused: %v", name, err)
		}
		for i := range b {
			expectMalformed(t, name, b[:i], "a truncated buffer")
		}
	}
}

func TestTrailingBytes(t *testing.T) {
	for name, b := range valid() {
		expectMalformed(t, name, append(b[:len(b):len(b)], 0), "a trailing byte")
		expectMalformed(t, name, append(b[:len(b):len(b)], make([]byte, 64)...), "64 trailing bytes")
	}
	expectMalformed(t, "batch", []byte{0, 0, 0, 0, 1}, "an empty batch with a trailing byte")
}

func TestHugeCounts(t *testing.T) {
	for name := range decoders {
		for _, n := range []uint32{1, 2, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
			b := binary.LittleEndian.AppendUint32(nil, n)
			expectMalformed(t, name, b, "a count with nothing after it")
			expectMalformed(t, name, append(b, make([]byte, 39)...), "a count followed by zero padding")
		}
	}
}

// patch overwrites the u32 at off in a copy of b.
func patch(b []byte, off int, v uint32) []byte {
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func TestHugeLengths(t *testing.T) {
	// A batch of one record: topic "t", key "k", value "v", one header "h"="x".
	b := AppendBatch(nil, []Record{{Topic: "t", Key: []byte("k"), Value: []byte("v"),
		Headers: []Header{{Key: "h", Value: []byte("x")}}}})
	const (
		topicLen  = 4 + 20
		keyLen    = topicLen + 4 + 1
		valueLen  = keyLen + 4 + 1
		hdrCount  = valueLen + 4 + 1
		hdrKeyLen = hdrCount + 4
		hdrValLen = hdrKeyLen + 4 + 1
	)
	for _, off := range []int{topicLen, keyLen, valueLen, hdrCount, hdrKeyLen, hdrValLen} {
		for _, v := range []uint32{2, 100, 1 << 20, 1<<31 - 1, 1 << 31, 1<<32 - 2} {
			expectMalformed(t, "batch", patch(b, off, v), "a length past the end")
		}
	}
	// Only key, value and header values are nullable; a topic or header key
	// of length -1 is malformed.
	expectMalformed(t, "batch", patch(b, topicLen, 1<<32-1), "a null topic")
	expectMalformed(t, "batch", patch(b, hdrKeyLen, 1<<32-1), "a null header key")

	c := AppendConfig(nil, map[string]string{"k": "v"})
	for _, off := range []int{4, 9} {
		for _, v := range []uint32{2, 1 << 31, 1<<32 - 1} {
			expectMalformed(t, "config", patch(c, off, v), "a config length past the end")
		}
	}
}

func TestMalformedErrorSays(t *testing.T) {
	_, err := decodeBatch([]byte{1, 0})
	if got, want := err.Error(), "abi: malformed encoding: batch count at byte 0 of 2"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
}

// Errors name the field that does not fit and where it starts.
func TestMalformedErrorNamesTheField(t *testing.T) {
	// partition..timestamp [0,20), topic "t" [20,25), key "k" [25,30),
	// value "value" [30,39), header count [39,43), header key "h" [43,48),
	// header value "x" [48,53).
	b := AppendRecord(nil, &Record{Topic: "t", Key: []byte("k"), Value: []byte("value"),
		Headers: []Header{{Key: "h", Value: []byte("x")}}})
	for _, tc := range []struct {
		buf  []byte
		want string
	}{
		{b[:10], "partition, offset or timestamp at byte 0 of 10"},
		{b[:22], "topic at byte 20 of 22"},
		{b[:28], "key at byte 25 of 28"},
		{b[:36], "value at byte 30 of 36"},
		{b[:41], "header count at byte 39 of 41"},
		{patch(b, 43, 100), "header key at byte 43 of 53"},
		{b[:52], "header value at byte 48 of 52"},
	} {
		d := decoder{b: tc.buf}
		var r Record
		d.record(&r)
		if d.err == nil || d.err.Error() != "abi: malformed encoding: "+tc.want {
			t.Errorf("%v, want %q", d.err, tc.want)
		}
	}
}

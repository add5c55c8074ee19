package abi

import (
	"encoding/binary"
	"strconv"
	"testing"
)

// decoders runs each decoder over b and returns its error, so every malformed
// case is checked against all three. The output decoder reads b as
// descriptors, with the data area and batch of validOutput.
var decoders = map[string]func(b []byte) error{
	"batch": func(b []byte) error {
		_, err := decodeBatch(b)
		return err
	},
	"output": func(b []byte) error {
		_, data, batch := validOutput()
		_, err := decodeOutput(b, data, batch)
		return err
	},
	"config": func(b []byte) error {
		_, err := DecodeConfig(b)
		return err
	},
}

// validOutput returns the descriptors, data area and batch data area of
// three produced records: one by reference to the batch, one copied, one
// with headers.
func validOutput() (descs, data, batch []byte) {
	recs := sampleRecords()
	var r BatchReader
	if err := r.Reset(AppendBatch(nil, recs)); err != nil {
		panic(err)
	}
	var in Record
	if err := r.Next(&in); err != nil {
		panic(err)
	}
	var w OutputWriter
	w.Reset(r.Data())
	w.Add(0, &in)
	w.Add(NoInput, &recs[4])
	w.Add(2, &recs[5])
	return w.Descriptors(), w.Data(), r.Data()
}

// valid returns a well-formed buffer for each decoder.
func valid() map[string][]byte {
	descs, _, _ := validOutput()
	return map[string][]byte{
		"batch":  AppendBatch(nil, sampleRecords()),
		"output": descs,
		"config": AppendConfig(nil, map[string]string{"to": "out", "wasmhost.plugin": "forward", "": ""}),
	}
}

func expectMalformed(t *testing.T, name string, b []byte, what string) {
	t.Helper()
	expectMalformedErr(t, name, what, b, func() error { return decoders[name](b) })
}

func expectMalformedErr(t *testing.T, name, what string, b []byte, decode func() error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s decoder panicked on %s: %v", name, what, p)
		}
	}()
	err := decode()
	if err == nil {
		t.Fatalf("%s decoder accepted %s: % x", name, what, b)
	}
	if !isMalformed(err) {
		t.Fatalf("%s decoder on %s: %v does not wrap ErrMalformed", name, what, err)
	}
}

// Every byte of a batch or a produce call's data area is some field's, so
// cutting either anywhere cuts a field.
func TestTruncatedAtEveryByte(t *testing.T) {
	for name, b := range valid() {
		if err := decoders[name](b); err != nil {
			t.Fatalf("%s: valid buffer refused: %v", name, err)
		}
		for i := range b {
			if name == "output" && i%OutputDescSize == 0 {
				continue // whole descriptors: fewer records, still well formed
			}
			expectMalformed(t, name, b[:i], "a truncated buffer")
		}
	}
	descs, data, batch := validOutput()
	for i := range data {
		expectMalformedErr(t, "output", "a truncated data area", data[:i], func() error {
			_, err := decodeOutput(descs, data[:i], batch)
			return err
		})
	}
}

func TestHugeCounts(t *testing.T) {
	for _, name := range []string{"batch", "config"} {
		for _, n := range []uint32{1, 2, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
			b := binary.LittleEndian.AppendUint32(nil, n)
			expectMalformed(t, name, b, "a count with nothing after it")
			expectMalformed(t, name, append(b, make([]byte, 51)...), "a count followed by zero padding")
		}
	}
	expectMalformed(t, "output", make([]byte, OutputDescSize+1), "a descriptor area not a multiple of 48 bytes")
	// A header count past the data area.
	b := AppendBatch(nil, []Record{{Topic: "t"}})
	for _, n := range []uint32{1, 1 << 16, 1<<32 - 1} {
		expectMalformed(t, "batch", patch(b, BatchHeaderSize+4, n), "a header count past the data area")
	}
	descs, _, _ := validOutput()
	for _, n := range []uint32{100, 1 << 28, 1<<32 - 1} {
		expectMalformed(t, "output", patch(descs, 2*OutputDescSize+44, n), "a header count past the data area")
	}
}

// patch overwrites the u32 at off in a copy of b.
func patch(b []byte, off int, v uint32) []byte {
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func TestHugeOffsetsAndLengths(t *testing.T) {
	// A batch of one record: topic "t", key "k", value "v", one header "h"="x".
	b := AppendBatch(nil, []Record{{Topic: "t", Key: []byte("k"), Value: []byte("v"),
		Headers: []Header{{Key: "h", Value: []byte("x")}}}})
	const desc = BatchHeaderSize
	hdesc := desc + RecordDescSize + 3 // header descriptors follow "t", "k", "v"
	fields := []int{desc + 24, desc + 28, desc + 32, desc + 36, desc + 40, desc + 44, desc + 48,
		hdesc, hdesc + 4, hdesc + 8, hdesc + 12}
	for _, off := range fields {
		for _, v := range []uint32{100, 1 << 20, 1<<31 - 1, 1 << 31, 1<<32 - 2} {
			expectMalformed(t, "batch", patch(b, off, v), "an offset or length past the end")
		}
	}
	// Only key, value and header values are nullable; a topic or header key
	// of length -1 is malformed.
	expectMalformed(t, "batch", patch(b, desc+28, 1<<32-1), "a null topic")
	expectMalformed(t, "batch", patch(b, hdesc+4, 1<<32-1), "a null header key")

	descs, _, _ := validOutput()
	for rec := range 3 {
		for _, f := range []int{16, 20, 24, 28, 32, 36, 40} {
			if f == 40 && rec != 2 || (f == 24 || f == 32) && rec == 2 {
				continue // the ref of a null, or of no headers, is not read
			}
			for _, v := range []uint32{1 << 20, 1<<31 - 1, 1<<32 - 2} {
				expectMalformed(t, "output", patch(descs, rec*OutputDescSize+f, v), "an output ref or length past the end")
			}
		}
	}
	expectMalformed(t, "output", patch(descs, 20, 1<<32-1), "a null output topic")

	c := AppendConfig(nil, map[string]string{"k": "v"})
	for _, off := range []int{4, 9} {
		for _, v := range []uint32{2, 1 << 31, 1<<32 - 1} {
			expectMalformed(t, "config", patch(c, off, v), "a config length past the end")
		}
	}
}

func TestMalformedErrorSays(t *testing.T) {
	_, err := decodeBatch([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	if got, want := err.Error(), "abi: malformed encoding: batch count at byte 0 of 8"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
}

// Errors name the field that does not fit and where its descriptor field
// starts.
func TestMalformedErrorNamesTheField(t *testing.T) {
	b := AppendBatch(nil, []Record{{}, {Topic: "t", Key: []byte("k"), Value: []byte("value"),
		Headers: []Header{{Key: "h", Value: []byte("x")}}}})
	const d = BatchHeaderSize + RecordDescSize // the second descriptor
	hdesc := BatchHeaderSize + 2*RecordDescSize + 7
	n := len(b)
	for _, tc := range []struct {
		buf  []byte
		want string
	}{
		{b[:BatchHeaderSize-1], "batch header at byte 0 of 7"},
		{patch(b, d+28, 100), "topic at byte 88 of " + itoa(n)},
		{patch(b, d+36, 100), "key at byte 96 of " + itoa(n)},
		{patch(b, d+44, 100), "value at byte 104 of " + itoa(n)},
		{patch(b, d+48, 1000), "headers at byte 112 of " + itoa(n)},
		{patch(b, hdesc+4, 100), "header key at byte " + itoa(hdesc) + " of " + itoa(n)},
		{patch(b, hdesc+12, 100), "header value at byte " + itoa(hdesc+8) + " of " + itoa(n)},
	} {
		_, err := decodeBatch(tc.buf)
		if err == nil || err.Error() != "abi: malformed encoding: "+tc.want {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
	descs, data, batch := validOutput()
	for _, tc := range []struct {
		off  int
		want string
	}{
		{16, "topic at byte 16"}, {24, "key at byte 24"}, {32, "value at byte 32"},
		{2*OutputDescSize + 40, "headers at byte 136"},
	} {
		_, err := decodeOutput(patch(descs, tc.off, 1<<30), data, batch)
		if err == nil || err.Error() != "abi: malformed encoding: "+tc.want+" of 144" {
			t.Errorf("%v, want %q", err, tc.want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

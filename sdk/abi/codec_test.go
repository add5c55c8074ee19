package abi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// cloneRecord deep-copies r so it outlives the buffer it was decoded from.
// An empty header list becomes nil: the encoding does not tell nil from empty.
func cloneRecord(r *Record) Record {
	c := Record{
		Topic:     strings.Clone(r.Topic),
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
		Key:       bytes.Clone(r.Key),
		Value:     bytes.Clone(r.Value),
	}
	for _, h := range r.Headers {
		c.Headers = append(c.Headers, Header{Key: strings.Clone(h.Key), Value: bytes.Clone(h.Value)})
	}
	return c
}

func normalize(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i := range recs {
		out[i] = cloneRecord(&recs[i])
	}
	return out
}

// decodeBatch decodes a whole batch with one reused reader and record, the way
// the SDK does.
func decodeBatch(b []byte) ([]Record, error) {
	var r BatchReader
	if err := r.Reset(b); err != nil {
		return nil, err
	}
	var rec Record
	var out []Record
	for {
		err := r.Next(&rec)
		if err == io.EOF {
			if len(out) != r.Len() {
				return nil, fmt.Errorf("decoded %d records, Len says %d", len(out), r.Len())
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cloneRecord(&rec))
	}
}

type entry struct {
	input uint32
	rec   Record
}

func decodeOutput(b []byte) ([]entry, error) {
	var r OutputReader
	if err := r.Reset(b); err != nil {
		return nil, err
	}
	var rec Record
	var out []entry
	for {
		in, err := r.Next(&rec)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, entry{in, cloneRecord(&rec)})
	}
}

// sampleRecords covers null against empty key, value and header value,
// empty and non-ASCII topics, negative and extreme numbers.
func sampleRecords() []Record {
	return []Record{
		{Topic: "users", Partition: 3, Offset: 17, Timestamp: 1700000000123, Key: []byte("42"), Value: []byte(`{"name":"Ada"}`)},
		{Topic: "users", Partition: 0, Offset: 0, Timestamp: 0}, // null key and value
		{Topic: "users", Key: []byte{}, Value: []byte{}},        // empty, not null
		{Topic: "", Partition: -1, Offset: -1, Timestamp: -1, Key: nil, Value: []byte{0}},
		{Topic: "ünïcode-τopic", Partition: 1<<31 - 1, Offset: 1<<63 - 1, Timestamp: -1 << 63,
			Key: []byte{0xff, 0x00}, Value: bytes.Repeat([]byte("v"), 1000)},
		{Topic: "h", Headers: []Header{
			{Key: "trace", Value: []byte("abc")},
			{Key: "null", Value: nil},
			{Key: "empty", Value: []byte{}},
			{Key: "", Value: []byte("no key")},
			{Key: "trace", Value: []byte("dup keys are kept in order")},
		}},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	many := make([]Record, 1000)
	for i := range many {
		many[i] = Record{Topic: fmt.Sprintf("t%d", i%3), Partition: int32(i % 7), Offset: int64(i),
			Key: []byte(fmt.Sprint(i)), Value: bytes.Repeat([]byte{byte(i)}, i%50)}
		if i%5 == 0 {
			many[i].Headers = []Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}
		}
	}
	for _, tc := range []struct {
		name string
		recs []Record
	}{
		{"empty", nil},
		{"one minimal", []Record{{}}},
		{"minimal records", make([]Record, 10)},
		{"samples", sampleRecords()},
		{"many", many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendBatch(nil, tc.recs)
			want := 4
			for i := range tc.recs {
				want += EncodedSize(&tc.recs[i])
			}
			if len(b) != want {
				t.Fatalf("encoded %d bytes, EncodedSize sums to %d", len(b), want)
			}
			got, err := decodeBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			if want := normalize(tc.recs); len(want) > 0 && !reflect.DeepEqual(got, want) || len(got) != len(want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestBatchNullAndEmptyStayDistinct(t *testing.T) {
	b := AppendBatch(nil, sampleRecords())
	got, err := decodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if got[1].Key != nil || got[1].Value != nil {
		t.Errorf("null key/value decoded as %q/%q", got[1].Key, got[1].Value)
	}
	if got[2].Key == nil || got[2].Value == nil {
		t.Errorf("empty key/value decoded as null")
	}
	hs := got[5].Headers
	if hs[1].Value != nil || hs[2].Value == nil {
		t.Errorf("header values: null=%v empty=%v", hs[1].Value, hs[2].Value)
	}
}

func TestBatchReaderAliasesAndReuses(t *testing.T) {
	recs := []Record{
		{Topic: "users", Key: []byte("a"), Headers: []Header{{Key: "h", Value: []byte("1")}}},
		{Topic: "users", Key: []byte("b"), Headers: []Header{{Key: "h", Value: []byte("2")}}},
	}
	b := AppendBatch(nil, recs)
	var r BatchReader
	if err := r.Reset(b); err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := r.Next(&rec); err != nil {
		t.Fatal(err)
	}
	topic, hkey, hdrs := unsafe.StringData(rec.Topic), unsafe.StringData(rec.Headers[0].Key), &rec.Headers[0]
	// Key aliases the buffer but cannot be appended into it.
	if &rec.Key[0] != &b[bytes.Index(b, []byte("a"))] || cap(rec.Key) != len(rec.Key) {
		t.Error("Key does not alias the buffer with a clipped capacity")
	}
	if err := r.Next(&rec); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(rec.Topic) != topic || unsafe.StringData(rec.Headers[0].Key) != hkey || &rec.Headers[0] != hdrs {
		t.Error("topic, header key or header slice was not reused")
	}
	if string(rec.Key) != "b" || string(rec.Headers[0].Value) != "2" {
		t.Errorf("second record decoded as %+v", rec)
	}
	for range 2 {
		if err := r.Next(&rec); err != io.EOF {
			t.Fatalf("after the last record: %v, want io.EOF", err)
		}
	}
}

func TestOutputRoundTrip(t *testing.T) {
	recs := sampleRecords()
	b := AppendCount(nil, 0)
	var want []entry
	for i := range recs {
		in := uint32(i)
		if i%2 == 1 {
			in = NoInput
		}
		b = AppendOutput(b, in, &recs[i])
		want = append(want, entry{in, cloneRecord(&recs[i])})
	}
	SetCount(b, uint32(len(recs)))
	got, err := decodeOutput(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got[1].input != 0xffffffff {
		t.Errorf("NoInput decoded as %#x", got[1].input)
	}

	// Minimal entries: an entry is at least 40 bytes.
	b = AppendCount(nil, 3)
	for range 3 {
		b = AppendOutput(b, NoInput, &Record{})
	}
	if got, err := decodeOutput(b); err != nil || len(got) != 3 {
		t.Fatalf("minimal entries: %v, %d entries", err, len(got))
	}
}

func TestConfigRoundTrip(t *testing.T) {
	for _, cfg := range []map[string]string{
		{},
		{"to": "out"},
		{"wasmhost.pipeline": "p", "wasmhost.plugin": "print", "wasmhost.consumer": "", "": "empty key", "ü": strings.Repeat("x", 300)},
	} {
		b := AppendConfig(nil, cfg)
		got, err := DecodeConfig(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("round trip: got %v, want %v", got, cfg)
		}
		if again := AppendConfig(nil, got); !bytes.Equal(again, b) {
			t.Errorf("encoding of %v is not deterministic", cfg)
		}
	}
	if got, want := AppendConfig(nil, map[string]string{"b": "2", "a": "1"}),
		[]byte("\x02\x00\x00\x00"+"\x01\x00\x00\x00a\x01\x00\x00\x001"+"\x01\x00\x00\x00b\x01\x00\x00\x002"); !bytes.Equal(got, want) {
		t.Errorf("keys not sorted: % x", got)
	}
}

// TestRecordBytes pins the encoding byte for byte; docs/abi.md shows the same
// bytes as its worked example.
func TestRecordBytes(t *testing.T) {
	r := Record{
		Topic: "users", Partition: 3, Offset: 17, Timestamp: 1700000000000,
		Key: []byte("42"), Value: []byte(`{"n":1}`),
		Headers: []Header{{Key: "h", Value: nil}},
	}
	got := AppendBatch(nil, []Record{r})
	want := "" +
		"01000000" + // record count 1
		"03000000" + // partition 3
		"1100000000000000" + // offset 17
		"0068e5cf8b010000" + // timestamp 1700000000000 (0x18bcfe56800)
		"05000000" + "7573657273" + // topic "users"
		"02000000" + "3432" + // key "42"
		"07000000" + "7b226e223a317d" + // value {"n":1}
		"01000000" + // header count 1
		"01000000" + "68" + // header key "h"
		"ffffffff" // header value null
	if fmt.Sprintf("%x", got) != want {
		t.Fatalf("encoding:\n got %x\nwant %s", got, want)
	}
	out := AppendOutput(AppendCount(nil, 1), NoInput, &Record{Topic: "t", Partition: -1, Value: []byte("v")})
	wantOut := "01000000" + "ffffffff" + "ffffffff" + "0000000000000000" + "0000000000000000" +
		"01000000" + "74" + "ffffffff" + "01000000" + "76" + "00000000"
	if fmt.Sprintf("%x", out) != wantOut {
		t.Fatalf("output encoding:\n got %x\nwant %s", out, wantOut)
	}
}

func TestAllocs(t *testing.T) {
	recs := benchRecords(256, 100)
	buf := AppendBatch(nil, recs)
	var r BatchReader
	var rec Record
	n := testing.AllocsPerRun(100, func() {
		buf = AppendBatch(buf[:0], recs)
		if err := r.Reset(buf); err != nil {
			t.Fatal(err)
		}
		for r.Next(&rec) == nil {
		}
	})
	if n != 0 {
		t.Errorf("encode+decode of a batch: %v allocs, want 0", n)
	}
}

func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }

// TestSameComparesEveryByte checks the word-at-a-time comparison the
// decoders use to reuse topic and header-key strings, at every length
// around its 4- and 8-byte steps and with a difference at every position.
func TestSameComparesEveryByte(t *testing.T) {
	for n := 0; n <= 40; n++ {
		s := strings.Repeat("x", n)
		b := []byte(s)
		if !same(b, s) {
			t.Fatalf("length %d: equal bytes reported different", n)
		}
		if same(b, s+"y") || same(append(b, 'y'), s) {
			t.Fatalf("length %d: different lengths reported equal", n)
		}
		for i := range n {
			c := []byte(s)
			c[i] = 'y'
			if same(c, s) {
				t.Fatalf("length %d: a difference at byte %d was missed", n, i)
			}
		}
	}
}

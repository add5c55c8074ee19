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

func decodeOutput(descs, data, batch []byte) ([]entry, error) {
	var r OutputReader
	if err := r.Reset(descs, data, batch); err != nil {
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

func manyRecords() []Record {
	many := make([]Record, 1000)
	for i := range many {
		many[i] = Record{Topic: fmt.Sprintf("t%d", i%3), Partition: int32(i % 7), Offset: int64(i),
			Key: []byte(fmt.Sprint(i)), Value: bytes.Repeat([]byte{byte(i)}, i%50)}
		if i%5 == 0 {
			many[i].Headers = []Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}
		}
	}
	return many
}

func TestBatchRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []Record
	}{
		{"empty", nil},
		{"one minimal", []Record{{}}},
		{"minimal records", make([]Record, 10)},
		{"samples", sampleRecords()},
		{"many", manyRecords()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w BatchWriter
			for i := range tc.recs {
				w.Add(&tc.recs[i])
			}
			b := w.AppendTo(nil)
			if len(b) != w.Size() || !bytes.Equal(b, AppendBatch(nil, tc.recs)) {
				t.Fatalf("AppendTo gave %d bytes, Size says %d; AppendBatch agrees: %v", len(b), w.Size(), bytes.Equal(b, AppendBatch(nil, tc.recs)))
			}
			head, descs, data := w.Parts()
			if len(head) != BatchHeaderSize || len(descs) != RecordDescSize*len(tc.recs) || !bytes.Equal(data, w.Data()) {
				t.Fatalf("parts of %d, %d and %d bytes", len(head), len(descs), len(data))
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

// A batch on one topic holds its name once.
func TestBatchWriterWritesATopicOnce(t *testing.T) {
	recs := make([]Record, 50)
	for i := range recs {
		recs[i].Topic = "a-long-topic-name"
	}
	if n := bytes.Count(AppendBatch(nil, recs), []byte("a-long-topic-name")); n != 1 {
		t.Errorf("the topic is written %d times", n)
	}
}

func TestBatchNullAndEmptyStayDistinct(t *testing.T) {
	got, err := decodeBatch(AppendBatch(nil, sampleRecords()))
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
		{Topic: "users", Key: []byte("c")},
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
	// Key aliases the buffer but cannot be appended into it; nor can the
	// headers slice be appended into the reader's.
	if &rec.Key[0] != &b[bytes.Index(b, []byte("a"))] || cap(rec.Key) != len(rec.Key) || cap(rec.Headers) != len(rec.Headers) {
		t.Error("Key or Headers do not alias with a clipped capacity")
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
	if err := r.Next(&rec); err != nil || rec.Headers != nil {
		t.Fatalf("third record: %v, headers %v", err, rec.Headers)
	}
	for range 2 {
		if err := r.Next(&rec); err != io.EOF {
			t.Fatalf("after the last record: %v, want io.EOF", err)
		}
	}
	// A new batch on the same topic keeps the string; one on another
	// topic does not.
	if err := r.Reset(b); err != nil || r.Next(&rec) != nil || unsafe.StringData(rec.Topic) != topic {
		t.Error("the topic string was not kept across batches")
	}
	if err := r.Reset(AppendBatch(nil, []Record{{Topic: "other"}})); err != nil || r.Next(&rec) != nil || rec.Topic != "other" {
		t.Errorf("another topic decoded as %q", rec.Topic)
	}
}

// outputs writes recs with w, each from input i (NoInput for odd i), and
// returns what the reader should give back.
func outputs(w *OutputWriter, recs []Record) []entry {
	var want []entry
	for i := range recs {
		in := uint32(i)
		if i%2 == 1 {
			in = NoInput
		}
		w.Add(in, &recs[i])
		c := cloneRecord(&recs[i])
		c.Offset = 0
		want = append(want, entry{in, c})
	}
	return want
}

func TestOutputRoundTrip(t *testing.T) {
	recs := append(sampleRecords(), manyRecords()...)
	var w OutputWriter
	w.Reset(nil)
	want := outputs(&w, recs)
	if w.Len() != len(recs) || len(w.Descriptors()) != len(recs)*OutputDescSize || w.Size() != len(w.Descriptors())+len(w.Data()) {
		t.Fatalf("Len %d, %d descriptor bytes, Size %d", w.Len(), len(w.Descriptors()), w.Size())
	}
	got, err := decodeOutput(w.Descriptors(), w.Data(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got[1].input != 0xffffffff {
		t.Errorf("NoInput decoded as %#x", got[1].input)
	}
}

// Producing what a batch holds references it: nothing is copied, and the
// reader resolves the references against the batch it is given.
func TestOutputReferencesTheBatch(t *testing.T) {
	recs := append(sampleRecords(), manyRecords()...)
	batch := AppendBatch(nil, recs)
	var r BatchReader
	if err := r.Reset(batch); err != nil {
		t.Fatal(err)
	}
	var w OutputWriter
	w.Reset(r.Data())
	var want []entry
	var rec Record
	for i := 0; r.Next(&rec) == nil; i++ {
		// Produce the record to its own topic (in the batch too), and a
		// part of its value.
		w.Add(uint32(i), &rec)
		part := Record{Topic: rec.Topic, Value: rec.Value[len(rec.Value)/2:], Headers: rec.Headers}
		w.Add(uint32(i), &part)
		c := cloneRecord(&rec)
		c.Offset = 0
		want = append(want, entry{uint32(i), c}, entry{uint32(i), cloneRecord(&part)})
	}
	// The data area holds header descriptors and topics (the reader's
	// strings are not in the batch), no keys or values.
	most := 0
	for i := range recs {
		most += 2 * (len(recs[i].Headers)*HeaderDescSize + len(recs[i].Topic))
	}
	if len(w.Data()) > most {
		t.Errorf("data area of %d bytes, more than the %d of header descriptors and topics: values were copied", len(w.Data()), most)
	}
	got, err := decodeOutput(w.Descriptors(), w.Data(), r.Data())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("references resolve to other records")
	}
	// Without the batch, the references do not resolve.
	if _, err := decodeOutput(w.Descriptors(), w.Data(), nil); !isMalformed(err) {
		t.Errorf("batch references without a batch: %v", err)
	}
}

// Add's fast path and the general one write the same bytes.
func TestOutputFastPathMatchesGeneral(t *testing.T) {
	recs := append(sampleRecords(), manyRecords()...)
	batch := AppendBatch(nil, recs)
	var r BatchReader
	if err := r.Reset(batch); err != nil {
		t.Fatal(err)
	}
	var fast, general OutputWriter
	fast.Reset(r.Data())
	general.Reset(r.Data())
	var rec Record
	for i := 0; r.Next(&rec) == nil; i++ {
		out := Record{Topic: "to", Partition: int32(i), Timestamp: rec.Timestamp, Key: rec.Key, Value: rec.Value}
		fast.Add(uint32(i), &out)
		general.add(uint32(i), &out)
		if i%7 == 0 { // a copied value in between
			out.Value = []byte("copied")
			fast.Add(uint32(i), &out)
			general.add(uint32(i), &out)
		}
	}
	if !bytes.Equal(fast.Descriptors(), general.Descriptors()) || !bytes.Equal(fast.Data(), general.Data()) {
		t.Fatal("Add and add wrote different bytes")
	}
}

// Reuses its buffers; a mark discards what came after it, the topic it
// wrote included; Clear keeps the batch.
func TestOutputMarkAndClear(t *testing.T) {
	var w OutputWriter
	w.Reset(nil)
	w.Add(0, &Record{Topic: "a", Value: []byte("1")})
	m := w.Mark()
	w.Add(1, &Record{Topic: "b", Value: []byte("2")})
	w.Add(1, &Record{Topic: "b", Value: []byte("3")})
	w.DiscardSince(m)
	w.Add(2, &Record{Topic: "b", Value: []byte("4")})
	got, err := decodeOutput(w.Descriptors(), w.Data(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].input != 2 || got[1].rec.Topic != "b" || string(got[1].rec.Value) != "4" {
		t.Fatalf("after discarding: %+v", got)
	}
	batch := []byte("xyz")
	w.Reset(batch)
	w.Clear()
	w.Add(0, &Record{Topic: "t", Value: batch[1:]})
	if len(w.Data()) != 1 || w.Len() != 1 {
		t.Errorf("after Clear: %d data bytes, %d records; the batch was forgotten", len(w.Data()), w.Len())
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

// TestRecordBytes pins the encodings byte for byte; docs/abi.md shows the
// same bytes as its worked example.
func TestRecordBytes(t *testing.T) {
	r := Record{
		Topic: "users", Partition: 3, Offset: 17, Timestamp: 1700000000000,
		Key: []byte("42"), Value: []byte(`{"n":1}`),
		Headers: []Header{{Key: "h", Value: nil}},
	}
	got := AppendBatch(nil, []Record{r})
	want := "" +
		"01000000" + "00000000" + // record count 1, reserved
		// record descriptor
		"03000000" + "01000000" + // partition 3, 1 header
		"1100000000000000" + // offset 17
		"0068e5cf8b010000" + // timestamp 1700000000000 (0x18bcfe56800)
		"00000000" + "05000000" + // topic at 0, 5 bytes
		"05000000" + "02000000" + // key at 5, 2 bytes
		"07000000" + "07000000" + // value at 7, 7 bytes
		"0e000000" + "00000000" + // header descriptors at 14, reserved
		// data area
		"7573657273" + "3432" + "7b226e223a317d" + // users 42 {"n":1}
		"1e000000" + "01000000" + "00000000" + "ffffffff" + // header key at 30, 1 byte; value null
		"68" // h
	if fmt.Sprintf("%x", got) != want {
		t.Fatalf("batch encoding:\n got %x\nwant %s", got, want)
	}

	var rd BatchReader
	var in Record
	if rd.Reset(got) != nil || rd.Next(&in) != nil {
		t.Fatal("the batch does not decode")
	}
	var w OutputWriter
	w.Reset(rd.Data())
	w.Add(0, &Record{Topic: "t", Partition: -1, Timestamp: 5, Key: in.Key, Value: []byte("v")})
	wantDescs := "" +
		"00000000" + "ffffffff" + // input 0, partition -1
		"0500000000000000" + // timestamp 5
		"00000000" + "01000000" + // topic at 0 of the data area, 1 byte
		"05000080" + "02000000" + // key at 5 of the batch's data area (bit 31 set), 2 bytes
		"01000000" + "01000000" + // value at 1 of the data area, 1 byte
		"00000000" + "00000000" // no headers
	if fmt.Sprintf("%x", w.Descriptors()) != wantDescs || string(w.Data()) != "tv" {
		t.Fatalf("produce encoding:\n got %x and %q\nwant %s and \"tv\"", w.Descriptors(), w.Data(), wantDescs)
	}
}

func TestAllocs(t *testing.T) {
	recs := benchRecords(256, 100)
	var bw BatchWriter
	var buf []byte
	var r BatchReader
	var w OutputWriter
	var or OutputReader
	var rec Record
	n := testing.AllocsPerRun(100, func() {
		bw.Reset()
		for i := range recs {
			bw.Add(&recs[i])
		}
		buf = bw.AppendTo(buf[:0])
		if err := r.Reset(buf); err != nil {
			t.Fatal(err)
		}
		w.Reset(r.Data())
		for i := 0; r.Next(&rec) == nil; i++ {
			w.Add(uint32(i), &rec)
		}
		if err := or.Reset(w.Descriptors(), w.Data(), r.Data()); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := or.Next(&rec); err != nil {
				break
			}
		}
	})
	if n != 0 {
		t.Errorf("a batch through both encodings: %v allocs, want 0", n)
	}
}

func isMalformed(err error) bool { return errors.Is(err, ErrMalformed) }

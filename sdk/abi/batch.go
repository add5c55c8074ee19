package abi

import (
	"encoding/binary"
	"io"
	"slices"
)

// Sizes of the fixed parts of the encodings (see the package doc).
const (
	BatchHeaderSize = 8  // u32 record count, u32 reserved
	RecordDescSize  = 56 // one input record's descriptor
	HeaderDescSize  = 16 // one header's descriptor
	OutputDescSize  = 48 // one produced record's descriptor
)

// BatchRef is the bit that marks a reference in a produce descriptor as an
// offset into the data area of the current input batch rather than into the
// produce call's own data. It lets a guest produce bytes it received without
// copying them.
const BatchRef = 1 << 31

// BatchWriter encodes a batch of input records. The host builds one with Add
// and copies its three parts into the guest; it is reused from batch to
// batch.
type BatchWriter struct {
	head  [BatchHeaderSize]byte
	descs []byte
	data  []byte
	n     int

	// The last topic written to data, so a batch on one topic holds its
	// name once.
	topic    string
	topicOff uint32
	hasTopic bool
}

// Reset empties the writer, keeping its buffers.
func (w *BatchWriter) Reset() {
	w.descs, w.data, w.n, w.hasTopic = w.descs[:0], w.data[:0], 0, false
	clear(w.head[:])
}

// Add appends a record.
func (w *BatchWriter) Add(r *Record) {
	p := len(w.descs)
	w.descs = slices.Grow(w.descs, RecordDescSize)[:p+RecordDescSize]
	d := w.descs[p : p+RecordDescSize]
	binary.LittleEndian.PutUint32(d[0:], uint32(r.Partition))
	binary.LittleEndian.PutUint32(d[4:], uint32(len(r.Headers)))
	binary.LittleEndian.PutUint64(d[8:], uint64(r.Offset))
	binary.LittleEndian.PutUint64(d[16:], uint64(r.Timestamp))
	if !w.hasTopic || w.topic != r.Topic {
		w.topic, w.topicOff, w.hasTopic = r.Topic, uint32(len(w.data)), true
		w.data = append(w.data, r.Topic...)
	}
	binary.LittleEndian.PutUint32(d[24:], w.topicOff)
	binary.LittleEndian.PutUint32(d[28:], uint32(len(r.Topic)))
	w.putBytes(d[32:], r.Key)
	w.putBytes(d[40:], r.Value)
	var hoff uint32
	if len(r.Headers) > 0 {
		hoff = w.headers(r.Headers)
	}
	binary.LittleEndian.PutUint32(d[48:], hoff)
	binary.LittleEndian.PutUint32(d[52:], 0)
	w.n++
	binary.LittleEndian.PutUint32(w.head[:], uint32(w.n))
}

// putBytes appends b to the data area and writes its offset and length (or
// null) to d.
func (w *BatchWriter) putBytes(d []byte, b []byte) {
	off, n := uint32(len(w.data)), uint32(len(b))
	if b == nil {
		off, n = 0, null
	}
	binary.LittleEndian.PutUint32(d, off)
	binary.LittleEndian.PutUint32(d[4:], n)
	w.data = append(w.data, b...)
}

// headers appends the header descriptors then the headers' bytes, and
// returns the descriptors' offset.
func (w *BatchWriter) headers(hs []Header) uint32 {
	off := len(w.data)
	w.data = slices.Grow(w.data, len(hs)*HeaderDescSize)[:off+len(hs)*HeaderDescSize]
	for i := range hs {
		d := w.data[off+i*HeaderDescSize:]
		binary.LittleEndian.PutUint32(d, uint32(len(w.data)))
		binary.LittleEndian.PutUint32(d[4:], uint32(len(hs[i].Key)))
		w.data = append(w.data, hs[i].Key...)
		d = w.data[off+i*HeaderDescSize+8:]
		w.putBytes(d, hs[i].Value)
	}
	return uint32(off)
}

// Len is the number of records.
func (w *BatchWriter) Len() int { return w.n }

// Size is the encoded size of the batch.
func (w *BatchWriter) Size() int { return BatchHeaderSize + len(w.descs) + len(w.data) }

// Parts returns the encoding in three parts, to be laid end to end: the
// header, the record descriptors and the data area. They alias the writer.
func (w *BatchWriter) Parts() (head, descs, data []byte) {
	return w.head[:], w.descs, w.data
}

// Data is the data area, which produce descriptors' batch references index.
func (w *BatchWriter) Data() []byte { return w.data }

// AppendTo appends the whole encoding to dst.
func (w *BatchWriter) AppendTo(dst []byte) []byte {
	dst = append(dst, w.head[:]...)
	dst = append(dst, w.descs...)
	return append(dst, w.data...)
}

// AppendBatch appends the encoding of a batch of recs to dst.
func AppendBatch(dst []byte, recs []Record) []byte {
	var w BatchWriter
	for i := range recs {
		w.Add(&recs[i])
	}
	binary.LittleEndian.PutUint32(w.head[:], uint32(w.n))
	return w.AppendTo(dst)
}

// BatchReader decodes a batch without copying: the records' byte slices
// alias the buffer it was given. Every offset is checked; a bad one is an
// error, never a panic.
type BatchReader struct {
	descs []byte
	data  []byte
	n, i  int
	base  int // offset of the data area in the buffer, for errors
	err   error
	hdrs  []Header // the headers of the record Next returned last

	// The topic of the record before, so a batch on one topic decodes
	// without comparing or allocating.
	topic              string
	topicOff, topicLen uint32
	hasTopic           bool
}

// Reset starts reading a new batch from b, so a reader can be reused.
func (r *BatchReader) Reset(b []byte) error {
	r.descs, r.data, r.n, r.i, r.hasTopic, r.err = nil, nil, 0, 0, false, nil
	if len(b) < BatchHeaderSize {
		return malformed("batch header", 0, len(b))
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n*RecordDescSize > uint64(len(b)-BatchHeaderSize) {
		return malformed("batch count", 0, len(b))
	}
	r.base = BatchHeaderSize + int(n)*RecordDescSize
	r.descs, r.data, r.n = b[BatchHeaderSize:r.base], b[r.base:], int(n)
	return nil
}

// Len is the number of records in the batch.
func (r *BatchReader) Len() int { return r.n }

// Data is the batch's data area. A guest hands it to [OutputWriter.Reset]
// so that what it produces from its input is referenced, not copied.
func (r *BatchReader) Data() []byte { return r.data }

// Next decodes the next record into rec. Its byte slices alias the buffer;
// its headers (nil when there are none) alias a slice the reader reuses for
// the next record, and on a batch of one topic its topic is the same string
// each time. It returns io.EOF after the last record.
//
// It runs once per record in every Go guest, where each call that is not
// inlined, each taken branch and each write-barrier check (one per group of
// pointer stores) costs far more than natively: it is straight-line code that
// stores the record in one group at the end, with checks that fail out of
// line.
func (r *BatchReader) Next(rec *Record) error {
	if r.i >= r.n {
		return r.end()
	}
	p := r.i * RecordDescSize
	q := BatchHeaderSize + p // where the descriptor starts in the buffer, for errors
	d := r.descs[p : p+RecordDescSize : p+RecordDescSize]
	data := r.data

	toff, tlen := binary.LittleEndian.Uint32(d[24:]), binary.LittleEndian.Uint32(d[28:])
	if (toff != r.topicOff || tlen != r.topicLen || !r.hasTopic) && !r.newTopic(toff, tlen) {
		return r.fail("topic", q+24)
	}
	// Key and value: null handled by conditional moves, not branches.
	koff, kn := binary.LittleEndian.Uint32(d[32:]), binary.LittleEndian.Uint32(d[36:])
	voff, vn := binary.LittleEndian.Uint32(d[40:]), binary.LittleEndian.Uint32(d[44:])
	knull, vnull := kn == null, vn == null
	if knull {
		kn = 0
	}
	if vnull {
		vn = 0
	}
	if uint64(koff)+uint64(kn) > uint64(len(data)) {
		return r.fail("key", q+32)
	}
	if uint64(voff)+uint64(vn) > uint64(len(data)) {
		return r.fail("value", q+40)
	}
	// Capacity clipped, so that appending cannot write into the batch.
	key, value := data[koff:koff+kn:koff+kn], data[voff:voff+vn:voff+vn]
	if knull {
		key = nil
	}
	if vnull {
		value = nil
	}
	var hs []Header
	if count := binary.LittleEndian.Uint32(d[4:]); count > 0 {
		var err error
		if hs, err = r.headers(count, binary.LittleEndian.Uint32(d[48:]), q); err != nil {
			return err
		}
	}
	rec.Partition, rec.Offset, rec.Timestamp, rec.Topic, rec.Key, rec.Value, rec.Headers =
		int32(binary.LittleEndian.Uint32(d[0:])), int64(binary.LittleEndian.Uint64(d[8:])), int64(binary.LittleEndian.Uint64(d[16:])),
		r.topic, key, value, hs
	r.i++
	return nil
}

// end is what Next returns past the last record.
func (r *BatchReader) end() error {
	if r.err != nil {
		return r.err
	}
	return io.EOF
}

// newTopic decodes the topic at data[off:off+n], reusing the last one's
// string when the bytes are equal, and reports whether it fits.
//
//go:noinline
func (r *BatchReader) newTopic(off, n uint32) bool {
	if uint64(off)+uint64(n) > uint64(len(r.data)) {
		return false
	}
	r.topic = reuse(r.topic, r.data[off:off+n])
	r.topicOff, r.topicLen, r.hasTopic = off, n, true
	return true
}

// headers decodes count header descriptors at data[off:] into the reader's
// header slice, reusing its keys, and returns it.
func (r *BatchReader) headers(count, off uint32, p int) ([]Header, error) {
	data, hs := r.data, r.hdrs[:0]
	if uint64(off)+uint64(count)*HeaderDescSize > uint64(len(data)) {
		return nil, r.fail("headers", p+48)
	}
	for i := range int(count) {
		d := data[int(off)+i*HeaderDescSize:]
		koff, klen := binary.LittleEndian.Uint32(d), binary.LittleEndian.Uint32(d[4:])
		if uint64(koff)+uint64(klen) > uint64(len(data)) {
			return nil, r.fail("header key", r.base+int(off)+i*HeaderDescSize)
		}
		v, ok := nullable(data, d[8:])
		if !ok {
			return nil, r.fail("header value", r.base+int(off)+i*HeaderDescSize+8)
		}
		var prev string
		if i < cap(hs) {
			prev = hs[:i+1][i].Key
		}
		hs = append(hs, Header{Key: reuse(prev, data[koff:koff+klen]), Value: v})
	}
	r.hdrs = hs
	return hs[:len(hs):len(hs)], nil
}

// fail stops the reader with an error for the field at byte off of the
// buffer: Next returns it from then on.
func (r *BatchReader) fail(what string, off int) error {
	r.i, r.err = r.n, malformed(what, off, r.base+len(r.data))
	return r.err
}

// nullable returns the byte string whose offset and length (null for nil)
// are at the start of d, with its capacity clipped so appending to it cannot
// write into data; ok is false when it does not fit in data.
func nullable(data, d []byte) ([]byte, bool) {
	off, n := binary.LittleEndian.Uint32(d), binary.LittleEndian.Uint32(d[4:])
	if n == null {
		return nil, true
	}
	end := uint64(off) + uint64(n)
	if end > uint64(len(data)) {
		return nil, false
	}
	return data[off:end:end], true
}

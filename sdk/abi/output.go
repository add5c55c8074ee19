package abi

import (
	"encoding/binary"
	"io"
	"slices"
	"unsafe"
)

// OutputWriter encodes what a guest produces in one call: a descriptor per
// record and a data area. Byte strings that lie in the current input batch
// (as the guest received it) are written as batch references instead of
// being copied; everything else is copied into the data area, so the caller
// may reuse its buffers at once. It is reused from call to call.
type OutputWriter struct {
	descs []byte
	data  []byte

	// The address and length of the guest's copy of the current batch's
	// data area; zero outside a batch.
	batch, batchLen uintptr

	// The last topic written, so a stream of records to one topic holds its
	// name once.
	topicPtr *byte
	topicLen int
	topicRef uint32
}

// OutputMark is a position in an OutputWriter to discard back to.
type OutputMark struct{ descs, data int }

// Reset empties the writer for a new call. batchData is the data area of the
// batch being handled (see [BatchReader.Data]), or nil in a tick.
func (w *OutputWriter) Reset(batchData []byte) {
	w.Clear()
	w.batch, w.batchLen = 0, 0
	// A reference holds a 31-bit offset: past that, bytes are copied.
	if n := len(batchData); n > 0 && n < BatchRef {
		w.batch, w.batchLen = uintptr(unsafe.Pointer(unsafe.SliceData(batchData))), uintptr(n)
	}
}

// Clear drops the records written, keeping the batch: after the host has
// taken them, or to abandon them.
func (w *OutputWriter) Clear() {
	w.descs, w.data, w.topicPtr = w.descs[:0], w.data[:0], nil
}

// Mark returns the writer's position.
func (w *OutputWriter) Mark() OutputMark { return OutputMark{len(w.descs), len(w.data)} }

// DiscardSince drops the records written since m, which must have been taken
// since the last Clear.
func (w *OutputWriter) DiscardSince(m OutputMark) {
	w.descs, w.data = w.descs[:m.descs], w.data[:m.data]
	if w.topicPtr != nil && w.topicRef&BatchRef == 0 && int(w.topicRef) >= m.data {
		w.topicPtr = nil
	}
}

// Len is the number of records written.
func (w *OutputWriter) Len() int { return len(w.descs) / OutputDescSize }

// Descriptors is the descriptor area, OutputDescSize bytes per record.
func (w *OutputWriter) Descriptors() []byte { return w.descs }

// Data is the data area.
func (w *OutputWriter) Data() []byte { return w.data }

// Size is the bytes held: descriptors and data.
func (w *OutputWriter) Size() int { return len(w.descs) + len(w.data) }

// Add writes r, produced from input record input (or [NoInput]). Offset is
// not written.
//
// It runs once per produced record in every Go guest, where each call and
// each taken branch costs far more than natively, so the common case has
// straight-line code of its own: the topic of the record before, key and
// value from the batch (or null), no headers, room in the buffer. That is
// what a plugin that passes or routes records produces.
func (w *OutputWriter) Add(input uint32, r *Record) {
	koff := uintptr(unsafe.Pointer(unsafe.SliceData(r.Key))) - w.batch
	voff := uintptr(unsafe.Pointer(unsafe.SliceData(r.Value))) - w.batch
	p := len(w.descs)
	if unsafe.StringData(r.Topic) != w.topicPtr || len(r.Topic) != w.topicLen || len(r.Headers) != 0 ||
		(r.Key != nil && (koff >= w.batchLen || uintptr(len(r.Key)) > w.batchLen-koff)) ||
		(r.Value != nil && (voff >= w.batchLen || uintptr(len(r.Value)) > w.batchLen-voff)) ||
		cap(w.descs)-p < OutputDescSize {
		w.add(input, r)
		return
	}
	kref, kn := uint32(koff)|BatchRef, uint32(len(r.Key))
	if r.Key == nil {
		kref, kn = 0, null
	}
	vref, vn := uint32(voff)|BatchRef, uint32(len(r.Value))
	if r.Value == nil {
		vref, vn = 0, null
	}
	w.descs = w.descs[:p+OutputDescSize]
	d := w.descs[p : p+OutputDescSize : p+OutputDescSize]
	binary.LittleEndian.PutUint32(d[0:], input)
	binary.LittleEndian.PutUint32(d[4:], uint32(r.Partition))
	binary.LittleEndian.PutUint64(d[8:], uint64(r.Timestamp))
	binary.LittleEndian.PutUint32(d[16:], w.topicRef)
	binary.LittleEndian.PutUint32(d[20:], uint32(len(r.Topic)))
	binary.LittleEndian.PutUint32(d[24:], kref)
	binary.LittleEndian.PutUint32(d[28:], kn)
	binary.LittleEndian.PutUint32(d[32:], vref)
	binary.LittleEndian.PutUint32(d[36:], vn)
	binary.LittleEndian.PutUint64(d[40:], 0) // no headers
}

// add is Add for any record.
func (w *OutputWriter) add(input uint32, r *Record) {
	p := len(w.descs)
	w.descs = slices.Grow(w.descs, OutputDescSize)[:p+OutputDescSize]
	d := w.descs[p : p+OutputDescSize : p+OutputDescSize]
	binary.LittleEndian.PutUint32(d[0:], input)
	binary.LittleEndian.PutUint32(d[4:], uint32(r.Partition))
	binary.LittleEndian.PutUint64(d[8:], uint64(r.Timestamp))
	if unsafe.StringData(r.Topic) != w.topicPtr || len(r.Topic) != w.topicLen {
		w.topicRef = w.ref(unsafe.Pointer(unsafe.StringData(r.Topic)), len(r.Topic))
		w.topicPtr, w.topicLen = unsafe.StringData(r.Topic), len(r.Topic)
	}
	binary.LittleEndian.PutUint32(d[16:], w.topicRef)
	binary.LittleEndian.PutUint32(d[20:], uint32(len(r.Topic)))
	kref, kn := w.bytesRef(r.Key)
	vref, vn := w.bytesRef(r.Value)
	binary.LittleEndian.PutUint32(d[24:], kref)
	binary.LittleEndian.PutUint32(d[28:], kn)
	binary.LittleEndian.PutUint32(d[32:], vref)
	binary.LittleEndian.PutUint32(d[36:], vn)
	var href uint32
	if len(r.Headers) > 0 {
		href = w.headers(r.Headers)
	}
	binary.LittleEndian.PutUint32(d[40:], href)
	binary.LittleEndian.PutUint32(d[44:], uint32(len(r.Headers)))
}

// ref returns a reference to the n bytes at p: into the batch when they lie
// in it, else to a copy appended to the data area.
func (w *OutputWriter) ref(p unsafe.Pointer, n int) uint32 {
	if off := uintptr(p) - w.batch; off < w.batchLen && uintptr(n) <= w.batchLen-off {
		return uint32(off) | BatchRef
	}
	return w.copyIn(p, n)
}

// copyIn appends the n bytes at p to the data area and returns their
// offset. It is out of line, so that ref inlines.
//
//go:noinline
func (w *OutputWriter) copyIn(p unsafe.Pointer, n int) uint32 {
	ref := uint32(len(w.data))
	w.data = append(w.data, unsafe.Slice((*byte)(p), n)...)
	return ref
}

// bytesRef returns the reference and length of b, or 0 and null for nil.
func (w *OutputWriter) bytesRef(b []byte) (ref, n uint32) {
	if b == nil {
		return 0, null
	}
	return w.ref(unsafe.Pointer(unsafe.SliceData(b)), len(b)), uint32(len(b))
}

// headers appends header descriptors to the data area, and returns their
// offset.
func (w *OutputWriter) headers(hs []Header) uint32 {
	off := len(w.data)
	w.data = slices.Grow(w.data, len(hs)*HeaderDescSize)[:off+len(hs)*HeaderDescSize]
	for i := range hs {
		// Both refs first: a copy can move the data area.
		kref := w.ref(unsafe.Pointer(unsafe.StringData(hs[i].Key)), len(hs[i].Key))
		vref, vn := w.bytesRef(hs[i].Value)
		d := w.data[off+i*HeaderDescSize : off+(i+1)*HeaderDescSize]
		binary.LittleEndian.PutUint32(d, kref)
		binary.LittleEndian.PutUint32(d[4:], uint32(len(hs[i].Key)))
		binary.LittleEndian.PutUint32(d[8:], vref)
		binary.LittleEndian.PutUint32(d[12:], vn)
	}
	return uint32(off)
}

// OutputReader decodes what a guest produced in one call. The records' byte
// slices alias the data and batch areas it was given. Every descriptor is
// checked; a bad one is an error, never a panic.
type OutputReader struct {
	descs, data, batch []byte
	n, i               int
	err                error
}

// Reset starts reading the records described by descs, whose references
// index data and, with [BatchRef], batch (the data area of the current
// batch; nil outside one, where a batch reference is an error).
func (r *OutputReader) Reset(descs, data, batch []byte) error {
	r.descs, r.data, r.batch, r.n, r.i, r.err = nil, nil, nil, 0, 0, nil
	if len(descs)%OutputDescSize != 0 {
		return malformed("descriptor area of a size not a multiple of 48", len(descs), len(descs))
	}
	r.descs, r.data, r.batch, r.n = descs, data, batch, len(descs)/OutputDescSize
	return nil
}

// Len is the number of records.
func (r *OutputReader) Len() int { return r.n }

// Next decodes the next record into rec, reusing its topic string when the
// bytes are equal and its header slice, and returns its input index. It
// returns io.EOF after the last record.
func (r *OutputReader) Next(rec *Record) (uint32, error) {
	if r.i >= r.n {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	p := r.i * OutputDescSize
	d := r.descs[p : p+OutputDescSize : p+OutputDescSize]
	input := binary.LittleEndian.Uint32(d[0:])
	rec.Partition = int32(binary.LittleEndian.Uint32(d[4:]))
	rec.Offset = 0
	rec.Timestamp = int64(binary.LittleEndian.Uint64(d[8:]))
	topic, ok := r.resolve(binary.LittleEndian.Uint32(d[16:]), binary.LittleEndian.Uint32(d[20:]))
	if !ok {
		return 0, r.fail("topic", p+16)
	}
	rec.Topic = reuse(rec.Topic, topic)
	if rec.Key, ok = r.nullable(d[24:]); !ok {
		return 0, r.fail("key", p+24)
	}
	if rec.Value, ok = r.nullable(d[32:]); !ok {
		return 0, r.fail("value", p+32)
	}
	rec.Headers = rec.Headers[:0]
	if count := binary.LittleEndian.Uint32(d[44:]); count > 0 {
		var err error
		if rec.Headers, err = r.headers(rec.Headers, binary.LittleEndian.Uint32(d[40:]), count, p); err != nil {
			return 0, err
		}
	}
	r.i++
	return input, nil
}

// resolve returns the n bytes a reference points at, clipped so appending
// cannot write past them.
func (r *OutputReader) resolve(ref, n uint32) ([]byte, bool) {
	area := r.data
	if ref&BatchRef != 0 {
		area, ref = r.batch, ref&^BatchRef
	}
	end := uint64(ref) + uint64(n)
	if end > uint64(len(area)) {
		return nil, false
	}
	return area[ref:end:end], true
}

func (r *OutputReader) nullable(d []byte) ([]byte, bool) {
	n := binary.LittleEndian.Uint32(d[4:])
	if n == null {
		return nil, true
	}
	return r.resolve(binary.LittleEndian.Uint32(d), n)
}

// headers decodes count header descriptors at data[off:] into hs.
func (r *OutputReader) headers(hs []Header, off, count uint32, p int) ([]Header, error) {
	if uint64(off)+uint64(count)*HeaderDescSize > uint64(len(r.data)) {
		return hs, r.fail("headers", p+40)
	}
	for i := range int(count) {
		d := r.data[int(off)+i*HeaderDescSize:]
		k, ok := r.resolve(binary.LittleEndian.Uint32(d), binary.LittleEndian.Uint32(d[4:]))
		if !ok {
			return hs, r.fail("header key", p+40)
		}
		v, ok := r.nullable(d[8:])
		if !ok {
			return hs, r.fail("header value", p+40)
		}
		var prev string
		if i < cap(hs) {
			prev = hs[:i+1][i].Key
		}
		hs = append(hs, Header{Key: reuse(prev, k), Value: v})
	}
	return hs, nil
}

// fail stops the reader with an error for the descriptor field at byte off
// of the descriptor area: Next returns it from then on.
func (r *OutputReader) fail(what string, off int) error {
	r.i, r.err = r.n, malformed(what, off, len(r.descs))
	return r.err
}

// AppendOutputs encodes recs as a guest would, with input index i for
// recs[i] and no batch references, and returns the descriptor and data
// areas. It is for tests and tools.
func AppendOutputs(recs []Record, inputs []uint32) (descs, data []byte) {
	var w OutputWriter
	for i := range recs {
		w.Add(inputs[i], &recs[i])
	}
	return w.descs, w.data
}

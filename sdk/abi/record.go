package abi

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Header is one record header. A nil Value is a null value.
type Header struct {
	Key   string
	Value []byte
}

// Record is a Kafka record as it crosses the boundary. Key and Value are nil
// for null. Timestamp is in Unix milliseconds. On output, Partition -1 lets
// the host partition by key, and Offset is ignored.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("abi: malformed encoding")

const recordFixed = 4 + 8 + 8 // partition, offset, timestamp

// minRecordSize is the smallest encoded record: the fixed fields, an empty
// topic, a null key and value and no headers. minOutputSize adds the input
// index of a produce-buffer entry. Decoders refuse counts a buffer cannot hold
// before they allocate or loop for them.
const (
	minRecordSize = recordFixed + 4 + 4 + 4 + 4
	minOutputSize = 4 + minRecordSize
)

// EncodedSize returns the number of bytes AppendRecord adds for r.
func EncodedSize(r *Record) int {
	n := recordFixed + 4 + len(r.Topic) + 4 + len(r.Key) + 4 + len(r.Value) + 4
	for i := range r.Headers {
		n += 4 + len(r.Headers[i].Key) + 4 + len(r.Headers[i].Value)
	}
	return n
}

// AppendCount appends a u32 list count; use SetCount to fix it up afterwards.
func AppendCount(dst []byte, n uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, n)
}

// SetCount overwrites the u32 count at the start of buf.
func SetCount(buf []byte, n uint32) {
	binary.LittleEndian.PutUint32(buf, n)
}

// AppendRecord appends the encoding of r to dst.
func AppendRecord(dst []byte, r *Record) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(r.Partition))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Offset))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(r.Timestamp))
	dst = appendString(dst, r.Topic)
	dst = appendNullable(dst, r.Key)
	dst = appendNullable(dst, r.Value)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Headers)))
	for i := range r.Headers {
		dst = appendString(dst, r.Headers[i].Key)
		dst = appendNullable(dst, r.Headers[i].Value)
	}
	return dst
}

// AppendBatch appends a batch (count then records) to dst.
func AppendBatch(dst []byte, recs []Record) []byte {
	dst = AppendCount(dst, uint32(len(recs)))
	for i := range recs {
		dst = AppendRecord(dst, &recs[i])
	}
	return dst
}

// AppendOutput appends one produce-buffer entry: the input index then r.
func AppendOutput(dst []byte, input uint32, r *Record) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, input)
	return AppendRecord(dst, r)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendNullable(dst []byte, b []byte) []byte {
	if b == nil {
		return binary.LittleEndian.AppendUint32(dst, ^uint32(0))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}

// decoder walks a buffer; every read is bounds-checked and never panics.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = &malformedError{what: what, off: d.off, size: len(d.b)}
	}
}

// malformedError says which field of a buffer does not decode, and where it
// starts. It wraps ErrMalformed. It is built without fmt, which would
// otherwise be linked into every guest for this alone (~380 KB of wasm).
type malformedError struct {
	what      string
	off, size int
}

func (e *malformedError) Error() string {
	return ErrMalformed.Error() + ": " + e.what + " at byte " + strconv.Itoa(e.off) + " of " + strconv.Itoa(e.size)
}

func (e *malformedError) Unwrap() error { return ErrMalformed }

// failAt records an error for the field that starts at byte p.
func (d *decoder) failAt(p int, what string) {
	d.off = p
	d.fail(what)
}

func (d *decoder) u32(what string) uint32 {
	v, ok := u32At(d.b, d.off)
	if d.err != nil || !ok {
		d.fail(what)
		return 0
	}
	d.off += 4
	return v
}

// str decodes a string, reusing prev when the bytes are equal.
func (d *decoder) str(prev, what string) string {
	n, ok := u32At(d.b, d.off)
	b, end, ok := take(d.b, d.off+4, n, ok)
	if d.err != nil || !ok {
		d.fail(what)
		return ""
	}
	d.off = end
	return reuse(prev, b)
}

// The record decoder runs once per record on both sides of the boundary, and
// in a Go guest every call that is not inlined is costly (more so under a
// runtime that checks for termination at each function entry). So it is
// straight-line code over the helpers below, which the compiler inlines, for
// wasm too: they report whether the bytes fit instead of recording an error,
// and the caller names the field that failed.

// null is the length of a null nullable byte string, -1.
const null = ^uint32(0)

// u32At returns the u32 at b[p:]. Like take, it expects 0 <= p, which the
// decoder keeps.
func u32At(b []byte, p int) (uint32, bool) {
	if len(b)-p < 4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[p:]), true
}

// take returns the n bytes at b[start:], with their capacity clipped so
// appending to them cannot write into b, and the position after them. It
// fails if ok is false, so it chains after u32At.
func take(b []byte, start int, n uint32, ok bool) ([]byte, int, bool) {
	if !ok || uint64(n) > uint64(len(b)-start) {
		return nil, start, false
	}
	end := start + int(n)
	return b[start:end:end], end, true
}

// reuse returns b as a string, or prev if it holds the same bytes, so a stream
// of records on one topic decodes without allocating.
func reuse(prev string, b []byte) string {
	if string(b) == prev {
		return prev
	}
	return string(b)
}

// record decodes into r. Key, Value and header values alias the buffer.
func (d *decoder) record(r *Record) {
	if d.err != nil {
		return
	}
	b, p := d.b, d.off
	if len(b)-p < recordFixed {
		d.failAt(p, "partition, offset or timestamp")
		return
	}
	r.Partition = int32(binary.LittleEndian.Uint32(b[p:]))
	r.Offset = int64(binary.LittleEndian.Uint64(b[p+4:]))
	r.Timestamp = int64(binary.LittleEndian.Uint64(b[p+12:]))
	p += recordFixed

	// Each field starts at p and ends at q.
	n, ok := u32At(b, p)
	topic, q, ok := take(b, p+4, n, ok)
	if !ok {
		d.failAt(p, "topic")
		return
	}
	r.Topic = reuse(r.Topic, topic)
	p = q
	if n, ok = u32At(b, p); ok && n == null {
		r.Key, q = nil, p+4
	} else if r.Key, q, ok = take(b, p+4, n, ok); !ok {
		d.failAt(p, "key")
		return
	}
	p = q
	if n, ok = u32At(b, p); ok && n == null {
		r.Value, q = nil, p+4
	} else if r.Value, q, ok = take(b, p+4, n, ok); !ok {
		d.failAt(p, "value")
		return
	}
	p = q
	// Each header takes at least 8 bytes: refuse counts the buffer cannot
	// hold before allocating for them.
	count, ok := u32At(b, p)
	if !ok || uint64(count)*8 > uint64(len(b)-p-4) {
		d.failAt(p, "header count")
		return
	}
	p += 4
	hs := r.Headers[:0]
	for i := range int(count) {
		n, ok := u32At(b, p)
		k, q, ok := take(b, p+4, n, ok)
		if !ok {
			d.failAt(p, "header key")
			return
		}
		p = q
		var v []byte
		if n, ok = u32At(b, p); ok && n == null {
			q = p + 4
		} else if v, q, ok = take(b, p+4, n, ok); !ok {
			d.failAt(p, "header value")
			return
		}
		p = q
		var prev string
		if i < cap(hs) {
			prev = hs[:i+1][i].Key
		}
		hs = append(hs, Header{Key: reuse(prev, k), Value: v})
	}
	r.Headers = hs
	d.off = p
}

package abi

import (
	"encoding/binary"
	"errors"
	"slices"
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
	n := EncodedSize(r)
	dst = slices.Grow(dst, n)
	putRecord(dst[len(dst):len(dst)+n], r)
	return dst[:len(dst)+n]
}

// putRecord writes the encoding of r into b, which is exactly
// EncodedSize(r) long. It is straight-line code with one bounds check per
// field and one copy per byte string: in a Go guest every branch and call
// on this path costs much more than natively.
func putRecord(b []byte, r *Record) {
	_ = b[recordFixed-1]
	binary.LittleEndian.PutUint32(b, uint32(r.Partition))
	binary.LittleEndian.PutUint64(b[4:], uint64(r.Offset))
	binary.LittleEndian.PutUint64(b[12:], uint64(r.Timestamp))
	p := recordFixed
	binary.LittleEndian.PutUint32(b[p:], uint32(len(r.Topic)))
	p += 4 + copy(b[p+4:], r.Topic)
	// putNullable written out, since a call costs more than the code.
	n := uint32(len(r.Key))
	if r.Key == nil {
		n = null
	}
	binary.LittleEndian.PutUint32(b[p:], n)
	p += 4 + copy(b[p+4:], r.Key)
	n = uint32(len(r.Value))
	if r.Value == nil {
		n = null
	}
	binary.LittleEndian.PutUint32(b[p:], n)
	p += 4 + copy(b[p+4:], r.Value)
	binary.LittleEndian.PutUint32(b[p:], uint32(len(r.Headers)))
	p += 4
	for i := range r.Headers {
		h := &r.Headers[i]
		binary.LittleEndian.PutUint32(b[p:], uint32(len(h.Key)))
		p += 4 + copy(b[p+4:], h.Key)
		p = putNullable(b, p, h.Value)
	}
}

func putNullable(b []byte, p int, v []byte) int {
	if v == nil {
		binary.LittleEndian.PutUint32(b[p:], null)
		return p + 4
	}
	binary.LittleEndian.PutUint32(b[p:], uint32(len(v)))
	return p + 4 + copy(b[p+4:], v)
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
	n := 4 + EncodedSize(r)
	dst = slices.Grow(dst, n)
	b := dst[len(dst) : len(dst)+n]
	binary.LittleEndian.PutUint32(b, input)
	putRecord(b[4:], r)
	return dst[:len(dst)+n]
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
// in a Go guest every call that is not inlined, and every taken branch, is
// costly: more so under a runtime that checks for termination at each loop
// iteration, since the Go wasm backend turns every taken branch into one. So
// it is straight-line code: each check's failure path returns at once (and,
// calling a function, is laid out out of the way), and the differences
// between a null and a present byte string are computed without branching.

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
	s := prev
	if !same(b, prev) {
		s = string(b)
	}
	return s
}

// same reports whether b holds the bytes of s. It compares 8 (or 4) bytes
// at a time, the last word overlapping the one before it, instead of
// calling runtime.memequal: in a Go guest that is a byte-at-a-time loop,
// and each iteration costs as much as a host call when the runtime checks
// for termination at every loop iteration.
func same(b []byte, s string) bool {
	n := len(b)
	if n != len(s) {
		return false
	}
	switch {
	case n >= 8:
		for i := 0; i < n-8; i += 8 {
			if binary.LittleEndian.Uint64(b[i:]) != le64(s[i:]) {
				return false
			}
		}
		return binary.LittleEndian.Uint64(b[n-8:]) == le64(s[n-8:])
	case n >= 4:
		x := binary.LittleEndian.Uint32(b) ^ le32(s)
		y := binary.LittleEndian.Uint32(b[n-4:]) ^ le32(s[n-4:])
		return x|y == 0
	case n > 0:
		return (b[0]^s[0])|(b[n/2]^s[n/2])|(b[n-1]^s[n-1]) == 0
	}
	return true
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

// record decodes into r. Key, Value and header values alias the buffer.
// The caller has checked that d.err is nil.
func (d *decoder) record(r *Record) {
	b, p := d.b, d.off
	if len(b)-p < recordFixed {
		d.failAt(p, "partition, offset or timestamp")
		return
	}
	r.Partition = int32(binary.LittleEndian.Uint32(b[p:]))
	r.Offset = int64(binary.LittleEndian.Uint64(b[p+4:]))
	r.Timestamp = int64(binary.LittleEndian.Uint64(b[p+12:]))
	p += recordFixed

	if len(b)-p < 4 {
		d.failAt(p, "topic")
		return
	}
	n := uint64(binary.LittleEndian.Uint32(b[p:]))
	if n > uint64(len(b)-p-4) {
		d.failAt(p, "topic")
		return
	}
	r.Topic = reuse(r.Topic, b[p+4:p+4+int(n)])
	p += 4 + int(n)
	// Key and value: nullable written out twice, without branching on
	// null (see nullable).
	if len(b)-p < 4 {
		d.failAt(p, "key")
		return
	}
	n = uint64(binary.LittleEndian.Uint32(b[p:]))
	isNull := (n + 1) >> 32 // 1 for null, else 0
	n &^= -isNull           // 0 for null
	if n > uint64(len(b)-p-4) {
		d.failAt(p, "key")
		return
	}
	end := p + 4 + int(n)
	r.Key = [2][]byte{b[p+4 : end : end], nil}[isNull]
	p = end
	if len(b)-p < 4 {
		d.failAt(p, "value")
		return
	}
	n = uint64(binary.LittleEndian.Uint32(b[p:]))
	isNull = (n + 1) >> 32
	n &^= -isNull
	if n > uint64(len(b)-p-4) {
		d.failAt(p, "value")
		return
	}
	end = p + 4 + int(n)
	r.Value = [2][]byte{b[p+4 : end : end], nil}[isNull]
	p = end
	// Each header takes at least 8 bytes: refuse counts the buffer cannot
	// hold before allocating for them.
	if len(b)-p < 4 {
		d.failAt(p, "header count")
		return
	}
	count := uint64(binary.LittleEndian.Uint32(b[p:]))
	if count*8 > uint64(len(b)-p-4) {
		d.failAt(p, "header count")
		return
	}
	p += 4
	r.Headers = r.Headers[:0]
	if count > 0 {
		if p = d.headers(r, p, int(count)); d.err != nil {
			return
		}
	}
	d.off = p
}

// nullable returns the nullable byte string at b[p:] (nil for null), with
// its capacity clipped, and the position after it; ok is false when it does
// not fit in b, and p is then where it starts. It does not branch on null:
// the Go wasm backend turns every taken branch into a jump through the
// function's dispatch loop.
func nullable(b []byte, p int) (v []byte, next int, ok bool) {
	if len(b)-p < 4 {
		return nil, p, false
	}
	n := uint64(binary.LittleEndian.Uint32(b[p:]))
	isNull := (n + 1) >> 32 // 1 for null, else 0
	n &^= -isNull           // 0 for null
	if n > uint64(len(b)-p-4) {
		return nil, p, false
	}
	end := p + 4 + int(n)
	return [2][]byte{b[p+4 : end : end], nil}[isNull], end, true
}

// headers decodes count headers at b[p:] into r.Headers, reusing its keys,
// and returns the position after them.
func (d *decoder) headers(r *Record, p, count int) int {
	b, hs := d.b, r.Headers[:0]
	for i := range count {
		n, ok := u32At(b, p)
		k, q, ok := take(b, p+4, n, ok)
		if !ok {
			d.failAt(p, "header key")
			return p
		}
		p = q
		var v []byte
		if v, p, ok = nullable(b, p); !ok {
			d.failAt(p, "header value")
			return p
		}
		var prev string
		if i < cap(hs) {
			prev = hs[:i+1][i].Key
		}
		hs = append(hs, Header{Key: reuse(prev, k), Value: v})
	}
	r.Headers = hs
	return p
}

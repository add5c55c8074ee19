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

// EncodedSize returns the size of r as the size limits count it: its topic,
// key, value and header bytes, plus 36 bytes and 8 per header. It does not
// depend on how the record crosses the boundary.
func EncodedSize(r *Record) int {
	n := 36 + len(r.Topic) + len(r.Key) + len(r.Value)
	for i := range r.Headers {
		n += 8 + len(r.Headers[i].Key) + len(r.Headers[i].Value)
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

func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
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

func malformed(what string, off, size int) error {
	return &malformedError{what: what, off: off, size: size}
}

// decoder walks a length-prefixed buffer (the plugin config); every read is
// bounds-checked and never panics.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = malformed(what, d.off, len(d.b))
	}
}

func (d *decoder) u32(what string) uint32 {
	if d.err != nil || len(d.b)-d.off < 4 {
		d.fail(what)
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) str(what string) string {
	n := uint64(d.u32(what))
	if d.err != nil || n > uint64(len(d.b)-d.off) {
		d.fail(what)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

// null is the length of a null byte string.
const null = ^uint32(0)

// reuse returns b as a string, or prev if it holds the same bytes, so a stream
// of records on one topic decodes without allocating.
func reuse(prev string, b []byte) string {
	if string(b) == prev {
		return prev
	}
	return string(b)
}

package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
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
		d.err = fmt.Errorf("%w: %s at byte %d of %d", ErrMalformed, what, d.off, len(d.b))
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

func (d *decoder) u64(what string) uint64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail(what)
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v
}

func (d *decoder) bytes(n uint32, what string) []byte {
	if d.err != nil || uint64(n) > uint64(len(d.b)-d.off) {
		d.fail(what)
		return nil
	}
	v := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return v
}

// str decodes a string, reusing prev when the bytes are equal so a stream of
// records on one topic decodes without allocating.
func (d *decoder) str(prev, what string) string {
	b := d.bytes(d.u32(what), what)
	if d.err != nil {
		return ""
	}
	if string(b) == prev {
		return prev
	}
	return string(b)
}

func (d *decoder) nullable(what string) []byte {
	n := d.u32(what)
	if d.err != nil || n == ^uint32(0) {
		return nil
	}
	return d.bytes(n, what)
}

// record decodes into r. Key, Value and header values alias the buffer.
func (d *decoder) record(r *Record) {
	r.Partition = int32(d.u32("partition"))
	r.Offset = int64(d.u64("offset"))
	r.Timestamp = int64(d.u64("timestamp"))
	r.Topic = d.str(r.Topic, "topic")
	r.Key = d.nullable("key")
	r.Value = d.nullable("value")
	n := d.u32("header count")
	// Each header takes at least 8 bytes: refuse counts the buffer cannot hold
	// before allocating for them.
	if d.err == nil && uint64(n)*8 > uint64(len(d.b)-d.off) {
		d.fail("header count")
	}
	if d.err != nil {
		return
	}
	hs := r.Headers[:0]
	for i := uint32(0); i < n && d.err == nil; i++ {
		var prev string
		if int(i) < cap(hs) {
			prev = hs[:i+1][i].Key
		}
		k := d.str(prev, "header key")
		hs = append(hs, Header{Key: k, Value: d.nullable("header value")})
	}
	r.Headers = hs
}

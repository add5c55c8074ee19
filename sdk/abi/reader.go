package abi

import (
	"io"
)

// BatchReader decodes a batch, one record at a time, without copying: the
// records' byte slices alias the buffer it was given.
type BatchReader struct {
	d    decoder
	left uint32
	n    uint32
}

// NewBatchReader reads the batch count at the start of b.
func NewBatchReader(b []byte) (*BatchReader, error) {
	r := &BatchReader{}
	return r, r.Reset(b)
}

// Reset starts reading a new batch from b, so a reader can be reused.
func (r *BatchReader) Reset(b []byte) error {
	r.d = decoder{b: b}
	r.n = r.d.u32("batch count")
	if r.d.err == nil && uint64(r.n)*minRecordSize > uint64(len(b)-4) {
		r.d.fail("batch count")
	}
	r.left = r.n
	if r.d.err != nil {
		r.left = 0
	}
	return r.d.err
}

// Len is the number of records in the batch.
func (r *BatchReader) Len() int { return int(r.n) }

// Next decodes the next record into rec, reusing rec's header slice and topic
// string. It returns io.EOF after the last record.
func (r *BatchReader) Next(rec *Record) error {
	if r.d.err != nil {
		return r.d.err
	}
	if r.left == 0 {
		if r.d.off != len(r.d.b) {
			r.d.fail("trailing bytes")
			return r.d.err
		}
		return io.EOF
	}
	r.left--
	r.d.record(rec)
	return r.d.err
}

// OutputReader decodes a produce buffer written with AppendOutput.
type OutputReader struct {
	d    decoder
	left uint32
	n    uint32
}

// Reset starts reading a new produce buffer from b.
func (r *OutputReader) Reset(b []byte) error {
	r.d = decoder{b: b}
	r.n = r.d.u32("output count")
	if r.d.err == nil && uint64(r.n)*minOutputSize > uint64(len(b)-4) {
		r.d.fail("output count")
	}
	r.left = r.n
	if r.d.err != nil {
		r.left = 0
	}
	return r.d.err
}

// Len is the number of entries in the buffer.
func (r *OutputReader) Len() int { return int(r.n) }

// Next decodes the next entry into rec and returns its input index, or io.EOF
// after the last entry.
func (r *OutputReader) Next(rec *Record) (uint32, error) {
	if r.d.err != nil {
		return 0, r.d.err
	}
	if r.left == 0 {
		if r.d.off != len(r.d.b) {
			r.d.fail("trailing bytes")
			return 0, r.d.err
		}
		return 0, io.EOF
	}
	r.left--
	in, ok := u32At(r.d.b, r.d.off)
	if !ok {
		r.d.fail("input index")
		return 0, r.d.err
	}
	r.d.off += 4
	r.d.record(rec)
	return in, r.d.err
}

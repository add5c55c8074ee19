package host

import "github.com/wasmhost/wasmhost/sdk/abi"

// Batch is an encoded batch of input records, built by the caller and reused
// from call to call.
type Batch struct {
	buf     []byte
	n       int
	largest int // encoded size of the largest record
}

// Reset empties the batch, keeping its buffer.
func (b *Batch) Reset() {
	b.buf = abi.AppendCount(b.buf[:0], 0)
	b.n, b.largest = 0, 0
}

// Add appends a record.
func (b *Batch) Add(r *abi.Record) {
	if len(b.buf) == 0 {
		b.Reset()
	}
	before := len(b.buf)
	b.buf = abi.AppendRecord(b.buf, r)
	b.largest = max(b.largest, len(b.buf)-before)
	b.n++
	abi.SetCount(b.buf, uint32(b.n))
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return b.n }

// Bytes is the encoded size of the batch.
func (b *Batch) Bytes() int { return len(b.buf) }

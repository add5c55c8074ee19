package host

import "github.com/wasmhost/wasmhost/sdk/abi"

// Batch is an encoded batch of input records, built by the caller and reused
// from call to call.
type Batch struct {
	w       abi.BatchWriter
	largest int // size of the largest record, as the limits count it
}

// Reset empties the batch, keeping its buffers.
func (b *Batch) Reset() {
	b.w.Reset()
	b.largest = 0
}

// Add appends a record.
func (b *Batch) Add(r *abi.Record) {
	b.w.Add(r)
	b.largest = max(b.largest, abi.EncodedSize(r))
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return b.w.Len() }

// Bytes is the encoded size of the batch.
func (b *Batch) Bytes() int { return b.w.Size() }

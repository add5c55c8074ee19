package host

import "github.com/wasmhost/wasmhost/sdk/abi"

// Batch is an encoded batch of input records, built by the caller and reused
// from call to call.
type Batch struct {
	w       abi.BatchWriter
	largest int // size of the largest record, as the limits count it
	// kept holds, by record, the caller's key and value of the records
	// added with AddKept (nil for those added with Add).
	kept []keptBytes
}

// keptBytes are a record's key and value as its caller holds them.
type keptBytes struct {
	key, value []byte
}

// Reset empties the batch, keeping its buffers.
func (b *Batch) Reset() {
	b.w.Reset()
	b.largest = 0
	clear(b.kept) // let go of the caller's bytes
	b.kept = b.kept[:0]
}

// Add appends a record. The batch copies what it needs: the caller may
// change or reuse r's bytes once Add returns.
func (b *Batch) Add(r *abi.Record) {
	b.w.Add(r)
	b.largest = max(b.largest, abi.EncodedSize(r))
	b.kept = append(b.kept, keptBytes{})
}

// AddKept appends a record whose key and value bytes the caller will not
// change, ever (a consumed message's, say): an output the plugin produces
// with a key or a value equal to them is then given the caller's slice
// instead of a copy of the guest's bytes, which saves copying and allocating
// them per record when a plugin passes large values through. Equal means
// byte for byte, checked at every produce call, so what the plugin produces
// is what is sent, whatever it did to its copy.
func (b *Batch) AddKept(r *abi.Record) {
	b.Add(r)
	b.kept[len(b.kept)-1] = keptBytes{key: r.Key, value: r.Value}
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return b.w.Len() }

// Bytes is the encoded size of the batch.
func (b *Batch) Bytes() int { return b.w.Size() }

// keptFor returns the caller's key and value of record i, nil when it was
// added with Add or i is out of range.
func (b *Batch) keptFor(i uint32) keptBytes {
	if b == nil || uint64(i) >= uint64(len(b.kept)) {
		return keptBytes{}
	}
	return b.kept[i]
}

package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// callState is what host functions see of the call in progress.
type callState struct {
	inst    *Instance
	inBatch bool
	batch   *abi.BatchWriter // the batch of the call, nil in a tick
	count   int
	// in is the Batch of the call (nil in a tick), for the bytes its
	// caller kept (Batch.AddKept).
	in *Batch

	// Where batch_read last copied the batch's data area in guest memory:
	// produce descriptors' batch references index it there, so that they
	// see what the guest sees.
	batchData    uint32
	hasBatchData bool

	outputs       []Output // reused slot by slot: see addOutputs
	kept          []Output // the outputs of records that did not fail
	producedBytes int
	failed        []bool // by input index
	failures      []Failure
	callErr       error // a problem that fails the whole call
	reader        abi.OutputReader
	arena         []byte  // what the outputs of a produce call alias
	equal         []uint8 // by output of a produce call: keyEqual, valueEqual

	// inHandler: a batch or tick handler is running, the only calls that
	// may change state (kv.go).
	inHandler bool
	scanBuf   []byte // state_scan's entries, reused
}

func (st *callState) reset(batch *abi.BatchWriter, count int, inBatch bool) {
	st.inBatch, st.batch, st.count = inBatch, batch, count
	st.in = nil
	st.hasBatchData = false
	st.outputs = st.outputs[:0]
	st.producedBytes = 0
	st.failures = st.failures[:0]
	st.callErr = nil
	if cap(st.failed) < count {
		st.failed = make([]bool, count)
	}
	st.failed = st.failed[:count]
	clear(st.failed)
}

func (st *callState) fail(idx uint32, reason string) {
	if st.failed[idx] {
		return
	}
	st.failed[idx] = true
	st.failures = append(st.failures, Failure{Index: int(idx), Reason: reason})
}

func (st *callState) callErrSuffix() string {
	if st.callErr == nil {
		return ""
	}
	return ": " + st.callErr.Error()
}

// addOutputs decodes what the guest produced, from views of its memory,
// and copies the records out. A buffer that does not decode is refused
// whole. An entry the plugin may not produce (forbidden topic, too large) is
// dropped and fails the record it derives from, or the whole call when it
// derives from none.
func (st *callState) addOutputs(descs, data, batch []byte) int32 {
	lim := &st.inst.limits
	if err := st.reader.Reset(descs, data, batch); err != nil {
		st.callErr = fmt.Errorf("produce: %w", err)
		return abi.StatusBadEncoding
	}
	if len(st.outputs)+st.reader.Len() > lim.MaxOutputs {
		st.callErr = fmt.Errorf("produced more than %d records in one call", lim.MaxOutputs)
		return abi.StatusTooLarge
	}
	start, bytes := len(st.outputs), st.producedBytes
	for {
		// Decode into the slot a previous call used, when there is one:
		// the decoder then reuses its topic string (no allocation per
		// record) and its header slice. Each slot owns its header slice;
		// result never copies slots into one another.
		if len(st.outputs) < cap(st.outputs) {
			st.outputs = st.outputs[:len(st.outputs)+1]
		} else {
			st.outputs = append(st.outputs, Output{})
		}
		o := &st.outputs[len(st.outputs)-1]
		in, err := st.reader.Next(&o.Record)
		if err == io.EOF {
			st.outputs = st.outputs[:len(st.outputs)-1]
			break
		}
		if err == nil && in != abi.NoInput && in >= uint32(st.count) {
			err = fmt.Errorf("input index %d outside a batch of %d", in, st.count)
		}
		if err != nil {
			st.outputs = st.outputs[:start]
			st.callErr = fmt.Errorf("produce: %w", err)
			if errors.Is(err, abi.ErrMalformed) {
				return abi.StatusBadEncoding
			}
			return abi.StatusBadIndex
		}
		o.Input = in
		size := abi.EncodedSize(&o.Record)
		if uint64(bytes)+uint64(size) > uint64(lim.MaxOutputBytes) {
			st.outputs = st.outputs[:start]
			st.callErr = fmt.Errorf("produced more than %d bytes in one call", lim.MaxOutputBytes)
			return abi.StatusTooLarge
		}
		if why := st.check(&o.Record, size); why != "" {
			st.outputs = st.outputs[:len(st.outputs)-1]
			st.refuse(in, why)
			continue
		}
		bytes += size
	}
	// The records alias guest memory: a key or value equal to its input
	// record's, as the caller keeps it (Batch.AddKept), becomes the
	// caller's; the rest is copied out, into one buffer.
	need := 0
	st.equal = st.equal[:0]
	for k := start; k < len(st.outputs); k++ {
		o := &st.outputs[k]
		eq := equalKept(&o.Record, st.in.keptFor(o.Input))
		st.equal = append(st.equal, eq)
		need += payload(&o.Record, eq)
	}
	st.arena = nil
	if need > 0 {
		st.arena = make([]byte, 0, need)
	}
	for k := start; k < len(st.outputs); k++ {
		o := &st.outputs[k]
		st.own(&o.Record, st.in.keptFor(o.Input), st.equal[k-start])
	}
	st.producedBytes = bytes
	// Refused entries are accounted for by failing their records; the
	// buffer as a whole was accepted.
	return abi.StatusOK
}

// What of a produced record equals its input record's kept bytes.
const (
	keyEqual = 1 << iota
	valueEqual
)

// equalKept reports which of r's key and value equal the kept bytes of its
// input record, byte for byte (nil only equals nil).
func equalKept(r *abi.Record, kept keptBytes) uint8 {
	var eq uint8
	if kept.key != nil && r.Key != nil && bytes.Equal(r.Key, kept.key) {
		eq |= keyEqual
	}
	if kept.value != nil && r.Value != nil && bytes.Equal(r.Value, kept.value) {
		eq |= valueEqual
	}
	return eq
}

// payload is the number of bytes own copies for r.
func payload(r *abi.Record, eq uint8) int {
	n := 0
	if eq&keyEqual == 0 {
		n += len(r.Key)
	}
	if eq&valueEqual == 0 {
		n += len(r.Value)
	}
	for _, h := range r.Headers {
		n += len(h.Value)
	}
	return n
}

// own makes r's byte strings stop aliasing guest memory: those equal to the
// kept bytes of its input record become them, the others are copied into
// the arena, which has room for them.
func (st *callState) own(r *abi.Record, kept keptBytes, eq uint8) {
	if eq&keyEqual != 0 {
		r.Key = kept.key
	} else {
		r.Key = st.copy(r.Key)
	}
	if eq&valueEqual != 0 {
		r.Value = kept.value
	} else {
		r.Value = st.copy(r.Value)
	}
	for k := range r.Headers {
		r.Headers[k].Value = st.copy(r.Headers[k].Value)
	}
}

// copy appends b to the arena, which has room, and returns the copy (nil
// for nil).
func (st *callState) copy(b []byte) []byte {
	if b == nil {
		return nil
	}
	p := len(st.arena)
	st.arena = append(st.arena, b...)
	return st.arena[p:len(st.arena):len(st.arena)]
}

// check returns why the host refuses a produced record, or "".
func (st *callState) check(r *abi.Record, size int) string {
	switch {
	case r.Topic == "":
		return "produce: record has no topic"
	case st.inst.allow != nil && !st.inst.allow(r.Topic):
		return fmt.Sprintf("produce: topic %q is not in this pipeline's produce_topics", r.Topic)
	case size > st.inst.limits.MaxOutputRecord:
		return fmt.Sprintf("produce: record of %d bytes is over the %d-byte limit", size, st.inst.limits.MaxOutputRecord)
	case r.Partition != -1:
		return st.checkPartition(r)
	}
	return ""
}

// checkPartition returns why the host refuses a record's named partition,
// or "".
func (st *callState) checkPartition(r *abi.Record) string {
	if r.Partition < 0 {
		return fmt.Sprintf("produce: partition %d: name a partition (0 or more), or -1 to partition by key", r.Partition)
	}
	if st.inst.parts == nil {
		return ""
	}
	if n := st.inst.parts(r.Topic); n > 0 && r.Partition >= n {
		return fmt.Sprintf("produce: partition %d of topic %q, which has %d", r.Partition, r.Topic, n)
	}
	return ""
}

func (st *callState) refuse(in uint32, why string) {
	st.inst.log.Warn().Str("reason", why).Msg("refused a produced record")
	if in == abi.NoInput || !st.inBatch {
		if st.callErr == nil {
			st.callErr = fmt.Errorf("%s", why)
		}
		return
	}
	st.fail(in, why)
}

// result fills r with the outputs of records that did not fail.
func (st *callState) result(r *Result) {
	slices.SortFunc(st.failures, func(a, b Failure) int { return a.Index - b.Index })
	r.Failures = st.failures
	if len(st.failures) == 0 {
		r.Outputs = st.outputs
		return
	}
	st.kept = st.kept[:0]
	for _, o := range st.outputs {
		if o.Input != abi.NoInput && st.failed[o.Input] {
			continue
		}
		st.kept = append(st.kept, o)
	}
	r.Outputs = st.kept
}

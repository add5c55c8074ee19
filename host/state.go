package host

import (
	"fmt"
	"io"
	"slices"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// callState is what host functions see of the call in progress.
type callState struct {
	inst    *Instance
	inBatch bool
	batch   []byte
	count   int

	outputs       []Output // reused slot by slot: see addOutputs
	kept          []Output // the outputs of records that did not fail
	producedBytes int
	failed        []bool // by input index
	failures      []Failure
	callErr       error // a problem that fails the whole call
	reader        abi.OutputReader
}

func (st *callState) reset(batch []byte, count int, inBatch bool) {
	st.inBatch, st.batch, st.count = inBatch, batch, count
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

// addOutputs decodes a produce buffer. A buffer that does not decode is
// refused whole. An entry the plugin may not produce (forbidden topic, too
// large) is dropped and fails the record it derives from, or the whole call
// when it derives from none.
func (st *callState) addOutputs(buf []byte) int32 {
	lim := &st.inst.limits
	if err := st.reader.Reset(buf); err != nil {
		st.callErr = fmt.Errorf("produce: %w", err)
		return abi.StatusBadEncoding
	}
	if len(st.outputs)+st.reader.Len() > lim.MaxOutputs {
		st.callErr = fmt.Errorf("produced more than %d records in one call", lim.MaxOutputs)
		return abi.StatusTooLarge
	}
	start := len(st.outputs)
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
		if err != nil {
			st.outputs = st.outputs[:start]
			st.callErr = fmt.Errorf("produce: %w", err)
			return abi.StatusBadEncoding
		}
		if in != abi.NoInput && in >= uint32(st.count) {
			st.outputs = st.outputs[:start]
			st.callErr = fmt.Errorf("produce: input index %d outside a batch of %d", in, st.count)
			return abi.StatusBadIndex
		}
		o.Input = in
		if why := st.check(&o.Record); why != "" {
			st.outputs = st.outputs[:len(st.outputs)-1]
			st.refuse(in, why)
		}
	}
	st.producedBytes += len(buf)
	// Refused entries are accounted for by failing their records; the
	// buffer as a whole was accepted.
	return abi.StatusOK
}

// check returns why the host refuses a produced record, or "".
func (st *callState) check(r *abi.Record) string {
	switch {
	case r.Topic == "":
		return "produce: record has no topic"
	case st.inst.allow != nil && !st.inst.allow(r.Topic):
		return fmt.Sprintf("produce: topic %q is not in this pipeline's produce_topics", r.Topic)
	case abi.EncodedSize(r) > st.inst.limits.MaxOutputRecord:
		return fmt.Sprintf("produce: record of %d bytes is over the %d-byte limit", abi.EncodedSize(r), st.inst.limits.MaxOutputRecord)
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

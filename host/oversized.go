package host

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// scratch is where a batch holding records over MaxInputRecord is rebuilt
// without them.
type scratch struct {
	batch   Batch
	from    []int // index in the caller's batch of each record in batch
	refused []Failure
	buf     []byte // the caller's batch, whole
	reader  abi.BatchReader
	rec     abi.Record
}

// handleOversized runs a batch with records over MaxInputRecord: those fail,
// refused, and the plugin gets the others. Indexes in the result are the
// caller's.
func (i *Instance) handleOversized(ctx context.Context, b *Batch) (*Result, error) {
	s := &i.scratch
	s.batch.Reset()
	s.from, s.refused = s.from[:0], s.refused[:0]
	s.buf = b.w.AppendTo(s.buf[:0])
	if err := s.reader.Reset(s.buf); err != nil {
		return nil, i.errorf(abi.ExportOnBatch, "re-reading the batch: %w", err)
	}
	for idx := 0; ; idx++ {
		err := s.reader.Next(&s.rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, i.errorf(abi.ExportOnBatch, "re-reading the batch: %w", err)
		}
		if size := abi.EncodedSize(&s.rec); size > i.limits.MaxInputRecord {
			s.refused = append(s.refused, Failure{Index: idx, Refused: true, Reason: fmt.Sprintf(
				"input record of %d bytes is over the %d-byte input limit; not handed to the plugin", size, i.limits.MaxInputRecord)})
			continue
		}
		s.batch.Add(&s.rec)
		s.from = append(s.from, idx)
	}
	if s.batch.Len() == 0 {
		i.res.Outputs, i.res.Failures = i.res.Outputs[:0], append(i.st.failures[:0], s.refused...)
		return &i.res, nil
	}
	res, err := i.handleBatch(ctx, &s.batch)
	if err != nil {
		return nil, err
	}
	for k := range res.Outputs {
		if in := res.Outputs[k].Input; in != abi.NoInput {
			res.Outputs[k].Input = uint32(s.from[in])
		}
	}
	for k := range res.Failures {
		res.Failures[k].Index = s.from[res.Failures[k].Index]
	}
	res.Failures = append(res.Failures, s.refused...)
	slices.SortFunc(res.Failures, func(a, b Failure) int { return a.Index - b.Index })
	return res, nil
}

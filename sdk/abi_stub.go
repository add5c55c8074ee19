//go:build !wasip1

package sdk

import (
	"bytes"
	"encoding/binary"
	"io"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Outside WebAssembly there is no host to import functions from, so that go
// vet, go test and godoc work natively the host functions are implemented
// here, in-process, by a stubHost. It makes the checks the real host makes on
// its arguments and records every call. Tests install one with the config
// they want, run batches and ticks through the same dispatch code the wasip1
// exports call (runBatch, runTick), and read back the calls.

// host is the stub host the host functions call.
var host = &stubHost{}

// stubHost is an in-process wasmhost.
type stubHost struct {
	config        map[string]string // returned by config_read
	produceStatus int32             // when negative, produce refuses every buffer with it
	configStatus  int32             // when negative, config_read returns it
	quiet         bool              // record no calls (allocation tests)

	calls []stubCall // every host function call, in order

	batch    []byte // the batch of the on_batch call in progress
	count    uint32
	inBatch  bool
	inCall   bool
	inTick   bool
	outputs  abi.OutputReader
	scratch  abi.Record
	produced int // records accepted by produce
}

// stubCall is one host function call.
type stubCall struct {
	Func    string       // an abi.Func* name
	Status  int32        // what the stub returned
	Index   uint32       // record_fail: the input index
	Level   abi.LogLevel // log: the level
	Text    string       // record_fail: the reason; log: the line
	Outputs []entry      // produce: copies of the records handed over
	Size    int          // produce: bytes of descriptors and data handed over
}

func (h *stubHost) record(c stubCall) int32 {
	if !h.quiet {
		h.calls = append(h.calls, c)
	}
	return c.Status
}

// runBatch plays the host's side of one wasmhost_on_batch call.
func (h *stubHost) runBatch(b []byte, count int32) int32 {
	h.batch, h.inBatch, h.inCall = b, true, true
	if len(b) >= 4 {
		h.count = binary.LittleEndian.Uint32(b)
	}
	defer func() { h.batch, h.count, h.inBatch, h.inCall = nil, 0, false, false }()
	return onBatch(int32(len(b)), count)
}

// runTick plays the host's side of one wasmhost_on_tick call.
func (h *stubHost) runTick(now time.Time) int32 {
	h.inCall, h.inTick = true, true
	defer func() { h.inCall, h.inTick = false, false }()
	return onTick(now.UnixMilli())
}

func hostBatchRead(b []byte) int32 {
	c := stubCall{Func: abi.FuncBatchRead}
	switch h := host; {
	case !h.inBatch:
		c.Status = abi.StatusNoBatch
	case len(b) < len(h.batch):
		c.Status = abi.StatusBufferTooSmall
	default:
		c.Status = int32(copy(b, h.batch))
	}
	return host.record(c)
}

func hostProduce(descs, data []byte) int32 {
	h := host
	c := stubCall{Func: abi.FuncProduce, Size: len(descs) + len(data)}
	c.Status, c.Outputs = h.check(descs, data)
	return h.record(c)
}

// check validates a produce call as the host does before keeping any of it,
// and returns copies of the records unless the stub is quiet. Batch
// references index the SDK's own copy of the batch, as they index guest
// memory on the real host.
func (h *stubHost) check(descs, data []byte) (int32, []entry) {
	if !h.inCall {
		return abi.StatusNoBatch, nil
	}
	if h.produceStatus < 0 {
		return h.produceStatus, nil
	}
	var batchData []byte
	if h.inBatch {
		batchData = batch.reader.Data()
	}
	r := &h.outputs
	if r.Reset(descs, data, batchData) != nil {
		return abi.StatusBadEncoding, nil
	}
	var outs []entry
	for {
		in, err := r.Next(&h.scratch)
		if err == io.EOF {
			h.produced += r.Len()
			return abi.StatusOK, outs
		}
		if err != nil {
			return abi.StatusBadEncoding, nil
		}
		if in != abi.NoInput && (h.inTick || in >= h.count) {
			return abi.StatusBadIndex, nil
		}
		if !h.quiet {
			outs = append(outs, entry{in, cloneRecord(&h.scratch)})
		}
	}
}

// entry is one record a produce call handed over.
type entry struct {
	input uint32
	rec   Record
}

func cloneRecord(r *abi.Record) abi.Record {
	c := *r
	c.Key, c.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
	c.Headers = nil
	for _, hd := range r.Headers {
		c.Headers = append(c.Headers, abi.Header{Key: hd.Key, Value: bytes.Clone(hd.Value)})
	}
	return c
}

func hostRecordFail(index uint32, msg string) int32 {
	c := stubCall{Func: abi.FuncRecordFail, Index: index, Text: msg}
	switch h := host; {
	case !h.inBatch:
		c.Status = abi.StatusNoBatch
	case index >= h.count:
		c.Status = abi.StatusBadIndex
	}
	return host.record(c)
}

func hostLog(level abi.LogLevel, msg string) int32 {
	c := stubCall{Func: abi.FuncLog, Level: level, Text: msg}
	if level < abi.LevelDebug || level > abi.LevelError {
		c.Status = abi.StatusBadLevel
	}
	return host.record(c)
}

func hostConfigRead(b []byte) int32 {
	if host.configStatus < 0 {
		return host.record(stubCall{Func: abi.FuncConfigRead, Status: host.configStatus})
	}
	enc := abi.AppendConfig(nil, host.config)
	if len(b) >= len(enc) {
		copy(b, enc)
	}
	return host.record(stubCall{Func: abi.FuncConfigRead, Status: int32(len(enc))})
}

package host

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

const (
	fBatchRead = iota
	fProduce
	fRecordFail
	fLog
	fConfigRead
)

// produceCall returns the arguments and the memory at probeData of a produce
// call handing over one record for input index in: its descriptor, then the
// data area.
func produceCall(in uint32, topic string) ([4]uint32, []byte) {
	descs, data := abi.AppendOutputs([]abi.Record{{Topic: topic, Partition: -1, Value: []byte("v")}}, []uint32{in})
	return [4]uint32{probeData, uint32(len(descs)), probeData + uint32(len(descs)), uint32(len(data))}, append(descs, data...)
}

// produceArgs is produceCall's arguments alone.
func produceArgs(in uint32, topic string) [4]uint32 {
	a, _ := produceCall(in, topic)
	return a
}

// produceMem is produceCall's memory alone.
func produceMem(in uint32, topic string) []byte {
	_, m := produceCall(in, topic)
	return m
}

// withDescField returns produceMem(in, topic) with the u32 at byte off of the
// descriptor set to v.
func withDescField(in uint32, topic string, off int, v uint32) []byte {
	m := produceMem(in, topic)
	binary.LittleEndian.PutUint32(m[off:], v)
	return m
}

// repeated returns a produce call of n records whose values all reference
// the same size bytes of its data area.
func repeated(n, size int) ([4]uint32, []byte) {
	descs, data := abi.AppendOutputs([]abi.Record{{Topic: "out", Partition: -1, Value: make([]byte, size)}}, []uint32{0})
	one := descs
	for range n - 1 {
		descs = append(descs, one...)
	}
	return [4]uint32{probeData, uint32(len(descs)), probeData + uint32(len(descs)), uint32(len(data))}, append(descs, data...)
}

// TestHostFunctionsAnswerGarbageWithAStatus hands every host function
// pointers and lengths outside memory, wrapping around it, at its edge and
// past every limit: each answers with the status the ABI names, and nothing
// traps.
func TestHostFunctionsAnswerGarbageWithAStatus(t *testing.T) {
	p := newProbe(t)
	batchLen := uint32(p.batch.Bytes())
	cfgLen := int32(len(p.inst.config))
	const top = probeMemory
	const max = ^uint32(0)
	bigArgs, bigMem := repeated(12, 100<<10) // 1.2 MB over the probe's 1 MiB
	cases := []struct {
		name  string
		where int
		fn    uint32
		args  [4]uint32
		data  []byte
		want  int32
	}{
		{"batch_read fits", inBatch, fBatchRead, [4]uint32{probeData, batchLen}, nil, int32(batchLen)},
		{"batch_read short buffer", inBatch, fBatchRead, [4]uint32{probeData, batchLen - 1}, nil, abi.StatusBufferTooSmall},
		{"batch_read past memory", inBatch, fBatchRead, [4]uint32{top - 10, batchLen}, nil, abi.StatusBadPointer},
		{"batch_read wraps around", inBatch, fBatchRead, [4]uint32{max, max}, nil, abi.StatusBadPointer},
		{"batch_read huge length", inBatch, fBatchRead, [4]uint32{0, max}, nil, abi.StatusBadPointer},
		{"batch_read buffer past memory", inBatch, fBatchRead, [4]uint32{top - batchLen, batchLen + 1}, nil, abi.StatusBadPointer},
		{"batch_read short buffer past memory", inBatch, fBatchRead, [4]uint32{top, 1}, nil, abi.StatusBadPointer},
		{"batch_read in a tick", inTick, fBatchRead, [4]uint32{probeData, batchLen}, nil, abi.StatusNoBatch},
		{"batch_read outside a call", outside, fBatchRead, [4]uint32{probeData, batchLen}, nil, abi.StatusNoBatch},
		{"produce past memory", inBatch, fProduce, [4]uint32{top - 4, 100, probeData, 0}, nil, abi.StatusBadPointer},
		{"produce data past memory", inBatch, fProduce, [4]uint32{probeData, 0, top - 4, 100}, nil, abi.StatusBadPointer},
		{"produce wraps around", inBatch, fProduce, [4]uint32{max - 3, 100, probeData, 0}, nil, abi.StatusBadPointer},
		{"produce one past the end", inBatch, fProduce, [4]uint32{top + 1, 0, probeData, 0}, nil, abi.StatusBadPointer},
		{"produce nothing at the end", inBatch, fProduce, [4]uint32{top, 0, top, 0}, nil, abi.StatusOK},
		{"produce huge length", inBatch, fProduce, [4]uint32{0, max, 0, max}, nil, abi.StatusBadPointer},
		{"produce garbage", inBatch, fProduce, [4]uint32{probeData, 3, probeData, 0}, []byte("abc"), abi.StatusBadEncoding},
		{"produce a value past the data", inBatch, fProduce, produceArgs(0, "out"), withDescField(0, "out", 36, 100), abi.StatusBadEncoding},
		{"produce a batch reference before batch_read", inBatch, fProduce, produceArgs(0, "out"), withDescField(0, "out", 32, abi.BatchRef), abi.StatusBadEncoding},
		{"produce a batch reference in a tick", inTick, fProduce, produceArgs(abi.NoInput, "out"), withDescField(abi.NoInput, "out", 32, abi.BatchRef), abi.StatusBadEncoding},
		{"produce input out of range", inBatch, fProduce, produceArgs(7, "out"), produceMem(7, "out"), abi.StatusBadIndex},
		{"produce forbidden topic", inBatch, fProduce, produceArgs(0, "nope"), produceMem(0, "nope"), abi.StatusOK},
		{"produce in a tick", inTick, fProduce, produceArgs(abi.NoInput, "out"), produceMem(abi.NoInput, "out"), abi.StatusOK},
		{"produce past the bytes limit", inBatch, fProduce, bigArgs, bigMem, abi.StatusTooLarge},
		{"produce outside a call", outside, fProduce, [4]uint32{probeData, 3, probeData, 0}, nil, abi.StatusNoBatch},
		{"record_fail bad index", inBatch, fRecordFail, [4]uint32{2, probeData, 1}, nil, abi.StatusBadIndex},
		{"record_fail index -1", inBatch, fRecordFail, [4]uint32{max, probeData, 1}, nil, abi.StatusBadIndex},
		{"record_fail past memory", inBatch, fRecordFail, [4]uint32{0, top - 10, 100}, nil, abi.StatusBadPointer},
		{"record_fail long reason is cut", inBatch, fRecordFail, [4]uint32{0, probeData, 64 << 10}, nil, abi.StatusOK},
		{"record_fail huge length", inBatch, fRecordFail, [4]uint32{0, 0, max}, nil, abi.StatusBadPointer},
		{"record_fail empty reason at the end", inBatch, fRecordFail, [4]uint32{0, top, 0}, nil, abi.StatusOK},
		{"record_fail outside a call", outside, fRecordFail, [4]uint32{0, probeData, 1}, nil, abi.StatusNoBatch},
		{"record_fail in a tick", inTick, fRecordFail, [4]uint32{0, probeData, 1}, nil, abi.StatusNoBatch},
		{"log bad level", inBatch, fLog, [4]uint32{9, probeData, 1}, nil, abi.StatusBadLevel},
		{"log level -1", inBatch, fLog, [4]uint32{max, probeData, 1}, nil, abi.StatusBadLevel},
		{"log past memory", inBatch, fLog, [4]uint32{1, max, 2}, nil, abi.StatusBadPointer},
		{"log long line is cut", inTick, fLog, [4]uint32{3, probeData, 64 << 10}, nil, abi.StatusOK},
		{"log huge length", inBatch, fLog, [4]uint32{1, 0, max}, nil, abi.StatusBadPointer},
		{"log wraps around", inBatch, fLog, [4]uint32{1, max, max}, nil, abi.StatusBadPointer},
		{"config_read size", inBatch, fConfigRead, [4]uint32{0, 0}, nil, cfgLen},
		{"config_read fits", inBatch, fConfigRead, [4]uint32{probeData, uint32(cfgLen)}, nil, cfgLen},
		{"config_read past memory", inTick, fConfigRead, [4]uint32{top - 2, uint32(cfgLen)}, nil, abi.StatusBadPointer},
		{"config_read wraps around", inBatch, fConfigRead, [4]uint32{max, max}, nil, abi.StatusBadPointer},
		{"config_read huge cap", inBatch, fConfigRead, [4]uint32{0, max}, nil, abi.StatusBadPointer},
		{"config_read small cap past memory", inBatch, fConfigRead, [4]uint32{top, 1}, nil, abi.StatusBadPointer},
		{"config_read size at the end", inTick, fConfigRead, [4]uint32{top, 0}, nil, cfgLen},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.run(t, c.where, c.fn, c.args, c.data)
			if errors.Is(err, ErrTrap) || errors.Is(err, ErrTimeout) || p.inst.Broken() {
				t.Fatalf("the call broke: %v", err)
			}
			if got != c.want {
				t.Fatalf("returned %d (%s), want %d (%s)", got, abi.StatusText(got), c.want, abi.StatusText(c.want))
			}
		})
	}
}

// TestProduceRefusalsFailTheRightThing: after a produce the host refused
// (part of), the call reports it: a whole refused buffer fails the call, a
// forbidden entry fails its input record.
func TestProduceRefusalsFailTheRightThing(t *testing.T) {
	p := newProbe(t)
	args, mem := produceCall(1, "nope")
	if _, err := p.run(t, inBatch, fProduce, args, mem); err != nil {
		t.Fatal(err)
	}
	if res := &p.inst.res; len(res.Failures) != 1 || res.Failures[0].Index != 1 || len(res.Outputs) != 0 {
		t.Fatalf("forbidden entry: %+v", res)
	}
	_, err := p.run(t, inBatch, fProduce, [4]uint32{probeData, 3, probeData, 0}, []byte("abc"))
	if !errors.Is(err, ErrFailed) || p.inst.Broken() {
		t.Fatalf("garbage buffer: %v", err)
	}
}

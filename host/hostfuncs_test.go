package host

import (
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

// produceBuffer encodes one output record for input index in.
func produceBuffer(in uint32, topic string) []byte {
	d, _ := abi.AppendOutputs([]abi.Record{{Topic: topic, Partition: -1, Value: []byte("v")}}, []uint32{in})
	return d
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
	cases := []struct {
		name  string
		where int
		fn    uint32
		args  [3]uint32
		data  []byte
		want  int32
	}{
		{"batch_read fits", inBatch, fBatchRead, [3]uint32{probeData, batchLen}, nil, int32(batchLen)},
		{"batch_read short buffer", inBatch, fBatchRead, [3]uint32{probeData, batchLen - 1}, nil, abi.StatusBufferTooSmall},
		{"batch_read past memory", inBatch, fBatchRead, [3]uint32{top - 10, batchLen}, nil, abi.StatusBadPointer},
		{"batch_read wraps around", inBatch, fBatchRead, [3]uint32{max, max}, nil, abi.StatusBadPointer},
		{"batch_read in a tick", inTick, fBatchRead, [3]uint32{probeData, batchLen}, nil, abi.StatusNoBatch},
		{"batch_read outside a call", outside, fBatchRead, [3]uint32{probeData, batchLen}, nil, abi.StatusNoBatch},
		{"produce past memory", inBatch, fProduce, [3]uint32{top - 4, 100}, nil, abi.StatusBadPointer},
		{"produce wraps around", inBatch, fProduce, [3]uint32{max - 3, 100}, nil, abi.StatusBadPointer},
		{"produce one past the end", inBatch, fProduce, [3]uint32{top + 1, 0}, nil, abi.StatusBadPointer},
		{"produce empty at the end", inBatch, fProduce, [3]uint32{top, 0}, nil, abi.StatusBadEncoding},
		{"produce huge length", inBatch, fProduce, [3]uint32{0, max}, nil, abi.StatusTooLarge},
		{"produce garbage", inBatch, fProduce, [3]uint32{probeData, 3}, []byte("abc"), abi.StatusBadEncoding},
		{"produce a count it does not hold", inBatch, fProduce, [3]uint32{probeData, 4}, []byte{0xff, 0xff, 0xff, 0xff}, abi.StatusBadEncoding},
		{"produce input out of range", inBatch, fProduce, [3]uint32{probeData, uint32(len(produceBuffer(7, "out")))}, produceBuffer(7, "out"), abi.StatusBadIndex},
		{"produce forbidden topic", inBatch, fProduce, [3]uint32{probeData, uint32(len(produceBuffer(0, "nope")))}, produceBuffer(0, "nope"), abi.StatusOK},
		{"produce in a tick", inTick, fProduce, [3]uint32{probeData, uint32(len(produceBuffer(abi.NoInput, "out")))}, produceBuffer(abi.NoInput, "out"), abi.StatusOK},
		{"produce outside a call", outside, fProduce, [3]uint32{probeData, 3}, nil, abi.StatusNoBatch},
		{"record_fail bad index", inBatch, fRecordFail, [3]uint32{2, probeData, 1}, nil, abi.StatusBadIndex},
		{"record_fail index -1", inBatch, fRecordFail, [3]uint32{max, probeData, 1}, nil, abi.StatusBadIndex},
		{"record_fail past memory", inBatch, fRecordFail, [3]uint32{0, top - 10, 100}, nil, abi.StatusBadPointer},
		{"record_fail huge reason is cut", inBatch, fRecordFail, [3]uint32{0, probeData, max}, nil, abi.StatusOK},
		{"record_fail in a tick", inTick, fRecordFail, [3]uint32{0, probeData, 1}, nil, abi.StatusNoBatch},
		{"log bad level", inBatch, fLog, [3]uint32{9, probeData, 1}, nil, abi.StatusBadLevel},
		{"log level -1", inBatch, fLog, [3]uint32{max, probeData, 1}, nil, abi.StatusBadLevel},
		{"log past memory", inBatch, fLog, [3]uint32{1, max, 2}, nil, abi.StatusBadPointer},
		{"log huge line is cut", inTick, fLog, [3]uint32{3, probeData, max}, nil, abi.StatusOK},
		{"config_read size", inBatch, fConfigRead, [3]uint32{0, 0}, nil, cfgLen},
		{"config_read fits", inBatch, fConfigRead, [3]uint32{probeData, uint32(cfgLen)}, nil, cfgLen},
		{"config_read past memory", inTick, fConfigRead, [3]uint32{top - 2, uint32(cfgLen)}, nil, abi.StatusBadPointer},
		{"config_read wraps around", inBatch, fConfigRead, [3]uint32{max, max}, nil, abi.StatusBadPointer},
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
	buf := produceBuffer(1, "nope")
	if _, err := p.run(t, inBatch, fProduce, [3]uint32{probeData, uint32(len(buf))}, buf); err != nil {
		t.Fatal(err)
	}
	if res := &p.inst.res; len(res.Failures) != 1 || res.Failures[0].Index != 1 || len(res.Outputs) != 0 {
		t.Fatalf("forbidden entry: %+v", res)
	}
	_, err := p.run(t, inBatch, fProduce, [3]uint32{probeData, 3}, []byte("abc"))
	if !errors.Is(err, ErrFailed) || p.inst.Broken() {
		t.Fatalf("garbage buffer: %v", err)
	}
}

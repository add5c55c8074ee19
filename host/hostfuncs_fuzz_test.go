package host

import (
	"errors"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// FuzzHostFunctions drives each host function, from a batch, a tick or no
// call at all, with any arguments and any bytes in the guest's memory. The
// host function must answer with a size or a status the ABI defines, and
// never trap, panic or break the instance.
func FuzzHostFunctions(f *testing.F) {
	pa, pm := produceCall(0, "out")
	na, nm := produceCall(abi.NoInput, "nope")
	f.Add(uint8(fBatchRead), uint8(inBatch), uint32(probeData), uint32(1000), uint32(0), uint32(0), []byte{})
	f.Add(uint8(fProduce), uint8(inBatch), pa[0], pa[1], pa[2], pa[3], pm)
	f.Add(uint8(fProduce), uint8(inTick), na[0], na[1], na[2], na[3], nm)
	f.Add(uint8(fProduce), uint8(inBatch), pa[0], pa[1], pa[2], pa[3], withDescField(0, "out", 32, abi.BatchRef|5))
	f.Add(uint8(fRecordFail), uint8(inBatch), uint32(1), uint32(probeData), uint32(5), uint32(0), []byte("nope!"))
	f.Add(uint8(fLog), uint8(inTick), uint32(2), uint32(probeData), uint32(3), uint32(0), []byte("hi\n"))
	f.Add(uint8(fConfigRead), uint8(outside), uint32(0), uint32(0), uint32(0), uint32(0), []byte{})
	f.Add(uint8(fConfigRead), uint8(inBatch), ^uint32(0), ^uint32(0), uint32(0), uint32(0), []byte{})
	p := newProbe(f)
	f.Fuzz(func(t *testing.T, fn, where uint8, a, b, c, d uint32, data []byte) {
		if len(data) > probeMemory-probeData {
			data = data[:probeMemory-probeData]
		}
		fid := uint32(fn) % uint32(len(probeFuncs))
		got, err := p.run(t, int(where)%3, fid, [4]uint32{a, b, c, d}, data)
		if errors.Is(err, ErrTrap) || errors.Is(err, ErrTimeout) || p.inst.Broken() {
			t.Fatalf("%s(%d, %d, %d) broke the call: %v", probeFuncs[fid].name, a, b, c, err)
		}
		switch {
		case uint32(got) == probeUnset:
			t.Fatalf("%s(%d, %d, %d) did not return", probeFuncs[fid].name, a, b, c)
		case got < 0 && abi.StatusText(got) == "unknown status":
			t.Fatalf("%s(%d, %d, %d) = %d, not a status of the ABI", probeFuncs[fid].name, a, b, c, got)
		case got > 0 && fid != fBatchRead && fid != fConfigRead:
			t.Fatalf("%s(%d, %d, %d) = %d, want a status", probeFuncs[fid].name, a, b, c, got)
		case got > 0 && fid == fBatchRead && got != int32(p.batch.Bytes()):
			t.Fatalf("batch_read = %d, the batch is %d bytes", got, p.batch.Bytes())
		case got > 0 && fid == fConfigRead && got != int32(len(p.inst.config)):
			t.Fatalf("config_read = %d, the config is %d bytes", got, len(p.inst.config))
		}
	})
}

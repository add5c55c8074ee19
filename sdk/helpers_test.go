//go:build !wasip1

package sdk

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// setup gives a test a fresh SDK, no handlers and a fresh stub host with cfg.
func setup(t testing.TB, cfg map[string]string) *stubHost {
	t.Helper()
	reset := func() {
		recordHandler, tickHandler = nil, nil
		batch.buf, batch.rec = nil, Record{}
		out = produceBuffer{}
		installStub(nil)
	}
	reset()
	t.Cleanup(reset)
	return installStub(cfg)
}

// run delivers recs as one batch.
func (h *stubHost) run(recs []Record) int32 {
	return h.runBatch(abi.AppendBatch(nil, recs), int32(len(recs)))
}

// funcs lists the names of the host functions called, in order.
func (h *stubHost) funcs() []string {
	var names []string
	for _, c := range h.calls {
		names = append(names, c.Func)
	}
	return names
}

func (h *stubHost) only(fn string) []stubCall {
	var cs []stubCall
	for _, c := range h.calls {
		if c.Func == fn {
			cs = append(cs, c)
		}
	}
	return cs
}

// entries decodes every buffer handed to produce, in order.
func (h *stubHost) entries() []entry {
	var es []entry
	for _, c := range h.only(abi.FuncProduce) {
		es = append(es, c.Outputs...)
	}
	return es
}

func wantFuncs(t *testing.T, h *stubHost, want ...string) {
	t.Helper()
	if got := h.funcs(); !slices.Equal(got, want) {
		t.Fatalf("host calls %q, want %q", got, want)
	}
}

// records returns n input records on topic "in", offsets from 100.
func records(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			Topic: "in", Partition: 2, Offset: int64(100 + i), Timestamp: int64(1700000000000 + i),
			Key:   []byte(fmt.Sprint("k", i)),
			Value: bytes.Repeat([]byte{'v'}, 100),
		}
	}
	return recs
}

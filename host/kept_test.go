package host_test

import (
	"context"
	"testing"
	"unsafe"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// same reports whether two non-empty slices share their first byte.
func same(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}

// keptBatch builds a batch with AddKept (kept) or Add and returns the
// caller's records.
func keptBatch(kept bool, values ...string) (*host.Batch, []abi.Record) {
	var b host.Batch
	recs := make([]abi.Record, len(values))
	for i, v := range values {
		recs[i] = abi.Record{Topic: "in", Partition: 2, Offset: int64(100 + i), Timestamp: 1700000000000,
			Key: []byte{'k', byte('0' + i)}, Value: []byte(v), Headers: []abi.Header{{Key: "h", Value: []byte("v")}}}
		if kept {
			b.AddKept(&recs[i])
		} else {
			b.Add(&recs[i])
		}
	}
	return &b, recs
}

// Outputs equal to their input record's kept key or value are given the
// caller's bytes; with Add, or once a plugin changed them, they are copies.
func TestKeptBytesAreReusedOnlyWhenEqual(t *testing.T) {
	rt := newRuntime(t)
	fwd := instantiate(t, load(t, rt, "plugins/forward"), host.InstanceOptions{Pipeline: "t", Config: map[string]string{"to": "out"}})
	for _, kept := range []bool{true, false} {
		b, recs := keptBatch(kept, "abc", "def")
		res, err := fwd.HandleBatch(context.Background(), b)
		if err != nil || len(res.Outputs) != 2 {
			t.Fatalf("kept=%v: %v, %+v", kept, err, res)
		}
		for i, o := range res.Outputs {
			r := o.Record
			if string(r.Key) != string(recs[i].Key) || string(r.Value) != string(recs[i].Value) || string(r.Headers[0].Value) != "v" {
				t.Errorf("kept=%v: output %d = %q %q %+v", kept, i, r.Key, r.Value, r.Headers)
			}
			if same(r.Key, recs[i].Key) != kept || same(r.Value, recs[i].Value) != kept {
				t.Errorf("kept=%v: output %d shares the caller's key: %v, value: %v", kept, i, same(r.Key, recs[i].Key), same(r.Value, recs[i].Value))
			}
			if same(r.Headers[0].Value, recs[i].Headers[0].Value) {
				t.Errorf("kept=%v: output %d shares a header value with the caller", kept, i)
			}
		}
	}

	// inplace changes each value in its copy of the batch before it
	// produces it: the changed value is what is produced, and the caller's
	// bytes are untouched. The unchanged key is still the caller's.
	inst := instantiate(t, load(t, rt, "host/testdata/plugins/inplace"), host.InstanceOptions{Pipeline: "t"})
	b, recs := keptBatch(true, "abc", "def")
	res, err := inst.HandleBatch(context.Background(), b)
	if err != nil || len(res.Outputs) != 5 {
		t.Fatalf("inplace: %v, %+v", err, res)
	}
	first := res.Outputs[0].Record
	if string(first.Value) != "!bc" || same(first.Value, recs[0].Value) || !same(first.Key, recs[0].Key) {
		t.Errorf("inplace: first output %q %q; shares the value %v, the key %v", first.Key, first.Value,
			same(first.Value, recs[0].Value), same(first.Key, recs[0].Key))
	}
	if string(recs[0].Value) != "abc" || string(recs[1].Value) != "def" {
		t.Errorf("the caller's values changed to %q %q", recs[0].Value, recs[1].Value)
	}
}

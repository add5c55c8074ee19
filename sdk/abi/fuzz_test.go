package abi

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// The fuzzers check that no input panics, that every error wraps
// ErrMalformed, and that whatever decodes re-encodes to the same bytes (the
// record encodings are canonical) or, for configs, to the same map.

func FuzzBatchReader(f *testing.F) {
	f.Add(AppendBatch(nil, nil))
	f.Add(AppendBatch(nil, make([]Record, 3)))
	f.Add(AppendBatch(nil, sampleRecords()))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r BatchReader
		var rec Record
		err := r.Reset(b)
		out := AppendCount(nil, uint32(r.Len()))
		for err == nil {
			if err = r.Next(&rec); err == nil {
				out = AppendRecord(out, &rec)
			}
		}
		if err != io.EOF {
			if !isMalformed(err) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("decoded batch re-encodes differently:\n in % x\nout % x", b, out)
		}
	})
}

func FuzzOutputReader(f *testing.F) {
	f.Add(AppendCount(nil, 0))
	f.Add(AppendOutput(AppendCount(nil, 1), NoInput, &Record{Topic: "t", Partition: -1}))
	recs := sampleRecords()
	b := AppendCount(nil, uint32(len(recs)))
	for i := range recs {
		b = AppendOutput(b, uint32(i), &recs[i])
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r OutputReader
		var rec Record
		err := r.Reset(b)
		out := AppendCount(nil, uint32(r.Len()))
		for err == nil {
			var in uint32
			if in, err = r.Next(&rec); err == nil {
				out = AppendOutput(out, in, &rec)
			}
		}
		if err != io.EOF {
			if !isMalformed(err) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("decoded output re-encodes differently:\n in % x\nout % x", b, out)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add(AppendConfig(nil, nil))
	f.Add(AppendConfig(nil, map[string]string{"to": "out"}))
	f.Add(AppendConfig(nil, map[string]string{"wasmhost.pipeline": "p", "wasmhost.plugin": "x", "wasmhost.consumer": ""}))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := DecodeConfig(b)
		if err != nil {
			if !isMalformed(err) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := DecodeConfig(AppendConfig(nil, cfg))
		if err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("config %v re-decodes as %v, %v", cfg, again, err)
		}
	})
}

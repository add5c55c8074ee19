package abi

import (
	"io"
	"reflect"
	"testing"
	"unsafe"
)

// The fuzzers check that no input panics, that every error wraps
// ErrMalformed, that every byte string decoded lies in the buffers it was
// decoded from, and that whatever decodes encodes again to what decodes the
// same (descriptors may point anywhere, so the bytes are not canonical).

// within reports whether b is empty or lies in one of bufs.
func within(b []byte, bufs ...[]byte) bool {
	if len(b) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, buf := range bufs {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
		if p >= start && p+uintptr(len(b)) <= start+uintptr(len(buf)) {
			return true
		}
	}
	return false
}

func recordWithin(r *Record, bufs ...[]byte) bool {
	ok := within(r.Key, bufs...) && within(r.Value, bufs...)
	for _, h := range r.Headers {
		ok = ok && within(h.Value, bufs...)
	}
	return ok
}

func FuzzBatchReader(f *testing.F) {
	f.Add(AppendBatch(nil, nil))
	f.Add(AppendBatch(nil, make([]Record, 3)))
	f.Add(AppendBatch(nil, sampleRecords()))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r BatchReader
		var rec Record
		var got []Record
		err := r.Reset(b)
		for err == nil {
			if err = r.Next(&rec); err == nil {
				if !recordWithin(&rec, b) {
					t.Fatalf("record %d reaches outside the buffer", len(got))
				}
				got = append(got, cloneRecord(&rec))
			}
		}
		if err != io.EOF {
			if !isMalformed(err) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again, err := decodeBatch(AppendBatch(nil, got))
		if err != nil || len(again) != len(got) || len(got) > 0 && !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoded batch decodes as %+v, %v; want %+v", again, err, got)
		}
	})
}

func FuzzOutputReader(f *testing.F) {
	descs, data, batch := validOutput()
	f.Add(descs, data, batch)
	f.Add([]byte{}, []byte{}, []byte{})
	d, dd := AppendOutputs([]Record{{Topic: "t", Partition: -1}}, []uint32{NoInput})
	f.Add(d, dd, []byte(nil))
	f.Fuzz(func(t *testing.T, descs, data, batch []byte) {
		var r OutputReader
		var rec Record
		var got []entry
		err := r.Reset(descs, data, batch)
		for err == nil {
			var in uint32
			if in, err = r.Next(&rec); err == nil {
				if !recordWithin(&rec, data, batch) {
					t.Fatalf("record %d reaches outside the buffers", len(got))
				}
				got = append(got, entry{in, cloneRecord(&rec)})
			}
		}
		if err != io.EOF {
			if !isMalformed(err) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		recs := make([]Record, len(got))
		inputs := make([]uint32, len(got))
		for i, e := range got {
			recs[i], inputs[i] = e.rec, e.input
		}
		d, dd := AppendOutputs(recs, inputs)
		again, err := decodeOutput(d, dd, nil)
		if err != nil || len(again) != len(got) || len(got) > 0 && !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoded output decodes as %+v, %v; want %+v", again, err, got)
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

//go:build !wasip1

package sdk

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func TestProduceRecord(t *testing.T) {
	h := setup(t, nil)
	OnRecord(func(r *Record) error {
		if err := ProduceRecord(&Record{Topic: "a", Partition: 4, Offset: 99, Value: r.Value}); err != nil {
			return err
		}
		return ProduceRecord(&Record{Topic: "b", Partition: -1, Timestamp: 5, Key: r.Key})
	})
	recs := records(1)
	h.run(recs)
	es := h.entries()
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	if a := es[0].rec; a.Topic != "a" || a.Partition != 4 || a.Timestamp != recs[0].Timestamp || a.Key != nil {
		t.Errorf("first entry %+v", a)
	}
	if b := es[1].rec; b.Topic != "b" || b.Partition != -1 || b.Timestamp != 5 || b.Value != nil {
		t.Errorf("second entry %+v", b)
	}
}

// Produce copies: a handler may reuse its buffers at once.
func TestProduceCopies(t *testing.T) {
	h := setup(t, nil)
	buf := []byte("first")
	OnRecord(func(r *Record) error {
		err := Produce("out", nil, buf)
		copy(buf, "XXXXX")
		return err
	})
	h.run(records(1))
	if v := string(h.entries()[0].rec.Value); v != "first" {
		t.Errorf("value %q", v)
	}
}

// What a handler produces from its input record is referenced, not copied:
// the call's data area holds neither the key nor the value. A record changed
// in place before it is produced is produced as changed, and a part of an
// input byte string, or one from another record of the batch, is referenced
// too.
func TestProduceReferencesInput(t *testing.T) {
	h := setup(t, nil)
	var first *Record
	OnRecord(func(r *Record) error {
		if first == nil {
			c := *r
			first = &c
		}
		r.Value[0] = 'X'
		if err := Produce("out", r.Key, r.Value, Header{Key: "h", Value: r.Value[1:3]}); err != nil {
			return err
		}
		return Produce("out", nil, first.Key) // record 0's key, still in the batch
	})
	recs := records(2)
	h.run(recs)
	es := h.entries()
	if len(es) != 4 {
		t.Fatalf("%d entries", len(es))
	}
	for i, e := range es {
		if i%2 == 1 {
			if string(e.rec.Value) != "k0" {
				t.Errorf("entry %d: value %q, want record 0's key", i, e.rec.Value)
			}
			continue
		}
		want := append([]byte{'X'}, recs[i/2].Value[1:]...)
		if !bytes.Equal(e.rec.Value, want) || !bytes.Equal(e.rec.Key, recs[i/2].Key) {
			t.Errorf("entry %d: key %q value %q", i, e.rec.Key, e.rec.Value)
		}
		if len(e.rec.Headers) != 1 || string(e.rec.Headers[0].Value) != "vv" {
			t.Errorf("entry %d: headers %+v", i, e.rec.Headers)
		}
	}
	// Descriptors, the topic once and the header descriptors: no key or
	// value bytes.
	ps := h.only(abi.FuncProduce)
	if size, most := ps[0].Size, 4*abi.OutputDescSize+len("out")+2*abi.HeaderDescSize+len("h")*2; size > most {
		t.Errorf("produce handed over %d bytes, at most %d without copies", size, most)
	}
}

func TestProduceOutsideHandler(t *testing.T) {
	h := setup(t, nil)
	if err := Produce("out", nil, nil); err == nil {
		t.Error("Produce outside a handler succeeded")
	}
	var late func() error
	OnRecord(func(r *Record) error {
		late = func() error { return Produce("out", nil, nil) }
		return nil
	})
	h.run(records(1))
	if err := late(); err == nil {
		t.Error("Produce after the handler returned succeeded")
	}
	if len(h.only(abi.FuncProduce)) != 0 {
		t.Error("produce was called")
	}
}

func TestEarlyFlush(t *testing.T) {
	h := setup(t, nil)
	value := bytes.Repeat([]byte{'x'}, 300<<10)
	// Each record produces 2 × 300 KiB: the buffer passes 1 MiB within the
	// second record and is flushed there, while that record is handled.
	OnRecord(func(r *Record) error {
		for range 2 {
			if err := Produce("out", r.Key, value); err != nil {
				return err
			}
		}
		return nil
	})
	if st := h.run(records(3)); st != abi.StatusOK {
		t.Fatalf("status %d", st)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncProduce, abi.FuncProduce)
	ps := h.only(abi.FuncProduce)
	if n := ps[0].Size; n < flushSize || n > flushSize+len(value)+100 {
		t.Errorf("early flush of %d bytes", n)
	}
	var inputs []uint32
	for _, e := range h.entries() {
		inputs = append(inputs, e.input)
	}
	if fmt.Sprint(inputs) != "[0 0 1 1 2 2]" {
		t.Errorf("inputs %v", inputs)
	}
}

// A record that fails after part of its output was flushed early: the
// flushed part is the host's to discard, the rest never leaves the guest.
func TestFailAfterEarlyFlush(t *testing.T) {
	h := setup(t, nil)
	value := bytes.Repeat([]byte{'x'}, 400<<10)
	// Record 0 produces 3 × 400 KiB, flushed by its third Produce. Record 1
	// produces 4: three are flushed, the fourth is dropped when it fails.
	OnRecord(func(r *Record) error {
		for range 3 + r.Offset - 100 {
			if err := Produce("out", nil, value); err != nil {
				return err
			}
		}
		if r.Offset == 101 {
			return fmt.Errorf("fail")
		}
		return nil
	})
	h.run(records(2))
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncProduce, abi.FuncProduce, abi.FuncRecordFail)
	var inputs []uint32
	for _, e := range h.entries() {
		inputs = append(inputs, e.input)
	}
	if fmt.Sprint(inputs) != "[0 0 0 1 1 1]" {
		t.Errorf("inputs %v", inputs)
	}
}

func TestHostRefusesProduce(t *testing.T) {
	h := setup(t, nil)
	h.produceStatus = abi.StatusForbidden
	OnRecord(func(r *Record) error { return Produce("secret", nil, nil) })
	if st := h.run(records(3)); st != abi.StatusForbidden {
		t.Fatalf("status %d, want StatusForbidden", st)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncProduce, abi.FuncLog)
	if l := h.only(abi.FuncLog)[0]; l.Level != abi.LevelError || !strings.Contains(l.Text, "produce returned -7") {
		t.Errorf("log %+v", l)
	}

	// The same in a tick.
	OnTick(func(time.Time) error { return Produce("secret", nil, nil) })
	if st := h.runTick(time.Now()); st != abi.StatusForbidden {
		t.Errorf("tick status %d, want StatusForbidden", st)
	}
}

// When an early flush is refused, Produce reports it, the batch stops and
// fails with the host's status, and no record is failed one by one.
func TestHostRefusesEarlyFlush(t *testing.T) {
	h := setup(t, nil)
	h.produceStatus = abi.StatusTooLarge
	value := bytes.Repeat([]byte{'x'}, flushSize)
	handled := 0
	var produceErr error
	OnRecord(func(r *Record) error {
		handled++
		produceErr = Produce("out", nil, value)
		return produceErr
	})
	if st := h.run(records(3)); st != abi.StatusTooLarge {
		t.Fatalf("status %d, want StatusTooLarge", st)
	}
	if handled != 1 || produceErr == nil {
		t.Errorf("handled %d records, Produce returned %v", handled, produceErr)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncProduce, abi.FuncLog)
	// The next batch starts clean.
	h.produceStatus = 0
	h.calls = nil
	if st := h.run(records(1)); st != abi.StatusOK || len(h.entries()) != 1 {
		t.Errorf("next batch: status %d, %d entries", st, len(h.entries()))
	}
}

// TestNoAllocsPerRecord checks the whole guest side of a batch, through
// OnRecord and Produce, allocates nothing once its buffers have grown.
func TestNoAllocsPerRecord(t *testing.T) {
	h := setup(t, nil)
	h.quiet = true
	recs := records(256)
	for i := range recs {
		recs[i].Headers = []Header{{Key: "trace", Value: []byte("abc")}}
	}
	b := abi.AppendBatch(nil, recs)
	OnRecord(func(r *Record) error { return Produce("out", r.Key, r.Value, r.Headers...) })
	allocs := testing.AllocsPerRun(50, func() {
		if st := h.runBatch(b, 256); st != abi.StatusOK {
			t.Fatalf("status %d", st)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch of 256, want 0", allocs)
	}
	if h.produced != 51*256 {
		t.Errorf("host accepted %d records", h.produced)
	}
}

// BenchmarkBatchForward is the guest side of a passthrough plugin: a batch of
// 256 records of 100 bytes decoded, handed to a handler that produces each
// one again, and encoded into the produce buffer. The stub host's copy of the
// batch and its check of the produce buffer are included.
func BenchmarkBatchForward(b *testing.B) {
	h := setup(b, nil)
	h.quiet = true
	recs := records(256)
	batch := abi.AppendBatch(nil, recs)
	OnRecord(func(r *Record) error { return Produce("out", r.Key, r.Value, r.Headers...) })
	b.ReportAllocs()
	for b.Loop() {
		h.runBatch(batch, 256)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

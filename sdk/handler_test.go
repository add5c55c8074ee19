//go:build !wasip1

package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

func TestBatchOrderAndInputIndexes(t *testing.T) {
	h := setup(t, nil)
	recs := records(5)
	recs[3].Headers = []Header{{Key: "trace", Value: []byte("t3")}, {Key: "null"}}
	var seen []int64
	OnRecord(func(r *Record) error {
		seen = append(seen, r.Offset)
		// One output for even offsets, two for odd ones.
		for range 1 + r.Offset%2 {
			if err := Produce("out", r.Key, r.Value, r.Headers...); err != nil {
				return err
			}
		}
		return nil
	})
	if st := h.run(recs); st != abi.StatusOK {
		t.Fatalf("status %d", st)
	}
	if fmt.Sprint(seen) != "[100 101 102 103 104]" {
		t.Fatalf("handled offsets %v", seen)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncProduce)
	var inputs []uint32
	for _, e := range h.entries() {
		inputs = append(inputs, e.input)
		in := recs[e.input]
		if e.rec.Topic != "out" || e.rec.Partition != -1 || e.rec.Timestamp != in.Timestamp ||
			!bytes.Equal(e.rec.Key, in.Key) || !bytes.Equal(e.rec.Value, in.Value) {
			t.Errorf("entry %+v from input %+v", e.rec, in)
		}
		if got, want := fmt.Sprintf("%q", e.rec.Headers), fmt.Sprintf("%q", in.Headers); len(in.Headers) > 0 && got != want {
			t.Errorf("headers %s, want %s", got, want)
		}
	}
	if fmt.Sprint(inputs) != "[0 1 1 2 3 3 4]" {
		t.Errorf("input indexes %v", inputs)
	}
}

func TestRecordErrorFailsThatRecord(t *testing.T) {
	h := setup(t, nil)
	OnRecord(func(r *Record) error {
		if err := Produce("out", r.Key, nil); err != nil {
			return err
		}
		if r.Offset%2 == 1 {
			return fmt.Errorf("odd offset %d", r.Offset)
		}
		return nil
	})
	if st := h.run(records(4)); st != abi.StatusOK {
		t.Fatalf("status %d: failed records do not fail the batch", st)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncRecordFail, abi.FuncRecordFail, abi.FuncProduce)
	fails := h.only(abi.FuncRecordFail)
	if fails[0].Index != 1 || fails[0].Text != "odd offset 101" || fails[1].Index != 3 || fails[1].Text != "odd offset 103" {
		t.Errorf("record_fail calls %+v", fails)
	}
	// What a failed record produced never reaches the host.
	var inputs []uint32
	for _, e := range h.entries() {
		inputs = append(inputs, e.input)
	}
	if fmt.Sprint(inputs) != "[0 2]" {
		t.Errorf("produced for inputs %v, want [0 2]", inputs)
	}
}

func TestHandlerPanicIsNotRecovered(t *testing.T) {
	h := setup(t, nil)
	OnRecord(func(r *Record) error { panic("boom") })
	defer func() {
		if recover() != "boom" {
			t.Error("the panic did not reach the caller")
		}
	}()
	h.run(records(1))
}

func TestTickProducesWithNoInput(t *testing.T) {
	h := setup(t, nil)
	now := time.UnixMilli(1700000000123)
	var got time.Time
	OnTick(func(t time.Time) error {
		got = t
		return Produce("users", []byte("7"), []byte(`{}`))
	})
	if st := h.runTick(now); st != abi.StatusOK {
		t.Fatalf("status %d", st)
	}
	if !got.Equal(now) {
		t.Errorf("tick time %v, want %v", got, now)
	}
	wantFuncs(t, h, abi.FuncProduce)
	es := h.entries()
	if len(es) != 1 || es[0].input != abi.NoInput || es[0].rec.Timestamp != now.UnixMilli() || es[0].rec.Partition != -1 {
		t.Errorf("entries %+v", es)
	}
}

func TestTickError(t *testing.T) {
	h := setup(t, nil)
	OnTick(func(time.Time) error {
		if err := Produce("users", nil, []byte("dropped")); err != nil {
			return err
		}
		return errors.New("source unavailable")
	})
	if st := h.runTick(time.Now()); st != abi.StatusFailed {
		t.Fatalf("status %d, want StatusFailed", st)
	}
	wantFuncs(t, h, abi.FuncLog)
	if c := h.calls[0]; c.Level != abi.LevelError || !strings.Contains(c.Text, "source unavailable") {
		t.Errorf("log %+v", c)
	}
}

func TestNoHandler(t *testing.T) {
	h := setup(t, nil)
	if st := h.run(records(2)); st != abi.StatusNoHandler {
		t.Errorf("batch without OnRecord: status %d", st)
	}
	if st := h.runTick(time.Now()); st != abi.StatusNoHandler {
		t.Errorf("tick without OnTick: status %d", st)
	}
	wantFuncs(t, h) // not even batch_read

	OnTick(func(time.Time) error { return nil })
	if st := h.run(records(2)); st != abi.StatusNoHandler {
		t.Errorf("batch with only OnTick: status %d", st)
	}
	OnRecord(func(*Record) error { return nil })
	OnRecord(nil)
	if st := h.run(records(2)); st != abi.StatusNoHandler {
		t.Errorf("batch after OnRecord(nil): status %d", st)
	}
}

func TestMalformedBatch(t *testing.T) {
	valid := abi.AppendBatch(nil, records(3))
	for _, tc := range []struct {
		name  string
		batch []byte
		count int32
	}{
		{"count mismatch", valid, 2},
		{"negative count", valid, -1},
		{"truncated record", valid[:len(valid)-1], 3},
		{"key past the data area", corrupt(valid, abi.BatchHeaderSize+abi.RecordDescSize+32, 0xffffff00), 3},
		{"headers past the data area", corrupt(corrupt(valid, abi.BatchHeaderSize+4, 2), abi.BatchHeaderSize+48, 1<<30), 3},
		{"shorter than a count", valid[:3], 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, nil)
			OnRecord(func(r *Record) error { return Produce("out", nil, nil) })
			if st := h.runBatch(tc.batch, tc.count); st != abi.StatusBadEncoding {
				t.Fatalf("status %d, want StatusBadEncoding", st)
			}
			if len(h.only(abi.FuncProduce)) != 0 {
				t.Error("produced records from a malformed batch")
			}
			logs := h.only(abi.FuncLog)
			if len(logs) != 1 || logs[0].Level != abi.LevelError || !strings.HasPrefix(logs[0].Text, "wasmhost sdk: ") {
				t.Errorf("logs %+v", logs)
			}
		})
	}
}

// corrupt returns a copy of b with the u32 at off set to v.
func corrupt(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func TestBatchReadError(t *testing.T) {
	h := setup(t, nil)
	OnRecord(func(*Record) error { return nil })
	// Outside a batch the host answers batch_read with StatusNoBatch; the
	// SDK passes the status on.
	if st := onBatch(40, 1); st != abi.StatusNoBatch {
		t.Errorf("status %d, want StatusNoBatch", st)
	}
	wantFuncs(t, h, abi.FuncBatchRead, abi.FuncLog)
}

// A handler may replace r.Headers; the SDK must not decode the next record's
// headers into the handler's slice.
func TestHandlerOwnHeadersAreNotOverwritten(t *testing.T) {
	h := setup(t, nil)
	recs := records(2)
	recs[0].Headers = []Header{{Key: "a", Value: []byte("1")}}
	recs[1].Headers = []Header{{Key: "b", Value: []byte("2")}}
	mine := make([]Header, 1, 4)
	mine[0] = Header{Key: "mine"}
	OnRecord(func(r *Record) error {
		r.Headers = mine[:0]
		return nil
	})
	h.run(recs)
	if mine[:1][0].Key != "mine" {
		t.Errorf("the handler's header slice was overwritten: %+v", mine[:1])
	}
}

// The record handed to the handler aliases the batch buffer: the next batch
// reuses it.
func TestRecordAliasesBatch(t *testing.T) {
	h := setup(t, nil)
	var kept []byte
	OnRecord(func(r *Record) error {
		if kept == nil {
			kept = r.Value
		}
		return nil
	})
	recs := records(1)
	h.run(recs)
	recs[0].Value = bytes.Repeat([]byte{'w'}, 100)
	h.run(recs)
	if kept[0] != 'w' {
		t.Error("a value kept from the first batch did not change: is the batch buffer reused?")
	}
}

func TestLogLevels(t *testing.T) {
	h := setup(t, nil)
	Debugf("d %d", 1)
	Infof("i %s", "x")
	Warnf("w")
	Errorf("e %v", errors.New("boom"))
	Log(abi.LevelInfo, "plain")
	var got []string
	for _, c := range h.calls {
		got = append(got, fmt.Sprintf("%d:%s", c.Level, c.Text))
	}
	if want := "[0:d 1 1:i x 2:w 3:e boom 1:plain]"; fmt.Sprint(got) != want {
		t.Errorf("logs %v, want %v", got, want)
	}
}

// wasmhost_handlers says which handlers are registered, whatever is
// exported.
func TestHandlersExport(t *testing.T) {
	setup(t, nil)
	steps := []struct {
		do   func()
		want int32
	}{
		{func() {}, 0},
		{func() { OnRecord(func(*Record) error { return nil }) }, abi.HandlesBatches},
		{func() { OnTick(func(time.Time) error { return nil }) }, abi.HandlesBatches | abi.HandlesTicks},
		{func() { OnRecord(nil) }, abi.HandlesTicks},
	}
	for i, s := range steps {
		s.do()
		if got := handlers(); got != s.want {
			t.Errorf("step %d: handlers() = %b, want %b", i, got, s.want)
		}
	}
}

func TestABIVersion(t *testing.T) {
	if abiVersion() != abi.Version {
		t.Errorf("abiVersion() = %d", abiVersion())
	}
}

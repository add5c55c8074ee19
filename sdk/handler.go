package sdk

import (
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Record is a Kafka record. In a record handler its byte slices alias the
// SDK's batch buffer and are valid only until the handler returns; copy what
// you keep. Key and Value are nil for null, Timestamp is in Unix milliseconds.
type Record = abi.Record

// Header is one record header; a nil Value is null.
type Header = abi.Header

var (
	recordHandler func(r *Record) error
	tickHandler   func(now time.Time) error
)

// OnRecord registers fn as the plugin's record handler. Call it from an init
// function. For each batch the host delivers, fn is called once per record, in
// offset order. A returned error fails that record alone: the SDK reports it to
// the host with the error's text, the host discards what the record produced
// and applies the pipeline's failure policy to it, and the batch goes on. A
// panic is not recovered: the call traps and the host throws the instance away.
// Registering again replaces the handler; nil removes it.
func OnRecord(fn func(r *Record) error) { recordHandler = fn }

// OnTick registers fn as the plugin's tick handler: for sources, and for a
// pipeline's plugin when the pipeline sets tick_interval (a windowed
// aggregation closes its window there). Call it from an init function. The
// host calls fn at the interval with its current time, between batches. A returned error is logged and fails the whole tick: what the
// tick produced is dropped (the host discards any part an early flush had
// already handed over). Registering again replaces the handler; nil removes
// it.
func OnTick(fn func(now time.Time) error) { tickHandler = fn }

// batch is the state on_batch reuses from call to call: the buffer the batch
// is copied into (it only grows), the reader, and the one Record handed to the
// handler.
var batch struct {
	buf    []byte
	reader abi.BatchReader
	rec    Record
}

// abiVersion is the wasmhost_abi_version export.
func abiVersion() int32 { return abi.Version }

// handlers is the wasmhost_handlers export: the handlers registered by the
// plugin's init functions, which have run when the host asks.
func handlers() int32 {
	var h int32
	if recordHandler != nil {
		h |= abi.HandlesBatches
	}
	if tickHandler != nil {
		h |= abi.HandlesTicks
	}
	return h
}

// onBatch is the wasmhost_on_batch export: it reads the batch from the host,
// runs the record handler over it and hands the produced records back.
func onBatch(batchLen, count int32) int32 {
	fn := recordHandler
	if fn == nil {
		return abi.StatusNoHandler
	}
	if batchLen < abi.BatchHeaderSize || count < 0 {
		sdkLog("on_batch called with length " + itoa(batchLen) + " and count " + itoa(count))
		return abi.StatusBadEncoding
	}
	batch.buf = slices.Grow(batch.buf[:0], int(batchLen))[:batchLen]
	n := hostBatchRead(batch.buf)
	if n < 0 || n > batchLen {
		sdkLog("batch_read returned " + statusString(n))
		if n < 0 {
			return n
		}
		return abi.StatusBadEncoding
	}
	r := &batch.reader
	if err := r.Reset(batch.buf[:n]); err != nil {
		sdkLog(err.Error())
		return abi.StatusBadEncoding
	}
	if r.Len() != int(count) {
		sdkLog("batch holds " + strconv.Itoa(r.Len()) + " records, on_batch said " + itoa(count))
		return abi.StatusBadEncoding
	}

	begin(0, 0, r.Data())
	rec := &batch.rec
	for i := uint32(0); ; i++ {
		// The decoder sets every field, the header slice included.
		if err := r.Next(rec); err != nil {
			if err == io.EOF {
				break
			}
			sdkLog(err.Error())
			abort()
			return abi.StatusBadEncoding
		}
		call.input, call.timestamp = i, rec.Timestamp

		m := out.mark()
		err := fn(rec)
		if call.status < 0 {
			break // a produce call failed: the whole batch fails
		}
		if err != nil {
			out.discardSince(m)
			failRecord(i, err)
		}
	}
	return finish()
}

// failRecord reports input record i as failed.
func failRecord(i uint32, err error) {
	if st := hostRecordFail(i, err.Error()); st < 0 {
		sdkLog("record_fail of record " + strconv.FormatUint(uint64(i), 10) + " returned " + statusString(st))
	}
}

// onTick is the wasmhost_on_tick export.
func onTick(nowMs int64) int32 {
	fn := tickHandler
	if fn == nil {
		return abi.StatusNoHandler
	}
	begin(abi.NoInput, nowMs, nil)
	if err := fn(time.UnixMilli(nowMs)); err != nil {
		hostLog(abi.LevelError, "tick failed: "+err.Error())
		st := call.status
		abort()
		if st < 0 {
			return st
		}
		return abi.StatusFailed
	}
	return finish()
}

// sdkLog logs a problem the SDK itself found, at error level.
func sdkLog(msg string) { hostLog(abi.LevelError, "wasmhost sdk: "+msg) }

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func statusString(st int32) string {
	return itoa(st) + " (" + abi.StatusText(st) + ")"
}

package sdk

import (
	"errors"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// flushSize is the produce-buffer size past which Produce hands the buffer to
// the host before the call ends, so a handler that produces a lot does not
// grow guest memory without bound.
const flushSize = 1 << 20

// call is the state of the export being run.
var call struct {
	active    bool
	input     uint32 // index of the record being handled, or abi.NoInput
	timestamp int64  // Unix ms given to produced records
	status    int32  // first negative status from produce, until the call ends
}

// out is the produce buffer, reused from call to call.
var out produceBuffer

// produceBuffer is the records produced in the call, not yet handed to the
// host.
type produceBuffer struct {
	abi.OutputWriter
	flushes int // how many times it was handed to the host
}

// mark is a position in a produceBuffer to discard back to.
type mark struct {
	at      abi.OutputMark
	flushes int
}

func (o *produceBuffer) mark() mark { return mark{o.Mark(), o.flushes} }

// discardSince drops the entries added since m: those of a record that
// failed. If the buffer was flushed since, everything in it is newer than m;
// entries already handed over are the host's to discard.
func (o *produceBuffer) discardSince(m mark) {
	if o.flushes != m.flushes {
		o.Clear()
		return
	}
	o.DiscardSince(m.at)
}

var errNoCall = errors.New("sdk: Produce called outside a handler")

// Produce produces a record to topic, partitioned by key, with the timestamp
// of the input record being handled (or the tick's time in a tick handler).
// The bytes are copied, so the caller may reuse its buffers at once, except
// bytes of the batch being handled, which are referenced (see the package
// doc: do not change a record's bytes after producing them). Call it only
// from a handler, on the handler's goroutine.
//
// Records are collected in one buffer and handed to the host when the handler
// call ends, or earlier once the buffer passes 1 MiB. The host checks each
// record then: one it refuses (a topic the plugin may not produce to, a record
// over the size limit) fails the input record it derives from, as if the
// handler had returned an error, or the whole tick in a tick handler. Produce
// does not see those refusals. It returns an error only when called outside a
// handler, or when the host refused a whole buffer earlier in the call; that
// is logged and fails the whole batch or tick, so return the error.
func Produce(topic string, key, value []byte, headers ...Header) error {
	return produce(&Record{
		Topic:     topic,
		Partition: -1,
		Timestamp: call.timestamp,
		Key:       key,
		Value:     value,
		Headers:   headers,
	})
}

// ProduceRecord is Produce for a full record. It is sent as it is, with two
// exceptions: Offset is ignored, and a zero Timestamp gets the timestamp
// Produce would give. Partition names the partition (one the topic does not
// have fails the input record), or is -1 to partition by key as Kafka's Java
// producer does; mind that the zero value means partition 0.
func ProduceRecord(r *Record) error {
	if r.Timestamp == 0 {
		c := *r
		c.Timestamp = call.timestamp
		return produce(&c)
	}
	return produce(r)
}

func produce(r *Record) error {
	// Both failures return through a call, which the compiler lays out
	// out of the way of the hot path (see abi's record decoder).
	if !call.active || call.status < 0 {
		return produceRefused()
	}
	out.Add(call.input, r)
	if out.Size() >= flushSize {
		if st := flush(); st < 0 {
			return produceError(st)
		}
	}
	return nil
}

// produceRefused is why produce cannot take a record.
//
//go:noinline
func produceRefused() error {
	if !call.active {
		return errNoCall
	}
	return produceError(call.status)
}

func produceError(st int32) error {
	return errors.New("sdk: the host refused produced records: " + statusString(st))
}

// begin starts an export call. batchData is the data area of the batch
// being handled, nil in a tick: what the handler produces from it is
// referenced, not copied.
func begin(input uint32, timestamp int64, batchData []byte) {
	call.active, call.input, call.timestamp, call.status = true, input, timestamp, abi.StatusOK
	out.Reset(batchData)
}

// flush hands the produce buffer to the host. A negative status is logged and
// kept: it fails the call.
func flush() int32 {
	st := hostProduce(out.Descriptors(), out.Data())
	out.Clear()
	out.flushes++
	if st < 0 {
		sdkLog("produce returned " + statusString(st))
		call.status = st
	}
	return st
}

// finish ends an export call: it flushes what is left and returns the call's
// status.
func finish() int32 {
	if call.status >= 0 && out.Len() > 0 {
		flush()
	}
	st := call.status
	abort()
	return st
}

// abort ends an export call without handing over what is left.
func abort() {
	call.active, call.input, call.timestamp, call.status = false, abi.NoInput, 0, abi.StatusOK
	out.Reset(nil)
}

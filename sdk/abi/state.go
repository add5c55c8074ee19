package abi

import (
	"encoding/binary"
	"errors"
)

// State host functions, imported from [ModuleName]: a key-value store
// scoped to the pipeline and the input partition the instance works on,
// made durable by the host (see docs/abi.md, "State"). They are an
// addition to version 2 of the ABI: a plugin that imports none of them
// is unaffected, and the host reports [StatusNoState] from all of them
// where it keeps no state (a source, or `wasmhost plugin test` without
// state).
const (
	// FuncStateGet: (key_ptr, key_len, val_ptr, val_cap) -> i32. Returns
	// the value's length, and writes it to [val_ptr, val_ptr+val_cap) when
	// it fits; [StatusNotFound] when the key is not set.
	FuncStateGet = "state_get"
	// FuncStatePut: (key_ptr, key_len, val_ptr, val_len) -> i32 status.
	// Sets the key. Over the partition's limits it returns
	// [StatusTooLarge] and the host fails the call.
	FuncStatePut = "state_put"
	// FuncStateDelete: (key_ptr, key_len) -> i32 status. Removes the key;
	// removing a missing key is not an error.
	FuncStateDelete = "state_delete"
	// FuncStateScan: (start_ptr, start_len, end_ptr, end_len, buf_ptr,
	// buf_cap) -> i32. Writes the entries whose keys are in [start, end),
	// in byte order, to the buffer, as many whole entries as fit, and
	// returns the bytes written: 0 when no key is in range. An end_len of
	// [NoBound] has no end. When not even the first entry fits it returns
	// [StatusBufferTooSmall] and, if buf_cap >= 4, writes the size that
	// entry needs as a u32 at buf_ptr. Entries are [StateEntryHeader]
	// bytes (u32 key length, u32 value length), then the key, then the
	// value. To go on, scan again from the last key plus a 0 byte.
	FuncStateScan = "state_scan"
)

// Status codes of the state host functions.
const (
	StatusNotFound int32 = -11 // state_get: the key is not set
	StatusNoState  int32 = -12 // the host keeps no state for this instance
)

// Bounds on state keys and values; longer ones are refused with
// [StatusTooLarge]. A key may not be empty.
const (
	MaxStateKey   = 4 << 10
	MaxStateValue = 1 << 20
)

// NoBound is the end_len of [FuncStateScan] for a scan with no end.
const NoBound = ^uint32(0)

// StateEntryHeader is the size of a scan entry's header.
const StateEntryHeader = 8

// AppendStateEntry appends one scan entry to dst.
func AppendStateEntry(dst, key, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(key)))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	dst = append(dst, key...)
	return append(dst, value...)
}

// ErrStateEntry: a scan buffer does not decode.
var ErrStateEntry = errors.New("malformed state scan entry")

// NextStateEntry decodes the first entry of b; key and value alias b.
func NextStateEntry(b []byte) (key, value, rest []byte, err error) {
	if len(b) < StateEntryHeader {
		return nil, nil, nil, ErrStateEntry
	}
	kl, vl := uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[4:]))
	if StateEntryHeader+kl+vl > uint64(len(b)) {
		return nil, nil, nil, ErrStateEntry
	}
	k := b[StateEntryHeader : StateEntryHeader+kl]
	v := b[StateEntryHeader+kl : StateEntryHeader+kl+vl]
	return k, v, b[StateEntryHeader+kl+vl:], nil
}

// PrefixEnd is the end of the range of keys that start with prefix: the
// first key after all of them, or nil (no bound) when there is none.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

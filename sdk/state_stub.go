//go:build !wasip1

package sdk

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// The stub host's state: nil keeps none (ErrNoState), as a source's host.
// Tests set stubState to a map.
var stubState map[string][]byte

func hostStateGet(key, buf []byte) int32 {
	if stubState == nil {
		return abi.StatusNoState
	}
	if len(key) == 0 {
		return abi.StatusBadEncoding
	}
	v, ok := stubState[string(key)]
	if !ok {
		return abi.StatusNotFound
	}
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int32(len(v))
}

func hostStatePut(key, value []byte) int32 {
	switch {
	case stubState == nil:
		return abi.StatusNoState
	case len(key) == 0:
		return abi.StatusBadEncoding
	case len(key) > abi.MaxStateKey || len(value) > abi.MaxStateValue:
		return abi.StatusTooLarge
	}
	stubState[string(key)] = bytes.Clone(append([]byte{}, value...))
	return abi.StatusOK
}

func hostStateDelete(key []byte) int32 {
	if stubState == nil {
		return abi.StatusNoState
	}
	if len(key) == 0 {
		return abi.StatusBadEncoding
	}
	delete(stubState, string(key))
	return abi.StatusOK
}

func hostStateScan(start, end, buf []byte) int32 {
	if stubState == nil {
		return abi.StatusNoState
	}
	keys := make([]string, 0, len(stubState))
	for k := range stubState {
		if k >= string(start) && (end == nil || k < string(end)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []byte
	for _, k := range keys {
		e := abi.AppendStateEntry(nil, []byte(k), stubState[k])
		if len(out)+len(e) > len(buf) {
			if len(out) == 0 {
				if len(buf) >= 4 {
					binary.LittleEndian.PutUint32(buf, uint32(len(e)))
				}
				return abi.StatusBufferTooSmall
			}
			break
		}
		out = append(out, e...)
	}
	return int32(copy(buf, out))
}

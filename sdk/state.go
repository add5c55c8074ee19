package sdk

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Store is the plugin's key-value state: scoped to the pipeline and the
// input partition the instance works on, kept by the host and made durable
// in a changelog topic. Under exactly-once, what a call changes commits in
// the same transaction as what it produces and the input offset, and an
// aborted transaction takes it back; after a rebalance, a crash, a trap or
// a new plugin version the store holds the committed state. Keep state
// here, not in Go variables, when it must survive those.
//
// Changes made by a record handler that returns an error, or by a call
// that fails, are taken back with its outputs. Call the methods only from a
// handler, on the handler's goroutine (reads also work in init functions).
type Store struct{}

// State is the plugin's store.
var State Store

// Errors of the state functions.
var (
	// ErrNoState: the host keeps no state for this plugin (a source, or
	// `wasmhost plugin test` without --state).
	ErrNoState = errors.New("sdk: the host keeps no state here")
	// ErrStateLimit: the put would take the partition's store past its
	// limits (state.max_keys, state.max_bytes) or is over the size
	// bounds of a key (4 KiB) or value (1 MiB). The host fails the record
	// with the reason.
	ErrStateLimit = errors.New("sdk: state put refused: over the store's limits")
)

// stateBuf receives values and scan entries; it only grows.
var stateBuf = make([]byte, 256)

func stateErr(s int32) error {
	switch s {
	case abi.StatusNoState:
		return ErrNoState
	case abi.StatusTooLarge:
		return ErrStateLimit
	}
	return errors.New("sdk: state: " + abi.StatusText(s))
}

// Get returns a copy of key's value; ok is false when it is not set.
func (Store) Get(key []byte) (value []byte, ok bool, err error) {
	for {
		n := hostStateGet(key, stateBuf)
		switch {
		case n == abi.StatusNotFound:
			return nil, false, nil
		case n < 0:
			return nil, false, stateErr(n)
		case int(n) > len(stateBuf):
			stateBuf = make([]byte, n)
			continue
		}
		return slices.Clone(stateBuf[:n:n]), true, nil
	}
}

// Put sets key (not empty) to value; both are copied.
func (Store) Put(key, value []byte) error {
	if s := hostStatePut(key, value); s != abi.StatusOK {
		return stateErr(s)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (Store) Delete(key []byte) error {
	if s := hostStateDelete(key); s != abi.StatusOK {
		return stateErr(s)
	}
	return nil
}

// Scan calls fn with each key in [start, end) in byte order, and its
// value, until fn returns false; a nil end has no bound. key and value are
// valid only during fn. fn may change the store (a change is seen by the
// rest of the scan only if it lies after the keys already read).
func (Store) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	from := slices.Clone(start)
	for {
		n := hostStateScan(from, end, stateBuf)
		if n == abi.StatusBufferTooSmall {
			need := int(binary.LittleEndian.Uint32(stateBuf))
			stateBuf = make([]byte, max(need, 2*len(stateBuf)))
			continue
		}
		if n < 0 {
			return stateErr(n)
		}
		if n == 0 {
			return nil
		}
		// fn may call the store, which reuses stateBuf: read a copy.
		page := slices.Clone(stateBuf[:n])
		var last []byte
		for rest := page; len(rest) > 0; {
			k, v, r, err := abi.NextStateEntry(rest)
			if err != nil {
				return err
			}
			rest, last = r, k
			if !fn(k, v) {
				return nil
			}
		}
		from = append(append(from[:0], last...), 0)
	}
}

// Prefix calls fn with each key that starts with prefix, as Scan does.
func (s Store) Prefix(prefix []byte, fn func(key, value []byte) bool) error {
	return s.Scan(prefix, abi.PrefixEnd(prefix), fn)
}

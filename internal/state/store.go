package state

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
)

// Limits bound one partition's store. Zero fields take the defaults.
type Limits struct {
	MaxKeys  int   // keys held at once (default DefaultMaxKeys)
	MaxBytes int64 // bytes of keys and values held at once (default DefaultMaxBytes)
}

// Defaults of the Limits fields.
const (
	DefaultMaxKeys  = 1_000_000
	DefaultMaxBytes = 128 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// LimitError is a change refused because the store would go past one of
// its limits. Its text is the reason the refused record fails with.
type LimitError struct {
	Key   []byte
	Limit string // "max_keys" or "max_bytes"
	Value int64  // the limit
	Would int64  // what the store would hold
}

func (e *LimitError) Error() string {
	unit := "keys"
	if e.Limit == "max_bytes" {
		unit = "bytes"
	}
	return fmt.Sprintf("state: put of key %q refused: the partition's store would hold %d %s, over state.%s = %d",
		truncate(e.Key, 64), e.Would, unit, e.Limit, e.Value)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// undo is one change, recorded so that it can be taken back: the key and
// what it held before.
type undo struct {
	key     string
	old     []byte
	existed bool
}

// Store is one input partition's key-value state. It is one map plus an
// undo log: reads are plain map lookups, and the changes since the last
// Commit (the open transaction) or since the last BeginCall (the plugin
// call in progress) can be taken back by replaying the log backwards.
// The changelog records of the open transaction are the keys the log
// names, with their current values.
//
// A Store belongs to one actor: it is not safe for concurrent use, except
// for Size, which reads atomics.
type Store struct {
	m      map[string][]byte
	limits Limits
	bytes  int64
	log    []undo // changes since Commit
	call   int    // len(log) when the call in progress began

	// Keys in order for Scan, rebuilt when a key was added or removed
	// since the last Scan.
	sorted   []string
	unsorted bool

	size sizeGauge
}

// New returns an empty store.
func New(l Limits) *Store {
	return &Store{m: make(map[string][]byte), limits: l.withDefaults()}
}

// Get returns the value of key; the slice belongs to the store and is
// valid until the next change.
func (s *Store) Get(key []byte) ([]byte, bool) {
	v, ok := s.m[string(key)]
	return v, ok
}

// Put sets key to value, copying both. A change that would take the store
// past its limits is refused with a *LimitError and changes nothing.
func (s *Store) Put(key, value []byte) error {
	old, existed := s.m[string(key)]
	keys, bytes := int64(len(s.m)), s.bytes+int64(len(value))
	if existed {
		bytes -= int64(len(old))
	} else {
		keys++
		bytes += int64(len(key))
	}
	if keys > int64(s.limits.MaxKeys) {
		return &LimitError{Key: key, Limit: "max_keys", Value: int64(s.limits.MaxKeys), Would: keys}
	}
	if bytes > s.limits.MaxBytes {
		return &LimitError{Key: key, Limit: "max_bytes", Value: s.limits.MaxBytes, Would: bytes}
	}
	k := string(key)
	s.log = append(s.log, undo{key: k, old: old, existed: existed})
	s.m[k] = bytes0(value)
	s.bytes = bytes
	if !existed {
		s.unsorted = true
	}
	s.size.set(len(s.m), s.bytes)
	return nil
}

// bytes0 copies b, never returning nil: a stored value is never null.
func bytes0(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

// Delete removes key; deleting a missing key changes nothing.
func (s *Store) Delete(key []byte) {
	old, existed := s.m[string(key)]
	if !existed {
		return
	}
	k := string(key)
	s.log = append(s.log, undo{key: k, old: old, existed: true})
	delete(s.m, k)
	s.bytes -= int64(len(k) + len(old))
	s.unsorted = true
	s.size.set(len(s.m), s.bytes)
}

// Scan calls fn for each key in [start, end), in byte order, with its
// value; a nil end has no bound. It stops when fn returns false. fn must
// not change the store.
func (s *Store) Scan(start, end []byte, fn func(key, value []byte) bool) {
	if s.unsorted || len(s.sorted) != len(s.m) {
		s.sorted = s.sorted[:0]
		for k := range s.m {
			s.sorted = append(s.sorted, k)
		}
		slices.Sort(s.sorted)
		s.unsorted = false
	}
	i := sort.SearchStrings(s.sorted, string(start))
	for ; i < len(s.sorted); i++ {
		k := s.sorted[i]
		if end != nil && bytes.Compare([]byte(k), end) >= 0 {
			return
		}
		v, ok := s.m[k]
		if !ok {
			continue
		}
		if !fn([]byte(k), v) {
			return
		}
	}
}

// Len is the number of keys.
func (s *Store) Len() int { return len(s.m) }

// Bytes is the number of bytes of keys and values held.
func (s *Store) Bytes() int64 { return s.bytes }

// Size returns the keys and bytes held; safe from any goroutine.
func (s *Store) Size() (keys int, bytes int64) { return s.size.get() }

// BeginCall marks the start of a plugin call, whose changes EndCall keeps
// or takes back.
func (s *Store) BeginCall() { s.call = len(s.log) }

// CallChanged reports whether the call in progress changed anything.
func (s *Store) CallChanged() bool { return len(s.log) > s.call }

// EndCall ends the call: keep leaves its changes in the open transaction,
// otherwise they are taken back.
func (s *Store) EndCall(keep bool) {
	if !keep {
		s.rollback(s.call)
	}
	s.call = len(s.log)
}

// Changed reports whether the open transaction changed anything.
func (s *Store) Changed() bool { return len(s.log) > 0 }

// Changes calls fn once per key the open transaction changed, in the order
// first changed, with its value now (nil: deleted). These are the
// changelog records of the transaction: a key changed many times is
// written once.
func (s *Store) Changes(fn func(key string, value []byte)) {
	if len(s.log) == 0 {
		return
	}
	seen := make(map[string]struct{}, len(s.log))
	for _, u := range s.log {
		if _, ok := seen[u.key]; ok {
			continue
		}
		seen[u.key] = struct{}{}
		fn(u.key, s.m[u.key])
	}
}

// Commit makes the open transaction's changes the committed state.
func (s *Store) Commit() {
	clear(s.log)
	s.log, s.call = s.log[:0], 0
}

// Abort takes back every change since the last Commit: the store is its
// committed state again.
func (s *Store) Abort() {
	s.rollback(0)
	s.Commit()
}

// rollback undoes the log down to length n.
func (s *Store) rollback(n int) {
	for i := len(s.log) - 1; i >= n; i-- {
		u := s.log[i]
		cur, had := s.m[u.key]
		if had {
			s.bytes -= int64(len(u.key) + len(cur))
		}
		if u.existed {
			s.m[u.key] = u.old
			s.bytes += int64(len(u.key) + len(u.old))
		} else {
			delete(s.m, u.key)
		}
		if had != u.existed {
			s.unsorted = true
		}
	}
	clear(s.log[n:])
	s.log = s.log[:n]
	s.call = min(s.call, n)
	s.size.set(len(s.m), s.bytes)
}

// Apply sets key to value (nil deletes it) without recording an undo or
// checking limits: restoring from the changelog, which holds only what
// the limits allowed. Size does not see it until Publish.
func (s *Store) Apply(key, value []byte) {
	old, ok := s.m[string(key)]
	switch {
	case value == nil && ok:
		delete(s.m, string(key))
		s.bytes -= int64(len(key) + len(old))
		s.unsorted = true
	case value == nil:
	case ok:
		s.m[string(key)] = bytes0(value)
		s.bytes += int64(len(value) - len(old))
	default:
		s.m[string(key)] = bytes0(value)
		s.bytes += int64(len(key) + len(value))
		s.unsorted = true
	}
}

// Publish makes the store's size after Apply visible to Size.
func (s *Store) Publish() { s.size.set(len(s.m), s.bytes) }

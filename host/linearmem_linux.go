//go:build linux

package host

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// Linear memory is reserved once, for the instance's whole limit, as an
// anonymous private mapping, so growing it never moves or copies it. wazero's
// default is a Go slice of the current size that memory.grow reallocates and
// copies: growing page by page to a 64 MiB limit copied ~2 GiB (2.5 s of CPU)
// and left ~700 MB of garbage for the collector. Untouched pages of the
// mapping cost address space, not RSS, so an instance's resident memory is
// what its guest has touched, at most its limit; munmap returns it at once
// when the instance closes.

// withLinearMemory returns ctx with the allocator of instance i's memory.
func withLinearMemory(ctx context.Context, i *Instance) context.Context {
	return experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(func(_, max uint64) experimental.LinearMemory {
		m := newLinearMemory(max, &i.inCall)
		if lm, ok := m.(*linearMemory); ok {
			i.mem = lm
		}
		return m
	}))
}

// linearMemory is one instance's memory: a mapping of max bytes of which
// the first len(buf) are the memory.
type linearMemory struct {
	inCall  *atomic.Bool
	mu      sync.Mutex
	mapping []byte // nil when max is 0 or once freed
	buf     []byte
	pending bool // Free came during a call: afterCall unmaps
}

func newLinearMemory(max uint64, inCall *atomic.Bool) experimental.LinearMemory {
	m := &linearMemory{inCall: inCall}
	if max == 0 {
		m.buf = []byte{}
		return m
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		// No address space left: fall back to a Go slice, which
		// Reallocate grows by copying.
		return &sliceMemory{max: max}
	}
	m.mapping, m.buf = b, b[:0]
	return m
}

// Reallocate grows the memory in place; nil (memory.grow returns -1) past
// the mapping.
func (m *linearMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if size > uint64(len(m.mapping)) {
		return nil
	}
	m.buf = m.mapping[:size]
	return m.buf
}

// Free unmaps the memory. wazero calls it when the instance closes, after
// which no host function may touch the memory: host functions copy out
// what they keep. An instance can close while its guest code runs (WASI's
// proc_exit, or the Runtime closed at shutdown under a call that outlived
// it): then the memory is unmapped when the call returns (afterCall), not
// pulled from under the running code.
func (m *linearMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inCall.Load() {
		m.pending = true
		return
	}
	m.unmap()
}

// afterCall unmaps the memory if it was freed during the call that
// returned.
func (m *linearMemory) afterCall() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending {
		m.unmap()
	}
}

func (m *linearMemory) unmap() {
	if m.mapping != nil {
		_ = syscall.Munmap(m.mapping)
		m.mapping, m.buf = nil, nil
	}
}

// sliceMemory is the fallback: a Go slice grown by copying.
type sliceMemory struct {
	max uint64
	buf []byte
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		b := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
		copy(b, m.buf)
		m.buf = b
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }

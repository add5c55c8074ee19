// Package instrument rewrites a WebAssembly module so that a host can bound
// what it runs: time and call stack depth.
//
// Time: a budget counter, decremented at every loop header and at every
// function's entry, calls the import Options.Yield each time it runs out.
// That function is where the host checks the call's deadline (and traps the
// call by panicking) and, being Go code, where the Go scheduler can preempt
// the goroutine running the guest. Code runs without bound only by looping
// or by calling (branching recursion makes 2^n calls within any depth
// limit, with no loop; direct, indirect or tail calls all enter a function),
// so a guest cannot run more than Options.Every loop iterations or function
// entries without reaching the host. Between two checks it runs straight
// code: at most the bodies of the functions on its stack.
//
// Tables: with Options.MaxTable, the module's tables together can never
// hold more entries than that (wazero keeps 8 bytes per entry, outside the
// memory limit): a module starting with more is refused, and each table's
// maximum is lowered so that table.grow fails past its share.
//
// Depth: every function adds its weight (2 + its parameters and locals, a
// rough count of the 8-byte slots of its frame) to a depth counter on entry
// and takes it back on every way out; past Options.MaxDepth it calls the
// import Options.Overflow, which traps. wazero's own limit is its call
// stack ceiling, about 160 MiB of host memory per instance, outside the
// instance's memory limit.
//
// Why not wazero's WithCloseOnContextDone for time: it compiles in a check
// that leaves native code for Go at every loop header, which costs a Go
// guest about 2.3 µs per record handled (3.3 times the plugin call itself);
// the counters here stay in native code.
//
// Speed: a memory.fill of zeros with a constant size of at most 256 bytes,
// which Go's compiler emits to zero every stack object over 32 bytes, becomes
// plain stores through one added i32 local: wazero runs memory.fill as a loop
// of calls out to Go (about 40 ns for 100 bytes, against a few for stores).
//
// The rewrite appends function types (() -> (), and a block type for each
// multi-value result list), two function imports (last among the imports,
// so every defined function's index grows by two: calls, ref.func, exports,
// the start function, element segments and the name section are
// renumbered) and two mutable i32 globals (last, so no global index moves).
// DWARF sections are dropped: their code offsets would be wrong.
package instrument

import (
	"bytes"
	"errors"
	"fmt"
)

// Options name the imports the checks call, and when.
type Options struct {
	Module   string // import module of Yield and Overflow; a module importing from it is refused
	Yield    string // () -> (), called once every Every loop iterations and function entries
	Overflow string // () -> (), called when the depth passes MaxDepth
	Every    uint32 // 1..2^31-1
	MaxDepth uint32 // in frame slots, 1..2^30
	// MaxTable bounds the entries of all the module's tables together: a
	// module whose tables start with more is refused (ErrTableLimit), and
	// each table's maximum is lowered so that table.grow fails (returns
	// -1, as the specification allows) before the sum passes it. 0 leaves
	// tables alone.
	MaxTable uint32
}

// ErrReserved: the module imports from Options.Module itself.
var ErrReserved = errors.New("imports from the module reserved for the host")

// ErrTableLimit: the module's tables start with more entries than
// Options.MaxTable.
var ErrTableLimit = errors.New("tables over the limit")

// added is how many function imports the rewrite adds.
const added = 2

// maxWeight caps one function's weight.
const maxWeight = 1 << 16

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// order is each known section's position in a module.
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, secTag: 6, 6: 7, 7: 8, 8: 9, 9: 10, secDataCount: 11, 10: 12, 11: 13}

type section struct {
	id      byte
	payload []byte
}

var header = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// Interruptible returns the module bin with the checks added. It refuses a
// module it cannot parse, one using instructions beyond WebAssembly 2.0, and
// one that already imports from o.Module.
func Interruptible(bin []byte, o Options) ([]byte, error) {
	if o.Every == 0 || o.Every > 1<<31-1 {
		return nil, fmt.Errorf("instrument: Every must be 1..2^31-1, got %d", o.Every)
	}
	if o.MaxDepth == 0 || o.MaxDepth > 1<<30 {
		return nil, fmt.Errorf("instrument: MaxDepth must be 1..2^30, got %d", o.MaxDepth)
	}
	out, err := interruptible(bin, o)
	if err != nil {
		return nil, fmt.Errorf("instrument: %w", err)
	}
	return out, nil
}

func interruptible(bin []byte, o Options) ([]byte, error) {
	secs, err := split(bin)
	if err != nil {
		return nil, err
	}
	m := &module{o: o}
	if err := m.count(secs); err != nil {
		return nil, err
	}
	if err := m.plan(); err != nil {
		return nil, err
	}
	budget := m.importGlobals + m.globals
	rw := &rewriter{
		importFuncs: m.importFuncs,
		added:       added,
		check:       checkSequence(budget, m.importFuncs, o.Every),
		depth:       budget + 1,
		overflow:    m.importFuncs + 1,
		maxDepth:    o.MaxDepth,
		maxTable:    o.MaxTable,
	}

	var news []section
	for _, s := range secs {
		p, keep, err := m.rewrite(rw, s)
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		if keep {
			news = append(news, section{s.id, p})
		}
	}
	for _, id := range []byte{secType, secImport, secGlobal} {
		if !m.seen[id] {
			p, _, err := m.rewrite(rw, section{id, []byte{0}}) // an empty vector
			if err != nil {
				return nil, err
			}
			news = insert(news, section{id, p})
		}
	}
	out := append([]byte(nil), header...)
	for _, s := range news {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.payload)))
		out = append(out, s.payload...)
	}
	return out, nil
}

// split checks the header and cuts the module into sections, checking that
// known ones appear once each, in order.
func split(bin []byte) ([]section, error) {
	if !bytes.HasPrefix(bin, header) {
		return nil, errors.New("not a WebAssembly 1.0 binary (bad magic or version)")
	}
	r := &reader{b: bin, off: len(header)}
	var secs []section
	last := 0
	for r.left() > 0 && r.err == nil {
		id := r.byte()
		payload := r.bytes(uint64(r.u32()))
		if r.err != nil {
			break
		}
		if id != secCustom {
			o, ok := order[id]
			if !ok {
				return nil, fmt.Errorf("unknown section id %d", id)
			}
			if o <= last {
				return nil, fmt.Errorf("section %d out of order or repeated", id)
			}
			last = o
		}
		secs = append(secs, section{id, payload})
	}
	return secs, r.err
}

// insert puts s before the first known section that follows it.
func insert(secs []section, s section) []section {
	for i, t := range secs {
		if t.id != secCustom && order[t.id] > order[s.id] {
			return append(secs[:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

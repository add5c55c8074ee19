// Package instrument rewrites a WebAssembly module so that a host can stop
// it: a budget counter, decremented at every loop header and before every
// tail call, calls an imported host function each time it runs out. That
// function is where the host checks the call's deadline (and can trap the
// call by panicking), and, being Go code, where the Go scheduler can preempt
// the goroutine running the guest.
//
// Loops and tail calls are the only ways WebAssembly code runs without
// bound (a plain recursion overflows the stack), so a guest cannot run for
// longer than the budget of loop iterations without reaching the host.
//
// Why not wazero's WithCloseOnContextDone: it compiles in a check that
// leaves native code for Go at every loop header, which costs a Go guest
// about 2.5 µs per record handled (3.5 times the plugin call itself); the
// counter here stays in native code but for one call in Options.Every
// iterations.
//
// The rewrite adds one function type, one function import (last among the
// imports, so every defined function's index grows by one; calls, ref.func,
// exports, the start function, element segments and the name section are
// renumbered) and one mutable i32 global (last, so no global index moves).
// DWARF sections are dropped: their code offsets would be wrong.
package instrument

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Options name the import the checks call and how often.
type Options struct {
	Module, Name string // the imported function, of type () -> ()
	Every        uint32 // loop iterations between calls, 1..2^31-1
}

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
	rw := &rewriter{importFuncs: m.importFuncs}
	rw.check = checkSequence(m.importGlobals+m.globals, m.importFuncs, o.Every)

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

// module holds the counts the rewrite needs, read before any section is
// rewritten.
type module struct {
	o             Options
	types         uint32
	importFuncs   uint32
	importGlobals uint32
	globals       uint32
	seen          map[byte]bool
}

func (m *module) count(secs []section) error {
	m.seen = map[byte]bool{}
	for _, s := range secs {
		m.seen[s.id] = true
		r := &reader{b: s.payload}
		switch s.id {
		case secType:
			m.types = r.count()
			for i := uint32(0); i < m.types && r.err == nil; i++ {
				r.funcType()
			}
		case secGlobal:
			m.globals = r.count()
		case secImport:
			for n := r.count(); n > 0 && r.err == nil; n-- {
				mod := r.name()
				r.name()
				if r.err == nil && string(mod) == m.o.Module {
					return fmt.Errorf("the module already imports from %q, which is reserved for the host", m.o.Module)
				}
				switch kind := r.byte(); kind {
				case 0:
					r.u32()
					m.importFuncs++
				case 3:
					m.importGlobals++
					r.globalType()
				default:
					r.importDesc(kind)
				}
			}
		}
		if r.err == nil && (s.id == secType || s.id == secImport) && r.left() > 0 {
			r.fail("%d bytes after the last entry", r.left())
		}
		if r.err != nil {
			return fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	return nil
}

// rewrite returns a section's new payload, or keep=false to drop it.
func (m *module) rewrite(rw *rewriter, s section) (out []byte, keep bool, err error) {
	r := &reader{b: s.payload}
	switch s.id {
	case secCustom:
		return rewriteCustom(rw, s.payload)
	case secType:
		n := r.count()
		out = append(appendU32(nil, n+1), r.rest()...)
		out = append(out, 0x60, 0, 0) // () -> ()
	case secImport:
		n := r.count()
		out = append(appendU32(nil, n+1), r.rest()...)
		out = appendName(appendName(out, m.o.Module), m.o.Name)
		out = appendU32(append(out, 0), m.types)
	case secGlobal:
		n := r.count()
		out = appendU32(nil, n+1)
		for i := uint32(0); i < n && r.err == nil; i++ {
			start := r.off
			r.globalType()
			out = append(out, r.b[start:r.off]...)
			out = rw.expr(r, out, false)
		}
		out = append(out, 0x7f, 1, opI32Const) // the budget: mutable i32
		out = appendS32(out, int32(m.o.Every))
		out = append(out, opEnd)
	case secTable:
		out = rw.tables(r)
	case secExport:
		out = rw.exports(r)
	case secStart:
		out = appendU32(nil, rw.funcIndex(r.u32()))
	case secElement:
		out = rw.elements(r)
	case secCode:
		out = rw.code(r)
	case secFunction, secMemory, secData, secTag:
		// Kept as they are, but read through so that a vector count no
		// module could hold is refused here, before the compiler sizes
		// anything by it.
		r.skipVector(s.id)
		out = s.payload
	default:
		return s.payload, true, nil
	}
	if r.err == nil && r.left() > 0 {
		r.fail("%d bytes after the last entry", r.left())
	}
	return out, true, r.err
}

func rewriteCustom(rw *rewriter, payload []byte) ([]byte, bool, error) {
	r := &reader{b: payload}
	name := string(r.name())
	switch {
	case r.err != nil:
		return nil, false, r.err
	case strings.HasPrefix(name, ".debug_"):
		return nil, false, nil
	case name == "name":
		out, ok := rw.names(payload[:r.off], r.rest())
		return out, ok, nil
	}
	return payload, true, nil
}

func (rw *rewriter) tables(r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.off
		withInit := r.peek() == 0x40
		if withInit {
			r.byte()
			if r.byte() != 0 {
				r.fail("bad table entry")
			}
		}
		r.tableType()
		out = append(out, r.b[start:r.off]...)
		if withInit {
			out = rw.expr(r, out, false)
		}
	}
	return out
}

func (rw *rewriter) exports(r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		start := r.off
		r.name()
		kind := r.byte()
		out = append(out, r.b[start:r.off]...)
		idx := r.u32()
		if kind == 0 {
			idx = rw.funcIndex(idx)
		}
		out = appendU32(out, idx)
	}
	return out
}

func (rw *rewriter) elements(r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = appendU32(out, flags)
		if flags > 7 {
			r.fail("element segment flags %d", flags)
			break
		}
		if flags&3 == 2 { // explicit table index
			out = appendU32(out, r.u32())
		}
		if flags&1 == 0 { // active: an offset
			out = rw.expr(r, out, false)
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		m := r.count()
		out = appendU32(out, m)
		for j := uint32(0); j < m && r.err == nil; j++ {
			if flags&4 != 0 {
				out = rw.expr(r, out, false)
			} else {
				out = appendU32(out, rw.funcIndex(r.u32()))
			}
		}
	}
	return out
}

func (rw *rewriter) code(r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		body := &reader{b: r.bytes(uint64(size))}
		if r.err != nil {
			break
		}
		for m := body.count(); m > 0 && body.err == nil; m-- { // locals
			body.u32()
			if !isValueType(body.byte()) {
				body.fail("bad local type")
			}
		}
		nb := append([]byte(nil), body.b[:body.off]...)
		nb = rw.expr(body, nb, true)
		if body.err == nil && body.left() > 0 {
			body.fail("%d bytes after the end of the body", body.left())
		}
		if body.err != nil {
			r.fail("function %d: %v", rw.importFuncs+i, body.err)
			break
		}
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	return out
}

// skipVector reads the entries of a section kept as it is.
func (r *reader) skipVector(id byte) {
	for n := r.count(); n > 0 && r.err == nil; n-- {
		switch id {
		case secFunction:
			r.u32()
		case secMemory:
			r.limits()
		case secTag:
			r.byte()
			r.u32()
		case secData:
			switch flags := r.u32(); flags {
			case 0:
				(&rewriter{}).expr(r, nil, false)
			case 1:
			case 2:
				r.u32()
				(&rewriter{}).expr(r, nil, false)
			default:
				r.fail("data segment flags %d", flags)
			}
			r.bytes(uint64(r.u32()))
		}
	}
}

func (r *reader) funcType() {
	if r.byte() != 0x60 {
		r.fail("bad function type")
	}
	for range 2 { // parameters, results
		for n := r.count(); n > 0 && r.err == nil; n-- {
			if !isValueType(r.byte()) {
				r.fail("bad value type")
			}
		}
	}
}

func (r *reader) importDesc(kind byte) {
	switch kind {
	case 1:
		r.tableType()
	case 2:
		r.limits()
	case 4: // tag
		r.byte()
		r.u32()
	default:
		r.fail("bad import kind %d", kind)
	}
}

func (r *reader) globalType() {
	if !isValueType(r.byte()) {
		r.fail("bad global type")
	}
	if r.byte() > 1 {
		r.fail("bad global mutability")
	}
}

func (r *reader) tableType() {
	if c := r.byte(); c != 0x70 && c != 0x6f {
		r.fail("bad table element type 0x%02x", c)
	}
	r.limits()
}

func (r *reader) limits() {
	flags := r.byte()
	if flags > 7 {
		r.fail("bad limits flags %d", flags)
	}
	r.leb(10)
	if flags&1 != 0 {
		r.leb(10)
	}
}

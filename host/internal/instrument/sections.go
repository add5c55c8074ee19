package instrument

import (
	"fmt"
	"strings"
)

// rewrite returns a section's new payload, or keep=false to drop it.
func (m *module) rewrite(rw *rewriter, s section) (out []byte, keep bool, err error) {
	r := &reader{b: s.payload}
	switch s.id {
	case secCustom:
		return rewriteCustom(rw, s.payload)
	case secType:
		n := r.count()
		out = append(appendU32(nil, n+uint32(len(m.extraTypes))), r.rest()...)
		for _, t := range m.extraTypes {
			out = append(out, t...)
		}
	case secImport:
		n := r.count()
		out = append(appendU32(nil, n+added), r.rest()...)
		for _, name := range []string{m.o.Yield, m.o.Overflow} { // the () -> () type is m.types
			out = appendName(appendName(out, m.o.Module), name)
			out = appendU32(append(out, 0), m.types)
		}
	case secGlobal:
		n := r.count()
		out = appendU32(nil, n+2)
		for i := uint32(0); i < n && r.err == nil; i++ {
			start := r.off
			r.globalType()
			out = append(out, r.b[start:r.off]...)
			out = rw.expr(r, out, nil)
		}
		out = append(out, 0x7f, 1, opI32Const) // the budget: mutable i32
		out = appendS32(out, int32(m.o.Every))
		out = append(out, opEnd, 0x7f, 1, opI32Const, 0, opEnd) // the depth: mutable i32 0
	case secTable:
		out = rw.tables(r)
	case secExport:
		out = rw.exports(r)
	case secStart:
		out = appendU32(nil, rw.funcIndex(r.u32()))
	case secElement:
		out = rw.elements(r)
	case secCode:
		out = m.code(rw, r)
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

// table is one entry of the table section.
type table struct {
	prefix   []byte // 0x40 0x00 before a table with an initializer
	refType  byte
	min, max uint64
	hasMax   bool
	init     []byte // the rewritten initializer, for a table with one
}

// tables copies the table section, each table's maximum lowered so that
// all of them together can never hold more than rw.maxTable entries. A
// module whose tables start with more is refused.
func (rw *rewriter) tables(r *reader) []byte {
	n := r.count()
	var ts []table
	var mins uint64
	for i := uint32(0); i < n && r.err == nil; i++ {
		var t table
		if r.peek() == 0x40 {
			t.prefix = []byte{r.byte(), r.byte()}
			if t.prefix[1] != 0 {
				r.fail("bad table entry")
			}
		}
		if t.refType = r.byte(); t.refType != 0x70 && t.refType != 0x6f {
			r.fail("bad table element type 0x%02x", t.refType)
		}
		flags := r.byte()
		if flags > 1 {
			r.fail("bad table limits flags %d", flags)
		}
		t.min = r.leb(10)
		if t.hasMax = flags == 1; t.hasMax {
			t.max = r.leb(10)
		}
		if t.prefix != nil {
			t.init = rw.expr(r, nil, nil)
		}
		mins += min(t.min, 1<<32)
		ts = append(ts, t)
	}
	if rw.maxTable > 0 && mins > uint64(rw.maxTable) && r.err == nil {
		r.err = fmt.Errorf("%w: its tables start with %d entries, over the limit of %d", ErrTableLimit, mins, rw.maxTable)
	}
	out := appendU32(nil, n)
	for _, t := range ts {
		max, hasMax := t.max, t.hasMax
		if rw.maxTable > 0 {
			share := t.min + (uint64(rw.maxTable)-mins)/uint64(len(ts))
			if !hasMax || max > share {
				max, hasMax = share, true
			}
		}
		out = append(append(out, t.prefix...), t.refType)
		if hasMax {
			out = appendU64(append(out, 1), t.min)
			out = appendU64(out, max)
		} else {
			out = appendU64(append(out, 0), t.min)
		}
		out = append(out, t.init...)
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
			out = rw.expr(r, out, nil)
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		m := r.count()
		out = appendU32(out, m)
		for j := uint32(0); j < m && r.err == nil; j++ {
			if flags&4 != 0 {
				out = rw.expr(r, out, nil)
			} else {
				out = appendU32(out, rw.funcIndex(r.u32()))
			}
		}
	}
	return out
}

func (m *module) code(rw *rewriter, r *reader) []byte {
	n := r.count()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		code := &reader{b: r.bytes(uint64(size))}
		if r.err != nil {
			break
		}
		var locals uint64
		groups := code.count()
		groupsAt := code.off
		for k := groups; k > 0 && code.err == nil; k-- {
			locals += uint64(code.u32())
			if !isValueType(code.byte()) {
				code.fail("bad local type")
			}
		}
		localsEnd := code.off
		fn, err := m.body(i, locals)
		if err != nil {
			r.fail("%v", err)
			break
		}
		expr := rw.expr(code, nil, fn)
		// The locals, and the scratch i32 if the rewrite used it.
		var nb []byte
		if fn.usedScratch {
			nb = appendU32(nb, groups+1)
			nb = append(nb, code.b[groupsAt:localsEnd]...)
			nb = append(nb, 1, 0x7f)
		} else {
			nb = append(nb, code.b[:localsEnd]...)
		}
		nb = append(nb, expr...)
		if code.err == nil && code.left() > 0 {
			code.fail("%d bytes after the end of the body", code.left())
		}
		if code.err != nil {
			r.fail("function %d: %v", rw.importFuncs+i, code.err)
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
				(&rewriter{}).expr(r, nil, nil)
			case 1:
			case 2:
				r.u32()
				(&rewriter{}).expr(r, nil, nil)
			default:
				r.fail("data segment flags %d", flags)
			}
			r.bytes(uint64(r.u32()))
		}
	}
}

// funcType reads a function type: its parameter count and result types.
func (r *reader) funcType() (params uint32, results []byte) {
	if r.byte() != 0x60 {
		r.fail("bad function type")
	}
	params = r.count()
	for k := params; k > 0 && r.err == nil; k-- {
		if !isValueType(r.byte()) {
			r.fail("bad value type")
		}
	}
	start := r.off
	for k := r.count(); k > 0 && r.err == nil; k-- {
		if !isValueType(r.byte()) {
			r.fail("bad value type")
		}
	}
	if r.err != nil {
		return 0, nil
	}
	// The results as encoded, less their count.
	rr := &reader{b: r.b[start:r.off]}
	rr.u32()
	return params, rr.rest()
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

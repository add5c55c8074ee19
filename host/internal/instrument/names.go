package instrument

import "unicode/utf8"

// names rewrites the name section (prefix is its "name" header): function
// indexes in the function, local and label name maps move with the new
// import. A name section that does not parse is dropped rather than guessed
// at; it only carries names for stack traces.
func (rw *rewriter) names(prefix, body []byte) ([]byte, bool) {
	r := &reader{b: body}
	out := append([]byte(nil), prefix...)
	for r.left() > 0 && r.err == nil {
		id := r.byte()
		sub := &reader{b: r.bytes(uint64(r.u32()))}
		if r.err != nil {
			break
		}
		var p []byte
		switch id {
		case 0: // module name: one name, exactly
			if !utf8.Valid(sub.name()) {
				return nil, false
			}
			p = sub.b
		case 1: // function names
			p = rw.nameMap(sub, nil, true)
		case 2, 3: // local and label names: function index -> name map
			n := sub.count()
			p = appendU32(nil, n)
			for i := uint32(0); i < n && sub.err == nil; i++ {
				p = appendU32(p, rw.funcIndex(sub.u32()))
				p = rw.nameMap(sub, p, false)
			}
		default:
			p = sub.rest()
		}
		if sub.err != nil || sub.left() > 0 {
			return nil, false
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out, r.err == nil
}

// nameMap copies a vector of (index, name), moving function indexes when
// funcs is set.
func (rw *rewriter) nameMap(r *reader, out []byte, funcs bool) []byte {
	n := r.count()
	out = appendU32(out, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		idx := r.u32()
		if funcs {
			idx = rw.funcIndex(idx)
		}
		out = appendU32(out, idx)
		name := r.name()
		if !utf8.Valid(name) {
			r.fail("name is not UTF-8")
		}
		out = appendU32(out, uint32(len(name)))
		out = append(out, name...)
	}
	return out
}

package instrument

import "fmt"

// module holds what the rewrite needs to know, read before any section is
// rewritten.
type module struct {
	o             Options
	types         uint32
	typeParams    []uint32 // by type index
	typeResults   [][]byte // by type index
	importFuncs   uint32
	importGlobals uint32
	globals       uint32
	funcTypes     []uint32 // type index of each defined function
	seen          map[byte]bool

	// extraTypes are appended to the type section: () -> () for the
	// imports, then [] -> results for each multi-value result list a
	// function body's block needs, at blockTypes[function type].
	extraTypes [][]byte
	blockTypes map[uint32]uint32
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
				params, results := r.funcType()
				m.typeParams = append(m.typeParams, params)
				m.typeResults = append(m.typeResults, results)
			}
		case secFunction:
			for n := r.count(); n > 0 && r.err == nil; n-- {
				m.funcTypes = append(m.funcTypes, r.u32())
			}
		case secGlobal:
			m.globals = r.count()
		case secImport:
			for n := r.count(); n > 0 && r.err == nil; n-- {
				mod := r.name()
				r.name()
				if r.err == nil && string(mod) == m.o.Module {
					return fmt.Errorf("%w: %q", ErrReserved, m.o.Module)
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
		if r.err == nil && (s.id == secType || s.id == secImport || s.id == secFunction) && r.left() > 0 {
			r.fail("%d bytes after the last entry", r.left())
		}
		if r.err != nil {
			return fmt.Errorf("section %d: %w", s.id, r.err)
		}
	}
	return nil
}

// plan decides the types to append.
func (m *module) plan() error {
	m.extraTypes = [][]byte{{0x60, 0, 0}}
	m.blockTypes = map[uint32]uint32{}
	for i, t := range m.funcTypes {
		if t >= m.types {
			return fmt.Errorf("function %d has type %d of %d", m.importFuncs+uint32(i), t, m.types)
		}
		if res := m.typeResults[t]; len(res) > 1 {
			if _, ok := m.blockTypes[t]; !ok {
				m.blockTypes[t] = m.types + uint32(len(m.extraTypes))
				typ := appendU32([]byte{0x60, 0}, uint32(len(res)))
				m.extraTypes = append(m.extraTypes, append(typ, res...))
			}
		}
	}
	return nil
}

// body describes defined function i, whose locals count is locals.
func (m *module) body(i uint32, locals uint64) (*body, error) {
	if i >= uint32(len(m.funcTypes)) {
		return nil, fmt.Errorf("more function bodies than functions (%d)", len(m.funcTypes))
	}
	t := m.funcTypes[i]
	b := &body{weight: uint32(min(2+uint64(m.typeParams[t])+locals, maxWeight))}
	if n := uint64(m.typeParams[t]) + locals; n < 1<<32-1 {
		b.scratch = uint32(n)
	} else {
		return nil, fmt.Errorf("function %d has too many locals to add one", i)
	}
	switch res := m.typeResults[t]; len(res) {
	case 0:
		b.blockType = []byte{blockTypeEmpty}
	case 1:
		b.blockType = res
	default:
		b.blockType = appendS32(nil, int32(m.blockTypes[t]))
	}
	return b, nil
}

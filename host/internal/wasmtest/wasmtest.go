// Package wasmtest assembles small WebAssembly modules for tests: the
// hostile plugins that Go cannot express (garbage pointers, wrong
// signatures, missing exports), and inputs for the instrumenter. It writes
// the binary format directly, so no wat2wasm is needed.
//
// A Module is built in order: imports first (they take the lowest function
// indexes), then functions, then exports. Misuse panics: this is test code.
package wasmtest

import (
	"encoding/binary"
	"math"
)

// Value types.
const (
	I32       byte = 0x7f
	I64       byte = 0x7e
	F32       byte = 0x7d
	F64       byte = 0x7c
	V128      byte = 0x7b
	FuncRef   byte = 0x70
	ExternRef byte = 0x6f
)

// Export kinds.
const (
	KindFunc   byte = 0
	KindTable  byte = 1
	KindMemory byte = 2
	KindGlobal byte = 3
)

type funcType struct{ params, results []byte }

type importEntry struct {
	module, name string
	kind         byte
	desc         []byte
}

type function struct {
	typ    uint32
	locals []byte
	body   Code
}

type export struct {
	name string
	kind byte
	idx  uint32
}

// Module is a module being assembled.
type Module struct {
	types       []funcType
	imports     []importEntry
	importFuncs uint32
	funcs       []function
	tables      [][]byte
	memory      []byte
	globals     [][]byte
	exports     []export
	start       *uint32
	elems       [][]byte
	data        [][]byte
	customs     [][]byte
}

// Type returns the index of a function type, adding it when new.
func (m *Module) Type(params, results []byte) uint32 {
	for i, t := range m.types {
		if string(t.params) == string(params) && string(t.results) == string(results) {
			return uint32(i)
		}
	}
	m.types = append(m.types, funcType{params, results})
	return uint32(len(m.types) - 1)
}

// ImportFunc imports a function and returns its index.
func (m *Module) ImportFunc(module, name string, params, results []byte) uint32 {
	if len(m.funcs) > 0 {
		panic("wasmtest: import functions before defining any")
	}
	t := m.Type(params, results)
	m.imports = append(m.imports, importEntry{module, name, KindFunc, U32(t)})
	m.importFuncs++
	return m.importFuncs - 1
}

// ImportMemory imports a memory with min pages and no maximum.
func (m *Module) ImportMemory(module, name string, min uint32) {
	m.imports = append(m.imports, importEntry{module, name, KindMemory, append([]byte{0}, U32(min)...)})
}

// ImportGlobal imports an immutable global of type t.
func (m *Module) ImportGlobal(module, name string, t byte) {
	m.imports = append(m.imports, importEntry{module, name, KindGlobal, []byte{t, 0}})
}

// Func defines a function and returns its index. locals are the types of
// its locals after the parameters; body ends with End.
func (m *Module) Func(params, results, locals []byte, body Code) uint32 {
	m.funcs = append(m.funcs, function{m.Type(params, results), locals, body})
	return m.importFuncs + uint32(len(m.funcs)-1)
}

// Memory defines memory 0 with min pages, and max pages when max >= 0.
func (m *Module) Memory(min uint32, max int64) {
	if max < 0 {
		m.memory = append([]byte{0}, U32(min)...)
		return
	}
	m.memory = append(append([]byte{1}, U32(min)...), U32(uint32(max))...)
}

// Table defines a funcref table of min entries.
func (m *Module) Table(min uint32) uint32 {
	m.tables = append(m.tables, append([]byte{FuncRef, 0}, U32(min)...))
	return uint32(len(m.tables) - 1)
}

// Global defines a global of type t with a constant initializer (an
// expression ending with End) and returns its index among the module's own
// globals (imported globals come first).
func (m *Module) Global(t byte, mutable bool, init Code) uint32 {
	mut := byte(0)
	if mutable {
		mut = 1
	}
	m.globals = append(m.globals, append([]byte{t, mut}, init...))
	return uint32(len(m.globals) - 1)
}

// Export exports an item.
func (m *Module) Export(name string, kind byte, idx uint32) {
	m.exports = append(m.exports, export{name, kind, idx})
}

// Start sets the start function.
func (m *Module) Start(f uint32) { m.start = &f }

// Elem adds an active element segment for table 0 at offset, listing
// function indexes.
func (m *Module) Elem(offset int32, funcs ...uint32) {
	e := append([]byte{0}, new(Code).I32Const(offset).End()...)
	e = append(e, U32(uint32(len(funcs)))...)
	for _, f := range funcs {
		e = append(e, U32(f)...)
	}
	m.elems = append(m.elems, e)
}

// Data adds an active data segment for memory 0 at offset.
func (m *Module) Data(offset int32, b []byte) {
	d := append([]byte{0}, new(Code).I32Const(offset).End()...)
	m.data = append(m.data, append(append(d, U32(uint32(len(b)))...), b...))
}

// Custom adds a custom section.
func (m *Module) Custom(name string, payload []byte) {
	m.customs = append(m.customs, append(Name(name), payload...))
}

// Bytes encodes the module.
func (m *Module) Bytes() []byte {
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	vec := func(id byte, items [][]byte) {
		if len(items) == 0 {
			return
		}
		p := U32(uint32(len(items)))
		for _, it := range items {
			p = append(p, it...)
		}
		out = Section(out, id, p)
	}
	var types, imports, funcs, exports, code [][]byte
	for _, t := range m.types {
		e := append([]byte{0x60}, U32(uint32(len(t.params)))...)
		e = append(e, t.params...)
		e = append(e, U32(uint32(len(t.results)))...)
		types = append(types, append(e, t.results...))
	}
	for _, im := range m.imports {
		e := append(Name(im.module), Name(im.name)...)
		imports = append(imports, append(append(e, im.kind), im.desc...))
	}
	for _, f := range m.funcs {
		funcs = append(funcs, U32(f.typ))
		body := U32(uint32(len(f.locals)))
		for _, l := range f.locals {
			body = append(append(body, 1), l)
		}
		body = append(body, f.body...)
		code = append(code, append(U32(uint32(len(body))), body...))
	}
	for _, e := range m.exports {
		exports = append(exports, append(append(Name(e.name), e.kind), U32(e.idx)...))
	}
	vec(1, types)
	vec(2, imports)
	vec(3, funcs)
	vec(4, m.tables)
	if m.memory != nil {
		vec(5, [][]byte{m.memory})
	}
	vec(6, m.globals)
	vec(7, exports)
	if m.start != nil {
		out = Section(out, 8, U32(*m.start))
	}
	vec(9, m.elems)
	vec(10, code)
	vec(11, m.data)
	for _, c := range m.customs {
		out = Section(out, 0, c)
	}
	return out
}

// Section appends a section with its id and size.
func Section(out []byte, id byte, payload []byte) []byte {
	out = append(out, id)
	out = append(out, U32(uint32(len(payload)))...)
	return append(out, payload...)
}

// Name encodes a name (a length-prefixed UTF-8 string).
func Name(s string) []byte { return append(U32(uint32(len(s))), s...) }

// U32 encodes an unsigned LEB128.
func U32(v uint32) []byte { return binary.AppendUvarint(nil, uint64(v)) }

// S64 encodes a signed LEB128.
func S64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// Code is a function body or constant expression, built instruction by
// instruction.
type Code []byte

// Op appends raw bytes: an opcode without immediates, or anything else.
func (c *Code) Op(b ...byte) *Code { *c = append(*c, b...); return c }

func (c *Code) op(op byte, imm ...[]byte) *Code {
	*c = append(*c, op)
	for _, b := range imm {
		*c = append(*c, b...)
	}
	return c
}

// Unreachable traps.
func (c *Code) Unreachable() *Code { return c.op(0x00) }

// Block opens a block with no result.
func (c *Code) Block() *Code { return c.op(0x02, []byte{0x40}) }

// Loop opens a loop with no result.
func (c *Code) Loop() *Code { return c.op(0x03, []byte{0x40}) }

// If opens an if with no result.
func (c *Code) If() *Code { return c.op(0x04, []byte{0x40}) }

// Else starts the else branch.
func (c *Code) Else() *Code { return c.op(0x05) }

// End closes a block or the body.
func (c *Code) End() Code { *c = append(*c, 0x0b); return *c }

// EndBlock closes a block and goes on.
func (c *Code) EndBlock() *Code { return c.op(0x0b) }

// Br branches to the label depth levels out.
func (c *Code) Br(depth uint32) *Code { return c.op(0x0c, U32(depth)) }

// BrIf branches if the top of the stack is not zero.
func (c *Code) BrIf(depth uint32) *Code { return c.op(0x0d, U32(depth)) }

// Return returns.
func (c *Code) Return() *Code { return c.op(0x0f) }

// Call calls function f.
func (c *Code) Call(f uint32) *Code { return c.op(0x10, U32(f)) }

// Drop drops the top of the stack.
func (c *Code) Drop() *Code { return c.op(0x1a) }

// LocalGet pushes local i.
func (c *Code) LocalGet(i uint32) *Code { return c.op(0x20, U32(i)) }

// LocalSet pops into local i.
func (c *Code) LocalSet(i uint32) *Code { return c.op(0x21, U32(i)) }

// GlobalGet pushes global i.
func (c *Code) GlobalGet(i uint32) *Code { return c.op(0x23, U32(i)) }

// GlobalSet pops into global i.
func (c *Code) GlobalSet(i uint32) *Code { return c.op(0x24, U32(i)) }

// I32Load loads an i32 at the address on the stack plus offset.
func (c *Code) I32Load(offset uint32) *Code { return c.op(0x28, []byte{2}, U32(offset)) }

// I32Store stores an i32 (address, value on the stack) at address plus offset.
func (c *Code) I32Store(offset uint32) *Code { return c.op(0x36, []byte{2}, U32(offset)) }

// MemoryGrow grows memory 0 by the pages on the stack.
func (c *Code) MemoryGrow() *Code { return c.op(0x40, []byte{0}) }

// I32Const pushes an i32.
func (c *Code) I32Const(v int32) *Code { return c.op(0x41, S64(int64(v))) }

// I64Const pushes an i64.
func (c *Code) I64Const(v int64) *Code { return c.op(0x42, S64(v)) }

// F64Const pushes an f64.
func (c *Code) F64Const(v float64) *Code {
	return c.op(0x44, binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
}

// I32Eqz tests the top of the stack for zero.
func (c *Code) I32Eqz() *Code { return c.op(0x45) }

// I32Add adds.
func (c *Code) I32Add() *Code { return c.op(0x6a) }

// I32Sub subtracts.
func (c *Code) I32Sub() *Code { return c.op(0x6b) }

// FuncCount is the number of functions, imported and defined: the index
// the next function defined gets.
func (m *Module) FuncCount() uint32 { return m.importFuncs + uint32(len(m.funcs)) }

package instrument

// Opcodes the rewriter acts on.
const (
	opBlock           = 0x02
	opLoop            = 0x03
	opIf              = 0x04
	opElse            = 0x05
	opEnd             = 0x0b
	opReturn          = 0x0f
	opCall            = 0x10
	opReturnCall      = 0x12
	opReturnCallIndir = 0x13
	opGlobalGet       = 0x23
	opGlobalSet       = 0x24
	opI32Const        = 0x41
	opI32Eqz          = 0x45
	opI32GtU          = 0x4b
	opI32Add          = 0x6a
	opI32Sub          = 0x6b
	opRefFunc         = 0xd2
	opLocalGet        = 0x20
	opLocalSet        = 0x21
	opI64Const        = 0x42
	opI32Store        = 0x36
	opI64Store        = 0x37
	opI32Store8       = 0x3a
	opI32Store16      = 0x3b
	miscMemoryFill    = 11
	blockTypeEmpty    = 0x40
	prefixMisc        = 0xfc
	prefixSIMD        = 0xfd
	simdImmLane       = 1 // one lane byte
	simdImmMemarg     = 2
	simdImmMemargLane = 3
	simdImm16         = 4 // 16 bytes: v128.const, i8x16.shuffle
	simdInvalid       = 5
	maxSIMD           = 0xff
	maxMisc           = 17
)

// rewriter rewrites instructions: it shifts function indexes past the new
// imports, puts the budget check at every loop header and at every
// function's entry (the only ways code runs without bound: a loop, or calls
// of any kind, which branching recursion makes 2^n of within any depth
// limit), and keeps the call depth accounts of every function body.
type rewriter struct {
	importFuncs uint32 // function imports of the original module
	added       uint32 // imports added after them
	check       []byte // the loop header check
	depth       uint32 // global index of the depth counter
	overflow    uint32 // function index of the overflow import
	maxDepth    uint32
	maxTable    uint32 // entries of all tables together; 0: no bound
}

func (rw *rewriter) funcIndex(f uint32) uint32 {
	if f >= rw.importFuncs {
		return f + rw.added
	}
	return f
}

// checkSequence returns the code put at a loop header and a function's
// entry:
//
//	global.get $budget; i32.const 1; i32.sub; global.set $budget
//	global.get $budget; i32.eqz
//	if; call $yield; i32.const every; global.set $budget; end
//
// Only globals: a body's locals are left alone.
func checkSequence(budget, yield, every uint32) []byte {
	b := appendU32([]byte{opGlobalGet}, budget)
	b = append(b, opI32Const, 1, opI32Sub, opGlobalSet)
	b = appendU32(b, budget)
	b = appendU32(append(b, opGlobalGet), budget)
	b = append(b, opI32Eqz, opIf, blockTypeEmpty, opCall)
	b = appendU32(b, yield)
	b = appendS32(append(b, opI32Const), int32(every))
	b = appendU32(append(b, opGlobalSet), budget)
	return append(b, opEnd)
}

// enter is a function's prologue: the depth grows by its weight, and past
// the maximum the overflow import is called.
//
//	global.get $depth; i32.const w; i32.add; global.set $depth
//	global.get $depth; i32.const max; i32.gt_u; if; call $overflow; end
func (rw *rewriter) enter(out []byte, w uint32) []byte {
	out = appendU32(append(out, opGlobalGet), rw.depth)
	out = appendS32(append(out, opI32Const), int32(w))
	out = appendU32(append(out, opI32Add, opGlobalSet), rw.depth)
	out = appendU32(append(out, opGlobalGet), rw.depth)
	out = appendS32(append(out, opI32Const), int32(rw.maxDepth))
	out = appendU32(append(out, opI32GtU, opIf, blockTypeEmpty, opCall), rw.overflow)
	return append(out, opEnd)
}

// leave gives the weight back, before every way out of the function.
func (rw *rewriter) leave(out []byte, w uint32) []byte {
	out = appendU32(append(out, opGlobalGet), rw.depth)
	out = appendS32(append(out, opI32Const), int32(w))
	return appendU32(append(out, opI32Sub, opGlobalSet), rw.depth)
}

// body describes the function whose code expr rewrites.
type body struct {
	weight    uint32 // its stack weight: parameters, locals and a frame
	blockType []byte // a block type for its results
	scratch   uint32 // the index an i32 local added after the others gets
	// usedScratch is set when the rewrite used that local: code then
	// declares it.
	usedScratch bool
}

// maxInlineFill is the largest memory.fill of a constant size that is
// rewritten as stores.
const maxInlineFill = 256

// smallZeroFill reports whether the code at b[start:] is
//
//	i32.const 0; i32.const n; memory.fill 0
//
// with 1 <= n <= maxInlineFill, and where it ends. Go's compiler emits it to
// zero every stack object over 32 bytes (and the pointer slots of many
// frames), and wazero runs memory.fill as a loop of calls to Go's memmove
// that doubles the bytes copied each time: for 100 bytes, about 40 ns,
// where stores take a few.
func smallZeroFill(b []byte, start int) (n uint32, end int, ok bool) {
	r := &reader{b: b, off: start}
	if r.byte() != opI32Const || r.byte() != 0 || r.byte() != opI32Const {
		return 0, 0, false
	}
	size := r.leb(5)
	if r.byte() != prefixMisc || r.u32() != miscMemoryFill || r.byte() != 0 || r.err != nil {
		return 0, 0, false
	}
	if size == 0 || size > maxInlineFill { // a negative size reads as huge
		return 0, 0, false
	}
	return uint32(size), r.off, true
}

// zeroStores zeroes the n bytes at the address on the stack with stores:
//
//	local.set $scratch
//	local.get $scratch; i64.const 0; i64.store offset=k   (every 8 bytes)
//	... then i32, i16 and i8 stores for the tail
//
// A store past the end of memory traps where memory.fill would have trapped
// before writing anything; the host throws away an instance that trapped, so
// the bytes written first are never seen.
func zeroStores(out []byte, scratch, n uint32) []byte {
	out = appendU32(append(out, opLocalSet), scratch)
	k := uint32(0)
	store := func(constOp, storeOp, align byte) {
		out = appendU32(append(out, opLocalGet), scratch)
		out = append(out, constOp, 0, storeOp, align)
		out = appendU32(out, k)
	}
	for ; k+8 <= n; k += 8 {
		store(opI64Const, opI64Store, 3)
	}
	if n-k >= 4 {
		store(opI32Const, opI32Store, 2)
		k += 4
	}
	if n-k >= 2 {
		store(opI32Const, opI32Store16, 1)
		k += 2
	}
	if n-k == 1 {
		store(opI32Const, opI32Store8, 0)
	}
	return out
}

// expr copies one expression or function body (instructions up to the end
// that closes it) from r to out. For a function body (fn not nil) the
// original code is wrapped in a block typed with the function's results:
//
//	enter; block; <code>; end; leave; end
//
// so that a branch to the function's label, which now lands on the block's
// end, passes the leave too, as does falling off the end; return and tail
// calls leave first.
func (rw *rewriter) expr(r *reader, out []byte, fn *body) []byte {
	if fn != nil {
		out = rw.enter(out, fn.weight)
		out = append(out, rw.check...)
		out = append(append(out, opBlock), fn.blockType...)
	}
	depth := 0
	for r.err == nil {
		start := r.off
		op := r.byte()
		switch {
		case op == opBlock || op == opIf:
			r.blockType()
			depth++
		case op == opLoop:
			r.blockType()
			depth++
			if fn != nil {
				out = append(out, r.b[start:r.off]...)
				out = append(out, rw.check...)
				continue
			}
		case op == opEnd:
			if depth == 0 {
				if fn != nil {
					out = rw.leave(append(out, opEnd), fn.weight)
				}
				return append(out, op)
			}
			depth--
		case op == opReturn && fn != nil:
			out = rw.leave(out, fn.weight)
		case op == opI32Const && fn != nil:
			if n, end, ok := smallZeroFill(r.b, start); ok {
				out = zeroStores(out, fn.scratch, n)
				fn.usedScratch = true
				r.off = end
				continue
			}
			r.leb(5)
		case op == opCall || op == opReturnCall || op == opRefFunc:
			if op == opReturnCall && fn != nil {
				out = rw.leave(out, fn.weight)
			}
			out = append(out, op)
			out = appendU32(out, rw.funcIndex(r.u32()))
			continue
		case op == opReturnCallIndir:
			if fn != nil {
				out = rw.leave(out, fn.weight)
			}
			r.u32()
			r.u32()
		default:
			r.immediates(op)
		}
		out = append(out, r.b[start:r.off]...)
	}
	return out
}

func (r *reader) blockType() {
	switch c := r.peek(); {
	case c == blockTypeEmpty || isValueType(c):
		r.byte()
	default:
		if v := r.leb(5); v&(1<<32) != 0 {
			r.fail("negative block type index")
		}
	}
}

func (r *reader) peek() byte {
	if r.err != nil || r.left() < 1 {
		return 0
	}
	return r.b[r.off]
}

func isValueType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return true
	}
	return false
}

// immediates skips the immediates of every other instruction of WebAssembly
// 2.0 (what wazero accepts by default), and refuses anything else.
func (r *reader) immediates(op byte) {
	switch {
	case op == 0x00 || op == 0x01 || op == opElse || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1:
	case op == 0x0c || op == 0x0d: // br, br_if
		r.u32()
	case op == 0x0e: // br_table
		for n := r.count(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x11: // call_indirect
		r.u32()
		r.u32()
	case op == 0x1c: // select t*
		for n := r.count(); n > 0 && r.err == nil; n-- {
			if !isValueType(r.byte()) {
				r.fail("select: bad value type")
			}
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.u32()
		r.u32()
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == opI32Const:
		r.leb(5)
	case op == 0x42:
		r.leb(10)
	case op == 0x43:
		r.bytes(4)
	case op == 0x44:
		r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric
	case op == 0xd0: // ref.null t
		if c := r.byte(); c != 0x70 && c != 0x6f {
			r.fail("ref.null: bad reference type 0x%02x", c)
		}
	case op == prefixMisc:
		r.misc()
	case op == prefixSIMD:
		r.simd()
	default:
		r.off--
		r.fail("unsupported instruction 0x%02x", op)
	}
}

func (r *reader) misc() {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub <= maxMisc: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		r.fail("unsupported instruction 0xfc %d", sub)
	}
}

func (r *reader) simd() {
	sub := r.u32()
	if sub > maxSIMD {
		r.fail("unsupported instruction 0xfd %d", sub)
		return
	}
	switch simdImm[sub] {
	case simdImmLane:
		r.byte()
	case simdImmMemarg:
		r.u32()
		r.u32()
	case simdImmMemargLane:
		r.u32()
		r.u32()
		r.byte()
	case simdImm16:
		r.bytes(16)
	case simdInvalid:
		r.fail("unsupported instruction 0xfd %d", sub)
	}
}

// simdImm gives the immediates of each SIMD opcode; the zero value is none.
var simdImm = func() (t [maxSIMD + 1]byte) {
	for i := 0x00; i <= 0x0b; i++ {
		t[i] = simdImmMemarg
	}
	t[0x0c], t[0x0d] = simdImm16, simdImm16
	for i := 0x15; i <= 0x22; i++ {
		t[i] = simdImmLane
	}
	for i := 0x54; i <= 0x5b; i++ {
		t[i] = simdImmMemargLane
	}
	t[0x5c], t[0x5d] = simdImmMemarg, simdImmMemarg
	for _, i := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[i] = simdInvalid
	}
	return t
}()

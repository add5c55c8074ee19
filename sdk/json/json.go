package json

import (
	"strconv"
	"unsafe"
)

// Kind is the type of a JSON value.
type Kind uint8

// Kinds of values. Missing is the zero Kind: no value at the path asked for,
// or a document that is malformed where it was read.
const (
	Missing Kind = iota
	Null
	Bool
	Number
	String
	Object
	Array
)

var kindNames = [...]string{"missing", "null", "bool", "number", "string", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one JSON value inside a document: its bytes, which alias the
// document, and its kind. The zero Value is Missing.
type Value struct {
	raw  []byte
	kind Kind
}

// Parse returns the document's top-level value (leading and trailing space
// allowed; anything else after the value makes it Missing).
func Parse(doc []byte) Value {
	i := skipSpace(doc, 0)
	end, k := value(doc, i)
	if k == Missing || skipSpace(doc, end) != len(doc) {
		return Value{}
	}
	return Value{doc[i:end], k}
}

// Get returns the value at path in doc: each element is an object key, or,
// where the value is an array, a decimal index into it. Get(doc) is
// Parse(doc). When an object has a key twice the last one counts, as in
// encoding/json.
func Get(doc []byte, path ...string) Value {
	i := skipSpace(doc, 0)
	if len(path) == 0 || i >= len(doc) || doc[i] != '{' {
		return Parse(doc).Get(path...)
	}
	// One pass over the top-level object finds the member and its end,
	// instead of a pass to check the document and another to search it.
	v, end := Value{doc[i:], Object}.member(path[0])
	if end < 0 || skipSpace(doc, i+end) != len(doc) {
		return Value{}
	}
	return v.Get(path[1:]...)
}

// Get returns the value at path below v (see the package function Get).
func (v Value) Get(path ...string) Value {
	for _, p := range path {
		switch v.kind {
		case Object:
			v, _ = v.member(p)
		case Array:
			v = v.index(p)
		default:
			return Value{}
		}
		if v.kind == Missing {
			return v
		}
	}
	return v
}

// member returns the last member of object v named key, and the index in
// v.raw past the object's closing brace (-1 when it is malformed). v.raw
// starts at the opening brace and may run past the closing one.
func (v Value) member(key string) (Value, int) {
	b := v.raw
	found := Value{}
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return found, i + 1
	}
	for i < len(b) {
		if b[i] != '"' {
			break
		}
		kend, ok := stringEnd(b, i)
		if !ok {
			break
		}
		match := equalString(b[i+1:kend-1], key)
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			break
		}
		i = skipSpace(b, i+1)
		end, k := value(b, i)
		if k == Missing {
			break
		}
		if match {
			found = Value{b[i:end], k}
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == '}' {
			return found, i + 1
		}
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = skipSpace(b, i+1)
	}
	return Value{}, -1
}

// index returns element p (decimal) of array v.
func (v Value) index(p string) Value {
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || strconv.Itoa(n) != p {
		return Value{}
	}
	it := v.Iter()
	for it.Next() {
		if n == 0 {
			return it.Value()
		}
		n--
	}
	return Value{}
}

// Kind is the value's kind.
func (v Value) Kind() Kind { return v.kind }

// Exists reports whether there is a value (null is one).
func (v Value) Exists() bool { return v.kind != Missing }

// Raw is the value's JSON text, aliasing the document; nil when Missing.
func (v Value) Raw() []byte { return v.raw }

// Bool returns a boolean's value; ok is false for any other kind.
func (v Value) Bool() (b, ok bool) {
	if v.kind != Bool {
		return false, false
	}
	return v.raw[0] == 't', true
}

// Float returns a number as the nearest float64, as encoding/json decodes
// it; ok is false for another kind or a number out of float64's range.
func (v Value) Float() (float64, bool) {
	if v.kind != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v.raw), len(v.raw)), 64)
	return f, err == nil
}

// Int returns a number written as an integer (no fraction or exponent) that
// fits in an int64; ok is false otherwise.
func (v Value) Int() (int64, bool) {
	if v.kind != Number {
		return 0, false
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(v.raw), len(v.raw)), 10, 64)
	return n, err == nil
}

// AppendString appends a string's decoded text (escapes resolved, invalid
// UTF-8 and unpaired surrogates replaced by U+FFFD as encoding/json does)
// to dst; ok is false for another kind. With a dst of enough capacity it
// does not allocate.
func (v Value) AppendString(dst []byte) ([]byte, bool) {
	if v.kind != String {
		return dst, false
	}
	return appendString(dst, v.raw[1:len(v.raw)-1]), true
}

// Text returns a string's decoded text; it allocates only when the string
// has escapes or invalid UTF-8 (otherwise it aliases the document, so keep
// it no longer than the document's bytes). ok is false for another kind.
func (v Value) Text() (string, bool) {
	if v.kind != String {
		return "", false
	}
	s := v.raw[1 : len(v.raw)-1]
	for _, c := range s {
		if c == '\\' || c >= 0x80 {
			return string(appendString(nil, s)), true
		}
	}
	return unsafe.String(unsafe.SliceData(s), len(s)), true
}

// Equal reports whether v is a string whose decoded text is s, without
// allocating.
func (v Value) Equal(s string) bool {
	return v.kind == String && equalString(v.raw[1:len(v.raw)-1], s)
}

// Iter walks the elements of an array without allocating:
//
//	for it := v.Iter(); it.Next(); {
//		e := it.Value()
//	}
type Iter struct {
	b   []byte
	i   int
	cur Value
}

// Iter returns an iterator over v's elements; it yields nothing unless v
// is an array.
func (v Value) Iter() Iter {
	if v.kind != Array {
		return Iter{}
	}
	return Iter{b: v.raw, i: 0}
}

// Next moves to the next element and reports whether there is one; it
// stops early, returning false, at a malformed element.
func (it *Iter) Next() bool {
	b := it.b
	if it.i >= len(b) {
		return false
	}
	i := skipSpace(b, it.i+1) // past '[' or ','
	if it.i == 0 && i < len(b) && b[i] == ']' {
		it.i = len(b)
		return false
	}
	end, k := value(b, i)
	if k == Missing {
		it.i = len(b)
		return false
	}
	it.cur = Value{b[i:end], k}
	it.i = skipSpace(b, end)
	if it.i >= len(b) || (b[it.i] != ',' && b[it.i] != ']') {
		it.i = len(b)
		return false
	}
	if b[it.i] == ']' {
		it.i = len(b) // the element is good; the next call ends
	}
	return true
}

// Value is the element Next moved to.
func (it *Iter) Value() Value { return it.cur }

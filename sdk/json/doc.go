// Package json reads fields of JSON documents without decoding them, for
// plugins that look at one or two fields of every record: Get finds the
// value at a key path and returns it as a Value that aliases the document,
// whose methods read it as a string, number or bool; Iter walks an array;
// Set and SetString change or add one top-level member. None of them
// allocates (Text allocates only for a string with escapes), so a plugin
// that filters or routes on a field costs no garbage per record.
//
//	if n, ok := json.Get(r.Value, "favorite_number").Float(); ok && n > 500 { ... }
//	if json.Get(r.Value, "user", "country").Equal("NO") { ... }
//	for it := json.Get(r.Value, "items").Iter(); it.Next(); { it.Value() ... }
//	out, err := json.SetString(buf[:0], r.Value, "region", "eu")
//
// # What it agrees with
//
// On a well-formed document every result is what encoding/json gives for
// the same document decoded into an interface{} (fuzz tests hold the two
// together): keys and strings compare after their escapes are resolved,
// a key given twice means its last value, invalid UTF-8 and unpaired
// surrogates read as U+FFFD, numbers parse as encoding/json parses them.
// The reader checks the structure it walks through and the value it
// returns, but not the parts of the document it skips over (the insides of
// objects and arrays off the path): on a malformed document it may find a
// value or return Missing, and it never panics or reads out of bounds.
//
// The package depends on the standard library only; it is part of the Go
// guest SDK, and the same reader exists for C (sdk/c/wasmhost_json.h) and
// AssemblyScript (sdk/as/json.ts). It holds no state: any goroutine may call
// it, and a Value is valid as long as the document's bytes are.
package json

// Command inittrap is a plugin whose initializer panics: it compiles and
// has the right exports, but no instance of it can start.
package main

import "github.com/wasmhost/wasmhost/sdk"

func init() {
	sdk.OnRecord(func(r *sdk.Record) error { return nil })
	panic("inittrap: refusing to start")
}

func main() {}

// Command forward is a wasmhost plugin that copies every record, key, value
// and headers, to the topic named by its config key "to". Without "to",
// every record fails with the error `forward: config "to" is not set`.
//
// It is the passthrough plugin of the tests and benchmarks, and allocates
// nothing per record.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o forward.wasm ./plugins/forward
package main

import (
	"errors"

	"github.com/wasmhost/wasmhost/sdk"
)

var errNoTo = errors.New(`forward: config "to" is not set`)

// to is the destination topic, read from the config on the first record.
var to struct {
	topic string
	read  bool
}

func init() { sdk.OnRecord(forward) }

func forward(r *sdk.Record) error {
	// The check calls out of line on its rare path, which keeps the hot
	// path free of taken branches: they cost in a Go guest.
	if to.topic == "" && !readTo() {
		return errNoTo
	}
	return sdk.Produce(to.topic, r.Key, r.Value, r.Headers...)
}

// readTo reads the destination from the config, once, and reports whether
// it is set.
//
//go:noinline
func readTo() bool {
	if !to.read {
		to.topic, _ = sdk.Config("to")
		to.read = true
	}
	return to.topic != ""
}

func main() {}

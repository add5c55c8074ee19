// Command versionb forwards every record to config "to", headers kept,
// adding version=B and instance=<the instance's start time in unix
// nanoseconds>. With versiona it is the pair of plugin versions the reload
// tests swap back and forth; the instance header lets them check that each
// partition's outputs switch instance cleanly, at one input offset.
package main

import (
	"strconv"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

const version = "B"

var instance = []byte(strconv.FormatInt(time.Now().UnixNano(), 10))

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		to, _ := sdk.Config("to")
		hs := append(r.Headers, sdk.Header{Key: "version", Value: []byte(version)}, sdk.Header{Key: "instance", Value: instance})
		return sdk.Produce(to, r.Key, r.Value, hs...)
	})
}

func main() {}

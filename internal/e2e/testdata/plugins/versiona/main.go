// Command versiona forwards every record to config "to", headers kept,
// adding the header version=A: with versionb it is the pair of
// plugin versions the reload tests swap back and forth.
package main

import "github.com/wasmhost/wasmhost/sdk"

const version = "A"

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		to, _ := sdk.Config("to")
		hs := append(r.Headers, sdk.Header{Key: "version", Value: []byte(version)})
		return sdk.Produce(to, r.Key, r.Value, hs...)
	})
}

func main() {}

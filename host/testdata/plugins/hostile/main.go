// Command hostile misbehaves on demand, by record value: "panic" panics,
// "loop" never returns, "fail" returns an error, "forbidden" produces to a
// topic outside the allowlist, "big" produces a 2 MiB record; anything else
// is forwarded to config "to".
package main

import (
	"errors"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		to, _ := sdk.Config("to")
		switch string(r.Value) {
		case "panic":
			panic("hostile: asked to panic at offset " + string(rune('0'+r.Offset%10)))
		case "loop":
			for {
			}
		case "fail":
			return errors.New("hostile: asked to fail")
		case "forbidden":
			return sdk.Produce("forbidden-topic", r.Key, r.Value)
		case "big":
			return sdk.Produce(to, r.Key, make([]byte, 2<<20))
		}
		return sdk.Produce(to, r.Key, r.Value, r.Headers...)
	})
}

func main() {}

// Command hostile misbehaves on demand, by record value:
//
//	panic      panics
//	loop       never returns
//	sleep      sleeps for an hour
//	bomb       allocates until memory runs out
//	fail       returns an error
//	forbidden  produces to "forbidden-topic", outside any allowlist
//	big        produces a 2 MiB record
//	flood      produces 5,000 small records
//	heavy      produces 10 records of 900 KiB
//	probe      tries the filesystem, environment, arguments and network,
//	           and produces what it got (see probe.go)
//
// Anything else is forwarded to config "to". The environment variable
// HOSTILE_INIT, when granted, makes the init function "panic" or "loop".
package main

import (
	"errors"
	"os"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

// hoard keeps what "bomb" allocates reachable.
var hoard [][]byte

func init() {
	switch os.Getenv("HOSTILE_INIT") {
	case "panic":
		panic("hostile: asked to panic in init")
	case "loop":
		for {
		}
	}
	sdk.OnRecord(handle)
}

func handle(r *sdk.Record) error {
	to, _ := sdk.Config("to")
	switch string(r.Value) {
	case "panic":
		panic("hostile: asked to panic at offset " + string(rune('0'+r.Offset%10)))
	case "loop":
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "bomb":
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case "fail":
		return errors.New("hostile: asked to fail")
	case "forbidden":
		return sdk.Produce("forbidden-topic", r.Key, r.Value)
	case "big":
		return sdk.Produce(to, r.Key, make([]byte, 2<<20))
	case "flood":
		for range 5000 {
			if err := sdk.Produce(to, r.Key, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	case "heavy":
		for range 10 {
			if err := sdk.Produce(to, r.Key, make([]byte, 900<<10)); err != nil {
				return err
			}
		}
		return nil
	case "probe":
		return sdk.Produce(to, r.Key, probe())
	}
	return sdk.Produce(to, r.Key, r.Value, r.Headers...)
}

func main() {}

// Command wordcount counts records per key in the state store and produces,
// for each record, the key's count so far to the topic "to" (config), keyed
// by the key: the word count of Kafka Streams' exactly-once system test.
// With trap_every = N (config) an instance traps at every Nth record it
// handles, after changing the state: the host must take the change back.
package main

import (
	"strconv"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() { sdk.OnRecord(count) }

var handled int // by this instance: a new instance starts again at 0

func count(r *sdk.Record) error {
	to, _ := sdk.Config("to")
	every, _ := sdk.Config("trap_every")
	n := 0
	v, ok, err := sdk.State.Get(r.Key)
	if err != nil {
		return err
	}
	if ok {
		if n, err = strconv.Atoi(string(v)); err != nil {
			return err
		}
	}
	n++
	c := strconv.AppendInt(nil, int64(n), 10)
	if err := sdk.State.Put(r.Key, c); err != nil {
		return err
	}
	handled++
	if e, _ := strconv.Atoi(every); e > 0 && handled%e == 0 {
		panic("wordcount: trap_every")
	}
	return sdk.Produce(to, r.Key, c)
}

func main() {}

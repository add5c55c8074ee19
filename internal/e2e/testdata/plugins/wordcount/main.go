// Command wordcount counts records per key in the state store and produces,
// for each record, the key's count so far to the topic "to" (config), keyed
// by the key: the word count of Kafka Streams' exactly-once system test.
package main

import (
	"strconv"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() { sdk.OnRecord(count) }

func count(r *sdk.Record) error {
	to, _ := sdk.Config("to")
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
	return sdk.Produce(to, r.Key, c)
}

func main() {}

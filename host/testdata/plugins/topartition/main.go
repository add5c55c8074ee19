// Command topartition is a test plugin that produces each record to topic
// "out" and the partition its value names ("-1" for by key).
package main

import (
	"strconv"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		p, err := strconv.Atoi(string(r.Value))
		if err != nil {
			return err
		}
		return sdk.ProduceRecord(&sdk.Record{Topic: "out", Partition: int32(p), Key: r.Key, Value: r.Value})
	})
}

func main() {}

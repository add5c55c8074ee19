//go:build !wasip1

package sdk_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

// In a plugin, handlers are registered in init and the host calls them. Here
// RunStubBatch and RunStubTick (test-only hooks) play the host's part
// natively and print the calls the plugin made.

func ExampleOnRecord() {
	sdk.OnRecord(func(r *sdk.Record) error {
		if len(r.Value) == 0 {
			return errors.New("empty value") // fails this record only
		}
		return sdk.Produce("shouted", r.Key, bytes.ToUpper(r.Value), r.Headers...)
	})

	fmt.Print(sdk.RunStubBatch(nil,
		sdk.Record{Topic: "in", Offset: 7, Key: []byte("a"), Value: []byte("hello")},
		sdk.Record{Topic: "in", Offset: 8, Key: []byte("b"), Value: nil},
		sdk.Record{Topic: "in", Offset: 9, Key: []byte("c"), Value: []byte("bye"),
			Headers: []sdk.Header{{Key: "trace", Value: []byte("x1")}}},
	))
	// Output:
	// record_fail 1 "empty value"
	// produce -> ok
	//   input=0 topic=shouted partition=-1 key="a" value="HELLO"
	//   input=2 topic=shouted partition=-1 key="c" value="BYE" header[trace]="x1"
	// status ok
}

func ExampleProduce() {
	// A source: one record per tick. Records produced in a tick have no
	// input record; they get the tick's time as timestamp.
	n := 0
	sdk.OnTick(func(now time.Time) error {
		n++
		return sdk.Produce("counter", nil, fmt.Appendf(nil, "tick %d", n))
	})

	fmt.Print(sdk.RunStubTick(nil, time.UnixMilli(1700000000000)))
	// Output:
	// produce -> ok
	//   input=none topic=counter partition=-1 key="" value="tick 1"
	// status ok
}

func ExampleProduceRecord() {
	sdk.OnRecord(func(r *sdk.Record) error {
		return sdk.ProduceRecord(&sdk.Record{
			Topic:     "audit",
			Partition: -1, // by key; the zero value would mean partition 0
			Key:       r.Key,
			Value:     r.Value,
			Headers:   []sdk.Header{{Key: "source", Value: []byte(r.Topic)}},
		})
	})

	fmt.Print(sdk.RunStubBatch(nil, sdk.Record{Topic: "in", Key: []byte("k"), Value: []byte("v")}))
	// Output:
	// produce -> ok
	//   input=0 topic=audit partition=-1 key="k" value="v" header[source]="in"
	// status ok
}

func ExampleConfig() {
	sdk.OnRecord(func(r *sdk.Record) error {
		to, ok := sdk.Config("to")
		if !ok {
			return errors.New(`config "to" is not set`)
		}
		consumer, _ := sdk.Config("wasmhost.consumer")
		sdk.Infof("consumer %s forwards offset %d to %s", consumer, r.Offset, to)
		return sdk.Produce(to, r.Key, r.Value)
	})

	cfg := map[string]string{"to": "copy", "wasmhost.consumer": "wasmhost-copy-0"}
	fmt.Print(sdk.RunStubBatch(cfg, sdk.Record{Topic: "in", Offset: 3, Value: []byte("v")}))
	// Output:
	// log info "consumer wasmhost-copy-0 forwards offset 3 to copy"
	// produce -> ok
	//   input=0 topic=copy partition=-1 key="" value="v"
	// status ok
}

// Command inplace is a test plugin for produce by reference: for each record
// it changes the value in place, then produces it, a part of it, and the
// value of the record before it (still in the batch).
package main

import "github.com/wasmhost/wasmhost/sdk"

var prev []byte

func init() {
	sdk.OnRecord(func(r *sdk.Record) error {
		if len(r.Value) > 0 {
			r.Value[0] = '!'
		}
		if err := sdk.Produce("out", r.Key, r.Value, r.Headers...); err != nil {
			return err
		}
		if err := sdk.Produce("out", nil, r.Value[min(1, len(r.Value)):]); err != nil {
			return err
		}
		if prev != nil && r.Offset%2 == 1 {
			if err := sdk.Produce("out", nil, prev); err != nil {
				return err
			}
		}
		prev = r.Value
		if r.Offset%2 == 1 {
			prev = nil
		}
		return nil
	})
}

func main() {}

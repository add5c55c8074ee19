// Command counter is an example wasmhost plugin: a windowed counter driven
// by ticks, kept in the state store. Records are counted per key as they
// arrive and produce nothing; each tick closes the window, producing one
// record per key seen in it, then starts the next. The window lives in the
// host's state store (sdk.State), not in the instance's memory, so it
// survives a trap, a new plugin version, a rebalance and a restart, and
// under exactly-once each count is produced exactly once.
//
// Config:
//
//	to  the topic the counts go to (required)
//
// A count record has the counted key as its key and the value
//
//	{"key":"web-1","count":3,"window_end":"2024-01-01T00:00:01Z"}
//
// with "window_start" too, from the second window on (the previous tick).
//
// State: "c/<key>" holds a key's count in the open window (decimal), and
// "window_start" the time the window began (RFC 3339).
package main

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() {
	sdk.OnRecord(count)
	sdk.OnTick(emit)
}

var errNoTo = errors.New(`counter: config "to" is required`)

// countPrefix starts every count's key in the store.
const countPrefix = "c/"

var startKey = []byte("window_start")

func count(r *sdk.Record) error {
	k := append([]byte(countPrefix), r.Key...)
	n := 0
	v, ok, err := sdk.State.Get(k)
	if err != nil {
		return err
	}
	if ok {
		if n, err = strconv.Atoi(string(v)); err != nil {
			return err
		}
	}
	return sdk.State.Put(k, strconv.AppendInt(nil, int64(n+1), 10))
}

type countValue struct {
	Key         string `json:"key"`
	Count       int    `json:"count"`
	WindowStart string `json:"window_start,omitempty"`
	WindowEnd   string `json:"window_end"`
}

func emit(now time.Time) error {
	to, _ := sdk.Config("to")
	if to == "" {
		return errNoTo
	}
	v := countValue{WindowEnd: now.UTC().Format(time.RFC3339)}
	start, ok, err := sdk.State.Get(startKey)
	if err != nil {
		return err
	}
	if ok {
		v.WindowStart = string(start)
	}
	var done [][]byte
	var failed error
	err = sdk.State.Prefix([]byte(countPrefix), func(k, c []byte) bool {
		v.Key = string(k[len(countPrefix):])
		if v.Count, failed = strconv.Atoi(string(c)); failed != nil {
			return false
		}
		b, err := json.Marshal(v)
		if err == nil {
			err = sdk.Produce(to, []byte(v.Key), b)
		}
		if failed = err; err != nil {
			return false
		}
		done = append(done, append([]byte(nil), k...))
		return true
	})
	if err = errors.Join(err, failed); err != nil {
		return err
	}
	for _, k := range done {
		if err := sdk.State.Delete(k); err != nil {
			return err
		}
	}
	sdk.Infof("window to %s: %d keys", v.WindowEnd, len(done))
	return sdk.State.Put(startKey, []byte(now.UTC().Format(time.RFC3339)))
}

func main() {}

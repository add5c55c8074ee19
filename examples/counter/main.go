// Command counter is an example wasmhost plugin: a windowed counter driven
// by ticks. Records are counted per key as they arrive and produce nothing;
// each tick closes the window, producing one record per key seen in it, then
// starts the next. The window is the instance's memory: it is lost if the
// instance is replaced (after a trap), which a counter of this kind accepts.
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
package main

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() {
	sdk.OnRecord(count)
	sdk.OnTick(emit)
}

type window struct {
	counts map[string]int
	start  time.Time // zero for the first window
}

var current = window{counts: map[string]int{}}

var errNoTo = errors.New(`counter: config "to" is required`)

func count(r *sdk.Record) error {
	current.counts[string(r.Key)]++
	return nil
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
	keys := make([]string, 0, len(current.counts))
	for k := range current.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	v := countValue{WindowEnd: now.UTC().Format(time.RFC3339)}
	if !current.start.IsZero() {
		v.WindowStart = current.start.UTC().Format(time.RFC3339)
	}
	for _, k := range keys {
		v.Key, v.Count = k, current.counts[k]
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := sdk.Produce(to, []byte(k), b); err != nil {
			return err
		}
	}
	sdk.Infof("window to %s: %d keys", v.WindowEnd, len(keys))
	current = window{counts: map[string]int{}, start: now}
	return nil
}

func main() {}

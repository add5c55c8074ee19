// Command filter is an example wasmhost plugin: it drops records by a field
// of their JSON value and forwards the rest, key, value and headers intact.
//
// Config:
//
//	field  the field to look at; dots reach into nested objects ("user.tier")
//	drop   comma-separated values to drop ("debug,trace"); a number or
//	       boolean field matches its JSON text as written ("42", "true")
//	to     the topic to forward to
//
// A record whose value is not a JSON object fails (the pipeline's failure
// policy decides what happens to it); one without the field is forwarded.
// The field is read with the SDK's JSON reader, sdk/json, which finds it
// without decoding the record or allocating.
package main

import (
	"errors"
	"strings"

	"github.com/wasmhost/wasmhost/sdk"
	"github.com/wasmhost/wasmhost/sdk/json"
)

func init() { sdk.OnRecord(filter) }

var errNotObject = errors.New("value is not a JSON object")

// settings are read from the config once, on the first record.
var settings struct {
	loaded bool
	err    error
	path   []string
	drop   map[string]bool
	to     string
}

func load() error {
	if settings.loaded {
		return settings.err
	}
	settings.loaded = true
	field, _ := sdk.Config("field")
	drop, _ := sdk.Config("drop")
	to, _ := sdk.Config("to")
	if field == "" || to == "" {
		settings.err = errors.New(`filter: config "field" and "to" are required`)
		return settings.err
	}
	settings.path, settings.to = strings.Split(field, "."), to
	settings.drop = map[string]bool{}
	for _, v := range strings.Split(drop, ",") {
		if v = strings.TrimSpace(v); v != "" {
			settings.drop[v] = true
		}
	}
	return nil
}

func filter(r *sdk.Record) error {
	if err := load(); err != nil {
		return err
	}
	if json.Parse(r.Value).Kind() != json.Object {
		return errNotObject
	}
	if settings.drop[text(json.Get(r.Value, settings.path...))] {
		return nil // dropped: handled, nothing produced
	}
	return sdk.Produce(settings.to, r.Key, r.Value, r.Headers...)
}

// text is a string's content or any other value's JSON text; "" when the
// field is missing, which no drop entry matches.
func text(v json.Value) string {
	if s, ok := v.Text(); ok {
		return s
	}
	return string(v.Raw())
}

func main() {}

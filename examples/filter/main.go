// Command filter is an example wasmhost plugin: it drops records by a field
// of their JSON value and forwards the rest, key, value and headers intact.
//
// Config:
//
//	field  the field to look at; dots reach into nested objects ("user.tier")
//	drop   comma-separated values to drop ("debug,trace"); a number or
//	       boolean field matches its JSON text ("42", "true")
//	to     the topic to forward to
//
// A record whose value is not a JSON object fails (the pipeline's failure
// policy decides what happens to it); one without the field is forwarded.
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/wasmhost/wasmhost/sdk"
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
		settings.drop[strings.TrimSpace(v)] = true
	}
	return nil
}

func filter(r *sdk.Record) error {
	if err := load(); err != nil {
		return err
	}
	v, found, err := lookup(r.Value, settings.path)
	if err != nil {
		return err
	}
	if found && settings.drop[v] {
		return nil // dropped: handled, nothing produced
	}
	return sdk.Produce(settings.to, r.Key, r.Value, r.Headers...)
}

// lookup returns the text of the field at path in a JSON object: a string's
// content, or any other value's JSON.
func lookup(value []byte, path []string) (string, bool, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(value, &obj) != nil || obj == nil {
		return "", false, errNotObject
	}
	for i, name := range path {
		raw, ok := obj[name]
		if !ok {
			return "", false, nil
		}
		if i == len(path)-1 {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return s, true, nil
			}
			return string(raw), true, nil
		}
		obj = nil
		if json.Unmarshal(raw, &obj) != nil {
			return "", false, nil // not an object: the path does not exist
		}
	}
	return "", false, nil
}

func main() {}

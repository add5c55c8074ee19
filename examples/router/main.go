// Command router is an example wasmhost plugin: it routes each record to a
// topic chosen by a field of its JSON value.
//
// Config:
//
//	field    the field to route by; dots reach into nested objects
//	routes   value=topic pairs, comma separated ("de=orders-eu,us=orders-us")
//	default  the topic for other values and records without the field;
//	         unset, such records fail and the pipeline's failure policy
//	         (for instance a dead-letter topic) takes them
//
// The record is forwarded as it is, with a header "routed-by" naming the
// value it was routed on. The field is read with the SDK's JSON reader,
// sdk/json, without decoding the record.
package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wasmhost/wasmhost/sdk"
	"github.com/wasmhost/wasmhost/sdk/json"
)

func init() { sdk.OnRecord(route) }

var settings struct {
	loaded bool
	err    error
	path   []string
	routes map[string]string
	def    string
}

func load() error {
	if settings.loaded {
		return settings.err
	}
	settings.loaded = true
	field, _ := sdk.Config("field")
	routes, _ := sdk.Config("routes")
	settings.def, _ = sdk.Config("default")
	if field == "" {
		settings.err = errors.New(`router: config "field" is required`)
		return settings.err
	}
	settings.path = strings.Split(field, ".")
	settings.routes = map[string]string{}
	for _, pair := range strings.Split(routes, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		value, topic, ok := strings.Cut(pair, "=")
		if !ok || topic == "" {
			settings.err = fmt.Errorf("router: config routes: %q is not value=topic", pair)
			return settings.err
		}
		settings.routes[strings.TrimSpace(value)] = strings.TrimSpace(topic)
	}
	return nil
}

func route(r *sdk.Record) error {
	if err := load(); err != nil {
		return err
	}
	if !json.Parse(r.Value).Exists() {
		return errors.New("value is not JSON")
	}
	value, found := field(r.Value, settings.path)
	topic, ok := settings.routes[value]
	if !found || !ok {
		topic = settings.def
	}
	if topic == "" {
		if !found {
			return fmt.Errorf("no field %s and no default route", strings.Join(settings.path, "."))
		}
		return fmt.Errorf("no route for %s=%s", strings.Join(settings.path, "."), value)
	}
	// Clip: appending must not write into the SDK's own header slice.
	headers := append(slices.Clip(r.Headers), sdk.Header{Key: "routed-by", Value: []byte(value)})
	return sdk.Produce(topic, r.Key, r.Value, headers...)
}

// field returns the text of the value at path: a string's content, or any
// other JSON value's text as written.
func field(doc []byte, path []string) (string, bool) {
	v := json.Get(doc, path...)
	if s, ok := v.Text(); ok {
		return s, true
	}
	return string(v.Raw()), v.Exists()
}

func main() {}

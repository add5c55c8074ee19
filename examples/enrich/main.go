// Command enrich is an example wasmhost plugin: it transforms JSON records,
// adding fields to each object and forwarding it.
//
// Config:
//
//	to            the topic to produce to (required)
//	lookup_field  a field whose value is looked up in the table below
//	lookup        the table, key=value pairs, comma separated
//	              ("de=Germany,fr=France")
//	into          the field the looked-up value is written to (default
//	              "<lookup_field>_name")
//
// Each output object also gets "source": the topic, partition and offset the
// record came from, and "processed_by": the pipeline's name (from the
// reserved config key wasmhost.pipeline). The output has a content-type
// header. A value that is not a JSON object fails its record.
//
// The fields are read and written with the SDK's JSON reader and writer,
// sdk/json: the record's object is copied with members set or added, its
// own members untouched and in their order, without decoding it.
package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/wasmhost/wasmhost/sdk"
	"github.com/wasmhost/wasmhost/sdk/json"
)

func init() { sdk.OnRecord(enrich) }

// Buffers reused from record to record: Set writes one document from
// another, so two take turns; src holds the "source" member's value.
var bufs [2][]byte
var src []byte

var settings struct {
	loaded               bool
	to, field, into, who string
	table                map[string]string
}

var (
	errNoTo      = errors.New(`enrich: config "to" is required`)
	errNotObject = errors.New("value is not a JSON object")
	contentType  = sdk.Header{Key: "content-type", Value: []byte("application/json")}
)

func load() {
	if settings.loaded {
		return
	}
	settings.loaded = true
	settings.to, _ = sdk.Config("to")
	settings.field, _ = sdk.Config("lookup_field")
	settings.into, _ = sdk.Config("into")
	if settings.into == "" {
		settings.into = settings.field + "_name"
	}
	settings.who, _ = sdk.Config("wasmhost.pipeline")
	settings.table = map[string]string{}
	lookup, _ := sdk.Config("lookup")
	for _, pair := range strings.Split(lookup, ",") {
		if k, v, ok := strings.Cut(pair, "="); ok {
			settings.table[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
}

func enrich(r *sdk.Record) error {
	load()
	if settings.to == "" {
		return errNoTo
	}
	if json.Parse(r.Value).Kind() != json.Object {
		return errNotObject
	}
	out, other := bufs[0][:0], bufs[1][:0]
	doc := r.Value
	var err error
	if settings.field != "" {
		if v, ok := json.Get(doc, settings.field).Text(); ok {
			if name, ok := settings.table[v]; ok {
				if out, err = json.SetString(out, doc, settings.into, name); err != nil {
					return err
				}
				doc, out, other = out, other, out
			}
		}
	}
	src = append(json.AppendQuote(append(src[:0], `{"topic":`...), r.Topic), `,"partition":`...)
	src = append(strconv.AppendInt(append(strconv.AppendInt(src, int64(r.Partition), 10), `,"offset":`...), r.Offset, 10), '}')
	if out, err = json.Set(out, doc, "source", src); err != nil {
		return err
	}
	doc, out = out, other[:0]
	if out, err = json.SetString(out, doc, "processed_by", settings.who); err != nil {
		return err
	}
	bufs[0], bufs[1] = out, doc[:0]
	return sdk.Produce(settings.to, r.Key, out, contentType)
}

func main() {}

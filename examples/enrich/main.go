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
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/wasmhost/wasmhost/sdk"
)

func init() { sdk.OnRecord(enrich) }

type source struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

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
	var obj map[string]any
	if json.Unmarshal(r.Value, &obj) != nil || obj == nil {
		return errNotObject
	}
	if settings.field != "" {
		if v, ok := obj[settings.field].(string); ok {
			if name, ok := settings.table[v]; ok {
				obj[settings.into] = name
			}
		}
	}
	obj["source"] = source{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	obj["processed_by"] = settings.who
	out, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return sdk.Produce(settings.to, r.Key, out, contentType)
}

func main() {}

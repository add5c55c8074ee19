package config

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Why not toml.Decode into the structs and MetaData.Undecoded for unknown
// keys: that decoder stops at the first bad value, and its keys carry no
// array index ("pipelines.batchsize", not "pipelines[0].batchsize"). The file
// is parsed by toml into plain maps, and this walker moves the values into the
// structs by their toml tags, so that every unknown key and every bad value is
// reported, each under its full name.

// decode parses TOML and applies it on top of Default. It returns a
// toml.ParseError for a syntax error; the problems of keys and values are
// returned in probs with the config, never as err.
func decode(data []byte) (cfg *Config, probs problems, err error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, nil, err
	}
	cfg = Default()
	d := &decoder{}
	d.table("", raw, reflect.ValueOf(cfg).Elem())
	for i := range cfg.Pipelines {
		if cfg.Pipelines[i].Group == "" {
			cfg.Pipelines[i].Group = DefaultGroup(cfg.Pipelines[i].Name)
		}
	}
	return cfg, d.probs, nil
}

// elemDefaults gives each array-of-tables entry its defaults before the file's
// keys are applied on top.
var elemDefaults = map[reflect.Type]func() any{
	reflect.TypeFor[Topic]():    func() any { return DefaultTopic() },
	reflect.TypeFor[Pipeline](): func() any { return DefaultPipeline() },
	reflect.TypeFor[Source]():   func() any { return DefaultSource() },
}

// intUnmarshaler is a TextUnmarshaler that also accepts a TOML integer.
type intUnmarshaler interface{ unmarshalInt(int64) error }

type decoder struct{ probs problems }

// table sets the fields of struct v from the TOML table m.
func (d *decoder) table(key string, m map[string]any, v reflect.Value) {
	fields := tomlFields(v.Type())
	for _, k := range slices.Sorted(maps.Keys(m)) {
		i, ok := fields[k]
		if !ok {
			d.probs.add(joinKey(key, k), "unknown key%s", suggest(k, fields))
			continue
		}
		d.value(joinKey(key, k), m[k], v.FieldByIndex(i))
	}
}

// value sets v from the TOML value data.
func (d *decoder) value(key string, data any, v reflect.Value) {
	if iu, ok := v.Addr().Interface().(intUnmarshaler); ok {
		if n, ok := data.(int64); ok {
			d.check(key, iu.unmarshalInt(n))
			return
		}
	}
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if s, ok := data.(string); ok {
			d.check(key, tu.UnmarshalText([]byte(s)))
		} else {
			d.mismatch(key, "a string", data)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if m, ok := data.(map[string]any); ok {
			d.table(key, m, v)
		} else {
			d.mismatch(key, "a table", data)
		}
	case reflect.Slice:
		d.slice(key, data, v)
	case reflect.Map:
		d.stringMap(key, data, v)
	case reflect.String:
		if s, ok := data.(string); ok {
			v.SetString(s)
		} else {
			d.mismatch(key, "a string", data)
		}
	case reflect.Bool:
		if b, ok := data.(bool); ok {
			v.SetBool(b)
		} else {
			d.mismatch(key, "true or false", data)
		}
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		d.integer(key, data, v)
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %s", key, v.Type()))
	}
}

func (d *decoder) integer(key string, data any, v reflect.Value) {
	n, ok := data.(int64)
	if !ok {
		d.mismatch(key, "an integer", data)
		return
	}
	if v.OverflowInt(n) {
		bits := v.Type().Bits()
		d.probs.add(key, "%d is out of range (must be between %d and %d)",
			n, int64(-1)<<(bits-1), int64(math.MaxInt64>>(64-bits)))
		return
	}
	v.SetInt(n)
}

// slice sets a []string or a slice of structs (an array of tables).
func (d *decoder) slice(key string, data any, v reflect.Value) {
	var items []any
	switch data := data.(type) {
	case []any:
		items = data
	case []map[string]any:
		for _, m := range data {
			items = append(items, m)
		}
	default:
		d.mismatch(key, "an array", data)
		return
	}
	et := v.Type().Elem()
	out := reflect.MakeSlice(v.Type(), 0, len(items))
	for i, item := range items {
		elem := reflect.New(et).Elem()
		if def, ok := elemDefaults[et]; ok {
			elem.Set(reflect.ValueOf(def()))
		}
		d.value(fmt.Sprintf("%s[%d]", key, i), item, elem)
		out = reflect.Append(out, elem)
	}
	v.Set(out)
}

// stringMap sets a map[string]string. Integers and booleans are accepted
// and written in TOML syntax, since every value ends up a string anyway
// (topic configs, plugin config).
func (d *decoder) stringMap(key string, data any, v reflect.Value) {
	m, ok := data.(map[string]any)
	if !ok {
		d.mismatch(key, "a table", data)
		return
	}
	out := make(map[string]string, len(m))
	for k, item := range m {
		switch item := item.(type) {
		case string:
			out[k] = item
		case int64:
			out[k] = strconv.FormatInt(item, 10)
		case bool:
			out[k] = strconv.FormatBool(item)
		default:
			d.mismatch(joinKey(key, k), "a string", item)
		}
	}
	v.Set(reflect.ValueOf(out))
}

func (d *decoder) check(key string, err error) {
	if err != nil {
		d.probs.add(key, "%s", err)
	}
}

func (d *decoder) mismatch(key, want string, got any) {
	d.probs.add(key, "must be %s, not %s", want, tomlType(got))
}

// tomlType names the TOML type of a value produced by the toml parser.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a datetime"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// tomlFields maps the toml tag of each field of struct type t to its index
// path (for reflect.Value.FieldByIndex). An embedded struct without a tag
// lends its fields to the outer table, as in encoding/json.
func tomlFields(t reflect.Type) map[string][]int {
	fields := make(map[string][]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch {
		case name != "":
			fields[name] = []int{i}
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			for n, idx := range tomlFields(f.Type) {
				fields[n] = append([]int{i}, idx...)
			}
		}
	}
	return fields
}

// suggest returns ` (did you mean "batch_size"?)` for the known key closest
// to k, ignoring case, '_' and '-', if it is within a typo or two of k.
func suggest(k string, fields map[string][]int) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	best, bestDist := "", max(1, len(norm(k))/4)+1
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if d := editDistance(norm(k), norm(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// adjacent bytes that turn a into b (optimal string alignment distance).
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends k to a dotted key, quoting k as TOML does when it is not a
// bare key.
func joinKey(parent, k string) string {
	if !bareKey.MatchString(k) {
		k = strconv.Quote(k)
	}
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// asParseError reports whether err is a TOML syntax error.
func asParseError(err error) (toml.ParseError, bool) {
	var pe toml.ParseError
	ok := errors.As(err, &pe)
	return pe, ok
}

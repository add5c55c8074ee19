package config

import (
	"maps"
	"reflect"
	"slices"
)

// Changed lists, sorted, the keys whose values differ between a and b,
// named as in the file ("kafka.sasl.username"). The arrays of tables
// ([[topics]], [[pipelines]], [[sources]]) are left out: they are compared
// entry by entry, by name, by whoever applies a new config.
func Changed(a, b *Config) []string {
	var keys []string
	changed("", reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem(), &keys)
	slices.Sort(keys)
	return keys
}

func changed(prefix string, a, b reflect.Value, keys *[]string) {
	fields := tomlFields(a.Type())
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		i := fields[name]
		fa, fb := a.FieldByIndex(i), b.FieldByIndex(i)
		key := joinKey(prefix, name)
		t := fa.Type()
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			continue
		}
		_, text := fa.Addr().Interface().(interface{ UnmarshalText([]byte) error })
		if t.Kind() == reflect.Struct && !text {
			changed(key, fa, fb, keys)
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			*keys = append(*keys, key)
		}
	}
}

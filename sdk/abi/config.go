package abi

import (
	"sort"
)

// AppendConfig appends a plugin config: a u32 count then key/value string
// pairs, sorted by key so the encoding of a map is deterministic.
func AppendConfig(dst []byte, cfg map[string]string) []byte {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = AppendCount(dst, uint32(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, cfg[k])
	}
	return dst
}

// DecodeConfig decodes a buffer written by AppendConfig.
func DecodeConfig(b []byte) (map[string]string, error) {
	d := decoder{b: b}
	n := d.u32("config count")
	if d.err == nil && uint64(n)*8 > uint64(len(b)-4) {
		d.fail("config count")
	}
	if d.err != nil {
		return nil, d.err
	}
	cfg := make(map[string]string, n)
	for i := uint32(0); i < n; i++ {
		k := d.str("config key")
		v := d.str("config value")
		if d.err != nil {
			return nil, d.err
		}
		cfg[k] = v
	}
	if d.off != len(b) {
		d.fail("trailing bytes")
		return nil, d.err
	}
	return cfg, nil
}

// Reserved config keys the host puts in every plugin instance's config.
const (
	ConfigPipeline = "wasmhost.pipeline" // the pipeline's name
	ConfigPlugin   = "wasmhost.plugin"   // the plugin's name
	ConfigConsumer = "wasmhost.consumer" // the consumer group member id; empty for sources
)

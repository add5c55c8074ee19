package sdk

import (
	"errors"
	"maps"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// config is the plugin's config, read from the host on first use.
var config struct {
	loaded bool
	m      map[string]string
}

// Config returns the value of key in the plugin's config, and whether it is
// set. The config is read from the host on the first call and cached: it does
// not change during an instance's life. Call it from a handler; the ABI does
// not promise that host functions work while init functions run.
//
// Besides the keys of the plugin's own config, the host sets these in every
// instance's config:
//
//	wasmhost.pipeline  the pipeline's name
//	wasmhost.plugin    the plugin's name
//	wasmhost.consumer  the consumer group member id of the instance's worker;
//	                   empty for sources
//
// If the config cannot be read (a host bug), the SDK logs why and every key
// reads as unset.
func Config(key string) (string, bool) {
	v, ok := loadConfig()[key]
	return v, ok
}

// ConfigMap returns a copy of the plugin's whole config, as Config sees it.
func ConfigMap() map[string]string { return maps.Clone(loadConfig()) }

func loadConfig() map[string]string {
	if !config.loaded {
		m, err := readConfig()
		if err != nil {
			sdkLog("reading config: " + err.Error())
			m = map[string]string{}
		}
		config.m, config.loaded = m, true
	}
	return config.m
}

// readConfig asks config_read for the size, then for the bytes.
func readConfig() (map[string]string, error) {
	var buf []byte
	for range 3 {
		n := hostConfigRead(buf)
		if n < 0 {
			return nil, errors.New("config_read returned " + statusString(n))
		}
		if int(n) <= len(buf) {
			return abi.DecodeConfig(buf[:n])
		}
		buf = make([]byte, n)
	}
	return nil, errors.New("config_read: the size keeps changing")
}

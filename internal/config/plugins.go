package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// PluginFrom is where a plugin's code comes from.
type PluginFrom string

// Plugin origins. FromDefault, on a pipeline or source, inherits
// plugins.from.
const (
	FromDefault PluginFrom = ""
	FromFiles   PluginFrom = "files" // <plugins.dir>/<plugin>.wasm, watched for changes
	FromKafka   PluginFrom = "kafka" // the newest version deployed to plugins.topic, followed
)

var pluginOrigins = []PluginFrom{FromFiles, FromKafka}

// DefaultPluginTopic is the plugin topic's default name.
const DefaultPluginTopic = "wasmhost-plugins"

func defaultPlugins() Plugins {
	return Plugins{Dir: "plugins", CacheDir: ".cache/wasmhost", From: FromFiles,
		Topic: DefaultPluginTopic, MaxSize: 16 * MiB, TrustedKeys: []PublicKey{}}
}

// PublicKeyPrefix starts a public key written as text.
const PublicKeyPrefix = "ed25519:"

// PublicKey is an Ed25519 public key written as "ed25519:" and the
// standard base64 of its 32 bytes, as `wasmhost plugin keygen` prints it.
type PublicKey [ed25519.PublicKeySize]byte

// UnmarshalText parses "ed25519:BASE64". On error k is left unchanged.
func (k *PublicKey) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	rest, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok {
		return fmt.Errorf("%q is not a public key: write it as %q followed by base64, as `wasmhost plugin keygen` prints it", s, PublicKeyPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return fmt.Errorf("%q is not a public key: the base64 after %q must hold %d bytes", s, PublicKeyPrefix, ed25519.PublicKeySize)
	}
	copy(k[:], raw)
	return nil
}

// MarshalText writes the key as UnmarshalText reads it.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// String is "ed25519:BASE64".
func (k PublicKey) String() string { return PublicKeyPrefix + base64.StdEncoding.EncodeToString(k[:]) }

// PluginFrom is where the pipeline's plugin comes from: its plugin_from,
// else plugins.from.
func (c *Config) PipelineFrom(p *Pipeline) PluginFrom { return c.from(p.PluginFrom) }

// SourceFrom is where the source's plugin comes from, as PipelineFrom.
func (c *Config) SourceFrom(s *Source) PluginFrom { return c.from(s.PluginFrom) }

func (c *Config) from(f PluginFrom) PluginFrom {
	if f == FromDefault {
		return c.Plugins.From
	}
	return f
}

// UsesPluginTopic reports whether a pipeline or source takes its plugin
// from Kafka.
func (c *Config) UsesPluginTopic() bool {
	for i := range c.Pipelines {
		if c.PipelineFrom(&c.Pipelines[i]) == FromKafka {
			return true
		}
	}
	for i := range c.Sources {
		if c.SourceFrom(&c.Sources[i]) == FromKafka {
			return true
		}
	}
	return false
}

// maxPluginSize bounds plugins.max_size: Kafka's requests are at most
// 100 MiB by default (socket.request.max.bytes).
const maxPluginSize = 64 * MiB

func (c *Config) validatePlugins(p *problems) {
	enum(p, "plugins.from", c.Plugins.From, pluginOrigins)
	topicName(p, "plugins.topic", c.Plugins.Topic)
	if s := c.Plugins.MaxSize; s < MiB || s > maxPluginSize {
		p.add("plugins.max_size", "must be between 1MiB and %s, got %s", maxPluginSize, s)
	}
	seen := map[PublicKey]int{}
	for i, k := range c.Plugins.TrustedKeys {
		if k == (PublicKey{}) {
			continue // did not parse: reported already
		}
		if j, ok := seen[k]; ok {
			p.add(fmt.Sprintf("plugins.trusted_keys[%d]", i), "repeats plugins.trusted_keys[%d]", j)
		}
		seen[k] = i
	}
	for i := range c.Pipelines {
		c.validatePluginFrom(p, fmt.Sprintf("pipelines[%d]", i), c.Pipelines[i].Plugin, c.Pipelines[i].PluginFrom)
	}
	for i := range c.Sources {
		c.validatePluginFrom(p, fmt.Sprintf("sources[%d]", i), c.Sources[i].Plugin, c.Sources[i].PluginFrom)
	}
}

func (c *Config) validatePluginFrom(p *problems, key, plugin string, from PluginFrom) {
	if from != FromDefault && !enum(p, key+".plugin_from", from, pluginOrigins) {
		return
	}
	if c.from(from) == FromKafka && isPluginFile(plugin) {
		p.add(key+".plugin", "%q is a file, but the plugin comes from Kafka (plugin_from or plugins.from is %q): name the deployed plugin, e.g. %q", plugin, FromKafka, PluginName(plugin))
	}
}

// ValidPluginName reports whether s can name a deployed plugin: a-z, A-Z,
// 0-9, '.', '_', '-', not starting with '.', and not a file (".wasm").
func ValidPluginName(s string) bool { return pluginNamePattern.MatchString(s) && !isPluginFile(s) }

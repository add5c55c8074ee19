package fleet

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// The plugin topic holds two kinds of records, told apart by their key:
//
//   - a version: key "NAME@SHA256", value the module, headers below. Each
//     version has its own key, so compaction keeps every version ever
//     deployed (until `plugin remove --purge` writes tombstones for them).
//   - a pointer: key "NAME", value pointerValue (JSON): the version that
//     runs, and when and by whom it was chosen (deploy, rollback, remove).
//     Compaction keeps the last pointer of each name.
//
// Plugin names cannot hold '@' (config: a-z A-Z 0-9 . _ -).
const versionSep = "@"

// Headers of a version record (and, but the ones about the module, of a
// pointer record).
const (
	HeaderSHA256    = "wasmhost.sha256"
	HeaderABI       = "wasmhost.abi"
	HeaderSize      = "wasmhost.size"
	HeaderTime      = "wasmhost.time"
	HeaderBy        = "wasmhost.deployed_by"
	HeaderSignature = "wasmhost.signature"
)

// Pointer actions.
const (
	ActionDeploy   = "deploy"
	ActionRollback = "rollback"
	ActionRemove   = "remove"
)

// ErrNotDeployed is wrapped by the error for a plugin the topic has no
// current version of: never deployed, or removed.
var ErrNotDeployed = errors.New("not deployed")

// Version is one deployed module, as its record's headers describe it.
type Version struct {
	Plugin    string     `json:"plugin"`
	SHA256    string     `json:"sha256"`
	ABI       int        `json:"abi"`
	Size      int        `json:"size"`
	Time      time.Time  `json:"time"` // when it was deployed
	By        string     `json:"by"`
	Signature *Signature `json:"signature,omitempty"`
	Offset    int64      `json:"offset"` // of its record in the topic
}

// Pointer says which version of a plugin runs; SHA256 is "" once removed.
// Previous is the version it replaced, which a daemon starts with when it
// cannot load the current one (see Catalog.Previous).
type Pointer struct {
	SHA256   string    `json:"sha256"`
	Previous string    `json:"previous,omitempty"`
	Action   string    `json:"action"`
	Time     time.Time `json:"time"`
	By       string    `json:"by"`
	Offset   int64     `json:"offset"`
}

// Plugin is everything the topic says of one plugin.
type Plugin struct {
	Name     string    `json:"name"`
	Current  *Pointer  `json:"current"`  // nil when no pointer was ever written
	Versions []Version `json:"versions"` // in the order they were deployed
}

// Catalog is the state of the plugin topic, built by applying its records
// in order. It is not safe for concurrent use.
type Catalog struct {
	plugins map[string]*Plugin
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{plugins: map[string]*Plugin{}} }

func (c *Catalog) plugin(name string) *Plugin {
	p, ok := c.plugins[name]
	if !ok {
		p = &Plugin{Name: name}
		c.plugins[name] = p
	}
	return p
}

// Apply adds a record of the topic and returns the plugin it is about. A
// record the catalog cannot read is an error and changes nothing.
func (c *Catalog) Apply(m *sarama.ConsumerMessage) (string, error) {
	key := string(m.Key)
	name, sha, isVersion := strings.Cut(key, versionSep)
	if name == "" {
		return "", fmt.Errorf("plugin topic offset %d: empty plugin name in key %q", m.Offset, key)
	}
	if isVersion {
		return name, c.applyVersion(name, sha, m)
	}
	if m.Value == nil { // tombstone: `plugin remove --purge`
		c.plugin(name).Current = nil
		return name, nil
	}
	var pv pointerValue
	if err := json.Unmarshal(m.Value, &pv); err != nil {
		return name, fmt.Errorf("plugin topic offset %d: pointer of %s: %w", m.Offset, name, err)
	}
	c.plugin(name).Current = &Pointer{SHA256: pv.SHA256, Previous: pv.Previous, Action: pv.Action, Time: pv.Time, By: pv.By, Offset: m.Offset}
	return name, nil
}

func (c *Catalog) applyVersion(name, sha string, m *sarama.ConsumerMessage) error {
	p := c.plugin(name)
	p.Versions = slices.DeleteFunc(p.Versions, func(v Version) bool { return v.SHA256 == sha })
	if m.Value == nil { // tombstone
		return nil
	}
	v := Version{Plugin: name, SHA256: sha, Size: len(m.Value), Offset: m.Offset}
	for _, h := range m.Headers {
		val := string(h.Value)
		switch string(h.Key) {
		case HeaderABI:
			v.ABI, _ = strconv.Atoi(val)
		case HeaderTime:
			v.Time, _ = time.Parse(time.RFC3339Nano, val)
		case HeaderBy:
			v.By = val
		case HeaderSignature:
			sig, err := ParseSignature(h.Value)
			if err != nil {
				return fmt.Errorf("plugin topic offset %d: %s: %w", m.Offset, m.Key, err)
			}
			v.Signature = sig
		}
	}
	p.Versions = append(p.Versions, v)
	slices.SortFunc(p.Versions, func(a, b Version) int { return cmp.Compare(a.Offset, b.Offset) })
	return nil
}

// Plugins lists every plugin, by name.
func (c *Catalog) Plugins() []Plugin {
	out := make([]Plugin, 0, len(c.plugins))
	for _, p := range c.plugins {
		out = append(out, clonePlugin(p))
	}
	slices.SortFunc(out, func(a, b Plugin) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Plugin returns what the topic says of one plugin.
func (c *Catalog) Plugin(name string) (Plugin, bool) {
	p, ok := c.plugins[name]
	if !ok {
		return Plugin{}, false
	}
	return clonePlugin(p), true
}

func clonePlugin(p *Plugin) Plugin {
	out := *p
	out.Versions = slices.Clone(p.Versions)
	if p.Current != nil {
		cur := *p.Current
		out.Current = &cur
	}
	return out
}

// Current returns the version of name that should run, and the pointer
// that chose it.
func (c *Catalog) Current(name string) (Version, Pointer, error) {
	p, ok := c.plugins[name]
	switch {
	case !ok || p.Current == nil:
		return Version{}, Pointer{}, fmt.Errorf("plugin %s: %w (publish it with wasmhost plugin deploy %s FILE)", name, ErrNotDeployed, name)
	case p.Current.SHA256 == "":
		return Version{}, *p.Current, fmt.Errorf("plugin %s: %w: removed %s by %s", name, ErrNotDeployed, p.Current.Time.Format(time.RFC3339), p.Current.By)
	}
	v, ok := p.version(p.Current.SHA256)
	if !ok {
		return Version{}, *p.Current, fmt.Errorf("plugin %s: the current version %s is not in the topic (its record was purged)", name, short(p.Current.SHA256))
	}
	return v, *p.Current, nil
}

// Fallbacks lists, best first, the versions a daemon that cannot load the
// current version of name may start with instead: the version the current
// pointer replaced (what the fleet served before the last deploy or
// rollback), then the others deployed before the current one, newest
// first; at most max.
func (c *Catalog) Fallbacks(name string, max int) []Version {
	p, ok := c.plugins[name]
	if !ok || p.Current == nil || p.Current.SHA256 == "" {
		return nil
	}
	var out []Version
	add := func(v Version) {
		if len(out) < max && v.SHA256 != p.Current.SHA256 && !slices.ContainsFunc(out, func(o Version) bool { return o.SHA256 == v.SHA256 }) {
			out = append(out, v)
		}
	}
	if v, ok := p.version(p.Current.Previous); ok {
		add(v)
	}
	cur := slices.IndexFunc(p.Versions, func(v Version) bool { return v.SHA256 == p.Current.SHA256 })
	for i := cur - 1; i >= 0; i-- {
		add(p.Versions[i])
	}
	return out
}

func (p *Plugin) version(sha string) (Version, bool) {
	i := slices.IndexFunc(p.Versions, func(v Version) bool { return v.SHA256 == sha })
	if i < 0 {
		return Version{}, false
	}
	return p.Versions[i], true
}

// rollbackTarget is the version `plugin rollback` goes back to: to, found
// by its sha256 or a unique prefix of it, or without to the version
// deployed before the current one.
func (p *Plugin) rollbackTarget(to string) (Version, error) {
	if to != "" {
		var found []Version
		for _, v := range p.Versions {
			if strings.HasPrefix(v.SHA256, strings.ToLower(to)) {
				found = append(found, v)
			}
		}
		switch len(found) {
		case 0:
			return Version{}, fmt.Errorf("plugin %s has no version %s (wasmhost plugin list shows them)", p.Name, to)
		case 1:
			return found[0], nil
		}
		return Version{}, fmt.Errorf("plugin %s: %s matches %d versions; give more of the sha256", p.Name, to, len(found))
	}
	if p.Current == nil || p.Current.SHA256 == "" {
		return Version{}, fmt.Errorf("plugin %s has no current version to roll back from; name one with --to SHA", p.Name)
	}
	i := slices.IndexFunc(p.Versions, func(v Version) bool { return v.SHA256 == p.Current.SHA256 })
	if i <= 0 {
		return Version{}, fmt.Errorf("plugin %s: no version was deployed before the current one (%s); name one with --to SHA", p.Name, short(p.Current.SHA256))
	}
	return p.Versions[i-1], nil
}

// pointerValue is a pointer record's value.
type pointerValue struct {
	SHA256   string    `json:"sha256"`             // "" once removed
	Previous string    `json:"previous,omitempty"` // the sha256 it replaced
	Action   string    `json:"action"`
	Time     time.Time `json:"time"`
	By       string    `json:"by"`
}

func versionKey(name, sha string) string { return name + versionSep + sha }

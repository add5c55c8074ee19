package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every value and the relations between them, and returns
// a *ValidationError listing every problem, or nil. Topics that pipelines and
// sources name need not be listed in [[topics]]: a real cluster has topics
// the daemon does not create. Files named by TLS settings must exist when
// those settings are in use; plugin files are checked when loaded, not here.
func (c *Config) Validate() error {
	var p problems
	c.validate(&p)
	return p.err()
}

func (c *Config) validate(p *problems) {
	positive(p, "shutdown_timeout", c.ShutdownTimeout)
	enum(p, "log.level", c.Log.Level, logLevels)
	enum(p, "log.format", c.Log.Format, logFormats)
	c.Kafka.validate(p)
	c.EmbeddedBroker.validate(p, c.Embedded())
	c.validateHTTP(p)
	if c.Plugins.Dir == "" {
		p.add("plugins.dir", "required")
	}
	c.validatePlugins(p)
	positive(p, "reload.delay", c.Reload.Delay)
	c.validateTopics(p)
	names := map[string]string{} // pipeline or source name -> key of its first use
	groups := map[string]string{}
	for i := range c.Pipelines {
		c.Pipelines[i].validate(p, fmt.Sprintf("pipelines[%d]", i), names, groups)
	}
	for i := range c.Sources {
		c.Sources[i].validate(p, fmt.Sprintf("sources[%d]", i), names)
		c.Sources[i].validateLease(p, fmt.Sprintf("sources[%d]", i), groups)
	}
	c.validateFleet(p)
}

func (k *Kafka) validate(p *problems) {
	for i, b := range k.Brokers {
		address(p, fmt.Sprintf("kafka.brokers[%d]", i), b)
	}
	if k.ClientID == "" {
		p.add("kafka.client_id", "required")
	}
	if err := k.Version.check(); err != nil {
		p.add("kafka.version", "%s", err)
	}
	positive(p, "kafka.dial_timeout", k.DialTimeout)
	certPair(p, "kafka.tls", k.TLS.CertFile, k.TLS.KeyFile)
	if k.TLS.Enabled {
		fileExists(p, "kafka.tls.ca_file", k.TLS.CAFile)
		fileExists(p, "kafka.tls.cert_file", k.TLS.CertFile)
		fileExists(p, "kafka.tls.key_file", k.TLS.KeyFile)
	}
	k.SASL.validate(p, "kafka.sasl")
}

func (e *Embedded) validate(p *problems, used bool) {
	address(p, "embedded.listen", e.Listen)
	certPair(p, "embedded.tls", e.TLS.CertFile, e.TLS.KeyFile)
	if used && e.TLS.Enabled() {
		fileExists(p, "embedded.tls.cert_file", e.TLS.CertFile)
		fileExists(p, "embedded.tls.key_file", e.TLS.KeyFile)
	}
	e.SASL.validate(p, "embedded.sasl")
}

func (c *Config) validateHTTP(p *problems) {
	if c.HTTP.Listen == "" {
		return
	}
	address(p, "http.listen", c.HTTP.Listen)
	if c.Embedded() && c.HTTP.Listen == c.EmbeddedBroker.Listen && !strings.HasSuffix(c.HTTP.Listen, ":0") {
		p.add("http.listen", "%q is also embedded.listen; give the HTTP server its own port", c.HTTP.Listen)
	}
}

func (s *SASL) validate(p *problems, key string) {
	if !enum(p, key+".mechanism", s.Mechanism, saslMechanisms) {
		return
	}
	if s.Mechanism == NoSASL {
		for k, v := range map[string]string{"username": s.Username, "password": s.Password} {
			if v != "" {
				p.add(key+"."+k, `set but mechanism is "" (no SASL); set mechanism or remove it`)
			}
		}
		return
	}
	if s.Username == "" {
		p.add(key+".username", "required when mechanism is %s", s.Mechanism)
	}
	if s.Password == "" {
		p.add(key+".password", "required when mechanism is %s", s.Mechanism)
	}
}

func (c *Config) validateTopics(p *problems) {
	seen := map[string]string{}
	for i, t := range c.Topics {
		key := fmt.Sprintf("topics[%d]", i)
		if topicName(p, key+".name", t.Name) {
			unique(p, key+".name", t.Name, seen)
		}
		atLeast(p, key+".partitions", int(t.Partitions), 1)
		atLeast(p, key+".replication_factor", int(t.ReplicationFactor), 1)
		for k := range t.Configs {
			if k == "" {
				p.add(key+".configs", "a config name is empty")
			}
		}
	}
}

func (pl *Pipeline) validate(p *problems, key string, names, groups map[string]string) {
	nameOK := name(p, key+".name", pl.Name) && unique(p, key+".name", pl.Name, names)
	plugin(p, key+".plugin", pl.Plugin)
	if len(pl.Topics) == 0 {
		p.add(key+".topics", "required: at least one topic to consume")
	}
	topicList(p, key+".topics", pl.Topics)
	switch {
	case pl.Group == "":
		p.add(key+".group", "required")
	case nameOK || pl.Group != DefaultGroup(pl.Name): // a repeated name was reported already
		unique(p, key+".group", pl.Group, groups)
	}
	between(p, key+".consumers", pl.Consumers, 1, 1024)
	between(p, key+".batch_size", pl.BatchSize, 1, 100000)
	positive(p, key+".batch_wait", pl.BatchWait)
	if b := pl.BatchBytes; b < KiB || b > GiB {
		p.add(key+".batch_bytes", "must be between 1KiB and 1GiB, got %s", b)
	}
	switch d := pl.TickInterval.Duration; {
	case d == 0:
	case d < 10*time.Millisecond || d > 24*time.Hour:
		p.add(key+".tick_interval", "must be 0 (no ticks) or between 10ms and 24h, got %s", pl.TickInterval)
	}
	pl.State.validate(p, key+".state")
	enum(p, key+".offset_reset", pl.OffsetReset, offsetResets)
	if d := pl.TransactionTimeout.Duration; d < time.Second || d > 15*time.Minute {
		p.add(key+".transaction_timeout", "must be between 1s and 15m, got %s", pl.TransactionTimeout)
	}
	between(p, key+".transaction_size", pl.TransactionSize, 1, 100000)
	if b := pl.TransactionBytes; b < KiB || b > GiB {
		p.add(key+".transaction_bytes", "must be between 1KiB and 1GiB, got %s", b)
	}
	positive(p, key+".transaction_wait", pl.TransactionWait)
	if pl.SessionTimeout.Duration < time.Second {
		p.add(key+".session_timeout", "must be at least 1s, got %s", pl.SessionTimeout)
	}
	enum(p, key+".guarantee", pl.Guarantee, guarantees)
	topicList(p, key+".produce_topics", pl.ProduceTopics)
	pl.Failure.validate(p, key+".failure", pl.Topics)
	pl.Limits.validate(p, key+".limits")
	pl.Grants.validate(p, key+".grants")
}

func (f *Failure) validate(p *problems, key string, inputs []string) {
	enum(p, key+".policy", f.Policy, failurePolicies)
	atLeast(p, key+".retries", f.Retries, 0)
	if f.Backoff.Duration < 0 {
		p.add(key+".backoff", "must not be negative, got %s", f.Backoff)
	}
	dlt := key + ".dead_letter_topic"
	switch {
	case f.Policy == DeadLetter && f.DeadLetterTopic == "":
		p.add(dlt, "required when policy is %s", DeadLetter)
	case f.Policy != DeadLetter && f.DeadLetterTopic != "":
		p.add(dlt, "set but policy is %q; set policy = %q or remove it", f.Policy, DeadLetter)
	case f.DeadLetterTopic != "" && topicName(p, dlt, f.DeadLetterTopic):
		for _, t := range inputs {
			if t == f.DeadLetterTopic {
				p.add(dlt, "%q is also an input topic of the pipeline: failed records would be consumed again", t)
			}
		}
	}
}

func (l *Limits) validate(p *problems, key string) {
	switch m := l.Memory; {
	case m < MiB || m > 4*GiB:
		p.add(key+".memory", "must be between 1MiB and 4GiB, got %s", m)
	case m%wasmPage != 0:
		p.add(key+".memory", "must be a multiple of 64KiB (the WebAssembly page size), got %s", m)
	}
	positive(p, key+".call_timeout", l.CallTimeout)
	memOK := l.Memory >= MiB && l.Memory <= 4*GiB
	switch {
	case l.MaxOutputRecord < KiB:
		p.add(key+".max_output_record", "must be at least 1KiB, got %s", l.MaxOutputRecord)
	case memOK && l.MaxOutputRecord > l.Memory:
		p.add(key+".max_output_record", "must not exceed memory (%s): the record is built in the plugin's memory, got %s", l.Memory, l.MaxOutputRecord)
	}
	switch {
	case l.MaxOutputBytes < l.MaxOutputRecord:
		p.add(key+".max_output_bytes", "must be at least max_output_record (%s), got %s", l.MaxOutputRecord, l.MaxOutputBytes)
	case l.MaxOutputBytes > 4*GiB:
		p.add(key+".max_output_bytes", "must be at most 4GiB, got %s", l.MaxOutputBytes)
	}
	between(p, key+".max_outputs", l.MaxOutputs, 1, 10_000_000)
}

func (l *PipelineLimits) validate(p *problems, key string) {
	l.Limits.validate(p, key)
	switch {
	case l.MaxInputRecord < KiB:
		p.add(key+".max_input_record", "must be at least 1KiB, got %s", l.MaxInputRecord)
	case l.Memory >= MiB && l.Memory <= 4*GiB && l.MaxInputRecord > l.Memory:
		p.add(key+".max_input_record", "must not exceed memory (%s): the record is copied into the plugin's memory, got %s", l.Memory, l.MaxInputRecord)
	}
}

func (g *Grants) validate(p *problems, key string) {
	for _, k := range slices.Sorted(maps.Keys(g.Env)) {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			p.add(key+".env", "%q is not a variable name (empty, or holds '=' or NUL)", k)
		case strings.ContainsRune(g.Env[k], 0):
			p.add(joinKey(key+".env", k), "holds a NUL byte")
		}
	}
	for i, a := range g.Args {
		if strings.ContainsRune(a, 0) {
			p.add(fmt.Sprintf("%s.args[%d]", key, i), "holds a NUL byte")
		}
	}
	for _, dirs := range []struct {
		name string
		m    map[string]string
	}{{"read_dirs", g.ReadDirs}, {"write_dirs", g.WriteDirs}} {
		for _, guest := range slices.Sorted(maps.Keys(dirs.m)) {
			k := joinKey(key+"."+dirs.name, guest)
			switch {
			case !path.IsAbs(guest) || path.Clean(guest) != guest:
				p.add(k, "the path the plugin sees, %q, must be absolute and clean, like \"/data\"", guest)
			case dirs.name == "write_dirs" && g.ReadDirs[guest] != "":
				p.add(k, "%q is also in read_dirs", guest)
			}
			dirExists(p, k, dirs.m[guest])
		}
	}
}

func (s *Source) validate(p *problems, key string, names map[string]string) {
	if name(p, key+".name", s.Name) {
		unique(p, key+".name", s.Name, names)
	}
	plugin(p, key+".plugin", s.Plugin)
	positive(p, key+".interval", s.Interval)
	topicList(p, key+".produce_topics", s.ProduceTopics)
	s.Limits.validate(p, key+".limits")
	s.Grants.validate(p, key+".grants")
}

var (
	namePattern       = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	pluginNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-][a-zA-Z0-9._-]*$`)
	topicPattern      = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
)

// name checks a pipeline or source name and reports whether it is valid.
func name(p *problems, key, v string) bool {
	switch {
	case v == "":
		p.add(key, "required")
	case !namePattern.MatchString(v):
		p.add(key, "%q must contain only a-z, A-Z, 0-9, '_' and '-'", v)
	default:
		return true
	}
	return false
}

func plugin(p *problems, key, v string) {
	switch {
	case v == "":
		p.add(key, "required")
	case !isPluginFile(v) && !pluginNamePattern.MatchString(v):
		p.add(key, "%q is neither a plugin name (a-z, A-Z, 0-9, '.', '_', '-') nor a path ending in .wasm", v)
	}
}

// topicName checks a Kafka topic name and reports whether it is valid.
func topicName(p *problems, key, v string) bool {
	switch {
	case v == "":
		p.add(key, "required")
	case v == "." || v == ".." || !topicPattern.MatchString(v):
		p.add(key, `%q is not a valid topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'; not "." or "..")`, v)
	default:
		return true
	}
	return false
}

// topicList checks each name of a list and that none repeats.
func topicList(p *problems, key string, topics []string) {
	seen := map[string]string{}
	for i, t := range topics {
		k := fmt.Sprintf("%s[%d]", key, i)
		if topicName(p, k, t) {
			unique(p, k, t, seen)
		}
	}
}

// unique reports v if seen holds it, and otherwise records it under key. It
// reports whether v was new.
func unique(p *problems, key, v string, seen map[string]string) bool {
	if first, ok := seen[v]; ok {
		p.add(key, "%q is already used by %s", v, first)
		return false
	}
	seen[v] = key
	return true
}

// enum reports a value outside allowed and reports whether it is valid.
func enum[T ~string](p *problems, key string, v T, allowed []T) bool {
	if err := checkEnum(v, allowed); err != nil {
		p.add(key, "%s", err)
		return false
	}
	return true
}

func positive(p *problems, key string, d Duration) {
	if d.Duration <= 0 {
		p.add(key, "must be greater than 0, got %s", d)
	}
}

func atLeast(p *problems, key string, v, lo int) {
	if v < lo {
		p.add(key, "must be at least %d, got %d", lo, v)
	}
}

func between(p *problems, key string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

// address checks a "host:port" address.
func address(p *problems, key, v string) {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		p.add(key, "%q is not a host:port address", v)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add(key, "%q: port %q is not a number from 0 to 65535", v, port)
	}
}

// certPair checks that a certificate and its key are set together.
func certPair(p *problems, key, cert, keyFile string) {
	switch {
	case cert != "" && keyFile == "":
		p.add(key+".key_file", "required when cert_file is set")
	case cert == "" && keyFile != "":
		p.add(key+".cert_file", "required when key_file is set")
	}
}

// dirExists reports a path that is not an existing directory.
func dirExists(p *problems, key, dir string) {
	fi, err := os.Stat(dir)
	switch {
	case dir == "":
		p.add(key, "the host directory is empty")
	case errors.Is(err, fs.ErrNotExist):
		p.add(key, "%q does not exist", dir)
	case err != nil:
		p.add(key, "%v", err)
	case !fi.IsDir():
		p.add(key, "%q is not a directory", dir)
	}
}

// fileExists reports a set path that is not a readable regular file.
func fileExists(p *problems, key, path string) {
	if path == "" {
		return
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.add(key, "%q does not exist", path)
	case err != nil:
		p.add(key, "%v", err)
	case fi.IsDir():
		p.add(key, "%q is a directory, not a file", path)
	}
}

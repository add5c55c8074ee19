package config

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Config is the whole daemon configuration. The toml tags are the keys of the
// file; docs/config.md describes each one.
type Config struct {
	ShutdownTimeout Duration   `toml:"shutdown_timeout"` // time to drain actors and flush the producer on SIGTERM
	Log             Log        `toml:"log"`
	Kafka           Kafka      `toml:"kafka"`
	EmbeddedBroker  Embedded   `toml:"embedded"` // used only when Kafka.Brokers is empty
	Plugins         Plugins    `toml:"plugins"`
	Reload          Reload     `toml:"reload"`
	HTTP            HTTP       `toml:"http"`
	Topics          []Topic    `toml:"topics"`
	Pipelines       []Pipeline `toml:"pipelines"`
	Sources         []Source   `toml:"sources"`
	Fleet           Fleet      `toml:"fleet"` // daemons sharing brokers; see fleet.go
}

// Log configures the daemon's logger.
type Log struct {
	Level  LogLevel  `toml:"level"`
	Format LogFormat `toml:"format"`
}

// Kafka configures the client of an external cluster.
type Kafka struct {
	Brokers     []string     `toml:"brokers"` // "host:port"; empty means the embedded broker
	ClientID    string       `toml:"client_id"`
	Version     KafkaVersion `toml:"version"`
	DialTimeout Duration     `toml:"dial_timeout"`
	TLS         ClientTLS    `toml:"tls"`
	SASL        SASL         `toml:"sasl"`
}

// ClientTLS configures TLS to the brokers. Paths are relative to the working
// directory.
type ClientTLS struct {
	Enabled            bool   `toml:"enabled"`
	CAFile             string `toml:"ca_file"`   // "" = system roots
	CertFile           string `toml:"cert_file"` // client certificate, with KeyFile
	KeyFile            string `toml:"key_file"`
	ServerName         string `toml:"server_name"` // "" = host of the broker address
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
}

// SASL configures SASL authentication. Mechanism NoSASL disables it.
type SASL struct {
	Mechanism SASLMechanism `toml:"mechanism"`
	Username  string        `toml:"username"`
	Password  string        `toml:"password"`
}

// Embedded configures the in-process broker started when no brokers are set.
type Embedded struct {
	Listen     string    `toml:"listen"`   // "host:port"
	DataDir    string    `toml:"data_dir"` // "" = in memory only
	SyncWrites bool      `toml:"sync_writes"`
	TLS        ServerTLS `toml:"tls"`
	SASL       SASL      `toml:"sasl"` // the one user clients must authenticate as
}

// ServerTLS is the embedded broker's certificate; TLS is served when both
// files are set.
type ServerTLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Enabled reports whether the embedded broker serves TLS.
func (t ServerTLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// HTTP configures the monitoring server: metrics, health, the status API
// and page.
type HTTP struct {
	Listen string `toml:"listen"` // "host:port"; "" = no server
}

// Plugins says where plugins and their compilation cache live.
type Plugins struct {
	Dir      string `toml:"dir"`
	CacheDir string `toml:"cache_dir"` // "" disables the compilation cache
	// From, Topic, MaxSize and TrustedKeys: see plugins.go.
	From        PluginFrom  `toml:"from"`         // where plugins come from unless a pipeline or source says
	Topic       string      `toml:"topic"`        // the compacted plugin topic (from = "kafka")
	MaxSize     Size        `toml:"max_size"`     // the largest module the plugin topic carries
	TrustedKeys []PublicKey `toml:"trusted_keys"` // when set, only modules signed by one of these load
}

// Reload says what the daemon watches to reload without a restart. SIGHUP
// (`wasmhost reload`) reloads the config and rescans the plugin files
// whatever these say.
type Reload struct {
	WatchPlugins bool     `toml:"watch_plugins"` // swap in a plugin file's new content when it changes
	WatchConfig  bool     `toml:"watch_config"`  // reload the config file when it changes, as on SIGHUP
	Delay        Duration `toml:"delay"`         // quiet time after the last change to a watched file before it is read
}

// Topic is a topic the daemon creates when it is missing.
type Topic struct {
	Name              string            `toml:"name"`
	Partitions        int32             `toml:"partitions"`
	ReplicationFactor int16             `toml:"replication_factor"`
	Configs           map[string]string `toml:"configs"` // topic configs, e.g. "retention.ms"
}

// Pipeline consumes Topics as consumer group Group and hands the records to
// Plugin in batches.
type Pipeline struct {
	Name      string   `toml:"name"`
	Plugin    string   `toml:"plugin"` // see PluginPath
	Topics    []string `toml:"topics"`
	Group     string   `toml:"group"` // Load defaults it to "wasmhost-<name>"
	Consumers int      `toml:"consumers"`
	BatchSize int      `toml:"batch_size"`
	BatchWait Duration `toml:"batch_wait"`
	// PluginFrom overrides plugins.from for this pipeline; "" inherits it.
	PluginFrom PluginFrom `toml:"plugin_from"`
	// BatchBytes ends a batch early, at the record that brings its keys,
	// values and headers to this size: large records go to the plugin in
	// fewer per call, so that a batch fits in the plugin's memory.
	BatchBytes Size `toml:"batch_bytes"`
	// TickInterval, when set, ticks each partition's plugin instance at
	// this interval between batches (a windowed aggregation closes its
	// window there); zero never ticks.
	TickInterval   Duration    `toml:"tick_interval"`
	OffsetReset    OffsetReset `toml:"offset_reset"`
	SessionTimeout Duration    `toml:"session_timeout"`
	// TransactionTimeout bounds an exactly-once transaction; after a crash
	// the partition waits at most this long for the broker to abort it.
	TransactionTimeout Duration `toml:"transaction_timeout"`
	// TransactionSize, TransactionBytes and TransactionWait bound an
	// exactly-once transaction, which spans plugin batches: it commits once
	// it holds TransactionSize input records, or TransactionBytes of input
	// and output records, or TransactionWait after it began, and at once
	// when the partition has no record ready.
	TransactionSize  int               `toml:"transaction_size"`
	TransactionBytes Size              `toml:"transaction_bytes"`
	TransactionWait  Duration          `toml:"transaction_wait"`
	Guarantee        Guarantee         `toml:"guarantee"`
	ProduceTopics    []string          `toml:"produce_topics"` // allowlist; empty = every [[topics]] name
	SHA256           Digest            `toml:"sha256"`         // zero = not pinned
	Config           map[string]string `toml:"config"`         // handed to the plugin
	Failure          Failure           `toml:"failure"`
	Limits           PipelineLimits    `toml:"limits"`
	Grants           Grants            `toml:"grants"`
	State            State             `toml:"state"`
}

// Failure says what a pipeline does when a plugin call fails.
type Failure struct {
	Policy          FailurePolicy `toml:"policy"`
	Retries         int           `toml:"retries"`
	Backoff         Duration      `toml:"backoff"`
	DeadLetterTopic string        `toml:"dead_letter_topic"` // set if and only if Policy is DeadLetter
}

// Limits bound one plugin instance and what each of its calls may do.
// docs/limits.md says what happens at each.
type Limits struct {
	Memory          Size     `toml:"memory"` // whole 64 KiB pages, 1 MiB..4 GiB; see Size.Pages
	CallTimeout     Duration `toml:"call_timeout"`
	MaxOutputRecord Size     `toml:"max_output_record"` // encoded size of one produced record
	MaxOutputBytes  Size     `toml:"max_output_bytes"`  // bytes produced in one call
	MaxOutputs      int      `toml:"max_outputs"`       // records produced in one call
}

// PipelineLimits are a pipeline's Limits and the bound on its input
// records.
type PipelineLimits struct {
	Limits
	MaxInputRecord Size `toml:"max_input_record"` // encoded size of one record handed to the plugin
}

// Grants are what a plugin may reach beyond clocks, randomness and its
// stdout/stderr. The zero value (and every default) grants nothing. There is
// no network grant: WebAssembly System Interface preview 1 cannot open
// sockets.
type Grants struct {
	Env       map[string]string `toml:"env"`        // the plugin's whole environment
	Args      []string          `toml:"args"`       // arguments after the program name
	ReadDirs  map[string]string `toml:"read_dirs"`  // guest path -> host directory, read-only
	WriteDirs map[string]string `toml:"write_dirs"` // guest path -> host directory, read-write
}

// Source is a plugin called every Interval with no input records.
type Source struct {
	Name          string            `toml:"name"`
	Plugin        string            `toml:"plugin"` // see PluginPath
	Interval      Duration          `toml:"interval"`
	ProduceTopics []string          `toml:"produce_topics"` // allowlist; empty = every [[topics]] name
	SHA256        Digest            `toml:"sha256"`         // zero = not pinned
	Config        map[string]string `toml:"config"`         // handed to the plugin
	Limits        Limits            `toml:"limits"`
	Grants        Grants            `toml:"grants"`
	// Lease and LeaseGroup: whether the source runs on one daemon of a
	// fleet, and the consumer group its daemons share (see fleet.go).
	Lease      SourceLease `toml:"lease"`
	LeaseGroup string      `toml:"lease_group"` // "" = DefaultLeaseGroup(Name)
	// PluginFrom overrides plugins.from for this source; "" inherits it.
	PluginFrom PluginFrom `toml:"plugin_from"`
}

// Default returns the configuration of an empty file: the embedded broker,
// no topics, pipelines or sources.
func Default() *Config {
	return &Config{
		ShutdownTimeout: Duration{30 * time.Second},
		Log:             Log{Level: LevelInfo, Format: FormatAuto},
		Kafka: Kafka{
			Brokers:     []string{},
			ClientID:    "wasmhost",
			Version:     KafkaVersion{sarama.V3_6_0_0},
			DialTimeout: Duration{10 * time.Second},
		},
		EmbeddedBroker: Embedded{Listen: "127.0.0.1:9092", DataDir: "data/kafka"},
		Plugins:        defaultPlugins(),
		Reload:         Reload{WatchPlugins: true, Delay: Duration{200 * time.Millisecond}},
		Topics:         []Topic{},
		Pipelines:      []Pipeline{},
		Sources:        []Source{},
		Fleet:          defaultFleet(),
	}
}

// DefaultTopic returns a [[topics]] entry with every omitted key at its
// default; Name is left for the caller.
func DefaultTopic() Topic {
	return Topic{Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{}}
}

// DefaultPipeline returns a [[pipelines]] entry with every omitted key at its
// default. Name, Plugin and Topics are left for the caller, and Group, whose
// default derives from Name, too.
func DefaultPipeline() Pipeline {
	return Pipeline{
		Topics:             []string{},
		Consumers:          1,
		BatchSize:          256,
		BatchWait:          Duration{5 * time.Millisecond},
		BatchBytes:         MiB,
		OffsetReset:        Earliest,
		SessionTimeout:     Duration{10 * time.Second},
		TransactionTimeout: Duration{10 * time.Second},
		TransactionSize:    2048,
		TransactionBytes:   4 * MiB,
		TransactionWait:    Duration{50 * time.Millisecond},
		Guarantee:          AtLeastOnce,
		ProduceTopics:      []string{},
		Config:             map[string]string{},
		Failure:            Failure{Policy: Stop, Retries: 3, Backoff: Duration{100 * time.Millisecond}},
		Limits:             PipelineLimits{Limits: defaultLimits(), MaxInputRecord: MiB},
		Grants:             defaultGrants(),
		State:              State{MaxKeys: DefaultStateMaxKeys, MaxBytes: DefaultStateMaxBytes},
	}
}

// DefaultSource returns a [[sources]] entry with every omitted key at its
// default; Name and Plugin are left for the caller.
func DefaultSource() Source {
	return Source{
		Interval:      Duration{time.Second},
		ProduceTopics: []string{},
		Config:        map[string]string{},
		Limits:        defaultLimits(),
		Grants:        defaultGrants(),
		Lease:         LeaseAuto,
	}
}

func defaultLimits() Limits {
	return Limits{
		Memory:          64 * MiB,
		CallTimeout:     Duration{5 * time.Second},
		MaxOutputRecord: MiB,
		MaxOutputBytes:  64 * MiB,
		MaxOutputs:      100_000,
	}
}

func defaultGrants() Grants {
	return Grants{Env: map[string]string{}, Args: []string{}, ReadDirs: map[string]string{}, WriteDirs: map[string]string{}}
}

// DefaultGroup is the consumer group of a pipeline whose group is omitted.
func DefaultGroup(pipeline string) string { return "wasmhost-" + pipeline }

// Embedded reports whether the daemon runs the embedded broker, that is
// whether kafka.brokers is empty.
func (c *Config) Embedded() bool { return len(c.Kafka.Brokers) == 0 }

// PluginPath is the .wasm file of the pipeline's plugin: Plugin itself if it
// ends in ".wasm" (a path, relative to the working directory), otherwise
// <pluginsDir>/<Plugin>.wasm.
func (p *Pipeline) PluginPath(pluginsDir string) string { return pluginPath(p.Plugin, pluginsDir) }

// PluginPath is the .wasm file of the source's plugin, as Pipeline.PluginPath.
func (s *Source) PluginPath(pluginsDir string) string { return pluginPath(s.Plugin, pluginsDir) }

func pluginPath(plugin, dir string) string {
	if isPluginFile(plugin) {
		return plugin
	}
	return filepath.Join(dir, plugin+".wasm")
}

// PluginName is how logs, errors and the status page name a plugin: the
// plugin key itself, or for a plugin configured by path ("build/grep.wasm")
// its file name without ".wasm" ("grep"), not the full path. It is also the
// name a plugin is deployed and signed under.
func PluginName(plugin string) string {
	if isPluginFile(plugin) {
		return strings.TrimSuffix(filepath.Base(plugin), ".wasm")
	}
	return plugin
}

func isPluginFile(plugin string) bool { return strings.HasSuffix(plugin, ".wasm") }

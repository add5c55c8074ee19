package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestLoadInvalid loads files with problems and checks that exactly the
// expected keys are reported, each with a message containing the given text.
func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want map[string]string // key -> part of its message
	}{
		// Enums.
		{"bad guarantee", minimalPipeline(`guarantee = "twice"`),
			map[string]string{"pipelines[0].guarantee": `"twice" is not one of at-most-once, at-least-once, exactly-once`}},
		{"bad offset_reset", minimalPipeline(`offset_reset = "middle"`),
			map[string]string{"pipelines[0].offset_reset": `"middle" is not one of earliest, latest`}},
		{"bad failure policy", minimalPipeline("[pipelines.failure]", `policy = "retry"`),
			map[string]string{"pipelines[0].failure.policy": `"retry" is not one of dead-letter, skip, stop`}},
		{"bad log level and format", "[log]\nlevel = \"loud\"\nformat = \"xml\"",
			map[string]string{"log.level": "trace, debug, info, warn, error", "log.format": "auto, console, json"}},
		{"bad sasl mechanism", "[kafka.sasl]\nmechanism = \"GSSAPI\"",
			map[string]string{"kafka.sasl.mechanism": `"GSSAPI" is not one of "" (none), PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`}},

		// Durations.
		{"tick interval too short", minimalPipeline(`tick_interval = "1ms"`),
			map[string]string{"pipelines[0].tick_interval": "must be 0 (no ticks) or between 10ms and 24h, got 1ms"}},
		{"state limits zero", minimalPipeline("[pipelines.state]\nmax_keys = 0\nmax_bytes = 10"),
			map[string]string{"pipelines[0].state.max_keys": "must be between 1 and 1000000000, got 0",
				"pipelines[0].state.max_bytes": "must be between 1KiB and 64GiB, got 10"}},
		{"duration without unit", minimalPipeline(`batch_wait = "5"`),
			map[string]string{"pipelines[0].batch_wait": `"5" is not a duration`}},
		{"duration as integer", minimalPipeline(`batch_wait = 5`),
			map[string]string{"pipelines[0].batch_wait": "must be a string, not an integer"}},
		{"zero duration", minimalPipeline(`batch_wait = "0s"`),
			map[string]string{"pipelines[0].batch_wait": "must be greater than 0, got 0s"}},
		{"short session timeout", minimalPipeline(`session_timeout = "500ms"`),
			map[string]string{"pipelines[0].session_timeout": "must be at least 1s, got 500ms"}},
		{"negative backoff", minimalPipeline("[pipelines.failure]", `backoff = "-1s"`),
			map[string]string{"pipelines[0].failure.backoff": "must not be negative"}},
		{"zero shutdown and source interval", "shutdown_timeout = \"0s\"\n[[sources]]\nname = \"s\"\nplugin = \"p\"\ninterval = \"0s\"",
			map[string]string{"shutdown_timeout": "greater than 0", "sources[0].interval": "greater than 0"}},

		// Plugins from Kafka and signatures.
		{"bad plugin origin", "[plugins]\nfrom = \"s3\"\n" + minimalPipeline(`plugin_from = "http"`),
			map[string]string{"plugins.from": `"s3" is not one of files, kafka`, "pipelines[0].plugin_from": `"http" is not one of files, kafka`}},
		{"file plugin from kafka", "[[sources]]\nname = \"s\"\nplugin = \"build/s.wasm\"\nplugin_from = \"kafka\"",
			map[string]string{"sources[0].plugin": `"build/s.wasm" is a file, but the plugin comes from Kafka`}},
		{"plugin topic and size", "[plugins]\ntopic = \"a b\"\nmax_size = \"128MiB\"",
			map[string]string{"plugins.topic": "is not a valid topic name", "plugins.max_size": "must be between 1MiB and 64MiB, got 128MiB"}},
		{"trusted keys", "[plugins]\ntrusted_keys = [\"ssh-ed25519 AAAA\", \"ed25519:AAAA\", \"ed25519:oqWTGWb68kWDv4biKBvJmri8RRRjiqXwzGDpnwXr81Y=\", \"ed25519:oqWTGWb68kWDv4biKBvJmri8RRRjiqXwzGDpnwXr81Y=\"]",
			map[string]string{"plugins.trusted_keys[0]": "is not a public key", "plugins.trusted_keys[1]": "must hold 32 bytes", "plugins.trusted_keys[3]": "repeats plugins.trusted_keys[2]"}},

		// Sizes and digests.
		{"size with decimal unit", minimalPipeline("[pipelines.limits]", `memory = "64MB"`),
			map[string]string{"pipelines[0].limits.memory": `"64MB" is not a size`}},
		{"size not whole pages", minimalPipeline("[pipelines.limits]", `memory = 1100000`),
			map[string]string{"pipelines[0].limits.memory": "must be a multiple of 64KiB"}},
		{"size too large", "[[sources]]\nname = \"s\"\nplugin = \"p\"\n[sources.limits]\nmemory = \"8GiB\"",
			map[string]string{"sources[0].limits.memory": "must be between 1MiB and 4GiB, got 8GiB"}},
		{"batch bytes too small", minimalPipeline(`batch_bytes = 512`),
			map[string]string{"pipelines[0].batch_bytes": "must be between 1KiB and 1GiB, got 512"}},
		{"negative size", minimalPipeline("[pipelines.limits]", `memory = -1`),
			map[string]string{"pipelines[0].limits.memory": "-1 is negative"}},
		{"short sha256", minimalPipeline(`sha256 = "abc"`),
			map[string]string{"pipelines[0].sha256": "must be 64 hex characters (a SHA-256 digest), got 3"}},

		// Required keys.
		{"pipeline missing name plugin topics", "[[pipelines]]\nconsumers = 1",
			map[string]string{"pipelines[0].name": "required", "pipelines[0].plugin": "required", "pipelines[0].topics": "required"}},
		{"topic missing name", "[[topics]]\npartitions = 3",
			map[string]string{"topics[0].name": "required"}},
		{"source missing plugin", "[[sources]]\nname = \"s\"",
			map[string]string{"sources[0].plugin": "required"}},
		{"empty plugins dir", "[plugins]\ndir = \"\"",
			map[string]string{"plugins.dir": "required"}},

		// Duplicates.
		{"duplicate pipeline names", minimalPipeline() + minimalPipeline(),
			map[string]string{"pipelines[1].name": `"p" is already used by pipelines[0].name`}},
		{"pipeline and source share a name", minimalPipeline() + "[[sources]]\nname = \"p\"\nplugin = \"x\"",
			map[string]string{"sources[0].name": `"p" is already used by pipelines[0].name`}},
		{"duplicate topics", "[[topics]]\nname = \"t\"\n[[topics]]\nname = \"u\"\n[[topics]]\nname = \"t\"",
			map[string]string{"topics[2].name": `"t" is already used by topics[0].name`}},
		{"duplicate groups", minimalPipeline(`group = "g"`) + "[[pipelines]]\nname = \"q\"\nplugin = \"x\"\ntopics = [\"in\"]\ngroup = \"g\"",
			map[string]string{"pipelines[1].group": `"g" is already used by pipelines[0].group`}},
		{"topic listed twice in a pipeline", minimalPipeline(`produce_topics = ["out", "out"]`),
			map[string]string{"pipelines[0].produce_topics[1]": `"out" is already used`}},

		// Unknown keys.
		{"unknown top-level key", "shutdown = \"1s\"",
			map[string]string{"shutdown": "unknown key"}},
		{"unknown key in a pipeline", minimalPipeline("batchsize = 10"),
			map[string]string{"pipelines[0].batchsize": `unknown key (did you mean "batch_size"?)`}},
		{"unknown key in the second pipeline", minimalPipeline() + "[[pipelines]]\nname = \"q\"\nplugin = \"x\"\ntopics = [\"in\"]\nbatchsize = 10",
			map[string]string{"pipelines[1].batchsize": `unknown key (did you mean "batch_size"?)`}},
		{"unknown nested table", minimalPipeline("[pipelines.failur]", "retries = 1"),
			map[string]string{"pipelines[0].failur": `unknown key (did you mean "failure"?)`}},
		{"unknown key in kafka.tls", "[kafka.tls]\nenable = true",
			map[string]string{"kafka.tls.enable": `did you mean "enabled"?`}},
		{"unknown quoted key", "[log]\n\"lev el\" = 1",
			map[string]string{`log."lev el"`: "unknown key"}},

		// Wrong TOML types.
		{"string for an integer", minimalPipeline(`consumers = "2"`),
			map[string]string{"pipelines[0].consumers": "must be an integer, not a string"}},
		{"string for a list", "[[pipelines]]\nname = \"p\"\nplugin = \"x\"\ntopics = \"in\"",
			map[string]string{"pipelines[0].topics": "must be an array, not a string"}},
		{"number in a list", "[kafka]\nbrokers = [\"a:1\", 2]",
			map[string]string{"kafka.brokers[1]": "must be a string, not an integer"}},
		{"partitions overflow", "[[topics]]\nname = \"t\"\npartitions = 3000000000",
			map[string]string{"topics[0].partitions": "3000000000 is out of range (must be between -2147483648 and 2147483647)"}},
		{"array in a config map", minimalPipeline("[pipelines.config]", `a = [1]`, `"b.c" = 1.5`),
			map[string]string{"pipelines[0].config.a": "must be a string, not an array", `pipelines[0].config."b.c"`: "not a float"}},
		{"table expected", "log = \"debug\"",
			map[string]string{"log": "must be a table, not a string"}},
		{"boolean expected", "[kafka.tls]\nenabled = \"yes\"",
			map[string]string{"kafka.tls.enabled": "must be true or false, not a string"}},

		// TLS and SASL.
		{"client cert without key", "[kafka.tls]\ncert_file = \"c.pem\"",
			map[string]string{"kafka.tls.key_file": "required when cert_file is set"}},
		{"client key without cert", "[kafka.tls]\nkey_file = \"k.pem\"",
			map[string]string{"kafka.tls.cert_file": "required when key_file is set"}},
		{"embedded cert without key", "[embedded.tls]\ncert_file = \"c.pem\"",
			map[string]string{"embedded.tls.key_file": "required when cert_file is set"}},
		{"tls enabled with missing files", "[kafka.tls]\nenabled = true\nca_file = \"/nonexistent/ca.pem\"",
			map[string]string{"kafka.tls.ca_file": `"/nonexistent/ca.pem" does not exist`}},
		{"sasl without password", "[kafka.sasl]\nmechanism = \"SCRAM-SHA-512\"\nusername = \"u\"",
			map[string]string{"kafka.sasl.password": "required when mechanism is SCRAM-SHA-512"}},
		{"embedded sasl without user", "[embedded.sasl]\nmechanism = \"plain\"",
			map[string]string{"embedded.sasl.username": "required when mechanism is PLAIN", "embedded.sasl.password": "required"}},
		{"sasl credentials without mechanism", "[kafka.sasl]\nusername = \"u\"\npassword = \"p\"",
			map[string]string{"kafka.sasl.username": "set but mechanism is", "kafka.sasl.password": "set but mechanism is"}},

		// Names and addresses.
		{"bad topic names", minimalPipeline(`produce_topics = ["a b", "..", "` + strings.Repeat("x", 250) + `"]`),
			map[string]string{"pipelines[0].produce_topics[0]": "not a valid topic name", "pipelines[0].produce_topics[1]": `".."`, "pipelines[0].produce_topics[2]": "1 to 249"}},
		{"bad input topic", "[[pipelines]]\nname = \"p\"\nplugin = \"x\"\ntopics = [\"in\", \"\"]",
			map[string]string{"pipelines[0].topics[1]": "required"}},
		{"bad pipeline name", "[[pipelines]]\nname = \"my pipe\"\nplugin = \"x\"\ntopics = [\"in\"]",
			map[string]string{"pipelines[0].name": `"my pipe" must contain only a-z, A-Z, 0-9, '_' and '-'`}},
		{"plugin neither name nor wasm path", "[[pipelines]]\nname = \"p\"\nplugin = \"dir/print\"\ntopics = [\"in\"]",
			map[string]string{"pipelines[0].plugin": "neither a plugin name"}},
		{"broker without port", "[kafka]\nbrokers = [\"localhost\"]",
			map[string]string{"kafka.brokers[0]": `"localhost" is not a host:port address`}},
		{"listen port not a number", "[embedded]\nlisten = \"127.0.0.1:kafka\"",
			map[string]string{"embedded.listen": `port "kafka" is not a number`}},
		{"bad kafka version", "[kafka]\nversion = \"3.6\"",
			map[string]string{"kafka.version": `"3.6" is not a Kafka version`}},
		{"unsupported kafka version", "[kafka]\nversion = \"99.0.0\"",
			map[string]string{"kafka.version": "99.0.0 is outside the versions this build supports"}},
		{"empty client id", "[kafka]\nclient_id = \"\"",
			map[string]string{"kafka.client_id": "required"}},

		// Ranges.
		{"consumers zero", minimalPipeline(`consumers = 0`),
			map[string]string{"pipelines[0].consumers": "must be between 1 and 1024, got 0"}},
		{"consumers too many", minimalPipeline(`consumers = 1025`),
			map[string]string{"pipelines[0].consumers": "must be between 1 and 1024, got 1025"}},
		{"batch size too large", minimalPipeline(`batch_size = 100001`),
			map[string]string{"pipelines[0].batch_size": "must be between 1 and 100000, got 100001"}},
		{"transaction size zero, transaction wait zero", minimalPipeline(`transaction_size = 0`, `transaction_wait = "0s"`),
			map[string]string{"pipelines[0].transaction_size": "must be between 1 and 100000, got 0",
				"pipelines[0].transaction_wait": "must be greater than 0, got 0s"}},
		{"transaction size too large", minimalPipeline(`transaction_size = 100001`),
			map[string]string{"pipelines[0].transaction_size": "must be between 1 and 100000, got 100001"}},
		{"transaction bytes too small", minimalPipeline(`transaction_bytes = "512B"`),
			map[string]string{"pipelines[0].transaction_bytes": "must be between 1KiB and 1GiB, got 512"}},
		{"negative retries", minimalPipeline("[pipelines.failure]", `retries = -1`),
			map[string]string{"pipelines[0].failure.retries": "must be at least 0, got -1"}},
		{"zero partitions and replication", "[[topics]]\nname = \"t\"\npartitions = 0\nreplication_factor = 0",
			map[string]string{"topics[0].partitions": "at least 1", "topics[0].replication_factor": "at least 1"}},

		// Limits and grants.
		{"input record over memory", minimalPipeline("[pipelines.limits]", `memory = "1MiB"`, `max_input_record = "2MiB"`),
			map[string]string{"pipelines[0].limits.max_input_record": "must not exceed memory (1MiB)"}},
		{"tiny output record and too few outputs", minimalPipeline("[pipelines.limits]", `max_output_record = 100`, `max_outputs = 0`),
			map[string]string{"pipelines[0].limits.max_output_record": "at least 1KiB, got 100", "pipelines[0].limits.max_outputs": "between 1 and 10000000, got 0"}},
		{"output bytes below one record", "[[sources]]\nname = \"s\"\nplugin = \"p\"\n[sources.limits]\nmax_output_bytes = \"512KiB\"",
			map[string]string{"sources[0].limits.max_output_bytes": "must be at least max_output_record (1MiB), got 512KiB"}},
		{"input limit on a source", "[[sources]]\nname = \"s\"\nplugin = \"p\"\n[sources.limits]\nmax_input_record = \"1MiB\"",
			map[string]string{"sources[0].limits.max_input_record": "unknown key"}},
		{"bad grants", minimalPipeline("[pipelines.grants]", `env = { "A=B" = "x" }`, `args = ["a\u0000b"]`,
			`read_dirs = { "data" = "/tmp", "/etc" = "/etc/hostname", "/x" = "/nonexistent/dir" }`, `write_dirs = { "/etc" = "/tmp" }`),
			map[string]string{
				"pipelines[0].grants.env":               `"A=B" is not a variable name`,
				"pipelines[0].grants.args[0]":           "NUL",
				"pipelines[0].grants.read_dirs.data":    `must be absolute and clean, like "/data"`,
				`pipelines[0].grants.read_dirs."/etc"`:  `"/etc/hostname" is not a directory`,
				`pipelines[0].grants.read_dirs."/x"`:    `"/nonexistent/dir" does not exist`,
				`pipelines[0].grants.write_dirs."/etc"`: `"/etc" is also in read_dirs`,
			}},

		// Dead letters.
		{"dead-letter without topic", minimalPipeline("[pipelines.failure]", `policy = "dead-letter"`),
			map[string]string{"pipelines[0].failure.dead_letter_topic": "required when policy is dead-letter"}},
		{"dead-letter topic with another policy", minimalPipeline("[pipelines.failure]", `dead_letter_topic = "dlq"`),
			map[string]string{"pipelines[0].failure.dead_letter_topic": `set but policy is "stop"`}},
		{"dead-letter topic is an input", minimalPipeline("[pipelines.failure]", `policy = "dead-letter"`, `dead_letter_topic = "in"`),
			map[string]string{"pipelines[0].failure.dead_letter_topic": `"in" is also an input topic`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.toml))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			got := map[string]string{}
			for _, fe := range verr.Errors {
				got[fe.Key] = fe.Msg
			}
			if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tt.want))) {
				t.Fatalf("problems:\n%s\nwant keys %v", fieldErrors(verr.Errors), slices.Sorted(maps.Keys(tt.want)))
			}
			for k, part := range tt.want {
				if !strings.Contains(got[k], part) {
					t.Errorf("%s: %q does not contain %q", k, got[k], part)
				}
			}
		})
	}
}

// TestLoadValidVariants loads files that use the less common accepted forms.
func TestLoadValidVariants(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		check func(*Config) bool
	}{
		{"enum in another case", minimalPipeline(`guarantee = "Exactly-Once"`, `offset_reset = "LATEST"`),
			func(c *Config) bool {
				return c.Pipelines[0].Guarantee == ExactlyOnce && c.Pipelines[0].OffsetReset == Latest
			}},
		{"size as integer bytes", minimalPipeline("[pipelines.limits]", "memory = 1048576"),
			func(c *Config) bool { return c.Pipelines[0].Limits.Memory == MiB }},
		{"size in KiB", minimalPipeline("[pipelines.limits]", `memory = "2048KiB"`),
			func(c *Config) bool { return c.Pipelines[0].Limits.Memory == 2*MiB }},
		{"maximum memory", minimalPipeline("[pipelines.limits]", `memory = "4GiB"`),
			func(c *Config) bool { return c.Pipelines[0].Limits.Memory.Pages() == 65536 }},
		{"dead-letter with its topic", minimalPipeline("[pipelines.failure]", `policy = "dead-letter"`, `dead_letter_topic = "dlq"`),
			func(c *Config) bool { return c.Pipelines[0].Failure.Policy == DeadLetter }},
		{"sasl and tls off with files set", "[kafka.tls]\nca_file = \"/nonexistent\"\n[kafka.sasl]\nmechanism = \"scram-sha-256\"\nusername = \"u\"\npassword = \"p\"",
			func(c *Config) bool { return c.Kafka.SASL.Mechanism == SASLSCRAM256 }},
		{"config values converted to strings", minimalPipeline("[pipelines.config]", `"a.b" = "x"`, "n = 42", "f = true"),
			func(c *Config) bool {
				return maps.Equal(c.Pipelines[0].Config, map[string]string{"a.b": "x", "n": "42", "f": "true"})
			}},
		{"topic configs inline", "[[topics]]\nname = \"t\"\nconfigs = { \"retention.ms\" = \"86400000\", \"cleanup.policy\" = \"compact\" }",
			func(c *Config) bool { return c.Topics[0].Configs["cleanup.policy"] == "compact" }},
		{"sha256 pin in upper case", minimalPipeline(`sha256 = "` + strings.Repeat("AB", 32) + `"`),
			func(c *Config) bool { return c.Pipelines[0].SHA256.String() == strings.Repeat("ab", 32) }},
		{"plugin path outside the plugins dir", "[[pipelines]]\nname = \"p\"\nplugin = \"../build/x.wasm\"\ntopics = [\"in\"]",
			func(c *Config) bool { return c.Pipelines[0].PluginPath("plugins") == "../build/x.wasm" }},
		{"inline array of tables", `pipelines = [{ name = "p", plugin = "x", topics = ["in"] }]`,
			func(c *Config) bool { return c.Pipelines[0].Group == "wasmhost-p" && c.Pipelines[0].BatchSize == 256 }},
		{"limits and grants", minimalPipeline("[pipelines.limits]", `max_input_record = "64KiB"`, `max_output_record = 4096`,
			`max_output_bytes = "1MiB"`, "max_outputs = 10", "[pipelines.grants]", `env = { REGION = "eu" }`, `args = ["-v"]`,
			`read_dirs = { "/tmp" = "/tmp" }`),
			func(c *Config) bool {
				l, g := c.Pipelines[0].Limits, c.Pipelines[0].Grants
				return l.MaxInputRecord == 64*KiB && l.MaxOutputRecord == 4*KiB && l.MaxOutputBytes == MiB && l.MaxOutputs == 10 &&
					l.Memory == 64*MiB && g.Env["REGION"] == "eu" && slices.Equal(g.Args, []string{"-v"}) && g.ReadDirs["/tmp"] == "/tmp"
			}},
		{"external broker ignores embedded tls files", "[kafka]\nbrokers = [\"k:9092\"]\n[embedded.tls]\ncert_file = \"/nonexistent/c\"\nkey_file = \"/nonexistent/k\"",
			func(c *Config) bool { return !c.Embedded() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(writeConfig(t, tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("unexpected config: %+v", cfg)
			}
		})
	}
}

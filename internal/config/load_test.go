package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// writeConfig writes text to a config.toml in a temporary directory and
// returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// minimalPipeline is the smallest valid pipeline; extra lines are added to
// the same [[pipelines]] entry.
func minimalPipeline(extra ...string) string {
	return "[[pipelines]]\nname = \"p\"\nplugin = \"print\"\ntopics = [\"in\"]\n" +
		strings.Join(extra, "\n") + "\n"
}

func TestLoadShippedConfig(t *testing.T) {
	cfg, err := Load("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Embedded() || cfg.EmbeddedBroker.DataDir != "data/kafka" {
		t.Errorf("want the embedded broker with data_dir data/kafka, got brokers %v, data_dir %q",
			cfg.Kafka.Brokers, cfg.EmbeddedBroker.DataDir)
	}
	wantTopics := []Topic{{Name: "users", Partitions: 10, ReplicationFactor: 1, Configs: map[string]string{}}}
	if !reflect.DeepEqual(cfg.Topics, wantTopics) {
		t.Errorf("topics = %+v, want %+v", cfg.Topics, wantTopics)
	}
	src := DefaultSource()
	src.Name, src.Plugin, src.ProduceTopics = "users", "users", []string{"users"}
	if !reflect.DeepEqual(cfg.Sources, []Source{src}) {
		t.Errorf("sources = %+v, want %+v", cfg.Sources, []Source{src})
	}
	pl := DefaultPipeline()
	pl.Name, pl.Plugin, pl.Topics, pl.Group = "print-users", "print", []string{"users"}, "wasmhost-print-users"
	if !reflect.DeepEqual(cfg.Pipelines, []Pipeline{pl}) {
		t.Errorf("pipelines = %+v, want %+v", cfg.Pipelines, []Pipeline{pl})
	}
}

// TestShippedConfigShowsDefaults checks that the shipped file, apart from the
// demo's own entries, says exactly what an empty file means.
func TestShippedConfigShowsDefaults(t *testing.T) {
	cfg, err := Load("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("the demo should serve the status page on 127.0.0.1:8080, http.listen = %q", cfg.HTTP.Listen)
	}
	// The demo's own entries: its topic, source and pipeline, and the
	// status page it turns on.
	cfg.Topics, cfg.Pipelines, cfg.Sources, cfg.HTTP = []Topic{}, []Pipeline{}, []Source{}, HTTP{}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("shipped config differs from Default():\n got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	cfg, err := Load(writeConfig(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("got %+v, want Default() %+v", cfg, Default())
	}
}

func TestLoadMinimalAppliesDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, `
[kafka]
brokers = ["k1:9092", "k2:9092"]

[[topics]]
name = "in"

[[sources]]
name = "tick"
plugin = "dir/ticker.wasm"
`+minimalPipeline()+`
[[pipelines]]
name = "q"
plugin = "print"
topics = ["in"]
group = "custom"
guarantee = "exactly-once"
[pipelines.limits]
memory = "1GiB"
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Embedded() {
		t.Error("Embedded() = true with brokers set")
	}
	if got := cfg.Kafka.ClientID; got != "wasmhost" {
		t.Errorf("client_id = %q, want the default", got)
	}
	if got, want := cfg.Topics[0], (Topic{Name: "in", Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{}}); !reflect.DeepEqual(got, want) {
		t.Errorf("topic = %+v, want %+v", got, want)
	}
	p := cfg.Pipelines[0]
	if p.Group != "wasmhost-p" || p.Guarantee != AtLeastOnce || p.OffsetReset != Earliest ||
		p.Failure.Policy != Stop || p.BatchSize != 256 || p.BatchWait.Duration != 5*time.Millisecond ||
		p.Limits.Memory != 64*MiB || p.Limits.Memory.Pages() != 1024 {
		t.Errorf("pipeline defaults not applied: %+v", p)
	}
	q := cfg.Pipelines[1]
	if q.Group != "custom" || q.Guarantee != ExactlyOnce || q.Limits.Memory != GiB ||
		q.Limits.CallTimeout.Duration != 5*time.Second || q.Consumers != 1 {
		t.Errorf("second pipeline: %+v", q)
	}
	if got := cfg.Sources[0].PluginPath("plugins"); got != "dir/ticker.wasm" {
		t.Errorf("source PluginPath = %q", got)
	}
	if got, want := p.PluginPath("plugins"), filepath.Join("plugins", "print.wasm"); got != want {
		t.Errorf("pipeline PluginPath = %q, want %q", got, want)
	}
	if cfg.Sources[0].Interval.Duration != time.Second {
		t.Errorf("source interval = %s, want 1s", cfg.Sources[0].Interval)
	}
}

func TestLoadSyntaxErrorNamesFileAndLine(t *testing.T) {
	path := writeConfig(t, "[log]\nlevel = \"info\"\nformat = json\n")
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	if want := path + ":3:"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		t.Errorf("error %v does not unwrap to toml.ParseError", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.toml") {
		t.Errorf("got %v, want a not-exist error naming the file", err)
	}
}

// TestLoadReportsEveryProblem: unknown keys, bad values and failed checks in
// several entries come out together, sorted, each under its full key.
func TestLoadReportsEveryProblem(t *testing.T) {
	path := writeConfig(t, `
shutdown_timeout = "soon"
[log]
levle = "debug"
[kafka.tls]
cert_file = "c.pem"
[[topics]]
name = "bad topic"
partitions = 0
[[pipelines]]
name = "a"
topics = ["in"]
batchsize = 10
[[pipelines]]
name = "a"
plugin = "print"
topics = ["in"]
guarantee = "twice"
consumers = 2000
[pipelines.limits]
memory = "100KiB"
`)
	_, err := Load(path)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	want := []FieldError{
		{"kafka.tls.key_file", "required when cert_file is set"},
		{"log.levle", `unknown key (did you mean "level"?)`},
		{"pipelines[0].batchsize", `unknown key (did you mean "batch_size"?)`},
		{"pipelines[0].plugin", "required"},
		{"pipelines[1].consumers", "must be between 1 and 1024, got 2000"},
		{"pipelines[1].guarantee", `"twice" is not one of at-most-once, at-least-once, exactly-once`},
		{"pipelines[1].limits.memory", "must be between 1MiB and 4GiB, got 100KiB"},
		{"pipelines[1].name", `"a" is already used by pipelines[0].name`},
		{"shutdown_timeout", `"soon" is not a duration (write e.g. "1s", "250ms", "1m30s")`},
		{"topics[0].name", `"bad topic" is not a valid topic name (1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'; not "." or "..")`},
		{"topics[0].partitions", "must be at least 1, got 0"},
	}
	if !reflect.DeepEqual(verr.Errors, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", fieldErrors(verr.Errors), fieldErrors(want))
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, path+": 11 problems:\n\t") {
		t.Errorf("error does not start with the path and count:\n%s", msg)
	}
	if got := strings.Count(msg, "\n"); got != len(want) {
		t.Errorf("error has %d lines after the first, want one per problem:\n%s", got, msg)
	}
}

func fieldErrors(errs []FieldError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("\t" + e.Error() + "\n")
	}
	return b.String()
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func validPipeline(name string) Pipeline {
	p := DefaultPipeline()
	p.Name, p.Plugin, p.Topics, p.Group = name, "print", []string{"in"}, DefaultGroup(name)
	return p
}

// TestValidateBuiltInGo checks configs built in Go, as other packages' tests
// build them, without a file.
func TestValidateBuiltInGo(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for _, f := range []string{cert, key} {
		if err := os.WriteFile(f, []byte("pem"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // keys reported, in order
	}{
		{"default", func(*Config) {}, nil},
		{"default entries", func(c *Config) {
			src := DefaultSource()
			src.Name, src.Plugin = "tick", "tick"
			top := DefaultTopic()
			top.Name = "in"
			c.Pipelines, c.Sources, c.Topics = []Pipeline{validPipeline("p")}, []Source{src}, []Topic{top}
		}, nil},
		{"pipeline without group", func(c *Config) {
			p := validPipeline("p")
			p.Group = ""
			c.Pipelines = []Pipeline{p}
		}, []string{"pipelines[0].group"}},
		{"zero values", func(c *Config) {
			c.Pipelines = []Pipeline{{Name: "p", Plugin: "x", Topics: []string{"in"}, Group: "g"}}
		}, []string{
			"pipelines[0].batch_bytes", "pipelines[0].batch_size", "pipelines[0].batch_wait", "pipelines[0].consumers",
			"pipelines[0].failure.policy", "pipelines[0].guarantee", "pipelines[0].limits.call_timeout",
			"pipelines[0].limits.max_input_record", "pipelines[0].limits.max_output_record", "pipelines[0].limits.max_outputs",
			"pipelines[0].limits.memory", "pipelines[0].offset_reset", "pipelines[0].session_timeout", "pipelines[0].state.max_bytes", "pipelines[0].state.max_keys", "pipelines[0].transaction_bytes",
			"pipelines[0].transaction_size", "pipelines[0].transaction_timeout", "pipelines[0].transaction_wait",
		}},
		{"zero config", func(c *Config) { *c = Config{} }, []string{
			"embedded.listen", "kafka.client_id", "kafka.dial_timeout", "kafka.version",
			"log.format", "log.level", "plugins.dir", "plugins.from", "plugins.max_size", "plugins.topic",
			"reload.delay", "shutdown_timeout",
		}},
		{"client tls files exist", func(c *Config) {
			c.Kafka.Brokers = []string{"k:9092"}
			c.Kafka.TLS = ClientTLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key}
		}, nil},
		{"client tls file is a directory", func(c *Config) {
			c.Kafka.TLS = ClientTLS{Enabled: true, CAFile: dir}
		}, []string{"kafka.tls.ca_file"}},
		{"embedded tls files missing", func(c *Config) {
			c.EmbeddedBroker.TLS = ServerTLS{CertFile: cert, KeyFile: filepath.Join(dir, "missing.pem")}
		}, []string{"embedded.tls.key_file"}},
		{"http listen", func(c *Config) { c.HTTP.Listen = "127.0.0.1:0" }, nil},
		{"http listen not an address", func(c *Config) { c.HTTP.Listen = "8080" }, []string{"http.listen"}},
		{"http listen on the embedded broker's port", func(c *Config) {
			c.HTTP.Listen = c.EmbeddedBroker.Listen
		}, []string{"http.listen"}},
		{"memory between pages", func(c *Config) {
			p := validPipeline("p")
			p.Limits.Memory = MiB + 1
			c.Pipelines = []Pipeline{p}
		}, []string{"pipelines[0].limits.memory"}},
		{"source names another pipeline's group", func(c *Config) {
			src := DefaultSource()
			src.Name, src.Plugin = "p", "x"
			c.Pipelines, c.Sources = []Pipeline{validPipeline("p")}, []Source{src}
		}, []string{"sources[0].name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.modify(cfg)
			err := cfg.Validate()
			var got []string
			var verr *ValidationError
			if errors.As(err, &verr) {
				for _, fe := range verr.Errors {
					got = append(got, fe.Key)
				}
			} else if err != nil {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("reported %v, want %v\n%v", got, tt.want, err)
			}
		})
	}
}

func TestEmbeddedServerTLSEnabled(t *testing.T) {
	for _, tt := range []struct {
		tls  ServerTLS
		want bool
	}{{ServerTLS{}, false}, {ServerTLS{CertFile: "c"}, false}, {ServerTLS{CertFile: "c", KeyFile: "k"}, true}} {
		if got := tt.tls.Enabled(); got != tt.want {
			t.Errorf("%+v.Enabled() = %v, want %v", tt.tls, got, tt.want)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	one := &ValidationError{Errors: []FieldError{{"a", "required"}}}
	if got := one.Error(); got != "a: required" {
		t.Errorf("one problem: %q", got)
	}
	two := &ValidationError{Errors: []FieldError{{"a", "required"}, {"b[1]", "bad"}}}
	if got, want := two.Error(), "2 problems:\n\ta: required\n\tb[1]: bad"; got != want {
		t.Errorf("two problems: %q, want %q", got, want)
	}
}

func TestCompareKeysSortsIndexesAsNumbers(t *testing.T) {
	keys := []string{"pipelines[10].name", "pipelines[2].name", "pipelines[2]", "log.level", "pipelines[2].group"}
	var p problems
	for _, k := range keys {
		p.add(k, "x")
	}
	var verr *ValidationError
	if !errors.As(p.err(), &verr) {
		t.Fatal("no ValidationError")
	}
	var got []string
	for _, fe := range verr.Errors {
		got = append(got, fe.Key)
	}
	want := "log.level pipelines[2] pipelines[2].group pipelines[2].name pipelines[10].name"
	if strings.Join(got, " ") != want {
		t.Errorf("sorted %v, want %s", got, want)
	}
}

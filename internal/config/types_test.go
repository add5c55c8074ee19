package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size // 0 = error
		text string
	}{
		{"65536", 64 * KiB, "64KiB"},
		{"512KiB", 512 * KiB, "512KiB"},
		{"64MiB", 64 * MiB, "64MiB"},
		{"1GiB", GiB, "1GiB"},
		{"4GiB", 4 * GiB, "4GiB"},
		{"1536MiB", 1536 * MiB, "1536MiB"},
		{"100B", 100, "100"},
		{" 2 MiB ", 2 * MiB, "2MiB"},
		{"1.5GiB", 0, ""},
		{"64MB", 0, ""},
		{"MiB", 0, ""},
		{"-1", 0, ""},
		{"", 0, ""},
		{"99999999999GiB", 0, ""},
	}
	for _, tt := range tests {
		s := Size(7)
		err := s.UnmarshalText([]byte(tt.in))
		if tt.want == 0 {
			if err == nil || s != 7 {
				t.Errorf("%q: got %d, %v; want an error and no change", tt.in, s, err)
			}
			continue
		}
		if err != nil || s != tt.want || s.String() != tt.text {
			t.Errorf("%q: got %d (%s), %v; want %d (%s)", tt.in, s, s, err, tt.want, tt.text)
		}
	}
	if got := (64 * MiB).Pages(); got != 1024 {
		t.Errorf("64MiB = %d pages, want 1024", got)
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Duration != 90*time.Second {
		t.Errorf("1m30s: %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("90")); err == nil || d.Duration != 90*time.Second {
		t.Errorf("90: want an error and no change, got %v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestDigest(t *testing.T) {
	var d Digest
	hex := strings.Repeat("0f", 32)
	if err := d.UnmarshalText([]byte(hex)); err != nil || d.IsZero() || d.String() != hex || d[0] != 0x0f {
		t.Errorf("valid digest: %v, %v", d, err)
	}
	for _, bad := range []string{"abc", strings.Repeat("zz", 32)} {
		if err := d.UnmarshalText([]byte(bad)); err == nil || d.String() != hex {
			t.Errorf("%q: want an error and no change, got %v, %v", bad, d, err)
		}
	}
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() || d.String() != "" {
		t.Errorf("empty digest: %v, %v", d, err)
	}
}

func TestKafkaVersion(t *testing.T) {
	var v KafkaVersion
	if err := v.UnmarshalText([]byte("2.8.0")); err != nil || v.KafkaVersion != sarama.V2_8_0_0 || v.check() != nil {
		t.Errorf("2.8.0: %v, %v", v, err)
	}
	if err := (KafkaVersion{}).check(); err == nil {
		t.Error("zero version passes check")
	}
}

func TestEnums(t *testing.T) {
	var g Guarantee
	if err := g.UnmarshalText([]byte("AT-MOST-ONCE")); err != nil || g != AtMostOnce {
		t.Errorf("AT-MOST-ONCE: %q, %v", g, err)
	}
	err := g.UnmarshalText([]byte("twice"))
	if err == nil || g != AtMostOnce {
		t.Errorf("twice: want an error and no change, got %q", g)
	}
	if want := `"twice" is not one of at-most-once, at-least-once, exactly-once`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	var m SASLMechanism = "x"
	if err := m.UnmarshalText(nil); err != nil || m != NoSASL {
		t.Errorf(`"" mechanism: %q, %v`, m, err)
	}
}

func TestSuggest(t *testing.T) {
	fields := tomlFields(reflect.TypeFor[Pipeline]())
	for k, want := range map[string]string{
		"batchsize":      "batch_size",
		"BatchSize":      "batch_size",
		"gaurantee":      "guarantee",
		"produce-topics": "produce_topics",
		"topic":          "topics",
		"xyz":            "",
		"plugins":        "plugin",
	} {
		got := suggest(k, fields)
		if want == "" && got != "" || want != "" && !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("suggest(%q) = %q, want %q", k, got, want)
		}
	}
}

package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func leasedSource(name string) Source {
	s := DefaultSource()
	s.Name, s.Plugin = name, "users"
	return s
}

// TestFleetKeys checks the [fleet] keys and the sources' lease keys: each
// problem under its full key, and the fleet keys checked only when used.
func TestFleetKeys(t *testing.T) {
	shared := []string{"k:9092"}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"leased source with defaults", func(c *Config) {
			c.Kafka.Brokers, c.Sources = shared, []Source{leasedSource("a"), leasedSource("b")}
		}, nil},
		{"bad lease", func(c *Config) {
			s := leasedSource("a")
			s.Lease = "sometimes"
			c.Sources = []Source{s}
		}, []string{"sources[0].lease"}},
		{"two sources share a lease group", func(c *Config) {
			a, b := leasedSource("a"), leasedSource("b")
			a.LeaseGroup, b.LeaseGroup = "g", "g"
			c.Kafka.Brokers, c.Sources = shared, []Source{a, b}
		}, []string{"sources[1].lease_group"}},
		{"lease group is a pipeline's group", func(c *Config) {
			s := leasedSource("a")
			s.LeaseGroup = DefaultGroup("p")
			c.Pipelines, c.Sources = []Pipeline{validPipeline("p")}, []Source{s}
		}, []string{"sources[0].lease_group"}},
		{"lease group not a name", func(c *Config) {
			s := leasedSource("a")
			s.LeaseGroup = "a b"
			c.Sources = []Source{s}
		}, []string{"sources[0].lease_group"}},
		{"lease keys checked when a source is leased", func(c *Config) {
			c.Fleet.LeaseTopic, c.Fleet.LeaseSessionTimeout = "", Duration{100 * time.Millisecond}
			c.Kafka.Brokers, c.Sources = shared, []Source{leasedSource("a")}
		}, []string{"fleet.lease_session_timeout", "fleet.lease_topic"}},
		{"lease keys unused with the embedded broker", func(c *Config) {
			c.Fleet.LeaseTopic = ""
			c.Sources = []Source{leasedSource("a")}
		}, nil},
		{"lease on with the embedded broker", func(c *Config) {
			c.Fleet.LeaseTopic = ""
			s := leasedSource("a")
			s.Lease = LeaseOn
			c.Sources = []Source{s}
		}, []string{"fleet.lease_topic"}},
		{"status keys", func(c *Config) {
			c.Fleet.StatusTopic, c.Fleet.StaleAfter = "..", 1
		}, []string{"fleet.stale_after", "fleet.status_topic"}},
		{"status off", func(c *Config) {
			c.Fleet = Fleet{}
		}, nil},
		{"negative interval", func(c *Config) {
			c.Fleet.StatusInterval = Duration{-time.Second}
		}, []string{"fleet.status_interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.modify(cfg)
			var got []string
			var verr *ValidationError
			if err := cfg.Validate(); errors.As(err, &verr) {
				for _, fe := range verr.Errors {
					got = append(got, fe.Key)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("reported %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLeased(t *testing.T) {
	cfg := Default()
	s := leasedSource("a")
	for _, tt := range []struct {
		lease   SourceLease
		brokers []string
		want    bool
	}{
		{LeaseAuto, nil, false}, {LeaseAuto, []string{"k:9092"}, true},
		{LeaseOn, nil, true}, {LeaseOff, []string{"k:9092"}, false},
	} {
		s.Lease, cfg.Kafka.Brokers = tt.lease, tt.brokers
		if got := cfg.Leased(&s); got != tt.want {
			t.Errorf("lease %s, brokers %v: Leased = %v", tt.lease, tt.brokers, got)
		}
	}
	if got := s.LeaseGroupName(); got != "wasmhost-source-a" {
		t.Errorf("default lease group %q", got)
	}
}

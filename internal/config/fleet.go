package config

import "time"

// Fleet configures what daemons sharing brokers do together: each
// publishes its status to StatusTopic, and a source whose lease is on runs
// on one daemon of those sharing its lease group (see internal/fleet).
type Fleet struct {
	// StatusTopic is the compacted topic every daemon publishes its status
	// record to, keyed by daemon id, and reads the fleet's from.
	StatusTopic string `toml:"status_topic"`
	// StatusInterval is how often a daemon publishes; zero publishes
	// nothing and reads nothing (no fleet view).
	StatusInterval Duration `toml:"status_interval"`
	// StaleAfter is how many of its intervals a daemon may stay silent
	// before the fleet view shows it as stale.
	StaleAfter int `toml:"stale_after"`
	// LeaseTopic is the one-partition topic the source leases' consumer
	// groups are subscribed to: the member holding its partition ticks.
	LeaseTopic string `toml:"lease_topic"`
	// LeaseSessionTimeout is the lease groups' session timeout: how long
	// a lease holder that died keeps its sources silent before another
	// daemon takes them over.
	LeaseSessionTimeout Duration `toml:"lease_session_timeout"`
}

// SourceLease says whether a source runs on one daemon of a fleet.
type SourceLease string

// Source leases.
const (
	LeaseAuto SourceLease = "auto" // on unless the brokers are the daemon's embedded one
	LeaseOn   SourceLease = "on"   // tick only while holding the source's lease
	LeaseOff  SourceLease = "off"  // tick on every daemon that runs the source
)

var sourceLeases = []SourceLease{LeaseAuto, LeaseOn, LeaseOff}

// UnmarshalText accepts one of the SourceLease constants, in any case.
func (l *SourceLease) UnmarshalText(b []byte) error { return parseEnum(l, b, sourceLeases) }

// Fleet defaults.
const (
	DefaultStatusTopic = "wasmhost-status"
	DefaultLeaseTopic  = "wasmhost-leases"
	// DefaultLeaseSessionTimeout is the smallest session timeout Kafka
	// brokers accept by default (group.min.session.timeout.ms), as the
	// embedded broker does, and the original design's.
	DefaultLeaseSessionTimeout = 6 * time.Second
)

func defaultFleet() Fleet {
	return Fleet{
		StatusTopic: DefaultStatusTopic, StatusInterval: Duration{5 * time.Second}, StaleAfter: 3,
		LeaseTopic: DefaultLeaseTopic, LeaseSessionTimeout: Duration{DefaultLeaseSessionTimeout},
	}
}

// DefaultLeaseGroup is the lease group of a source whose lease_group is
// omitted.
func DefaultLeaseGroup(source string) string { return "wasmhost-source-" + source }

// LeaseGroupName is the consumer group of the source's lease: lease_group,
// or DefaultLeaseGroup when that is empty.
func (s *Source) LeaseGroupName() string {
	if s.LeaseGroup != "" {
		return s.LeaseGroup
	}
	return DefaultLeaseGroup(s.Name)
}

// Leased reports whether the source ticks only while it holds its lease:
// lease "on", or "auto" with brokers that are not the daemon's embedded
// one (then other daemons may share them).
func (c *Config) Leased(s *Source) bool {
	return s.Lease == LeaseOn || s.Lease == LeaseAuto && !c.Embedded()
}

func (c *Config) validateFleet(p *problems) {
	f := &c.Fleet
	if f.StatusInterval.Duration < 0 {
		p.add("fleet.status_interval", "must be 0 (off) or greater, got %s", f.StatusInterval)
	}
	if f.StatusInterval.Duration > 0 {
		topicName(p, "fleet.status_topic", f.StatusTopic)
		between(p, "fleet.stale_after", f.StaleAfter, 2, 100)
	}
	leased := false
	for i := range c.Sources {
		leased = leased || c.Leased(&c.Sources[i])
	}
	if !leased {
		return
	}
	topicName(p, "fleet.lease_topic", f.LeaseTopic)
	if d := f.LeaseSessionTimeout.Duration; d < time.Second || d > 5*time.Minute {
		p.add("fleet.lease_session_timeout", "must be between 1s and 5m, got %s (brokers refuse less than their group.min.session.timeout.ms, 6s by default)", f.LeaseSessionTimeout)
	}
}

// validateLease checks the source's lease keys; groups holds the consumer
// groups of the pipelines and of the sources before it: two sources sharing
// a lease group would share one lease, and only one of them would tick.
func (s *Source) validateLease(p *problems, key string, groups map[string]string) {
	enum(p, key+".lease", s.Lease, sourceLeases)
	if s.LeaseGroup != "" && !namePattern.MatchString(s.LeaseGroup) {
		p.add(key+".lease_group", "%q must contain only a-z, A-Z, 0-9, '_' and '-'", s.LeaseGroup)
		return
	}
	if s.Name != "" {
		unique(p, key+".lease_group", s.LeaseGroupName(), groups)
	}
}

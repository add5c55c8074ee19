package config

import (
	"fmt"
	"strings"
)

// Guarantee is a pipeline's delivery guarantee for the records its plugin
// produces, relative to the records it consumes.
type Guarantee string

// Guarantees.
const (
	AtMostOnce  Guarantee = "at-most-once"  // offsets committed before the plugin runs
	AtLeastOnce Guarantee = "at-least-once" // offsets committed after outputs are acked
	ExactlyOnce Guarantee = "exactly-once"  // outputs and offsets in one transaction
)

// OffsetReset is where a consumer group with no committed offset starts.
type OffsetReset string

// Offset resets.
const (
	Earliest OffsetReset = "earliest"
	Latest   OffsetReset = "latest"
)

// FailurePolicy is what a pipeline does with a record whose plugin call still
// fails after the retries.
type FailurePolicy string

// Failure policies.
const (
	DeadLetter FailurePolicy = "dead-letter" // produce it to failure.dead_letter_topic and go on
	Skip       FailurePolicy = "skip"        // log it and go on
	Stop       FailurePolicy = "stop"        // stop the pipeline without committing it
)

// LogLevel is the minimum level of log lines written.
type LogLevel string

// Log levels.
const (
	LevelTrace LogLevel = "trace"
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

// LogFormat is how log lines are written.
type LogFormat string

// Log formats.
const (
	FormatAuto    LogFormat = "auto" // console on a terminal, json otherwise
	FormatConsole LogFormat = "console"
	FormatJSON    LogFormat = "json"
)

// SASLMechanism is a SASL mechanism; "" (NoSASL) means no SASL.
type SASLMechanism string

// SASL mechanisms.
const (
	NoSASL       SASLMechanism = ""
	SASLPlain    SASLMechanism = "PLAIN"
	SASLSCRAM256 SASLMechanism = "SCRAM-SHA-256"
	SASLSCRAM512 SASLMechanism = "SCRAM-SHA-512"
)

var (
	guarantees      = []Guarantee{AtMostOnce, AtLeastOnce, ExactlyOnce}
	offsetResets    = []OffsetReset{Earliest, Latest}
	failurePolicies = []FailurePolicy{DeadLetter, Skip, Stop}
	logLevels       = []LogLevel{LevelTrace, LevelDebug, LevelInfo, LevelWarn, LevelError}
	logFormats      = []LogFormat{FormatAuto, FormatConsole, FormatJSON}
	saslMechanisms  = []SASLMechanism{NoSASL, SASLPlain, SASLSCRAM256, SASLSCRAM512}
)

// UnmarshalText accepts one of the Guarantee constants, in any case.
func (g *Guarantee) UnmarshalText(b []byte) error { return parseEnum(g, b, guarantees) }

// UnmarshalText accepts one of the OffsetReset constants, in any case.
func (o *OffsetReset) UnmarshalText(b []byte) error { return parseEnum(o, b, offsetResets) }

// UnmarshalText accepts one of the FailurePolicy constants, in any case.
func (f *FailurePolicy) UnmarshalText(b []byte) error { return parseEnum(f, b, failurePolicies) }

// UnmarshalText accepts one of the LogLevel constants, in any case.
func (l *LogLevel) UnmarshalText(b []byte) error { return parseEnum(l, b, logLevels) }

// UnmarshalText accepts one of the LogFormat constants, in any case.
func (f *LogFormat) UnmarshalText(b []byte) error { return parseEnum(f, b, logFormats) }

// UnmarshalText accepts one of the SASLMechanism constants, in any case.
func (m *SASLMechanism) UnmarshalText(b []byte) error { return parseEnum(m, b, saslMechanisms) }

// parseEnum sets *v to the allowed value equal to b ignoring case, or returns
// the error checkEnum describes and leaves *v unchanged.
func parseEnum[T ~string](v *T, b []byte, allowed []T) error {
	for _, a := range allowed {
		if strings.EqualFold(string(a), string(b)) {
			*v = a
			return nil
		}
	}
	return checkEnum(T(b), allowed)
}

// checkEnum reports a value that is not one of allowed.
func checkEnum[T ~string](v T, allowed []T) error {
	names := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if a == v {
			return nil
		}
		if a == "" {
			names = append(names, `"" (none)`)
			continue
		}
		names = append(names, string(a))
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(names, ", "))
}

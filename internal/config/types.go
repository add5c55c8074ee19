package config

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// Duration is a time.Duration written in Go syntax in TOML: "1s", "250ms",
// "1m30s".
type Duration struct{ time.Duration }

// UnmarshalText parses Go duration syntax. On error d is left unchanged.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf(`%q is not a duration (write e.g. "1s", "250ms", "1m30s")`, b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes Go duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Size is a number of bytes. In TOML it is an integer (bytes) or a string
// with a binary unit: "512KiB", "64MiB", "1GiB".
type Size uint64

// Binary size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

// wasmPage is the WebAssembly page size; memory limits are whole pages.
const wasmPage = 64 * KiB

var sizeUnits = map[string]Size{"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}

// UnmarshalText parses "<digits>[B|KiB|MiB|GiB]". On error s is left
// unchanged.
func (s *Size) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	i := 0
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	unit, ok := sizeUnits[strings.TrimSpace(text[i:])]
	n, err := strconv.ParseUint(text[:i], 10, 64)
	if i == 0 || !ok || err != nil {
		return fmt.Errorf(`%q is not a size (write bytes as an integer, or e.g. "512KiB", "64MiB", "1GiB")`, b)
	}
	if n > math.MaxUint64/uint64(unit) {
		return fmt.Errorf("%q is too large", b)
	}
	*s = Size(n) * unit
	return nil
}

// unmarshalInt accepts a TOML integer as a number of bytes.
func (s *Size) unmarshalInt(n int64) error {
	if n < 0 {
		return fmt.Errorf("%d is negative", n)
	}
	*s = Size(n)
	return nil
}

// MarshalText writes the size in the largest unit that divides it exactly.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// String writes the size in the largest unit that divides it exactly, e.g.
// "64MiB", or as plain bytes.
func (s Size) String() string {
	for _, u := range []struct {
		name string
		size Size
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}} {
		if s != 0 && s%u.size == 0 {
			return strconv.FormatUint(uint64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatUint(uint64(s), 10)
}

// Pages is the size in 64 KiB WebAssembly pages, as taken by wazero's
// RuntimeConfig.WithMemoryLimitPages. Validate guarantees a memory limit is a
// whole number of pages between 16 and 65536.
func (s Size) Pages() uint32 { return uint32(s / wasmPage) }

// Digest is a SHA-256 digest written as 64 hex characters. The zero Digest
// means "not set".
type Digest [32]byte

// IsZero reports whether the digest is unset.
func (d Digest) IsZero() bool { return d == Digest{} }

// String returns the digest in lower-case hex, or "" when unset.
func (d Digest) String() string {
	if d.IsZero() {
		return ""
	}
	return hex.EncodeToString(d[:])
}

// MarshalText writes the digest as String does.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses 64 hex characters, or "" for unset. On error d is left
// unchanged.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Digest{}
		return nil
	}
	var v Digest
	if len(b) != hex.EncodedLen(len(v)) {
		return fmt.Errorf("must be 64 hex characters (a SHA-256 digest), got %d characters", len(b))
	}
	if _, err := hex.Decode(v[:], b); err != nil {
		return fmt.Errorf("must be 64 hex characters (a SHA-256 digest): %q is not hex", b)
	}
	*d = v
	return nil
}

// KafkaVersion is the Kafka protocol version the client speaks, written as
// "3.6.0" (or "0.10.2.0" before 1.0), between sarama.MinVersion and
// sarama.MaxVersion.
type KafkaVersion struct{ sarama.KafkaVersion }

// UnmarshalText parses a version with sarama.ParseKafkaVersion. On error v is
// left unchanged.
func (v *KafkaVersion) UnmarshalText(b []byte) error {
	kv, err := sarama.ParseKafkaVersion(string(b))
	if err != nil {
		return fmt.Errorf(`%q is not a Kafka version (write e.g. "3.6.0")`, b)
	}
	v.KafkaVersion = kv
	return nil
}

// MarshalText writes the version as "3.6.0".
func (v KafkaVersion) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// check reports a version sarama cannot speak.
func (v KafkaVersion) check() error {
	if !v.IsAtLeast(sarama.MinVersion) || !sarama.MaxVersion.IsAtLeast(v.KafkaVersion) {
		return fmt.Errorf("%s is outside the versions this build supports (%s..%s)",
			v, sarama.MinVersion, sarama.MaxVersion)
	}
	return nil
}

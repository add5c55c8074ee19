package host

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Defaults of the Limits fields.
const (
	DefaultCallTimeout     = 5 * time.Second
	DefaultMaxInputRecord  = 1 << 20
	DefaultMaxOutputRecord = 1 << 20
	DefaultMaxOutputBytes  = 64 << 20
	DefaultMaxOutputs      = 100_000
)

// Limits bound what one call may do. Zero fields take the defaults.
type Limits struct {
	// CallTimeout: a call running longer is stopped and the instance is
	// broken (default 5s).
	CallTimeout time.Duration
	// MaxInputRecord is the largest encoded input record handed to the
	// plugin; a larger one fails without the plugin seeing it (default 1 MiB).
	MaxInputRecord int
	// MaxOutputRecord is the largest encoded record the plugin may produce;
	// a larger one is refused and fails its input record (default 1 MiB).
	MaxOutputRecord int
	// MaxOutputBytes is how many bytes the plugin may hand to produce in
	// one call; past it the call fails (default 64 MiB).
	MaxOutputBytes int
	// MaxOutputs is how many records the plugin may produce in one call;
	// past it the call fails (default 100,000).
	MaxOutputs int
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.CallTimeout <= 0 {
		l.CallTimeout = DefaultCallTimeout
	}
	def(&l.MaxInputRecord, DefaultMaxInputRecord)
	def(&l.MaxOutputRecord, DefaultMaxOutputRecord)
	def(&l.MaxOutputBytes, DefaultMaxOutputBytes)
	def(&l.MaxOutputs, DefaultMaxOutputs)
	return l
}

// Grants are what a plugin may reach beyond clocks, randomness and its
// stdout/stderr. The zero value grants nothing. There is no grant for the
// network: WASI preview 1 has no way to open a socket.
type Grants struct {
	// Env is the plugin's whole environment; the daemon's own is never
	// passed on.
	Env map[string]string
	// Args are the plugin's arguments after the program name (os.Args[0]
	// is the plugin's name). None at all when empty.
	Args []string
	// Dirs are host directories the plugin sees in its filesystem.
	Dirs []Dir
}

// Dir is a host directory mounted in a plugin's filesystem.
type Dir struct {
	Host  string // the directory on the host
	Guest string // where the plugin sees it, e.g. "/data"
	Write bool   // read-write; false mounts it read-only
}

// InstanceOptions configure one instance.
type InstanceOptions struct {
	Pipeline string            // pipeline or source name, for logs
	Consumer string            // group member id, "" for sources
	Config   map[string]string // the plugin's config from the pipeline
	Logger   zerolog.Logger    // plugin log lines go here, tagged with plugin and version
	// AllowTopic says whether the plugin may produce to a topic; nil allows all.
	AllowTopic func(topic string) bool
	// Partitions returns how many partitions a topic has, 0 when unknown,
	// so that a record produced to a partition that does not exist fails
	// its input record instead of being sent; nil checks nothing.
	Partitions func(topic string) int32
	Limits     Limits
	Grants     Grants
	// State is the key-value store the state_* host functions reach (see
	// kv.go); nil keeps no state, and they answer StatusNoState.
	State State
	// DroppedLines counts the plugin's log lines (the log host function,
	// stdout and stderr) dropped over the instance's rate limit; nil
	// counts nowhere. Instances may share one.
	DroppedLines *atomic.Uint64
}

// Output is one record the plugin produced. Input is the index in the batch
// of the record it derives from, or abi.NoInput. The record's byte slices may
// be kept (a key or value may be the caller's own, see [Batch.AddKept]: do
// not change them); its Headers slice is reused by the next call.
type Output struct {
	Input  uint32
	Record abi.Record
}

// Failure is an input record the plugin (or the host, on its behalf) failed.
type Failure struct {
	Index  int
	Reason string
	// Refused: the host failed the record without handing it to the plugin
	// (it is over Limits.MaxInputRecord), so retrying cannot help.
	Refused bool
}

// Err is the failure as an error; errors.Is(err, ErrInputTooLarge) when the
// record was refused.
func (f Failure) Err() error {
	if f.Refused {
		return &refusedError{f.Reason}
	}
	return errors.New(f.Reason)
}

type refusedError struct{ reason string }

func (e *refusedError) Error() string        { return e.reason }
func (e *refusedError) Is(target error) bool { return target == ErrInputTooLarge }

// Result is what a call produced. It is owned by the Instance and overwritten
// by its next call.
type Result struct {
	// Outputs of the records that did not fail, in the order produced.
	Outputs []Output
	// Failures, sorted by index, one per failed record.
	Failures []Failure
}

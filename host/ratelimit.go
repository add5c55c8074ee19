package host

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Bounds on what one instance may write to the daemon's log, through the
// log host function, stdout and stderr together, per second. Past either,
// lines are dropped and counted, with one warning a second saying so.
const (
	logLinesPerSecond = 100
	logBytesPerSecond = 64 << 10
)

// logLimit is an instance's budget of log lines and bytes for the current
// second. Safe for concurrent use.
type logLimit struct {
	log     zerolog.Logger
	counter *atomic.Uint64 // InstanceOptions.DroppedLines, or nil
	now     func() time.Time

	mu     sync.Mutex
	window time.Time
	lines  int
	bytes  int
	warned bool
}

func newLogLimit(log zerolog.Logger, counter *atomic.Uint64) *logLimit {
	return &logLimit{log: log, counter: counter, now: time.Now}
}

// logCost is what a line costs of the bytes budget: what it takes in the
// daemon's JSON log, where a control character, quote or backslash is
// escaped (a NUL takes six bytes) and an invalid UTF-8 byte becomes U+FFFD.
func logCost(line []byte) int {
	n := len(line)
	for _, c := range line {
		switch {
		case c < 0x20:
			n += 5
		case c == '"' || c == '\\':
			n++
		case c >= 0x80:
			n += 2
		}
	}
	return n
}

// allow reports whether a line from stream may be logged; a line refused
// is counted, and the first of a second is warned about.
func (l *logLimit) allow(stream string, line []byte) bool {
	n := logCost(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.lines, l.bytes, l.warned = now, 0, 0, false
	}
	if l.lines < logLinesPerSecond && l.bytes+n <= logBytesPerSecond {
		l.lines++
		l.bytes += n
		return true
	}
	if l.counter != nil {
		l.counter.Add(1)
	}
	if !l.warned {
		l.warned = true
		l.log.Warn().Str("stream", stream).Int("lines_per_second", logLinesPerSecond).Int("bytes_per_second", logBytesPerSecond).
			Msg("plugin log over the rate limit: its lines are dropped for the rest of this second (counted in wasmhost_plugin_log_lines_dropped_total)")
	}
	return false
}

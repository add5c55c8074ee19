package host

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Bounds on a plugin's stdout/stderr.
const (
	maxLineBytes    = 4 << 10  // a longer line is cut
	linesPerSecond  = 100      // more lines in a second are dropped, and counted
	recentStderrMax = 4        // lines of stderr kept to explain a trap
	maxStackBytes   = 16 << 10 // a Go panic's stack kept for its log line
)

// lineWriter turns a plugin's stdout or stderr into log lines tagged with the
// plugin, rate limited so a chatty plugin cannot flood the daemon's log.
type lineWriter struct {
	log    zerolog.Logger
	level  zerolog.Level
	stream string

	mu      sync.Mutex
	partial []byte
	window  time.Time
	lines   int
	dropped int
	recent  []string
	// panicLine is the last Go "panic:" or "fatal error:" line, which says
	// more about a trap than the stack trace after it.
	panicLine string
	// A Go panic's message and stack are one log line, with the stack as
	// a field: from the panic line on, lines are held in stack until the
	// trap is reported (recentSuffix) or the stream is flushed.
	inPanic bool
	stack   []string
	stackN  int // bytes in stack
}

func newLineWriter(log zerolog.Logger, level zerolog.Level, stream string) *lineWriter {
	return &lineWriter{log: log, level: level, stream: stream}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLineBytes - len(w.partial)
			w.partial = append(w.partial, p[:min(len(p), max(room, 0))]...)
			break
		}
		room := maxLineBytes - len(w.partial)
		w.partial = append(w.partial, p[:min(i, max(room, 0))]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) emit() {
	line := string(w.partial)
	w.partial = w.partial[:0]
	isPanic := strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")
	if isPanic && !w.inPanic {
		w.panicLine = line
	}
	if isPanic || w.inPanic {
		if !w.inPanic {
			w.inPanic, w.stack, w.stackN = true, w.stack[:0], 0
		}
		if w.stackN+len(line) <= maxStackBytes {
			w.stack = append(w.stack, line)
			w.stackN += len(line) + 1
		}
		return
	}
	if w.stream == "stderr" {
		w.recent = append(w.recent, line)
		if len(w.recent) > recentStderrMax {
			w.recent = w.recent[1:]
		}
	}
	now := time.Now()
	if now.Sub(w.window) >= time.Second {
		if w.dropped > 0 {
			w.log.WithLevel(zerolog.WarnLevel).Str("stream", w.stream).Int("dropped", w.dropped).Msg("plugin output over the rate limit was dropped")
		}
		w.window, w.lines, w.dropped = now, 0, 0
	}
	if w.lines >= linesPerSecond {
		w.dropped++
		return
	}
	w.lines++
	w.log.WithLevel(w.level).Str("stream", w.stream).Msg(line)
}

// flushPanic logs a held Go panic as one line: its first line as the
// message, everything from it on as the stack field.
func (w *lineWriter) flushPanic() {
	if !w.inPanic {
		return
	}
	msg := w.stack[0]
	w.log.WithLevel(w.level).Str("stream", w.stream).Str("stack", strings.Join(w.stack, "\n")).Msg(msg)
	w.inPanic, w.stack, w.stackN = false, w.stack[:0], 0
}

// Flush logs a last partial line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
	w.flushPanic()
}

// recentSuffix returns the last stderr lines (a Go panic's message) to
// append to a trap error.
func (w *lineWriter) recentSuffix() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
	w.flushPanic()
	defer func() { w.recent, w.panicLine = w.recent[:0], "" }()
	if w.panicLine != "" {
		return "; " + w.panicLine
	}
	if len(w.recent) == 0 {
		return ""
	}
	return "; stderr: " + strings.Join(w.recent, " | ")
}

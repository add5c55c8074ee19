package host

import (
	"bytes"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// Bounds on a plugin's stdout/stderr; lines are rate limited with the log
// host function's (ratelimit.go).
const (
	maxLineBytes    = 4 << 10 // a longer line is cut
	recentStderrMax = 4       // lines of stderr kept to explain a trap
)

// lineWriter turns a plugin's stdout or stderr into log lines tagged with the
// plugin, rate limited so a chatty plugin cannot flood the daemon's log.
type lineWriter struct {
	log    zerolog.Logger
	level  zerolog.Level
	stream string
	limit  *logLimit

	mu      sync.Mutex
	partial []byte
	recent  []string
	// panicLine is the last Go "panic:" or "fatal error:" line, which says
	// more about a trap than the stack trace after it.
	panicLine string
}

func newLineWriter(log zerolog.Logger, level zerolog.Level, stream string, limit *logLimit) *lineWriter {
	return &lineWriter{log: log, level: level, stream: stream, limit: limit}
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
	ok := w.limit.allow(w.stream, w.partial)
	w.partial = w.partial[:0]
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		w.panicLine = line
	}
	if w.stream == "stderr" {
		w.recent = append(w.recent, line)
		if len(w.recent) > recentStderrMax {
			w.recent = w.recent[1:]
		}
	}
	if !ok {
		return
	}
	w.log.WithLevel(w.level).Str("stream", w.stream).Msg(line)
}

// Flush logs a last partial line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
}

// recentSuffix returns the last stderr lines (a Go panic's message) to
// append to a trap error.
func (w *lineWriter) recentSuffix() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.emit()
	}
	defer func() { w.recent, w.panicLine = w.recent[:0], "" }()
	if w.panicLine != "" {
		return "; " + w.panicLine
	}
	if len(w.recent) == 0 {
		return ""
	}
	return "; stderr: " + strings.Join(w.recent, " | ")
}

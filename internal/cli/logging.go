package cli

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
)

// Durations are logged as Go duration strings ("1s", "1.2s", "250ms"), so a
// reader sees the unit: zerolog's default is a bare number of milliseconds.
// The setting is zerolog's, global to the process, so it is made here once,
// by the program's logger setup, before any logger exists.
func init() { zerolog.DurationFieldFormat = zerolog.DurationFormatString }

// newLogger builds the daemon's logger: console lines on a terminal (or
// when asked), JSON otherwise.
func newLogger(w io.Writer, level config.LogLevel, format config.LogFormat) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(string(level))
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	console := format == config.FormatConsole
	if format == config.FormatAuto {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

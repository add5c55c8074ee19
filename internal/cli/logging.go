package cli

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
)

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

package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

// exitNow is how a second signal ends the process; a variable for tests.
var exitNow = os.Exit

// signalContext is cancelled by the first SIGINT or SIGTERM; a second one
// exits at once with status 130.
func signalContext(log zerolog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-ch
		if !ok {
			return
		}
		log.Info().Str("signal", s.String()).Msg("stopping; send it again to exit at once")
		cancel()
		if _, ok := <-ch; ok {
			log.Warn().Msg("second signal: exiting now")
			exitNow(130)
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(ch)
		cancel()
	}
}

package e2e

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
)

// inProcess is the daemon running in the test's own process, logging JSON
// into logs.
type inProcess struct {
	t      *testing.T
	logs   *syncBuffer
	cancel func()
	done   chan error
}

// runInProcess loads the config file at path and runs the daemon until
// stop (or the end of the test). It returns once every pipeline and source
// has started.
func runInProcess(t *testing.T, path string) *inProcess {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(contextFor(t))
	d := &inProcess{t: t, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		d.done <- daemon.Run(ctx, cfg, zerolog.New(d.logs), daemon.Options{Ready: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-d.done:
		t.Fatalf("daemon exited: %v\n%s", err, d.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("daemon not ready\n%s", d.logs)
	}
	return d
}

// stop shuts the daemon down gracefully and fails the test unless it
// stopped cleanly within 30 s.
func (d *inProcess) stop() {
	d.t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("daemon: %v\n%s", err, d.logs)
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("daemon did not stop\n%s", d.logs)
	}
}

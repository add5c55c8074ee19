package kafka

import (
	"context"
	"time"
)

// Polling bounds for admin waits (deletion done, leaders elected): these
// usually take milliseconds, so start small.
const (
	pollMin = 10 * time.Millisecond
	pollMax = 500 * time.Millisecond
)

// backoff is an exponential delay: next doubles after each wait, up to max.
type backoff struct {
	next, max time.Duration
}

func newBackoff(first, max time.Duration) *backoff {
	return &backoff{next: first, max: max}
}

// wait sleeps for the current delay or until ctx is done, whichever is
// first, and returns ctx.Err() in the latter case.
func (b *backoff) wait(ctx context.Context) error {
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package daemon

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
)

// leaseSpec is what a source's lease is started from (part of sourceSpec,
// so a change restarts the source).
type leaseSpec struct {
	topic, group string
	session      time.Duration
	maxTick      time.Duration
}

// leaseSpecOf is the source's lease, or nil when it ticks on every daemon.
func leaseSpecOf(cfg *config.Config, sc config.Source) *leaseSpec {
	if !cfg.Leased(&sc) {
		return nil
	}
	return &leaseSpec{topic: cfg.Fleet.LeaseTopic, group: sc.LeaseGroupName(),
		session: cfg.Fleet.LeaseSessionTimeout.Duration, maxTick: sc.Limits.CallTimeout.Duration}
}

// startLease joins the source's lease group, or returns nil when the source
// has no lease.
func (w *work) startLease(spec sourceSpec) (*fleet.Lease, error) {
	if spec.lease == nil {
		return nil, nil
	}
	l := spec.lease
	return fleet.StartLease(fleet.LeaseOptions{
		Client: w.copts, Source: spec.cfg.Name, Topic: l.topic, Group: l.group,
		SessionTimeout: l.session, MaxTick: l.maxTick, Logger: w.log,
	})
}

func closeLease(l *fleet.Lease, log zerolog.Logger) {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		log.Warn().Err(err).Msg("source lease")
	}
}

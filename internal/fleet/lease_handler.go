package fleet

import (
	"context"
	"time"

	"github.com/IBM/sarama"
)

// leaseHandler is the lease group's sarama.ConsumerGroupHandler: the member
// whose session holds partition 0 of the lease topic holds the lease.
type leaseHandler struct {
	l      *Lease
	client sarama.Client
}

// Setup runs once the member is in the group, holding the lease or not.
func (h *leaseHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.l.setState(LeaseStandby, sess.MemberID())
	return nil
}

// Cleanup runs after ConsumeClaim has returned (the gate is closed).
func (h *leaseHandler) Cleanup(sarama.ConsumerGroupSession) error {
	h.l.setState(LeaseJoining, "")
	return nil
}

// ConsumeClaim holds the lease for as long as the session lasts and the
// membership is confirmed. It returns, closing the gate after the tick
// under way, when the session ends (a rebalance: the brokers wait for it
// before they hand the partition to another member) or when confirmations
// stop (the brokers will expire the member).
func (h *leaseHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	if claim.Partition() != 0 {
		// A lease topic with more partitions than the one it should have:
		// only partition 0 is the lease.
		<-sess.Context().Done()
		return nil
	}
	l := h.l
	ctx, cancel := context.WithCancel(sess.Context())
	l.validUntil.Store(0)
	l.openGate()
	defer func() {
		cancel()
		l.closeGate(sess.MemberID())
	}()
	go h.confirm(ctx, sess)
	window := fenceWindow(l.o.SessionTimeout)
	start := l.since()
	check := time.NewTicker(max(l.o.SessionTimeout/12, 5*time.Millisecond))
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-claim.Messages(): // nothing is written there; drained if something is
			if !ok {
				return nil
			}
		case <-check.C:
			if now := l.since(); now > max(l.validUntil.Load(), start+int64(window)) {
				l.log.Warn().Dur("unconfirmed_for", time.Duration(now-l.validUntil.Load()+int64(window))).
					Msg("source lease: membership not confirmed by the brokers; ticking stopped until the lease group is joined again")
				return nil
			}
		}
	}
}

// confirm sends a heartbeat of the member's own every SessionTimeout/6 and
// extends the gate's validity from the send time of each one the
// coordinator accepts (see Lease).
func (h *leaseHandler) confirm(ctx context.Context, sess sarama.ConsumerGroupSession) {
	l := h.l
	t := time.NewTicker(max(l.o.SessionTimeout/6, 10*time.Millisecond))
	defer t.Stop()
	window := int64(fenceWindow(l.o.SessionTimeout))
	confirmed := false
	for {
		sent := l.since()
		err := h.heartbeat(sess)
		switch {
		case err == nil && !confirmed:
			confirmed = l.confirmFirst(ctx, sent+window, sess)
		case err == nil:
			l.validUntil.Store(sent + window)
		case err != nil:
			l.log.Debug().Err(err).Msg("source lease: heartbeat not confirmed")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// confirmFirst opens the gate with the first confirmation, unless the
// session has ended since; it reports whether it did.
func (l *Lease) confirmFirst(ctx context.Context, until int64, sess sarama.ConsumerGroupSession) bool {
	l.gate.RLock() // closeGate cannot run meanwhile
	defer l.gate.RUnlock()
	if !l.open || ctx.Err() != nil {
		return false
	}
	l.validUntil.Store(until)
	l.setState(LeaseHeld, sess.MemberID())
	l.log.Info().Str("member_id", sess.MemberID()).Int32("generation", sess.GenerationID()).
		Msg("source lease acquired: this daemon ticks the source")
	return true
}

// heartbeat asks the group's coordinator whether the member is still in
// the generation that gave it the lease.
func (h *leaseHandler) heartbeat(sess sarama.ConsumerGroupSession) error {
	coord, err := h.client.Coordinator(h.l.o.Group)
	if err != nil {
		return err
	}
	req := &sarama.HeartbeatRequest{GroupId: h.l.o.Group, MemberId: sess.MemberID(), GenerationId: sess.GenerationID()}
	if h.client.Config().Version.IsAtLeast(sarama.V0_11_0_0) {
		req.Version = 1
	}
	res, err := coord.Heartbeat(req)
	if err != nil {
		return err
	}
	if res.Err != sarama.ErrNoError {
		return res.Err
	}
	return nil
}

func fenceWindow(session time.Duration) time.Duration {
	return time.Duration(float64(session) * fenceFraction)
}

// since is the lease's monotonic clock.
func (l *Lease) since() int64 { return int64(l.now().Sub(l.epoch)) }

// openGate lets ticks through once a confirmation arrives.
func (l *Lease) openGate() {
	l.gate.Lock()
	l.open = true
	l.gate.Unlock()
}

// closeGate stops the ticks, waiting for the one under way: when it
// returns, the source has handed its last records to the producer.
func (l *Lease) closeGate(member string) {
	l.gate.Lock()
	l.open = false
	l.gate.Unlock()
	if l.Held() {
		l.setState(LeaseStandby, member)
		l.log.Info().Str("member_id", member).Msg("source lease released: this daemon stopped ticking the source")
	}
}

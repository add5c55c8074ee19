package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/kafka"
)

// LeaseOptions configure StartLease.
type LeaseOptions struct {
	// Client reaches the brokers; its ClientID (the daemon's, with its
	// short id) is extended with "-lease-" and the source's name.
	Client kafka.ClientOptions
	Source string // the source's name, for logs and the client id
	Topic  string // the lease topic: one partition, created if missing
	Group  string // the source's lease group
	// SessionTimeout is the group's session timeout: how long the brokers
	// wait for a silent holder before handing the lease to another member.
	SessionTimeout time.Duration
	// MaxTick bounds a tick (the source's limits.call_timeout): a revoked
	// holder's rebalance may take this long beyond the session timeout, so
	// that the brokers wait for its tick before they move the lease.
	MaxTick time.Duration
	Logger  zerolog.Logger
}

// Lease is a source's lease: membership of the source's lease group, whose
// one partition of the lease topic only one member holds at a time. It is
// the source's pipeline.Gate: ticks pass while it is held and confirmed.
//
// Held is not enough: a holder cut off from the brokers would keep its
// partition in its own eyes until its client's requests time out, while
// the brokers hand it to another member once the session times out. So a
// Lease also confirms its membership with a heartbeat of its own every
// SessionTimeout/6, and lets ticks through only until
// fenceFraction*SessionTimeout after the send of the latest confirmed one:
// the brokers received that heartbeat later than it was sent, so they
// cannot expire the member before the gate has closed.
type Lease struct {
	o      LeaseOptions
	log    zerolog.Logger
	cfg    *sarama.Config
	now    func() time.Time
	cancel context.CancelFunc
	done   chan struct{}

	// gate is held for reading by a tick (Enter to Exit) and for writing
	// to close the gate: closing waits for the tick under way.
	gate sync.RWMutex
	open bool // guarded by gate
	// validUntil is when the latest confirmation runs out, in nanoseconds
	// since epoch (monotonic); it is extended without waiting for a tick.
	epoch      time.Time
	validUntil atomic.Int64

	mu     sync.Mutex // guards status
	status pipeline.LeaseStatus
}

// Lease states, as pipeline.LeaseStatus.State.
const (
	LeaseJoining = "joining"
	LeaseStandby = "standby"
	LeaseHeld    = "held"
	LeaseStopped = "stopped"
)

// fenceFraction of the session timeout after a confirmed heartbeat was sent
// is how long ticks may pass without another: 2/3, so one or two lost
// confirmations (every 1/6) do not drop the lease, and a third of the
// session timeout is left for a slow tick to finish.
const fenceFraction = 2.0 / 3

// StartLease joins the lease group in the background and returns at once;
// the gate stays closed until this daemon holds the lease. Close leaves the
// group, so another daemon takes the lease over at once.
func StartLease(o LeaseOptions) (*Lease, error) {
	if o.SessionTimeout <= 0 {
		return nil, fmt.Errorf("lease %s: session timeout must be positive", o.Group)
	}
	o.Client.ClientID = leaseClientID(o.Client) + "-lease-" + o.Source
	cfg, err := kafka.NewSaramaConfig(o.Client)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", o.Group, err)
	}
	configureLease(cfg, o.SessionTimeout, o.MaxTick)
	ctx, cancel := context.WithCancel(context.Background())
	l := &Lease{o: o, cfg: cfg, now: time.Now, cancel: cancel, done: make(chan struct{}), epoch: time.Now(),
		log: o.Logger.With().Str("source", o.Source).Str("lease_group", o.Group).Logger()}
	l.status = pipeline.LeaseStatus{Group: o.Group, State: LeaseJoining, Since: l.now()}
	go l.run(ctx)
	return l, nil
}

func leaseClientID(o kafka.ClientOptions) string {
	if o.ClientID == "" {
		return "wasmhost"
	}
	return o.ClientID
}

// configureLease sets up a lease member's client: short fetches, heartbeats
// often (the
// other members learn of a rebalance within SessionTimeout/6), a rebalance
// that waits for a revoked holder's last tick (at most maxTick) and then
// some, and a read timeout longer than that, which a JoinGroup answer may
// take.
func configureLease(cfg *sarama.Config, session, maxTick time.Duration) {
	cfg.Consumer.Group.Session.Timeout = session
	cfg.Consumer.Group.Heartbeat.Interval = max(session/6, 10*time.Millisecond)
	cfg.Consumer.Group.Rebalance.Timeout = 2*session + maxTick
	// Sticky: a daemon joining or leaving does not move the lease from a
	// holder that stays (the range assignor gives partition 0 to the
	// first member id in order, whoever held it).
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	cfg.Net.ReadTimeout = cfg.Consumer.Group.Rebalance.Timeout + 10*time.Second
	// The holder's fetches of the (empty) lease partition share the
	// coordinator's connection with its heartbeats, and a broker answers a
	// connection's requests in order: a long-polling fetch would hold the
	// heartbeats back until the brokers expire the holder.
	cfg.Consumer.MaxWaitTime = min(max(session/20, time.Millisecond), 100*time.Millisecond)
	cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	cfg.Consumer.Offsets.AutoCommit.Enable = false // nothing is read: nothing to commit
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
}

// Enter implements pipeline.Gate: a tick may run while the lease is held
// and its latest confirmation is recent enough.
func (l *Lease) Enter() bool {
	l.gate.RLock()
	if l.open && l.since() < l.validUntil.Load() {
		return true
	}
	l.gate.RUnlock()
	return false
}

// Exit implements pipeline.Gate.
func (l *Lease) Exit() { l.gate.RUnlock() }

// Status implements pipeline.Gate.
func (l *Lease) Status() pipeline.LeaseStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Held reports whether this daemon holds the lease now.
func (l *Lease) Held() bool { return l.Status().State == LeaseHeld }

// Close leaves the group (the gate closes first, after the tick under way)
// and waits, until ctx ends, for the lease's goroutine to stop.
func (l *Lease) Close(ctx context.Context) error {
	l.cancel()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("lease %s: leaving the group: %w", l.o.Group, ctx.Err())
	}
}

func (l *Lease) setState(state, member string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.State != state {
		l.status.State, l.status.Since = state, l.now()
	}
	if member != "" {
		l.status.Member = member
	}
	if state == LeaseHeld {
		l.status.Acquired++
	}
}

// run joins the group and stays in it until ctx ends, joining again with
// backoff when the brokers cannot be reached.
func (l *Lease) run(ctx context.Context) {
	defer close(l.done)
	defer l.setState(LeaseStopped, "")
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.session(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn().Err(err).Dur("retry_in", backoff).Msg("source lease: cannot join the lease group, retrying")
		if !leaseSleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// session makes a client, ensures the lease topic and consumes the group
// until ctx ends or the client fails.
func (l *Lease) session(ctx context.Context) error {
	client, err := sarama.NewClient(l.o.Client.Brokers, l.cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := ensureLeaseTopic(ctx, client, l.o.Topic); err != nil {
		return err
	}
	group, err := sarama.NewConsumerGroupFromClient(l.o.Group, client)
	if err != nil {
		return err
	}
	go func() {
		for err := range group.Errors() {
			l.log.Debug().Err(err).Msg("source lease: consumer group error")
		}
	}()
	h := &leaseHandler{l: l, client: client}
	for ctx.Err() == nil {
		if err = group.Consume(ctx, []string{l.o.Topic}, h); err != nil {
			break
		}
	}
	if cerr := group.Close(); cerr != nil && !errors.Is(cerr, sarama.ErrClosedConsumerGroup) {
		err = errors.Join(err, cerr)
	}
	return err
}

func ensureLeaseTopic(ctx context.Context, client sarama.Client, topic string) error {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	// Not admin.Close: it would close the client.
	_, err = kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{LeaseTopicSpec(topic)})
	return err
}

// LeaseTopicSpec is the lease topic: one partition, the lease itself; no
// records are written to it.
func LeaseTopicSpec(topic string) kafka.TopicSpec {
	return kafka.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: -1, Configs: map[string]string{}}
}

func leaseSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

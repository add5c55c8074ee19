package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// rebalanceTimeout is how long the group waits for members to rejoin; an
// actor hands its partition over (finishes its batch, drains, commits) well
// within it (see Start's drain bound).
const rebalanceTimeout = 30 * time.Second

// member is one consumer group member of a pipeline.
type member struct {
	p       *Pipeline
	id      string
	brokers []string
	cfg     *sarama.Config
	client  sarama.Client // set by join, for the member's current session
}

func newMember(p *Pipeline, i int, o kafka.ClientOptions) (*member, error) {
	id := fmt.Sprintf("%s-%s-%d", clientID(o), p.cfg.Name, i)
	o.ClientID = id
	cfg, err := kafka.NewSaramaConfig(o)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
	}
	c := p.cfg
	cfg.Consumer.Group.Session.Timeout = c.SessionTimeout.Duration
	cfg.Consumer.Group.Heartbeat.Interval = c.SessionTimeout.Duration / 3
	// A JoinGroup is answered only once every member has rejoined, which
	// may take the whole rebalance timeout (an actor finishing its batch and
	// draining). The request must not time out first: a member that gives
	// up rejoins as a new member, and the group can spin without settling.
	cfg.Consumer.Group.Rebalance.Timeout = rebalanceTimeout
	cfg.Net.ReadTimeout = rebalanceTimeout + 15*time.Second
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if c.OffsetReset == config.Latest {
		cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// Offsets are marked by the actors once a batch is safe (see acks.go);
	// auto-commit sends what is marked every second, and actors commit
	// explicitly when they hand a partition over.
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = time.Second
	if c.Guarantee == config.AtMostOnce {
		// Actors commit synchronously before each batch and must see the
		// commit's outcome (see atmost.go); nothing is left to auto-commit.
		cfg.Consumer.Offsets.AutoCommit.Enable = false
	}
	if c.Guarantee == config.ExactlyOnce {
		// Offsets are committed only inside transactions (see exactly.go),
		// and only committed records are read.
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
		cfg.Consumer.Offsets.AutoCommit.Enable = false
		// An offset fetch waits out pending transactional commits
		// (UNSTABLE_OFFSET_COMMIT), one Metadata.Retry.Backoff apart, and
		// sarama gives up after Retry.Max: cover the transaction timeout
		// a crashed owner's transaction can stay open for, twice.
		cfg.Consumer.Offsets.Retry.Max = max(100, int(2*c.TransactionTimeout.Duration/cfg.Metadata.Retry.Backoff))
	}
	cfg.Consumer.Return.Errors = true
	cfg.ChannelBufferSize = max(c.BatchSize, 256)
	return &member{p: p, id: id, brokers: o.Brokers, cfg: cfg}, nil
}

func clientID(o kafka.ClientOptions) string {
	if o.ClientID == "" {
		return "wasmhost"
	}
	return o.ClientID
}

// run joins the group and consumes until ctx ends, reconnecting with backoff
// when the brokers cannot be reached.
func (m *member) run(ctx context.Context) {
	log := m.p.log.With().Str("consumer", m.id).Logger()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		group, err := m.join()
		if err != nil {
			log.Warn().Err(err).Dur("retry_in", backoff).Msg("cannot join consumer group, retrying")
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		go func() {
			for err := range group.Errors() {
				log.Warn().Err(err).Msg("consumer group error")
			}
		}()
		for ctx.Err() == nil {
			if err := group.Consume(ctx, m.p.cfg.Topics, m); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					break
				}
				log.Warn().Err(err).Dur("retry_in", backoff).Msg("consume failed, retrying")
				if !sleep(ctx, backoff) {
					break
				}
				backoff = min(2*backoff, 5*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
		}
		if err := group.Close(); err != nil {
			log.Warn().Err(err).Msg("leaving the consumer group")
		}
		_ = m.client.Close()
	}
}

// join creates the member's client and consumer group. The actors use the
// client too, for at-most-once's synchronous commits.
func (m *member) join() (sarama.ConsumerGroup, error) {
	client, err := sarama.NewClient(m.brokers, m.cfg)
	if err != nil {
		return nil, err
	}
	group, err := sarama.NewConsumerGroupFromClient(m.p.cfg.Group, client)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	m.client = client
	return group, nil
}

// Setup logs the member's assignment at every rebalance.
func (m *member) Setup(sess sarama.ConsumerGroupSession) error {
	assigned := newTopicPartitions(sess.Claims())
	m.p.log.Info().Str("consumer", m.id).Str("member_id", sess.MemberID()).Int32("generation", sess.GenerationID()).
		Array("assigned", assigned).Int("partitions", assigned.count()).Msg("partitions assigned")
	m.p.obs.joined(m.id, sess)
	return nil
}

// Cleanup runs after every actor of the session has returned: the
// session's partitions are revoked (sarama's rebalances are eager; the next
// Setup logs what the member holds again).
func (m *member) Cleanup(sess sarama.ConsumerGroupSession) error {
	m.p.obs.left(m.id)
	revoked := newTopicPartitions(sess.Claims())
	m.p.log.Info().Str("consumer", m.id).Str("member_id", sess.MemberID()).Int32("generation", sess.GenerationID()).
		Array("revoked", revoked).Int("partitions", revoked.count()).Msg("partitions revoked")
	return nil
}

// ConsumeClaim is the actor of one partition.
func (m *member) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	defer m.p.obs.claimed(m.id, claim)()
	a := newActor(m.p, sess, claim, m.id)
	a.client = m.client
	return a.run()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

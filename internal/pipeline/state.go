package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/state"
	"github.com/wasmhost/wasmhost/kafka"
)

// errStateRerun: a record of a batch failed after the call had changed
// state. The changes of one record cannot be told from another's, so the
// whole call's are taken back and its records run one at a time, like a
// batch that failed as a whole.
var errStateRerun = errors.New("a record failed in a call that changed state; running the batch's records one at a time")

// actorState is an actor's store, when its plugin uses state: partition
// part of the changelog topic is its durable copy.
type actorState struct {
	store   *state.Store
	topic   string
	part    int32
	pending int // changelog records of the transaction being committed
}

// changelogs remembers the changelog topics a pipeline has made sure of.
type changelogs struct {
	mu   sync.Mutex
	done map[string]bool
}

// openState gives the actor its store, restored from the changelog, when
// its plugin version uses state and it has none yet. Under exactly-once it
// runs after startTxn fenced the partition's previous owner, so the
// changelog holds no open transaction. It retries until it works or the
// session ends (false).
func (a *actor) openState() bool {
	if a.state != nil || !a.ver.plugin.UsesState() {
		return true
	}
	p := a.p
	topic := state.ChangelogTopic(p.cfg.Group, p.cfg.Name, a.claim.Topic())
	ctx := a.sess.Context()
	backoff := 100 * time.Millisecond
	for {
		st, err := a.restoreState(ctx, topic)
		if err == nil {
			a.state = st
			return true
		}
		a.log.Warn().Err(err).Str("changelog", topic).Dur("retry_in", backoff).Msg("cannot restore the partition's state, retrying")
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *actor) restoreState(ctx context.Context, topic string) (*actorState, error) {
	p, part := a.p, a.claim.Partition()
	if err := p.ensureChangelog(ctx, a.client, topic, a.claim.Topic()); err != nil {
		return nil, err
	}
	s := state.New(state.Limits{MaxKeys: p.cfg.State.MaxKeys, MaxBytes: int64(p.cfg.State.MaxBytes)})
	res, err := state.Restore(ctx, a.client, s, topic, part, p.cfg.Guarantee == config.ExactlyOnce)
	if err != nil {
		return nil, err
	}
	p.stats.StateRestores.Add(1)
	p.stats.StateRestored.Add(uint64(res.Records))
	p.stats.StateRestoreNanos.Add(uint64(res.Took))
	if ps := p.obs.part(a.consumer, a.claim.Topic(), part); ps != nil {
		ps.state.Store(s)
	}
	a.log.Info().Str("changelog", topic).Int("records", res.Records).Int("keys", s.Len()).
		Int64("bytes", s.Bytes()).Dur("took", res.Took).Msg("state restored")
	return &actorState{store: s, topic: topic, part: part}, nil
}

// ensureChangelog creates the changelog topic when it is missing, with as
// many partitions as the input topic, compacted.
func (p *Pipeline) ensureChangelog(ctx context.Context, client sarama.Client, topic, input string) error {
	p.changelogs.mu.Lock()
	defer p.changelogs.mu.Unlock()
	if p.changelogs.done[topic] {
		return nil
	}
	parts, err := client.Partitions(input)
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", input, err)
	}
	// Not closed: closing an admin made from a client closes the client,
	// which the member owns.
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	spec := kafka.TopicSpec{Name: topic, Partitions: int32(len(parts)), ReplicationFactor: -1, Configs: state.ChangelogConfigs}
	res, err := kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{spec})
	if err != nil {
		return err
	}
	if len(res) == 1 && res[0].Status == kafka.TopicCreated {
		p.log.Info().Str("changelog", topic).Int("partitions", len(parts)).Msg("created the state changelog topic")
	}
	if p.changelogs.done == nil {
		p.changelogs.done = map[string]bool{}
	}
	p.changelogs.done[topic] = true
	return nil
}

// hostState is what instances of the actor reach through the state
// functions: nil without state.
func (a *actor) hostState() host.State {
	if a.state == nil {
		return nil
	}
	return a.state.store
}

// beginCall starts a plugin call's changes.
func (a *actor) beginCall() {
	if a.state != nil {
		a.state.store.BeginCall()
	}
}

// endCall keeps a call's changes, or takes them back when the call failed
// or a record of it failed: a record's changes go with its outputs. When a
// record of a multi-record call failed after the call changed state, the
// call is turned into a failed one (errStateRerun), so that its records
// run alone.
func (a *actor) endCall(res *host.Result, err error, records int) error {
	if a.state == nil {
		return err
	}
	s := a.state.store
	switch {
	case err != nil:
		s.EndCall(false)
	case len(res.Failures) > 0 && records > 1 && s.CallChanged():
		s.EndCall(false)
		return fmt.Errorf("%w (record %d: %s)", errStateRerun, res.Failures[0].Index, res.Failures[0].Reason)
	case len(res.Failures) > 0:
		s.EndCall(false)
	default:
		s.EndCall(true)
	}
	return err
}

// appendChangelog appends the changelog records of the store's open
// transaction to msgs, in a new slice.
func (a *actor) appendChangelog(msgs []*sarama.ProducerMessage) []*sarama.ProducerMessage {
	if a.state == nil || !a.state.store.Changed() {
		return msgs
	}
	out, n := a.state.store.AppendChangelog(msgs[:len(msgs):len(msgs)], a.state.topic, a.state.part)
	a.state.pending = n
	return out
}

// stateCommitted: the changelog records of the open transaction were
// committed (exactly-once) or sent (the other guarantees).
func (a *actor) stateCommitted() {
	if a.state != nil {
		a.state.store.Commit()
		a.p.stats.StateWrites.Add(uint64(a.state.pending))
		a.state.pending = 0
	}
}

// stateAborted: the transaction aborted; the store goes back to its
// committed state with it.
func (a *actor) stateAborted() {
	if a.state != nil {
		a.state.store.Abort()
		a.state.pending = 0
	}
}

// sendChangelog sends the store's changes of an at-least-once or
// at-most-once batch in the batch's ack group, so its offset is marked only
// once they are acknowledged.
func (a *actor) sendChangelog(p *pending) {
	if a.state == nil {
		return
	}
	for _, m := range a.appendChangelog(nil) {
		p.send(m)
	}
	a.stateCommitted()
}

package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// Recovery of an exactly-once actor from a transaction whose outcome it
// does not know.
//
// A commit that fails has not necessarily failed: the broker may have
// applied EndTxn and died before answering (the client then sees a
// connection error, or, after a restart, PRODUCER_FENCED), or it may have
// died half-way. Running the span again would then duplicate what the
// commit made visible, and trusting the span's end would skip what it
// lost. So an actor that cannot tell never decides from its span: it
// re-initialises its producer, seals the partitions the transaction may
// have written, and reads the group's committed offset again (with
// require_stable). The committed offset moves only inside the actor's own
// transactions, so it says what happened: past the span, the transaction
// committed and the actor goes on; at the span's start, it did not and the
// span runs again; anywhere else another owner moved it, and the actor
// stops.
//
// Sealing: a broker that restarts after a crash aborts the transactions it
// had open, but the embedded broker (kfake) writes no abort marker for
// them. A read_committed reader that meets such a transaction's records
// skips that producer's records until it reads an abort marker, so every
// later committed transaction of the same producer id in that partition
// would be hidden from it (lost), and at the broker's next crash recovery
// the marker-less records are counted with the next commit marker
// (duplicated). A seal is an aborted transaction of the same
// transactional id that adds every partition the lost transaction may have
// written: the abort writes the marker the broker left out, before this
// producer id commits anything else there. An actor seals when it starts
// (a previous owner may have left such a transaction) and after every
// commit of unknown outcome. Apache Kafka's coordinator writes those
// markers itself; the seal is then an empty aborted transaction.

// HeaderSeal marks the record a seal writes (in an aborted transaction,
// so no read_committed reader sees it); its value is the transactional id.
const HeaderSeal = "wasmhost.txn.seal"

// sealed remembers, per transactional id, the output partitions a
// transaction of unknown outcome wrote in this process, so that the next
// owner of the input partition here seals them too, beyond the pipeline's
// produce topics.
type sealed struct {
	mu    sync.Mutex
	parts map[string][]topicPartition
	// pending holds, per transactional id, a transaction of unknown
	// outcome whose actor stopped before settling it (its session ended):
	// the journal the next owner of the partition in this process reads
	// (settlePending).
	pending map[string]*pendingTxn
}

// pendingTxn is what the next owner needs to settle a transaction: its
// input range and its outputs, with the partitions they went to.
type pendingTxn struct {
	first, next int64
	out         []*sarama.ProducerMessage
	// tick: a tick's transaction, with no input range (ticktxn.go);
	// resending: an earlier attempt of it committed in some partitions.
	tick, resending bool
}

func (s *sealed) setPending(id string, p *pendingTxn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]*pendingTxn{}
	}
	s.pending[id] = p
}

func (s *sealed) takePending(id string) *pendingTxn {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[id]
	delete(s.pending, id)
	return p
}

type topicPartition struct {
	topic     string
	partition int32
}

func (s *sealed) add(id string, tps []topicPartition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts == nil {
		s.parts = map[string][]topicPartition{}
	}
	for _, tp := range tps {
		if !slices.Contains(s.parts[id], tp) {
			s.parts[id] = append(s.parts[id], tp)
		}
	}
}

func (s *sealed) get(id string) []topicPartition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.parts[id])
}

// sealParts is what a seal of this actor's transactional id covers: every
// partition of the pipeline's produce topics, and the partitions its
// transactions of unknown outcome wrote in this process.
func (a *actor) sealParts() []topicPartition {
	p := a.p
	out := p.sealed.get(a.txn.prod.id)
	if p.partitions == nil {
		return out
	}
	for _, topic := range p.sealTopics {
		for i := range p.partitions(topic) {
			if tp := (topicPartition{topic, i}); !slices.Contains(out, tp) {
				out = append(out, tp)
			}
		}
	}
	return out
}

// written returns the partitions the outputs of a failed transaction were
// assigned to. The producer must be closed: its goroutines set the
// partitions.
func written(msgs []*sarama.ProducerMessage) []topicPartition {
	var out []topicPartition
	for _, m := range msgs {
		if m.Partition < 0 { // never assigned (see kafka.SetPartition)
			continue
		}
		if tp := (topicPartition{m.Topic, m.Partition}); !slices.Contains(out, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// seal re-initialises the producer and seals the actor's partitions,
// retrying until it works or the session ends.
func (a *actor) seal() bool {
	t := a.txn
	backoff := 100 * time.Millisecond
	for {
		err := t.prod.seal(a.sealParts())
		if err == nil {
			return true
		}
		if errors.Is(err, errFenced) && !a.stillOwner(err) {
			// Another producer of this id started meanwhile: leave the
			// partition to it.
			return false
		}
		t.prod.close() // the next attempt starts from a new InitProducerID
		a.log.Warn().Err(err).Str("transactional_id", t.prod.id).Dur("retry_in", backoff).
			Msg("cannot seal the transactional id's partitions, retrying")
		if !sleep(a.sess.Context(), backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// fencedMessage is logged when the broker answers PRODUCER_FENCED.
const fencedMessage = "transactional producer fenced (PRODUCER_FENCED): a newer epoch of the partition's transactional id exists, " +
	"because a newer owner of the partition started, or because the broker aborted the transaction (a broker restart does)"

// settleUnknown finds out, after a commit that failed with cause, what the
// transaction did: it seals what it may have written and reads the
// committed offset again. It returns what the actor does with its span.
func (a *actor) settleUnknown(cause error) spanFate {
	s := &a.txn.span
	parts := a.noteWritten(s.out)
	first := s.in[0].Offset
	a.log.Warn().Err(cause).Int64("first_offset", first).Int("records", len(s.in)).Int("partitions_written", len(parts)).
		Msg("transaction outcome unknown; re-initialising the producer, sealing its partitions and reading the committed offset again")
	if !a.seal() {
		return fateStop
	}
	committed, ok := a.refetchCommitted()
	if !ok {
		return fateStop
	}
	ev := a.log.Info().Int64("committed_offset", committed).Int64("first_offset", first).Int64("span_end", s.next)
	switch {
	case committed == s.next:
		ev.Msg("the transaction had committed; going on past it")
		return fateCommitted
	case committed == first || committed < 0:
		return a.partlyCommitted(ev)
	default:
		a.log.Warn().Int64("committed_offset", committed).Int64("first_offset", first).Int64("span_end", s.next).
			Msg("the committed offset was moved by another owner; stopping this actor")
		return fateStop
	}
}

// partlyCommitted handles a transaction whose offset did not commit: it
// reads back whether its records committed in some partitions anyway (see
// txnoutcome.go) and keeps, to send again, only the others'.
func (a *actor) partlyCommitted(ev *zerolog.Event) spanFate {
	s := &a.txn.span
	if len(s.out) == 0 || a.client == nil {
		if a.txn.resending {
			return fateResend // nothing left to send but the offset
		}
		ev.Msg("the transaction had not committed; running its batches again")
		return fateRerun
	}
	rb, err := a.readBack(s.out)
	if err != nil && a.txn.resending {
		// Running the batches again would duplicate what the first
		// attempt committed: send the rest again as it is.
		a.log.Warn().Err(err).Msg("cannot read back the transaction's partitions; sending the rest again as it was")
		s.out = rb.rest
		return fateResend
	}
	if err != nil {
		a.log.Warn().Err(err).Msg("cannot read back the transaction's partitions; running its batches again (what it committed is duplicated)")
		ev.Msg("the transaction's offset had not committed; running its batches again")
		return fateRerun
	}
	if rb.committed == 0 && !a.txn.resending {
		ev.Msg("the transaction had not committed; running its batches again")
		return fateRerun
	}
	s.out = rb.rest
	a.txn.resending = true
	ev.Int("partitions_committed", rb.committed).Int("partitions", rb.parts).Int("records_resent", len(s.out)).
		Msg("the broker committed the transaction in some partitions only, or without its offset; sending the rest again as it was, with the offset")
	return fateResend
}

// noteWritten closes the producer of a transaction of unknown outcome
// with records out (its goroutines set their partitions) and adds the
// partitions they went to to what the seal covers. It returns them.
func (a *actor) noteWritten(out []*sarama.ProducerMessage) []topicPartition {
	a.txn.prod.close()
	parts := written(out)
	a.p.sealed.add(a.txn.prod.id, parts)
	return parts
}

// readBackResult is what reading back a sealed transaction found: how
// many of the partitions its records went to it committed in, and rest,
// the records left to send: those of the other partitions, pinned to
// theirs (resendable). found says that each partition's last transaction
// of the producer is this one, committed or not: nothing was written
// there since.
type readBackResult struct {
	rest             []*sarama.ProducerMessage
	committed, parts int
	found            bool
}

// readBack reads back, once the actor has sealed, in which partitions the
// transaction whose records were out committed (txnoutcome.go). On error
// rest holds every record.
func (a *actor) readBack(out []*sarama.ProducerMessage) (readBackResult, error) {
	if a.client == nil {
		return readBackResult{rest: resendable(out, nil)}, errors.New("no client to read the partitions back with")
	}
	done, err := readOutcomes(a.client, a.txn.prod.id, out)
	if err != nil {
		return readBackResult{rest: resendable(out, nil)}, err
	}
	rb := readBackResult{rest: resendable(out, done), parts: len(done), found: true}
	for _, o := range done {
		if o == committedHere {
			rb.committed++
		}
		rb.found = rb.found && o != notFound
	}
	return rb, nil
}

// spanFate is what an actor does with its span after a commit of unknown
// outcome; a tick's commit is settled to the same fates (ticktxn.go).
type spanFate int

const (
	fateCommitted spanFate = iota // it committed: drop the span
	fateRerun                     // it did not: run the span again (a tick: take its changes back)
	fateResend                    // in part: commit what span.out holds now, without running the span (a tick: its records left)
	fateStop                      // the session ended, or the partition is someone else's
)

// refetchCommitted reads the group's committed offset of the actor's
// partition, waiting out transactions still being completed
// (require_stable), until it has it or the session ends.
func (a *actor) refetchCommitted() (int64, bool) {
	backoff := 100 * time.Millisecond
	for {
		off, err := fetchCommitted(a.client, a.p.cfg.Group, a.claim.Topic(), a.claim.Partition())
		if err == nil {
			return off, true
		}
		a.log.Warn().Err(err).Dur("retry_in", backoff).Msg("cannot read the committed offset, retrying")
		if !sleep(a.sess.Context(), backoff) {
			return 0, false
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// fetchCommitted sends one OffsetFetch with require_stable (v7) to the
// group's coordinator; -1 means nothing committed.
func fetchCommitted(c sarama.Client, group, topic string, partition int32) (int64, error) {
	if c == nil {
		return 0, errors.New("no client")
	}
	b, err := c.Coordinator(group)
	if err != nil {
		_ = c.RefreshCoordinator(group)
		return 0, fmt.Errorf("coordinator of %s: %w", group, err)
	}
	req := &sarama.OffsetFetchRequest{Version: 7, ConsumerGroup: group, RequireStable: true}
	req.AddPartition(topic, partition)
	resp, err := b.FetchOffset(req)
	if err != nil {
		_ = b.Close()
		_ = c.RefreshCoordinator(group)
		return 0, fmt.Errorf("offset fetch: %w", err)
	}
	if !errors.Is(resp.Err, sarama.ErrNoError) {
		_ = c.RefreshCoordinator(group)
		return 0, fmt.Errorf("offset fetch: %w", resp.Err)
	}
	blk := resp.GetBlock(topic, partition)
	if blk == nil {
		return 0, fmt.Errorf("offset fetch: no answer for %s/%d", topic, partition)
	}
	if !errors.Is(blk.Err, sarama.ErrNoError) {
		return 0, fmt.Errorf("offset fetch %s/%d: %w", topic, partition, blk.Err)
	}
	return blk.Offset, nil
}

// seal opens a producer unless one is open (InitProducerID: a new epoch, which aborts
// what the broker still has open for this id), adds parts to a
// transaction with one record each, and aborts it, which writes an abort
// marker in each of them. The producer is then ready for the next
// transaction.
func (t *txnProducer) seal(parts []topicPartition) error {
	if t.producer == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	if len(parts) == 0 {
		return nil
	}
	p := t.producer
	if err := p.BeginTxn(); err != nil {
		return t.recover(fmt.Errorf("seal: begin: %w", err))
	}
	for _, tp := range parts {
		m := &sarama.ProducerMessage{Topic: tp.topic, Key: sarama.StringEncoder(HeaderSeal), Value: sarama.ByteEncoder{},
			Headers: []sarama.RecordHeader{{Key: []byte(HeaderSeal), Value: []byte(t.id)}}}
		kafka.SetPartition(m, tp.partition)
		p.Input() <- m
	}
	if err := p.AbortTxn(); err != nil {
		return t.recover(fmt.Errorf("seal: abort: %w", err))
	}
	return nil
}

// leavePending journals the open transaction, whose commit failed with an
// unknown outcome, for the partition's next owner in this process, as its
// actor stops without settling it.
func (a *actor) leavePending() {
	t, s := a.txn, &a.txn.span
	if len(s.out) == 0 || s.run == 0 || s.next <= s.in[0].Offset {
		return
	}
	t.prod.close() // its goroutines set the outputs' partitions
	parts := written(s.out)
	a.p.sealed.add(t.prod.id, parts)
	a.p.sealed.setPending(t.prod.id, &pendingTxn{first: s.in[0].Offset, next: s.next, out: slices.Clone(s.out)})
	a.log.Warn().Int64("first_offset", s.in[0].Offset).Int64("span_end", s.next).Int("partitions_written", len(parts)).
		Msg(leftPendingMessage)
}

// leftPendingMessage is logged when an actor stops with a transaction of
// unknown outcome and leaves it to the partition's next owner. An owner in
// this process settles it; on the embedded broker, where a crash can leave
// a commit in some partitions only, an owner in another process runs the
// span again and duplicates what had committed (docs/design.md).
const leftPendingMessage = "transaction of unknown outcome left to the partition's next owner " +
	"(one in this process settles it; on the embedded broker one in another process may run part of it again)"

// settlePending settles, once the actor has sealed, a transaction a
// previous owner of the partition in this process left unsettled: when its
// offset did not commit but its records did in some partitions, it sends
// the rest with the offset, and the records below that offset are done.
func (a *actor) settlePending() {
	j := a.p.sealed.takePending(a.txn.prod.id)
	if j == nil || a.client == nil {
		return
	}
	if j.tick {
		a.settleTickPending(j)
		return
	}
	committed, ok := a.refetchCommitted()
	if !ok || committed != j.first {
		return // it committed whole, or not at all, or someone moved on
	}
	rb, err := a.readBack(j.out)
	if err != nil || rb.committed == 0 {
		return // not committed anywhere (or unknown): running it again is right
	}
	msgs, n := rb.rest, rb.committed
	topic, part := a.claim.Topic(), a.claim.Partition()
	offsets := map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: part, Offset: j.next}}}
	if err := a.txn.prod.commit(msgs, offsets, a.txn.meta); err != nil {
		a.log.Warn().Err(err).Int64("first_offset", j.first).
			Msg("cannot finish the partly committed transaction a previous owner left; running its records again (what it committed is duplicated)")
		return
	}
	a.p.stats.TxnCommitted.Add(1)
	a.skipBelow = j.next
	a.log.Info().Int64("first_offset", j.first).Int64("next_offset", j.next).Int("partitions_committed", n).
		Int("records_resent", len(msgs)).Msg("finished the transaction a previous owner left committed in some partitions only")
}

package pipeline

import (
	"errors"
	"time"

	"github.com/IBM/sarama"
)

// txnState is an exactly-once actor's transaction machinery: its
// partition's transactional producer and the open transaction.
type txnState struct {
	prod   *txnProducer
	meta   *sarama.ConsumerGroupMetadata
	fenced bool
	span   span
	// resending: span.out holds what a partly committed transaction left
	// to send (txnoutcome.go); its batches must not run again.
	resending bool
}

// startTxn creates the partition's transactional producer, which fences any
// previous owner's producer and aborts its open transaction.
func (a *actor) startTxn() bool {
	p := a.p
	id := txnID(p.cfg.Group, a.claim.Topic(), a.claim.Partition())
	backoff := 100 * time.Millisecond
	for {
		prod, err := newTxnProducer(p.client, id, p.cfg.TransactionTimeout.Duration)
		if err == nil {
			meta := &sarama.ConsumerGroupMetadata{GroupID: p.cfg.Group, GenerationID: a.sess.GenerationID(), MemberID: a.sess.MemberID()}
			a.txn = &txnState{prod: prod, meta: meta}
			// A previous owner's transaction may have been cut short by a
			// broker crash: seal before committing anything (txnrecover.go).
			if !a.seal() {
				prod.close()
				return false
			}
			a.settlePending()
			return true
		}
		a.log.Warn().Err(err).Str("transactional_id", id).Dur("retry_in", backoff).Msg("cannot start the transactional producer, retrying")
		if !sleep(a.sess.Context(), backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// handleTxn adds the batch in hand to the open transaction, runs it, and
// commits the transaction when it is due.
func (a *actor) handleTxn() {
	if a.skipBelow > 0 {
		// settlePending committed these records' transaction.
		i := 0
		for i < len(a.msgs) && a.msgs[i].Offset < a.skipBelow {
			i++
		}
		if a.msgs = a.msgs[:copy(a.msgs, a.msgs[i:])]; len(a.msgs) == 0 {
			return
		}
	}
	a.txn.span.add(a.msgs)
	a.advanceSpan()
}

// resumeTxn runs, on a new plugin version, the records a halted
// transaction held back.
func (a *actor) resumeTxn() {
	a.p.stats.In.Add(uint64(len(a.txn.span.in)))
	a.advanceSpan()
}

// advanceSpan runs what the open transaction has not run yet and commits
// it when it is due.
func (a *actor) advanceSpan() {
	a.runSpan()
	if a.due() {
		a.commitSpan()
	}
}

// due says whether the open transaction commits now rather than taking in
// another batch: it stopped short (halted, or the session ended), it is
// full (transaction_size records, transaction_bytes), it is old
// (transaction_wait), or the partition has no record ready: waiting for
// the next one would hold back what the transaction produced, and at a low
// rate the latency would grow by up to transaction_wait.
func (a *actor) due() bool {
	s, c := &a.txn.span, &a.p.cfg
	return a.halted || a.cut || len(s.in) >= c.TransactionSize || s.size() >= int(c.TransactionBytes) ||
		time.Since(s.began) >= c.TransactionWait.Duration || len(a.claim.Messages()) == 0
}

// runSpan runs the open transaction's batches that have not run yet, in
// order, and stops at a batch that stops short: what follows it must not
// run in this transaction.
func (a *actor) runSpan() {
	s := &a.txn.span
	for s.run < len(s.ends) {
		msgs := s.batch(s.run)
		first, last := msgs[0], msgs[len(msgs)-1]
		next := a.process(&a.out, msgs)
		s.produced(a.out.kept(first.Offset, next))
		s.next = next
		s.run++
		if next <= last.Offset {
			a.cut = !a.halted
			return
		}
	}
}

// commitSpan commits, in one transaction, what the open transaction's
// batches produced (dead-letter records included) with the input offset
// past them. When the commit fails, its outcome is settled from the
// committed offset read again (settleUnknown): when the transaction did not
// commit, every one of its batches runs again from the start: the
// committed offset has not moved, so this is the rewind.
func (a *actor) commitSpan() {
	t, s := a.txn, &a.txn.span
	if s.run == 0 {
		return
	}
	backoff := 100 * time.Millisecond
	for {
		offsets := s.offsets()
		out := a.appendChangelog(s.out)
		if len(out) == 0 && offsets == nil {
			s.committed()
			return
		}
		err := t.prod.commit(out, offsets, t.meta)
		if err == nil {
			a.p.stats.TxnCommitted.Add(1)
			a.stateCommitted()
			t.resending = false
			s.committed()
			return
		}
		if mayBeZombie(err) && !a.stillOwner(err) {
			// A newer owner of this partition exists: stop touching it,
			// and leave it what it needs to settle this transaction.
			a.leavePending()
			a.p.stats.TxnAborted.Add(1)
			a.stateAborted()
			t.fenced, a.halted, t.resending = true, true, false
			s.reset()
			return
		}
		// The outcome is unknown: never decide from the span
		// (txnrecover.go).
		fate := a.settleUnknown(err)
		if fate == fateCommitted {
			a.p.stats.TxnCommitted.Add(1)
			a.stateCommitted()
			t.resending = false
			s.committed()
			return
		}
		a.p.stats.TxnAborted.Add(1)
		if fate == fateResend {
			// What is left of the outputs goes again; the store's changes
			// stand and their changelog records are written again with
			// them (final values per key: writing one twice is harmless).
			continue
		}
		// The transaction did not commit: the store goes back to its
		// committed state with it.
		a.stateAborted()
		if fate == fateStop {
			a.leavePending()
			t.resending = false
			// Revoked, or someone else's: the next owner starts again
			// from the committed offset, and this actor must not go on
			// past it.
			s.reset()
			a.cut = true
			return
		}
		a.log.Warn().Int64("first_offset", s.in[0].Offset).Int("records", len(s.in)).
			Int("batches", len(s.ends)).Dur("retry_in", backoff).Msg("transaction aborted; running its batches again")
		if !sleep(a.sess.Context(), backoff) {
			s.reset()
			a.cut = true
			return
		}
		backoff = min(2*backoff, 5*time.Second)
		a.halted, a.cut = false, false
		s.rewind()
		a.runSpan()
	}
}

// mayBeZombie says whether err means that this actor may no longer own
// its partition: PRODUCER_FENCED (a newer producer of the transactional
// id), or the group refusing the offset commit's member or generation.
func mayBeZombie(err error) bool {
	return errors.Is(err, errFenced) || errors.Is(err, sarama.ErrUnknownMemberId) ||
		errors.Is(err, sarama.ErrIllegalGeneration) || errors.Is(err, sarama.ErrRebalanceInProgress) ||
		errors.Is(err, sarama.ErrFencedInstancedId)
}

// stillOwner decides, after an error that mayBeZombie, whether a newer
// owner of the partition exists. One exists only after a rebalance, which
// ends this actor's session at its next heartbeat (a third of the session
// timeout). A broker that aborted the transaction (a restart does) bumps
// the epoch too, and then the session outlives the wait and the actor
// recovers as from any unknown outcome. Should a zombie outlive the wait
// anyway, its re-initialised producer fences the new owner's, which waits
// in turn and fences it back; the zombie's session ends meanwhile.
func (a *actor) stillOwner(err error) bool {
	msg := "the group refused this member's offset commit"
	if errors.Is(err, errFenced) {
		msg = fencedMessage
	}
	a.log.Warn().Err(err).Msg(msg + "; waiting for the group to tell whether a newer owner of the partition exists")
	if !sleep(a.sess.Context(), a.p.cfg.SessionTimeout.Duration/2) {
		a.log.Warn().Msg("a newer owner of the partition exists (the session ended); stopping this actor")
		return false
	}
	a.log.Info().Msg("still the partition's owner: the transaction was aborted by the broker, not by a newer owner")
	return true
}

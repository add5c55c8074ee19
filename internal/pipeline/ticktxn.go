package pipeline

import (
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// tickTxn runs a tick under exactly-once: in a transaction of its own, with
// what it produced and the changelog records of what it changed, so that a
// tick's effects commit together or not at all. The open transaction
// commits first, so the tick's follows the input it saw. When the tick's
// transaction aborts its changes are taken back, as if it had not run: the
// next tick sees the same state.
func (a *actor) tickTxn() {
	a.commitSpan()
	if a.txn.fenced || a.cut || a.inst == nil {
		return
	}
	res := a.callTick()
	if res == nil {
		return
	}
	msgs := make([]*sarama.ProducerMessage, 0, len(res.Outputs))
	for i := range res.Outputs {
		msgs = append(msgs, producerMessage(&res.Outputs[i].Record))
	}
	msgs = a.appendChangelog(msgs)
	if len(msgs) == 0 {
		return
	}
	a.commitTick(msgs, len(res.Outputs))
}

// commitTick commits a tick's records (its outputs and changelog records)
// in a transaction. A failed commit has not necessarily failed: as for a
// span (txnrecover.go), its outcome is settled by sealing and reading
// back, partition by partition, whether its records committed. A tick has
// no input offset to tell, and none to hold back: where they all did, its
// changes stand; where none did, they are taken back; where some did, the
// others' records are sent again as they were, the changes standing, until
// they commit or the session ends. An actor that stops first leaves the
// transaction to the partition's next owner in this process
// (settleTickPending).
func (a *actor) commitTick(msgs []*sarama.ProducerMessage, outputs int) {
	t := a.txn
	backoff := 100 * time.Millisecond
	resending := false
	for {
		err := t.prod.commit(msgs, nil, t.meta)
		if err == nil {
			a.tickCommitted(outputs)
			return
		}
		// As for a span (exactly.go): PRODUCER_FENCED also follows a
		// broker restart, so it means a newer owner only if the session
		// ends meanwhile.
		if mayBeZombie(err) && !a.stillOwner(err) {
			a.leaveTick(msgs, resending)
			t.fenced, a.halted = true, true
			return
		}
		rest, fate := a.settleTick(err, msgs, resending)
		switch fate {
		case fateCommitted:
			a.tickCommitted(outputs)
			return
		case fateRerun:
			a.tickAborted()
			return
		case fateStop:
			a.leaveTick(msgs, resending)
			a.cut = true
			return
		}
		a.p.stats.TxnAborted.Add(1)
		msgs, resending = rest, true
		if !sleep(a.sess.Context(), backoff) {
			a.leaveTick(msgs, resending)
			a.cut = true
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *actor) tickCommitted(outputs int) {
	a.p.stats.TxnCommitted.Add(1)
	a.p.stats.Out.Add(uint64(outputs))
	a.stateCommitted()
}

// tickAborted: the tick's transaction did not commit, or the actor stops
// without knowing; its changes are taken back.
func (a *actor) tickAborted() {
	a.p.stats.TxnAborted.Add(1)
	a.stateAborted()
}

// settleTick finds out, after a tick's commit failed with cause, what its
// transaction did: it seals what the transaction may have written, then
// reads its partitions back. It returns fateCommitted (it committed
// everywhere), fateRerun (nowhere, on the first attempt: the tick's
// changes are taken back), fateResend with the records left to send, or
// fateStop (the session ended, or the partition is someone else's).
// resending says that an earlier attempt committed in some partitions:
// its changes can no longer be taken back.
func (a *actor) settleTick(cause error, msgs []*sarama.ProducerMessage, resending bool) ([]*sarama.ProducerMessage, spanFate) {
	parts := a.noteWritten(msgs)
	a.log.Warn().Err(cause).Int("records", len(msgs)).Int("partitions_written", len(parts)).
		Msg("tick's transaction outcome unknown; re-initialising the producer, sealing its partitions and reading them back")
	if !a.seal() {
		return nil, fateStop
	}
	rb, err := a.readBack(msgs)
	switch {
	case err != nil && resending:
		a.log.Warn().Err(err).Msg("cannot read back the tick's partitions; sending the rest of its records again as they were")
		return rb.rest, fateResend
	case err != nil:
		a.log.Warn().Err(err).Msg("cannot read back the tick's partitions; its changes are taken back (what it committed is produced again)")
		return nil, fateRerun
	case len(rb.rest) == 0:
		a.log.Info().Int("partitions", rb.parts).Msg("the tick's transaction had committed; its changes stand")
		return nil, fateCommitted
	case rb.committed == 0 && !resending:
		a.log.Info().Int("partitions", rb.parts).Msg("the tick's transaction had not committed; its changes are taken back")
		return nil, fateRerun
	}
	a.log.Info().Int("partitions_committed", rb.committed).Int("partitions", rb.parts).Int("records_resent", len(rb.rest)).
		Msg("the broker committed the tick's transaction in some partitions only; sending the rest again as it was, its changes standing")
	return rb.rest, fateResend
}

// leaveTick journals a tick's transaction of unknown outcome, msgs being
// what its last attempt sent, for the partition's next owner in this
// process, as the actor stops without settling it. The store goes: the
// next owner restores it from the changelog, once it has settled the
// transaction.
func (a *actor) leaveTick(msgs []*sarama.ProducerMessage, resending bool) {
	a.tickAborted()
	a.noteWritten(msgs)
	a.p.sealed.setPending(a.txn.prod.id, &pendingTxn{out: slices.Clone(msgs), tick: true, resending: resending})
}

// settleTickPending settles, once the actor has sealed and before it
// restores the state, a tick's transaction a previous owner of the
// partition in this process left: when it committed in some partitions
// only, it sends the rest, so that the changelog the store is restored
// from agrees with what the tick produced. It touches nothing when
// something was written in the tick's partitions since (found is false):
// another owner moved on from there.
func (a *actor) settleTickPending(j *pendingTxn) {
	rb, err := a.readBack(j.out)
	switch {
	case err != nil:
		a.log.Warn().Err(err).Msg("cannot read back the tick's transaction a previous owner left; leaving it (its outputs and the state's changelog may disagree)")
		return
	case !rb.found || len(rb.rest) == 0 || (rb.committed == 0 && !j.resending):
		return // moved on from, committed, or not committed anywhere
	}
	if err := a.txn.prod.commit(rb.rest, nil, a.txn.meta); err != nil {
		a.log.Warn().Err(err).Msg("cannot finish the tick's transaction a previous owner left committed in some partitions only (its outputs and the state's changelog may disagree)")
		return
	}
	a.p.stats.TxnCommitted.Add(1)
	a.log.Info().Int("partitions_committed", rb.committed).Int("partitions", rb.parts).Int("records_resent", len(rb.rest)).
		Msg("finished the tick's transaction a previous owner left committed in some partitions only")
}

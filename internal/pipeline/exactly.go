package pipeline

import (
	"errors"
	"time"

	"github.com/IBM/sarama"
)

// txnState is an exactly-once actor's transaction machinery: its
// partition's transactional producer and the records of the batch in hand,
// held back until the batch's outcome is known.
type txnState struct {
	prod   *txnProducer
	meta   *sarama.ConsumerGroupMetadata
	fenced bool
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
			return true
		}
		a.log.Warn().Err(err).Str("transactional_id", id).Dur("retry_in", backoff).Msg("cannot start the transactional producer, retrying")
		if !sleep(a.sess.Context(), backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// handleTxn processes the batch in hand and commits, in one transaction,
// what it produced (dead-letter records included) with the offset past it.
// When the transaction fails it is aborted and the batch runs again from the
// start: the committed offset has not moved, so this is the rewind.
func (a *actor) handleTxn() {
	first := a.msgs[0]
	backoff := 100 * time.Millisecond
	for {
		t := a.txn
		next := a.process(&a.out)
		msgs := a.out.kept(first.Offset, next)
		var offsets map[string][]*sarama.PartitionOffsetMetadata
		if next > first.Offset {
			offsets = map[string][]*sarama.PartitionOffsetMetadata{
				first.Topic: {{Partition: first.Partition, Offset: next}},
			}
		}
		if len(msgs) == 0 && offsets == nil {
			return
		}
		err := t.prod.commit(msgs, offsets, t.meta)
		if err == nil {
			a.p.stats.TxnCommitted.Add(1)
			return
		}
		a.p.stats.TxnAborted.Add(1)
		if errors.Is(err, errFenced) {
			// A newer owner of this partition exists: stop touching it.
			a.log.Warn().Err(err).Msg("fenced by a newer owner of the partition; stopping this actor")
			t.fenced, a.halted = true, true
			return
		}
		a.log.Warn().Err(err).Int64("first_offset", first.Offset).Int("records", len(a.msgs)).
			Dur("retry_in", backoff).Msg("transaction aborted; running the batch again")
		if !sleep(a.sess.Context(), backoff) {
			// Revoked: the next owner starts again from the committed offset.
			return
		}
		backoff = min(2*backoff, 5*time.Second)
		a.halted = false
	}
}

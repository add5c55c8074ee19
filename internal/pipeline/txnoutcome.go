package pipeline

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// Reading back a transaction's outcome partition by partition.
//
// A broker killed while it writes a commit's markers (the embedded broker
// writes them partition by partition, then the input offset, with no
// prepare record) leaves the transaction committed in some partitions and
// not in the others, or committed everywhere without its offset. The
// committed offset then says "not committed", and running the span again
// would duplicate what is already visible. So, after sealing, an actor
// whose offset did not move reads the end of each partition the
// transaction wrote, uncommitted, and finds its producer's last records
// before the seal (the seal's records carry the transactional id, which
// names the producer id) and the marker after them: COMMIT, or an abort
// marker (the seal's, for a transaction the crash left open). It then
// sends again only the records of the partitions where the transaction did
// not commit, as they were (same partition), with the offset. A partition
// whose records it cannot find or recognise counts as not committed: the
// worst case is then a duplicate, never a loss.

// outcomeWindow is how many offsets before a partition's end the first
// read-back covers; it grows fourfold until it reaches the seal and the
// transaction's records.
const outcomeWindow = 512

// errNoSeal: the read-back did not find the seal in the partition.
var errNoSeal = errors.New("the seal's record is not in the partition")

// readOutcomes is partitionOutcomes; tests replace it to stage an outcome
// the embedded broker cannot produce on demand (committed in some
// partitions only).
var readOutcomes = partitionOutcomes

// outcome is what the read-back found in one partition.
type outcome uint8

const (
	// notFound: the producer's last transaction before the seal is not
	// the one read back (another, or records that differ): counted as
	// not committed.
	notFound      outcome = iota
	abortedHere           // the transaction's records, aborted (or left open)
	committedHere         // the transaction's records, then COMMIT
)

// partitionOutcomes returns, for each partition the failed transaction's
// outputs went to, what the transaction did there.
func partitionOutcomes(c sarama.Client, txid string, out []*sarama.ProducerMessage) (map[topicPartition]outcome, error) {
	byPart := map[topicPartition][]*sarama.ProducerMessage{}
	for _, m := range out {
		if m.Partition >= 0 {
			tp := topicPartition{m.Topic, m.Partition}
			byPart[tp] = append(byPart[tp], m)
		}
	}
	res := make(map[topicPartition]outcome, len(byPart))
	for tp, msgs := range byPart {
		o, err := partitionOutcome(c, txid, tp, msgs)
		if err != nil {
			return nil, fmt.Errorf("%s/%d: %w", tp.topic, tp.partition, err)
		}
		res[tp] = o
	}
	return res, nil
}

func partitionOutcome(c sarama.Client, txid string, tp topicPartition, msgs []*sarama.ProducerMessage) (outcome, error) {
	hwm, err := c.GetOffset(tp.topic, tp.partition, sarama.OffsetNewest)
	if err != nil {
		return notFound, err
	}
	for window := int64(outcomeWindow); ; window *= 4 {
		start := max(0, hwm-window)
		batches, err := readBatches(c, tp, start, hwm)
		if err != nil {
			return notFound, err
		}
		recs, commit, found := lastTxnBefore(batches, txid)
		switch {
		case !found && start == 0:
			return notFound, errNoSeal
		case !found || (len(recs) < len(msgs) && start > 0):
			continue // the window starts too late
		}
		return judge(recs, commit, msgs), nil
	}
}

// judge says what the producer's last transaction before the seal (recs,
// committed or not) tells of the transaction whose records were msgs.
func judge(recs []*sarama.Record, commit bool, msgs []*sarama.ProducerMessage) outcome {
	switch {
	case !sameRecords(recs, msgs):
		return notFound
	case commit:
		return committedHere
	}
	return abortedHere
}

// readBatches reads the record batches of tp in [from, to), uncommitted.
func readBatches(c sarama.Client, tp topicPartition, from, to int64) ([]*sarama.RecordBatch, error) {
	leader, err := c.Leader(tp.topic, tp.partition)
	if err != nil {
		return nil, err
	}
	var out []*sarama.RecordBatch
	for off := from; off < to; {
		req := &sarama.FetchRequest{Version: 4, MaxBytes: 8 << 20, MaxWaitTime: 10, MinBytes: 1, Isolation: sarama.ReadUncommitted}
		req.AddBlock(tp.topic, tp.partition, off, 4<<20, -1)
		resp, err := leader.Fetch(req)
		if err != nil {
			return nil, err
		}
		blk := resp.GetBlock(tp.topic, tp.partition)
		if blk == nil {
			return nil, errors.New("no fetch answer")
		}
		if !errors.Is(blk.Err, sarama.ErrNoError) {
			return nil, blk.Err
		}
		next := off
		for _, rs := range blk.RecordsSet {
			if b := rs.RecordBatch; b != nil && !b.PartialTrailingRecord {
				out = append(out, b)
				next = b.FirstOffset + int64(b.LastOffsetDelta) + 1
			}
		}
		if next == off {
			break // nothing more (or a batch larger than the fetch)
		}
		off = next
	}
	return out, nil
}

// lastTxnBefore finds the last seal of txid in batches, and before it the
// records of that producer's last transaction that wrote records, and
// whether a COMMIT marker ended it. found is false when the window holds
// no seal, or no such records before it.
func lastTxnBefore(batches []*sarama.RecordBatch, txid string) (recs []*sarama.Record, commit, found bool) {
	seal := -1
	for i, b := range batches {
		if !b.Control && isSeal(b, txid) {
			seal = i
		}
	}
	if seal < 0 {
		return nil, false, false
	}
	pid := batches[seal].ProducerID
	var cur []*sarama.Record
	for _, b := range batches[:seal] {
		switch {
		case b.ProducerID != pid:
		case b.Control:
			if len(cur) > 0 {
				recs, commit, found = cur, isCommit(b), true
			}
			cur = nil
		case !isSeal(b, txid):
			cur = append(cur, b.Records...)
		}
	}
	if len(cur) > 0 { // no marker: the crash left it open, the seal aborted it
		recs, commit, found = cur, false, true
	}
	return recs, commit, found
}

func isSeal(b *sarama.RecordBatch, txid string) bool {
	for _, r := range b.Records {
		for _, h := range r.Headers {
			if string(h.Key) == HeaderSeal && string(h.Value) == txid {
				return true
			}
		}
	}
	return false
}

// isCommit reads a control batch's marker: key version (2 bytes), type (2
// bytes), 1 = COMMIT.
func isCommit(b *sarama.RecordBatch) bool {
	if len(b.Records) == 0 || len(b.Records[0].Key) < 4 {
		return false
	}
	k := b.Records[0].Key
	return k[2] == 0 && k[3] == 1
}

// sameRecords says whether recs are msgs: same count, keys and values.
func sameRecords(recs []*sarama.Record, msgs []*sarama.ProducerMessage) bool {
	if len(recs) != len(msgs) {
		return false
	}
	for i, m := range msgs {
		k, kerr := encode(m.Key)
		v, verr := encode(m.Value)
		if kerr != nil || verr != nil || !bytes.Equal(k, recs[i].Key) || !bytes.Equal(v, recs[i].Value) {
			return false
		}
	}
	return true
}

func encode(e sarama.Encoder) ([]byte, error) {
	if e == nil {
		return nil, nil
	}
	return e.Encode()
}

// resendable copies the outputs of partitions where the transaction did not
// commit, pinned to the partition each went to.
func resendable(out []*sarama.ProducerMessage, found map[topicPartition]outcome) []*sarama.ProducerMessage {
	var keep []*sarama.ProducerMessage
	for _, m := range out {
		if found[topicPartition{m.Topic, m.Partition}] == committedHere {
			continue
		}
		c := &sarama.ProducerMessage{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers,
			Timestamp: m.Timestamp, Metadata: m.Metadata, Partition: m.Partition}
		// Some partition committed, so EndTxn was sent and every record
		// had been assigned its partition: keep it there.
		if m.Partition >= 0 {
			kafka.SetPartition(c, m.Partition)
		}
		keep = append(keep, c)
	}
	return keep
}

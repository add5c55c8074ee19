package pipeline

import (
	"testing"

	"github.com/IBM/sarama"
)

func dataBatch(pid int64, vals ...string) *sarama.RecordBatch {
	b := &sarama.RecordBatch{ProducerID: pid, IsTransactional: true}
	for _, v := range vals {
		b.Records = append(b.Records, &sarama.Record{Value: []byte(v)})
	}
	return b
}

func sealBatch(pid int64, txid string) *sarama.RecordBatch {
	return &sarama.RecordBatch{ProducerID: pid, IsTransactional: true, Records: []*sarama.Record{
		{Key: []byte(HeaderSeal), Headers: []*sarama.RecordHeader{{Key: []byte(HeaderSeal), Value: []byte(txid)}}}}}
}

func marker(pid int64, commit bool) *sarama.RecordBatch {
	typ := byte(0)
	if commit {
		typ = 1
	}
	return &sarama.RecordBatch{ProducerID: pid, Control: true, IsTransactional: true, Records: []*sarama.Record{{Key: []byte{0, 0, 0, typ}}}}
}

func msgs(vals ...string) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, len(vals))
	for i, v := range vals {
		out[i] = &sarama.ProducerMessage{Value: sarama.StringEncoder(v)}
	}
	return out
}

// The read-back of a partition after a seal: the transaction's own
// records, then COMMIT, mean committed there; no marker (the crash left it
// open) or an abort mean aborted there; records that are not the
// transaction's (an older transaction, or a later one: someone wrote there
// since) mean it is not found, which counts as not committed.
func TestLastTxnBeforeTheSeal(t *testing.T) {
	const me, other, id = 7, 9, "tx"
	mine := msgs("a", "b", "c")
	cases := []struct {
		name    string
		batches []*sarama.RecordBatch
		want    outcome
		found   bool
	}{
		{"committed, then sealed", []*sarama.RecordBatch{marker(me, true), dataBatch(me, "a"), dataBatch(other, "x"), dataBatch(me, "b", "c"),
			marker(me, true), sealBatch(me, id), marker(me, false)}, committedHere, true},
		{"left open by the crash, aborted by the seal", []*sarama.RecordBatch{marker(me, true), dataBatch(me, "a", "b", "c"),
			dataBatch(other, "x"), sealBatch(me, id), marker(me, false)}, abortedHere, true},
		{"two seals after a commit", []*sarama.RecordBatch{dataBatch(me, "a", "b", "c"), marker(me, true), sealBatch(me, id),
			marker(me, false), sealBatch(me, id), marker(me, false)}, committedHere, true},
		{"only an older transaction committed", []*sarama.RecordBatch{dataBatch(me, "z"), marker(me, true), sealBatch(me, id)}, notFound, true},
		{"a later transaction after it", []*sarama.RecordBatch{dataBatch(me, "a", "b", "c"), marker(me, false), sealBatch(me, id),
			marker(me, false), dataBatch(me, "y"), marker(me, true), sealBatch(me, id), marker(me, false)}, notFound, true},
		{"no seal in the window", []*sarama.RecordBatch{dataBatch(me, "a", "b", "c"), marker(me, true)}, notFound, false},
	}
	for _, c := range cases {
		recs, commit, found := lastTxnBefore(c.batches, id)
		if found != c.found || (found && judge(recs, commit, mine) != c.want) {
			t.Errorf("%s: found %v, outcome %v; want %v, %v", c.name, found, judge(recs, commit, mine), c.found, c.want)
		}
	}
}

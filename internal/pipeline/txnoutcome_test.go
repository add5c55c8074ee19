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
// open), an abort, or records that are not the transaction's, mean not.
func TestLastTxnBeforeTheSeal(t *testing.T) {
	const me, other, id = 7, 9, "tx"
	mine := msgs("a", "b", "c")
	cases := []struct {
		name    string
		batches []*sarama.RecordBatch
		want    bool
		found   bool
	}{
		{"committed, then sealed", []*sarama.RecordBatch{marker(me, true), dataBatch(me, "a"), dataBatch(other, "x"), dataBatch(me, "b", "c"),
			marker(me, true), sealBatch(me, id), marker(me, false)}, true, true},
		{"left open by the crash, aborted by the seal", []*sarama.RecordBatch{marker(me, true), dataBatch(me, "a", "b", "c"),
			dataBatch(other, "x"), sealBatch(me, id), marker(me, false)}, false, true},
		{"two seals after a commit", []*sarama.RecordBatch{dataBatch(me, "a", "b", "c"), marker(me, true), sealBatch(me, id),
			marker(me, false), sealBatch(me, id), marker(me, false)}, true, true},
		{"only an older transaction committed", []*sarama.RecordBatch{dataBatch(me, "z"), marker(me, true), sealBatch(me, id)}, false, true},
		{"no seal in the window", []*sarama.RecordBatch{dataBatch(me, "a", "b", "c"), marker(me, true)}, false, false},
	}
	for _, c := range cases {
		recs, commit, found := lastTxnBefore(c.batches, id)
		if found != c.found || (found && (commit && sameRecords(recs, mine)) != c.want) {
			t.Errorf("%s: found %v, committed %v; want %v, %v", c.name, found, commit && sameRecords(recs, mine), c.found, c.want)
		}
	}
}

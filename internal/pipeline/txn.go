package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// errFenced means another producer with this partition's transactional id
// took over: the partition belongs to someone else now.
var errFenced = errors.New("transactional producer fenced")

// txnProducer is the exactly-once producer of one input partition. Its
// transactional id is fixed per (group, topic, partition), so a zombie owner
// of the partition is fenced by the broker when the new owner starts.
type txnProducer struct {
	id       string
	brokers  []string
	cfg      *sarama.Config
	producer sarama.AsyncProducer
}

func txnID(group, topic string, partition int32) string {
	return fmt.Sprintf("wasmhost-%s-%s-%d", group, topic, partition)
}

func newTxnProducer(o kafka.ClientOptions, id string, timeout time.Duration) (*txnProducer, error) {
	o.ClientID = id
	cfg, err := kafka.NewSaramaConfig(o)
	if err != nil {
		return nil, err
	}
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = id
	// After a crash the broker aborts the dead owner's open transaction
	// once it is this old; until then the partition's committed offset is
	// unstable and its next owner waits (see member.go).
	cfg.Producer.Transaction.Timeout = timeout
	// Outcomes are judged per transaction by CommitTxn: a failed record
	// puts the transaction in an error state, so nothing needs draining.
	cfg.Producer.Return.Successes = false
	cfg.Producer.Return.Errors = false
	cfg.Producer.Transaction.Retry.Max = 20
	cfg.Producer.Transaction.Retry.Backoff = 100 * time.Millisecond
	t := &txnProducer{id: id, brokers: o.Brokers, cfg: cfg}
	return t, t.open()
}

func (t *txnProducer) open() error {
	p, err := sarama.NewAsyncProducer(t.brokers, t.cfg)
	if err != nil {
		return fmt.Errorf("transactional producer %s: %w", t.id, err)
	}
	t.producer = p
	return nil
}

// reopen replaces a producer in a fatal state.
func (t *txnProducer) reopen() error {
	t.close()
	return t.open()
}

func (t *txnProducer) close() {
	if t.producer != nil {
		_ = t.producer.Close()
		t.producer = nil
	}
}

// commit runs one transaction: the records, then the input offset (with the
// group's generation and member, so a fenced member cannot commit), then
// EndTxn. On error the transaction is aborted (or the producer recreated) and
// the caller runs the batch again.
func (t *txnProducer) commit(msgs []*sarama.ProducerMessage, offsets map[string][]*sarama.PartitionOffsetMetadata, meta *sarama.ConsumerGroupMetadata) error {
	if t.producer == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	p := t.producer
	if err := p.BeginTxn(); err != nil {
		return t.recover(fmt.Errorf("begin: %w", err))
	}
	for _, m := range msgs {
		p.Input() <- m
	}
	if offsets != nil {
		if err := p.AddOffsetsToTxnWithGroupMetadata(offsets, meta); err != nil {
			return t.recover(fmt.Errorf("add offsets: %w", err))
		}
	}
	if err := p.CommitTxn(); err != nil {
		return t.recover(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// recover leaves the producer ready for a new transaction after err.
func (t *txnProducer) recover(err error) error {
	p := t.producer
	if errors.Is(err, sarama.ErrProducerFenced) {
		t.close()
		return fmt.Errorf("%w: %w", errFenced, err)
	}
	st := p.TxnStatus()
	if st&sarama.ProducerTxnFlagFatalError != 0 {
		if rerr := t.reopen(); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if st&sarama.ProducerTxnFlagInTransaction != 0 || st&sarama.ProducerTxnFlagAbortableError != 0 {
		if aerr := p.AbortTxn(); aerr != nil {
			if errors.Is(aerr, sarama.ErrProducerFenced) {
				t.close()
				return fmt.Errorf("%w: %w", errFenced, aerr)
			}
			if rerr := t.reopen(); rerr != nil {
				return errors.Join(err, aerr, rerr)
			}
		}
	}
	return err
}

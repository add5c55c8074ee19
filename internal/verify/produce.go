package verify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// HeaderSeq is the header carrying a record's sequence number.
const HeaderSeq = "seq"

// ProduceOptions describe a stream of sequenced input records.
type ProduceOptions struct {
	Topic string
	From  int // first sequence number
	Count int
	// Rate is the records per second to aim for; 0 produces as fast as
	// possible.
	Rate int
	// ValueSize pads values to this many bytes (at least the sequence).
	ValueSize int
}

// Produce writes records seq From..From+Count-1 with key "k-<seq>", header
// seq=<seq> and a value holding the seq, waiting for every acknowledgement.
func Produce(ctx context.Context, cfg *sarama.Config, brokers []string, o ProduceOptions) error {
	c := *cfg
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(brokers, &c)
	if err != nil {
		return fmt.Errorf("verify: producer: %w", err)
	}
	defer p.Close()
	const chunk = 200
	start := time.Now()
	batch := make([]*sarama.ProducerMessage, 0, chunk)
	for i := o.From; i < o.From+o.Count; i++ {
		seq := strconv.Itoa(i)
		val := []byte("value-" + seq)
		if len(val) < o.ValueSize {
			val = append(val, make([]byte, o.ValueSize-len(val))...)
		}
		batch = append(batch, &sarama.ProducerMessage{
			Topic:   o.Topic,
			Key:     sarama.StringEncoder("k-" + seq),
			Value:   sarama.ByteEncoder(val),
			Headers: []sarama.RecordHeader{{Key: []byte(HeaderSeq), Value: []byte(seq)}},
		})
		if len(batch) == chunk || i == o.From+o.Count-1 {
			if err := p.SendMessages(batch); err != nil {
				return fmt.Errorf("verify: produce: %w", err)
			}
			batch = batch[:0]
			if o.Rate > 0 {
				due := start.Add(time.Duration(i-o.From+1) * time.Second / time.Duration(o.Rate))
				select {
				case <-time.After(time.Until(due)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// outputCheck is what reading an output topic back found.
type outputCheck struct {
	records       int // data records read with read_committed isolation
	distinct      int // distinct keys among them
	transactional int // records written inside a transaction
}

// readOutput reads topic from the start with read_committed isolation until
// want records have been read or nothing new arrives for quiet.
func (e *env) readOutput(ctx context.Context, topic string, want int, quiet time.Duration) (outputCheck, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(e.addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(quiet),
	)
	if err != nil {
		return outputCheck{}, err
	}
	defer cl.Close()
	var c outputCheck
	keys := make(map[string]struct{}, want)
	for c.records < want {
		pctx, cancel := context.WithTimeout(ctx, quiet)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return c, ctx.Err()
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			c.records++
			keys[string(r.Key)] = struct{}{}
			if r.Attrs.IsTransactional() {
				c.transactional++
			}
		})
		if n == 0 {
			break // quiet for a whole poll: nothing more is coming
		}
	}
	c.distinct = len(keys)
	return c, nil
}

// exactlyOnce checks the output of an exactly-once run of want records: every
// record once, each written in a transaction. An error says what is wrong.
func (c outputCheck) exactlyOnce(want int) error {
	switch {
	case c.transactional != c.records:
		return fmt.Errorf("%d of %d output records were written outside a transaction", c.records-c.transactional, c.records)
	case c.records != want || c.distinct != want:
		return fmt.Errorf("%d output records (%d distinct) for %d input records", c.records, c.distinct, want)
	}
	return nil
}

package pipeline

import (
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// commitSync commits next as the partition's offset and waits for the
// broker's answer. sarama's session.Commit reports failures only
// asynchronously, which at-most-once cannot use: it must know the commit
// holds before the plugin runs, or a rebalance would hand the same records to
// the next owner as well.
func (a *actor) commitSync(next int64) error {
	if a.client == nil {
		return errors.New("no client for synchronous commits")
	}
	group := a.p.cfg.Group
	req := &sarama.OffsetCommitRequest{
		Version:                 2,
		ConsumerGroup:           group,
		ConsumerGroupGeneration: a.sess.GenerationID(),
		ConsumerID:              a.sess.MemberID(),
		RetentionTime:           -1,
	}
	req.AddBlock(a.claim.Topic(), a.claim.Partition(), next, 0, "")
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var coord *sarama.Broker
		if coord, err = a.client.Coordinator(group); err != nil {
			continue
		}
		var resp *sarama.OffsetCommitResponse
		if resp, err = coord.CommitOffset(req); err != nil {
			_ = a.client.RefreshCoordinator(group)
			continue
		}
		kerr := resp.Errors[a.claim.Topic()][a.claim.Partition()]
		switch {
		case kerr == sarama.ErrNoError:
			return nil
		case errors.Is(kerr, sarama.ErrNotCoordinatorForConsumer), errors.Is(kerr, sarama.ErrConsumerCoordinatorNotAvailable):
			_ = a.client.RefreshCoordinator(group)
			err = kerr
		default:
			// A stale generation or unknown member: the partition is
			// being reassigned. Not worth retrying.
			return fmt.Errorf("commit offset %d: %w", next, kerr)
		}
	}
	return fmt.Errorf("commit offset %d: %w", next, err)
}

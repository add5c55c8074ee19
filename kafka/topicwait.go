package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// deleteTopic deletes name, if it exists, and returns once the controller's
// metadata no longer lists it.
func deleteTopic(ctx context.Context, admin sarama.ClusterAdmin, name string) error {
	err := admin.DeleteTopic(name)
	if err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("deleting: %w", err)
	}
	b := newBackoff(pollMin, pollMax)
	for {
		md, err := describeTopic(admin, name)
		switch {
		case err != nil:
		case errors.Is(md.Err, sarama.ErrUnknownTopicOrPartition):
			return nil
		default:
			err = errors.New("metadata still lists the topic")
		}
		if werr := b.wait(ctx); werr != nil {
			return fmt.Errorf("waiting for deletion to complete: %w (last: %w)", werr, err)
		}
	}
}

// waitForLeaders polls the metadata of name until every partition has a
// leader, and returns the partition count.
func waitForLeaders(ctx context.Context, admin sarama.ClusterAdmin, name string) (int32, error) {
	b := newBackoff(pollMin, pollMax)
	var last error
	for {
		md, err := describeTopic(admin, name)
		if err == nil {
			err = leadersReady(md)
		}
		if err == nil {
			return int32(len(md.Partitions)), nil
		}
		last = err
		if werr := b.wait(ctx); werr != nil {
			return 0, fmt.Errorf("created, but waiting for partition leaders: %w (last: %w)", werr, last)
		}
	}
}

func describeTopic(admin sarama.ClusterAdmin, name string) (*sarama.TopicMetadata, error) {
	mds, err := admin.DescribeTopics([]string{name})
	if err != nil {
		return nil, err
	}
	for _, md := range mds {
		if md.Name == name {
			return md, nil
		}
	}
	return nil, fmt.Errorf("metadata response lacks topic %s", name)
}

func leadersReady(md *sarama.TopicMetadata) error {
	if !errors.Is(md.Err, sarama.ErrNoError) {
		return md.Err
	}
	if len(md.Partitions) == 0 {
		return errors.New("no partitions in metadata yet")
	}
	for _, p := range md.Partitions {
		if !errors.Is(p.Err, sarama.ErrNoError) {
			return fmt.Errorf("partition %d: %w", p.ID, p.Err)
		}
		if p.Leader < 0 {
			return fmt.Errorf("partition %d has no leader", p.ID)
		}
	}
	return nil
}

package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// WaitDeleted returns once the brokers' metadata lists none of the topics
// [DeleteTopics] reported deleted, or with why not when ctx ends first.
func WaitDeleted(ctx context.Context, admin sarama.ClusterAdmin, deleted []TopicResult) error {
	var names []string
	for _, r := range deleted {
		if r.Status == TopicDeleted {
			names = append(names, r.Name)
		}
	}
	b := newBackoff(pollMin, pollMax)
	for len(names) > 0 {
		md, err := describeTopic(admin, names[0])
		switch {
		case err != nil:
		case errors.Is(md.Err, sarama.ErrUnknownTopicOrPartition):
			names = names[1:]
			continue
		default:
			err = fmt.Errorf("metadata still lists topic %s", names[0])
		}
		if werr := b.wait(ctx); werr != nil {
			return fmt.Errorf("waiting for the deletions to complete: %w (last: %w)", werr, err)
		}
	}
	return nil
}

// waitForLeaders polls the metadata of name until every partition has a
// leader, and returns it.
func waitForLeaders(ctx context.Context, admin sarama.ClusterAdmin, name string) (*sarama.TopicMetadata, error) {
	b := newBackoff(pollMin, pollMax)
	var last error
	for {
		md, err := describeTopic(admin, name)
		if err == nil {
			err = leadersReady(md)
		}
		if err == nil {
			return md, nil
		}
		last = err
		if werr := b.wait(ctx); werr != nil {
			return nil, fmt.Errorf("created, but waiting for partition leaders: %w (last: %w)", werr, last)
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

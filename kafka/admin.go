package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name string
	// Partitions is the partition count, or -1 for the broker's default.
	Partitions int32
	// ReplicationFactor is the replica count, or -1 for the broker's
	// default. The embedded broker has one node, so 1 (or -1).
	ReplicationFactor int16
	// Configs are topic configs, e.g. "retention.ms": "86400000".
	Configs map[string]string
}

// Topic statuses reported in [TopicResult].
const (
	TopicCreated       = "created"
	TopicAlreadyExists = "already exists"
	TopicDeleted       = "deleted"
	TopicDidNotExist   = "did not exist"
	TopicFailed        = "failed"
)

// TopicResult is the outcome for one topic of a step of [SetupTopics]:
// [DeleteTopics] or [CreateTopics].
type TopicResult struct {
	Name   string
	Status string // one of the Topic* statuses
	// Partitions and ReplicationFactor are the topic's, when known (0
	// otherwise): after it was created or found to exist.
	Partitions        int32
	ReplicationFactor int16
	Err               error // non-nil iff Status is TopicFailed
}

// String is the line the CLI prints for the topic, e.g.
// "users: created (10 partitions, replication factor 1)".
func (r TopicResult) String() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s: %s: %v", r.Name, TopicFailed, r.Err)
	case r.Partitions == 1:
		return fmt.Sprintf("%s: %s (1 partition, replication factor %d)", r.Name, r.Status, r.ReplicationFactor)
	case r.Partitions > 1:
		return fmt.Sprintf("%s: %s (%d partitions, replication factor %d)", r.Name, r.Status, r.Partitions, r.ReplicationFactor)
	default:
		return fmt.Sprintf("%s: %s", r.Name, r.Status)
	}
}

// SetupTopics creates topics, one result per spec in order. An existing
// topic is left alone ("already exists") unless recreate is set: then every
// topic is deleted first ([DeleteTopics]), the deletions are waited for
// ([WaitDeleted]), and the topics are created again, empty. A created topic
// is reported once every partition has a leader, so it can be produced to
// at once. ctx bounds the waits. The CLI runs the steps itself to print
// each one's results.
func SetupTopics(ctx context.Context, admin sarama.ClusterAdmin, topics []TopicSpec, recreate bool) []TopicResult {
	if !recreate {
		return CreateTopics(ctx, admin, topics, nil)
	}
	deleted := DeleteTopics(admin, topics)
	if err := WaitDeleted(ctx, admin, deleted); err != nil {
		for i := range deleted {
			if deleted[i].Err == nil {
				deleted[i].Status, deleted[i].Err = TopicFailed, err
			}
		}
	}
	return CreateTopics(ctx, admin, topics, deleted)
}

// EnsureTopics creates the topics that are missing and leaves existing ones
// alone; the daemon calls it at start. The error joins every failure.
func EnsureTopics(ctx context.Context, admin sarama.ClusterAdmin, topics []TopicSpec) ([]TopicResult, error) {
	results := SetupTopics(ctx, admin, topics, false)
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", r.Name, r.Err))
		}
	}
	return results, errors.Join(errs...)
}

// DeleteTopics asks the brokers to delete each topic, one result per spec
// in order: deleted, did not exist, or failed. A spec that is not valid is
// not deleted (it could not be created again). The deletions may still be
// under way: see [WaitDeleted].
func DeleteTopics(admin sarama.ClusterAdmin, topics []TopicSpec) []TopicResult {
	results := make([]TopicResult, len(topics))
	for i, spec := range topics {
		r := TopicResult{Name: spec.Name, Status: TopicDeleted}
		err := spec.validate()
		if err == nil {
			err = admin.DeleteTopic(spec.Name)
		}
		switch {
		case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
			r.Status = TopicDidNotExist
		case err != nil:
			r.Status, r.Err = TopicFailed, err
		}
		results[i] = r
	}
	return results
}

// CreateTopics creates each topic, one result per spec in order: created,
// already exists (left alone), or failed. deleted, unless nil, are the
// topics' [DeleteTopics] results: a topic whose deletion failed is not
// created (it would only be found to exist), and as a broker may still
// refuse a name while it finishes a deletion, "already exists" is retried
// until ctx ends.
func CreateTopics(ctx context.Context, admin sarama.ClusterAdmin, topics []TopicSpec, deleted []TopicResult) []TopicResult {
	results := make([]TopicResult, len(topics))
	for i, spec := range topics {
		if deleted != nil && deleted[i].Err != nil {
			results[i] = TopicResult{Name: spec.Name, Status: TopicFailed, Err: errNotDeleted}
			continue
		}
		results[i] = setupTopic(ctx, admin, spec, deleted != nil)
	}
	return results
}

var errNotDeleted = errors.New("not created again: its deletion failed")

func setupTopic(ctx context.Context, admin sarama.ClusterAdmin, spec TopicSpec, afterDelete bool) TopicResult {
	res := TopicResult{Name: spec.Name}
	fail := func(err error) TopicResult {
		res.Status, res.Err = TopicFailed, err
		return res
	}
	if err := spec.validate(); err != nil {
		return fail(err)
	}
	err := createTopic(ctx, admin, spec, afterDelete)
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		res.Status = TopicAlreadyExists
		if md, err := describeTopic(admin, spec.Name); err == nil && leadersReady(md) == nil {
			res.Partitions, res.ReplicationFactor = shape(md)
		}
		return res
	case err != nil:
		return fail(err)
	}
	md, err := waitForLeaders(ctx, admin, spec.Name)
	if err != nil {
		return fail(err)
	}
	res.Status = TopicCreated
	res.Partitions, res.ReplicationFactor = shape(md)
	return res
}

// shape is a topic's partition count and replication factor (its first
// partition's replica count).
func shape(md *sarama.TopicMetadata) (int32, int16) {
	if len(md.Partitions) == 0 {
		return 0, 0
	}
	return int32(len(md.Partitions)), int16(len(md.Partitions[0].Replicas))
}

func (s TopicSpec) validate() error {
	switch {
	case s.Name == "":
		return errors.New("topic name is empty")
	case s.Partitions == 0 || s.Partitions < -1:
		return fmt.Errorf("partitions must be at least 1, or -1 for the broker default (got %d)", s.Partitions)
	case s.ReplicationFactor == 0 || s.ReplicationFactor < -1:
		return fmt.Errorf("replication factor must be at least 1, or -1 for the broker default (got %d)", s.ReplicationFactor)
	}
	return nil
}

// createTopic creates the topic. After a deletion, a broker may still
// refuse the name for a moment (real Kafka finishes deletions
// asynchronously, after metadata no longer shows the topic), so
// TOPIC_ALREADY_EXISTS is retried until ctx is done.
func createTopic(ctx context.Context, admin sarama.ClusterAdmin, spec TopicSpec, afterDelete bool) error {
	detail := &sarama.TopicDetail{
		NumPartitions:     spec.Partitions,
		ReplicationFactor: spec.ReplicationFactor,
		ConfigEntries:     make(map[string]*string, len(spec.Configs)),
	}
	for k, v := range spec.Configs {
		detail.ConfigEntries[k] = &v
	}
	b := newBackoff(pollMin, pollMax)
	for {
		err := admin.CreateTopic(spec.Name, detail, false)
		if err == nil || !afterDelete || !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return err
		}
		if werr := b.wait(ctx); werr != nil {
			return fmt.Errorf("creating again after deletion: %w (last: %w)", werr, err)
		}
	}
}

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
	TopicFailed        = "failed"
)

// TopicResult is the outcome for one topic of [SetupTopics] or
// [EnsureTopics].
type TopicResult struct {
	Name   string
	Status string // TopicCreated, TopicAlreadyExists or TopicFailed
	// Partitions is the partition count the topic has, when known.
	Partitions int32
	Err        error // non-nil iff Status is TopicFailed
}

// String is the line the CLI prints for the topic, e.g.
// "users: created (10 partitions)".
func (r TopicResult) String() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s: %s: %v", r.Name, TopicFailed, r.Err)
	case r.Status == TopicCreated:
		return fmt.Sprintf("%s: %s (%d partitions)", r.Name, r.Status, r.Partitions)
	default:
		return fmt.Sprintf("%s: %s", r.Name, r.Status)
	}
}

// SetupTopics creates topics, one result per spec in order. An existing
// topic is left alone ("already exists") unless recreate is set: then it is
// deleted, and created again once the deletion has completed, which empties
// it. A created topic is reported once every partition has a leader, so it
// can be produced to at once. ctx bounds the waits.
func SetupTopics(ctx context.Context, admin sarama.ClusterAdmin, topics []TopicSpec, recreate bool) []TopicResult {
	results := make([]TopicResult, len(topics))
	for i, spec := range topics {
		results[i] = setupTopic(ctx, admin, spec, recreate)
	}
	return results
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

func setupTopic(ctx context.Context, admin sarama.ClusterAdmin, spec TopicSpec, recreate bool) TopicResult {
	res := TopicResult{Name: spec.Name}
	fail := func(err error) TopicResult {
		res.Status, res.Err = TopicFailed, err
		return res
	}
	if err := spec.validate(); err != nil {
		return fail(err)
	}
	if recreate {
		if err := deleteTopic(ctx, admin, spec.Name); err != nil {
			return fail(err)
		}
	}
	err := createTopic(ctx, admin, spec, recreate)
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		res.Status = TopicAlreadyExists
		return res
	case err != nil:
		return fail(err)
	}
	n, err := waitForLeaders(ctx, admin, spec.Name)
	if err != nil {
		return fail(err)
	}
	res.Status, res.Partitions = TopicCreated, n
	return res
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

// createTopic creates the topic. After a recreate, a broker may still
// refuse the name for a moment (real Kafka finishes deletions
// asynchronously, after metadata no longer shows the topic), so
// TOPIC_ALREADY_EXISTS is retried until ctx is done.
func createTopic(ctx context.Context, admin sarama.ClusterAdmin, spec TopicSpec, recreate bool) error {
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
		if err == nil || !recreate || !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return err
		}
		if werr := b.wait(ctx); werr != nil {
			return fmt.Errorf("creating again after deletion: %w (last: %w)", werr, err)
		}
	}
}

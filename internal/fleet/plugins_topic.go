package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/kafka"
)

// RecordHeadroom is what a version record needs beyond its module: key,
// headers and the record batch's own framing. The topic's
// max.message.bytes and the clients' limits are the largest module plus
// this.
const RecordHeadroom = 64 << 10

// TopicSpec is the plugin topic: one partition, so that a pointer is read
// after the version it names; compacted, so it holds the last record of
// each key forever; and records as large as the largest module.
func TopicSpec(topic string, maxModule int) kafka.TopicSpec {
	return kafka.TopicSpec{
		Name: topic, Partitions: 1, ReplicationFactor: -1,
		Configs: map[string]string{
			"cleanup.policy":    "compact",
			"max.message.bytes": strconv.Itoa(maxModule + RecordHeadroom),
		},
	}
}

// EnsureTopic creates the plugin topic when it is missing, and checks that
// an existing one has one partition. It reports whether it created it.
func EnsureTopic(ctx context.Context, client sarama.Client, topic string, maxModule int) (bool, error) {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return false, fmt.Errorf("kafka admin: %w", err)
	}
	// Not admin.Close: it would close the caller's client.
	res, err := kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{TopicSpec(topic, maxModule)})
	if err != nil {
		return false, fmt.Errorf("plugin topic: %w", err)
	}
	if err := client.RefreshMetadata(topic); err != nil {
		return false, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return false, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	if len(parts) != 1 {
		return false, fmt.Errorf("plugin topic %s has %d partitions; it must have exactly 1, so that every record is read in the order it was written", topic, len(parts))
	}
	if err := checkRecordLimit(admin, topic, maxModule); err != nil {
		return false, err
	}
	return res[0].Status == kafka.TopicCreated, nil
}

// checkRecordLimit refuses a topic (made by someone else) whose records
// cannot hold the largest module: the broker would refuse every deploy of a
// Go plugin with a bare MESSAGE_TOO_LARGE.
func checkRecordLimit(admin sarama.ClusterAdmin, topic string, maxModule int) error {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"max.message.bytes"}})
	if err != nil {
		return fmt.Errorf("plugin topic %s: reading its max.message.bytes: %w", topic, err)
	}
	need := maxModule + RecordHeadroom
	for _, e := range entries {
		if e.Name != "max.message.bytes" {
			continue
		}
		if n, err := strconv.Atoi(e.Value); err == nil && n < need {
			return fmt.Errorf("plugin topic %s has max.message.bytes=%d; modules up to plugins.max_size (%d bytes) need %d: raise it on the topic (kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config max.message.bytes=%d), or lower plugins.max_size", topic, n, maxModule, need, topic, need)
		}
	}
	return nil
}

// ReadCatalog reads the plugin topic from its start to its end as of now.
// Records it cannot read are skipped and returned joined in the error
// beside the catalog (which is then still usable).
func ReadCatalog(ctx context.Context, client sarama.Client, topic string) (*Catalog, error) {
	cat := NewCatalog()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	if end == 0 {
		return cat, nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	defer pc.Close()
	var bad []error
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("reading plugin topic %s: %w", topic, ctx.Err())
		case m := <-pc.Messages():
			if _, err := cat.Apply(m); err != nil {
				bad = append(bad, err)
			}
			if m.Offset >= end-1 {
				return cat, errors.Join(bad...)
			}
		}
	}
}

// fetchVersion reads the version record at v.Offset with consumer and
// checks that it is v: its key, and the sha256 of its content.
func fetchVersion(ctx context.Context, consumer sarama.Consumer, topic string, v Version) ([]byte, error) {
	pc, err := consumer.ConsumePartition(topic, 0, v.Offset)
	if err != nil {
		return nil, fmt.Errorf("plugin %s version %s: %w", v.Plugin, short(v.SHA256), err)
	}
	defer pc.Close()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("plugin %s version %s: %w", v.Plugin, short(v.SHA256), ctx.Err())
	case m := <-pc.Messages():
		if string(m.Key) != versionKey(v.Plugin, v.SHA256) {
			return nil, fmt.Errorf("plugin %s version %s: no longer in the topic at offset %d (found %q)", v.Plugin, short(v.SHA256), v.Offset, m.Key)
		}
		return checkContent(v, m.Value)
	}
}

// checkContent refuses a record whose content is not what its key says.
func checkContent(v Version, code []byte) ([]byte, error) {
	if sum := SHA256(code); sum != v.SHA256 {
		return nil, fmt.Errorf("plugin %s: the record at offset %d holds a module with sha256 %s, but its key says %s: refused", v.Plugin, v.Offset, short(sum), short(v.SHA256))
	}
	return code, nil
}

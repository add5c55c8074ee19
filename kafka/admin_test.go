package kafka

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestSetupTopics(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	admin := newAdmin(t, c)
	ctx := testContext(t, 20*time.Second)

	specs := []TopicSpec{
		{Name: "users", Partitions: 10, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "3600000"}},
		{Name: "defaults", Partitions: -1, ReplicationFactor: -1},
		{Name: "zero", Partitions: 0, ReplicationFactor: 1},
		{Name: "toomany", Partitions: 1, ReplicationFactor: 3},
		{Name: "", Partitions: 1, ReplicationFactor: 1},
	}
	got := lines(SetupTopics(ctx, admin, specs, false))
	want := []string{
		"users: created (10 partitions, replication factor 1)",
		"defaults: created (10 partitions, replication factor 1)", // the broker's defaults
		"zero: failed: partitions must be at least 1, or -1 for the broker default (got 0)",
		"toomany: failed: kafka server: Replication-factor is invalid",
		": failed: topic name is empty",
	}
	checkLines(t, got, want)

	// Configs reached the broker.
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "users"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasConfig(entries, "retention.ms", "3600000") {
		t.Errorf("users: retention.ms not set: %+v", entries)
	}

	// Again: existing topics are left alone.
	produceN(t, c, "users", "r", 50)
	got = lines(SetupTopics(ctx, admin, specs[:1], false))
	checkLines(t, got, []string{"users: already exists (10 partitions, replication factor 1)"})
	if n := len(consumeAll(t, c, "users")); n != 50 {
		t.Fatalf("users has %d records after a plain setup, want 50", n)
	}

	// Recreate: deleted, then created empty, with the new partition count.
	specs[0].Partitions = 4
	got = lines(SetupTopics(ctx, admin, specs[:1], true))
	checkLines(t, got, []string{"users: created (4 partitions, replication factor 1)"})
	if err := c.RefreshMetadata("users"); err != nil {
		t.Fatal(err)
	}
	if n := len(consumeAll(t, c, "users")); n != 0 {
		t.Fatalf("users has %d records after recreate, want 0", n)
	}
	// Recreating a topic that does not exist just creates it.
	got = lines(SetupTopics(ctx, admin, []TopicSpec{{Name: "fresh", Partitions: 2, ReplicationFactor: 1}}, true))
	checkLines(t, got, []string{"fresh: created (2 partitions, replication factor 1)"})
}

// TestRecreateStepByStep runs --recreate's steps as the CLI does: each
// topic's deletion has its own result, an invalid spec is not deleted, and
// a topic whose deletion failed is not created again.
func TestRecreateStepByStep(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	admin := newAdmin(t, c)
	ctx := testContext(t, 20*time.Second)
	specs := []TopicSpec{
		{Name: "old", Partitions: 3, ReplicationFactor: 1},
		{Name: "new", Partitions: 2, ReplicationFactor: 1},
		{Name: "bad", Partitions: 0, ReplicationFactor: 1},
	}
	checkLines(t, lines(CreateTopics(ctx, admin, specs[:1], nil)), []string{"old: created (3 partitions, replication factor 1)"})
	produceN(t, c, "old", "r", 5)

	deleted := DeleteTopics(admin, specs)
	checkLines(t, lines(deleted), []string{
		"old: deleted",
		"new: did not exist",
		"bad: failed: partitions must be at least 1, or -1 for the broker default (got 0)",
	})
	if err := WaitDeleted(ctx, admin, deleted); err != nil {
		t.Fatal(err)
	}
	checkLines(t, lines(CreateTopics(ctx, admin, specs, deleted)), []string{
		"old: created (3 partitions, replication factor 1)",
		"new: created (2 partitions, replication factor 1)",
		"bad: failed: not created again: its deletion failed",
	})
	if err := c.RefreshMetadata("old"); err != nil {
		t.Fatal(err)
	}
	if n := len(consumeAll(t, c, "old")); n != 0 {
		t.Fatalf("old has %d records after recreate, want 0", n)
	}
}

func TestEnsureTopics(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	admin := newAdmin(t, c)
	ctx := testContext(t, 20*time.Second)

	specs := []TopicSpec{{Name: "in", Partitions: 3, ReplicationFactor: 1}, {Name: "out", Partitions: 3, ReplicationFactor: 1}}
	if _, err := EnsureTopics(ctx, admin, specs[:1]); err != nil {
		t.Fatal(err)
	}
	res, err := EnsureTopics(ctx, admin, specs)
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, lines(res), []string{"in: already exists (3 partitions, replication factor 1)", "out: created (3 partitions, replication factor 1)"})

	_, err = EnsureTopics(ctx, admin, []TopicSpec{{Name: "bad", Partitions: 1, ReplicationFactor: 2}})
	if !errors.Is(err, sarama.ErrInvalidReplicationFactor) || !strings.Contains(err.Error(), "topic bad:") {
		t.Fatalf("err = %v, want ErrInvalidReplicationFactor naming the topic", err)
	}
}

func lines(rs []TopicResult) []string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return s
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func hasConfig(entries []sarama.ConfigEntry, name, value string) bool {
	for _, e := range entries {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

package kafka

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/IBM/sarama"
)

// TestRepairIndexAfterACrashBetweenItsWrites reproduces what a SIGKILL of
// the broker between a batch's segment write and its index write leaves,
// and checks that the next start rebuilds the index, so an aborted
// transaction's records stay invisible to read_committed readers.
func TestRepairIndexAfterACrashBetweenItsWrites(t *testing.T) {
	dir := t.TempDir()
	b := startBroker(t, BrokerOptions{DataDir: dir})
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("t", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	// plain, aborted, plain, aborted, plain.
	for i := range 5 {
		if i%2 == 0 {
			produceOne(t, b.Addr(), "", "plain")
		} else {
			produceOne(t, b.Addr(), "txn", "aborted")
		}
	}
	b.Close()
	seg := filepath.Join(dir, "partitions", "t-0", "0.dat")
	idx := filepath.Join(dir, "partitions", "t-0", "0.idx")
	raw, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	// The crash: the first batch's index entry never written, so every
	// later batch reads its successor's; and no snapshot of a clean stop.
	if err := os.WriteFile(idx, raw[indexEntrySize:], 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "partitions", "t-0", "snapshot.json"))
	if fixed, err := repairIndex(seg); err != nil || !fixed {
		t.Fatalf("repair: fixed %v, err %v", fixed, err)
	}
	if fixed, err := repairIndex(seg); err != nil || fixed {
		t.Fatalf("second repair: fixed %v, err %v; want nothing to do", fixed, err)
	}
	got, err := os.ReadFile(idx)
	if err != nil || string(got) != string(raw) {
		t.Fatalf("rebuilt index differs from the one the broker wrote (err %v)", err)
	}

	// And through StartBroker: break it again, start, read committed.
	if err := os.WriteFile(idx, raw[indexEntrySize:], 0o644); err != nil {
		t.Fatal(err)
	}
	b = startBroker(t, BrokerOptions{DataDir: dir})
	rc := sarama.NewConfig()
	rc.Version = sarama.V3_6_0_0
	rc.Consumer.IsolationLevel = sarama.ReadCommitted
	c, err := sarama.NewConsumer([]string{b.Addr()}, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("t", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for i := range 3 {
		m := <-pc.Messages()
		if string(m.Value) != "plain" {
			t.Fatalf("record %d under read_committed: %q at offset %d", i, m.Value, m.Offset)
		}
	}

}

// produceOne writes value to t/0, in an aborted transaction when txid is set.
func produceOne(t *testing.T, addr, txid, value string) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	if txid != "" {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
		cfg.Producer.Transaction.ID = txid
	}
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if txid != "" {
		if err := p.BeginTxn(); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: 0, Value: sarama.StringEncoder(value)}); err != nil {
		t.Fatal(err)
	}
	if txid != "" {
		if err := p.AbortTxn(); err != nil {
			t.Fatal(err)
		}
	}
}

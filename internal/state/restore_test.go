package state

import (
	"context"
	"fmt"
	"maps"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// broker starts the embedded broker with a one-partition changelog topic
// and returns a connected client.
func broker(tb testing.TB, topic string) (sarama.Client, kafka.ClientOptions) {
	tb.Helper()
	b, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(b.Close)
	o := kafka.ClientOptions{Brokers: []string{b.Addr()}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kafka.Connect(ctx, o, zerolog.Nop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	admin, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{{Name: topic, Partitions: 1, ReplicationFactor: 1, Configs: ChangelogConfigs}}); err != nil {
		tb.Fatal(err)
	}
	return c, o
}

// txnProducer returns a transactional producer, closed at cleanup.
func txnProducer(tb testing.TB, o kafka.ClientOptions, id string) sarama.AsyncProducer {
	tb.Helper()
	cfg, err := kafka.NewSaramaConfig(o)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Producer.Transaction.ID = id
	cfg.Producer.Return.Successes, cfg.Producer.Return.Errors = false, false
	p, err := sarama.NewAsyncProducer(o.Brokers, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// writeTxn writes the store's open changes as one transaction, committed
// or aborted.
func writeTxn(tb testing.TB, p sarama.AsyncProducer, s *Store, topic string, commit bool) {
	tb.Helper()
	if err := p.BeginTxn(); err != nil {
		tb.Fatal(err)
	}
	msgs, _ := s.AppendChangelog(nil, topic, 0)
	for _, m := range msgs {
		p.Input() <- m
	}
	var err error
	if commit {
		err = p.CommitTxn()
		s.Commit()
	} else {
		err = p.AbortTxn()
		s.Abort()
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func TestRestoreReadCommittedSkipsAborted(t *testing.T) {
	const topic = "g-p-in-changelog"
	c, o := broker(t, topic)
	p := txnProducer(t, o, "restore-test")
	s := New(Limits{})
	for i := range 50 {
		mustPut(t, s, fmt.Sprintf("k%02d", i%10), fmt.Sprint(i))
		if i%7 == 6 {
			writeTxn(t, p, s, topic, true)
		}
	}
	writeTxn(t, p, s, topic, true)
	s.Delete([]byte("k03"))
	writeTxn(t, p, s, topic, true)
	want := contents(s)
	// An aborted transaction last: the log ends in its abort marker.
	mustPut(t, s, "k01", "aborted")
	mustPut(t, s, "new", "aborted")
	s.Delete([]byte("k02"))
	writeTxn(t, p, s, topic, false)
	if got := contents(s); !maps.Equal(got, want) {
		t.Fatalf("the writer's abort: %v, want %v", got, want)
	}

	r := New(Limits{})
	res, err := Restore(t.Context(), c, r, topic, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := contents(r); !maps.Equal(got, want) {
		t.Fatalf("restored %v\nwant     %v", got, want)
	}
	if res.Records == 0 || res.End == 0 {
		t.Fatalf("Restored = %+v", res)
	}
	// read_uncommitted sees the aborted writes: the restore really
	// filters.
	u := New(Limits{})
	if _, err := Restore(t.Context(), c, u, topic, 0, false); err != nil {
		t.Fatal(err)
	}
	if got := contents(u); got["new"] != "aborted" {
		t.Fatalf("read_uncommitted restore: %v, want the aborted writes too", got)
	}
}

func TestRestoreEmptyPartition(t *testing.T) {
	const topic = "g-p-empty-changelog"
	c, _ := broker(t, topic)
	s := New(Limits{})
	res, err := Restore(t.Context(), c, s, topic, 0, true)
	if err != nil || s.Len() != 0 || res.Records != 0 {
		t.Fatalf("Restore of an empty partition: %+v, %d keys, %v", res, s.Len(), err)
	}
}

// BenchmarkRestore measures restoring a partition's changelog; the target
// is at least 200,000 state records/s per partition (records/s is
// reported, and records per CPU-second of the process, broker included,
// which a busy machine disturbs less).
func BenchmarkRestore(b *testing.B) {
	const topic = "g-p-bench-changelog"
	const records = 200_000
	c, o := broker(b, topic)
	p := txnProducer(b, o, "restore-bench")
	s := New(Limits{})
	for i := range records {
		// Distinct keys: compaction cannot shorten what is read.
		if err := s.Put(fmt.Appendf(nil, "key-%08d", i), fmt.Appendf(nil, `{"count":%d}`, i)); err != nil {
			b.Fatal(err)
		}
		if i%10_000 == 9_999 {
			writeTxn(b, p, s, topic, true)
		}
	}
	cpu0 := cpuTime()
	for b.Loop() {
		r := New(Limits{})
		res, err := Restore(context.Background(), c, r, topic, 0, true)
		if err != nil || res.Records != records {
			b.Fatalf("restored %d records: %v", res.Records, err)
		}
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records*b.N)/(cpuTime()-cpu0).Seconds(), "records/CPU-s")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

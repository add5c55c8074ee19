package kafka

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sendValues sends one record per value to topic and returns the messages.
func sendValues(p *Producer, topic string, ack Ack, values ...string) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}
		p.Send(msgs[i], ack)
	}
	return msgs
}

func numbered(prefix string, n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return v
}

// TestProducerKeepsOrderAcrossRetries: the broker refuses the first
// requests with a retriable error, then writes two but answers them with
// REQUEST_TIMED_OUT, as a broker does when replication is slow. The retries
// of those two carry their sequence numbers and are answered as
// duplicates: every record is in the topic once, in the order sent.
func TestProducerKeepsOrderAcrossRetries(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "t", 1)
	c.Config().Producer.Retry.Backoff = 10 * time.Millisecond
	c.Config().Producer.Retry.Max = 10 // the first batch meets all four
	fault := b.cluster.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotLeaderForPartition, Count: 2},
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 2})
	p := newProducer(t, c)
	values := numbered("r", 3000)
	ack := newCountingAck(len(values))
	msgs := sendValues(p, "t", ack, values...)
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	ack.check(t, msgs)
	if len(ack.errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(ack.errs), ack.errs[0])
	}
	if fault.Hits() != 4 {
		t.Fatalf("the faults answered %d requests, want 4", fault.Hits())
	}
	// The first batch was sent five times: four retries of at least one
	// record, the last two of them answered as duplicates.
	if s := p.Stats(); s.Retried < 4 || s.Acked != uint64(len(values)) {
		t.Fatalf("Stats = %+v, want 4 retries or more and every record acked", s)
	}
	for i, m := range msgs {
		if m.Offset != int64(i) && m.Offset != -1 { // -1: a duplicate, offset not told
			t.Fatalf("record %d acknowledged at offset %d", i, m.Offset)
		}
	}
	if got := consumeAll(t, c, "t"); strings.Join(got, ",") != strings.Join(values, ",") {
		t.Fatalf("the topic holds %d records, not the %d sent in order", len(got), len(values))
	}
}

// TestProducerFailsOnlyWhatIsWrong: a record over MaxMessageBytes and one
// for a partition the topic does not have fail with errors that say so;
// the records around them are delivered.
func TestProducerFailsOnlyWhatIsWrong(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "t", 1)
	c.Config().Producer.MaxMessageBytes = 1000
	p := newProducer(t, c)
	ack := newCountingAck(4)
	msgs := sendValues(p, "t", ack, "before", strings.Repeat("x", 2000))
	far := &sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("far")}
	SetPartition(far, 5)
	p.Send(far, ack)
	msgs = append(msgs, far)
	msgs = append(msgs, sendValues(p, "t", ack, "after")...)
	if err := p.Close(testContext(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	ack.check(t, msgs)
	if len(ack.errs) != 2 {
		t.Fatalf("errors %v, want 2", ack.errs)
	}
	if err := ack.errs[0]; !errors.Is(err, sarama.ErrMessageSizeTooLarge) || !strings.Contains(err.Error(), "2082 bytes") {
		t.Fatalf("oversized record: %v", err)
	}
	if err := ack.errs[1]; !strings.Contains(err.Error(), "partition 5") {
		t.Fatalf("partition out of range: %v", err)
	}
	if got := consumeAll(t, c, "t"); strings.Join(got, ",") != "before,after" {
		t.Fatalf("topic holds %q", got)
	}
	if s := p.Stats(); s != (ProducerStats{Sent: 4, Acked: 2, Failed: 2}) {
		t.Fatalf("Stats = %+v", s)
	}
}

// TestProducerRetryAcrossBrokerRestartWritesOnce stops the broker while
// records stream to it and starts it again on the same address and data:
// the producer reconnects and sends again what was cut off, with the same
// sequence numbers. Every record is acknowledged and the topic holds each
// once, in order per partition.
func TestProducerRetryAcrossBrokerRestartWritesOnce(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	b := startBroker(t, BrokerOptions{Listen: addr, DataDir: dir})
	c := connect(t, ClientOptions{Brokers: []string{addr}})
	mustCreate(t, c, "t", 2)
	c.Config().Producer.Retry.Max = 200
	c.Config().Producer.Retry.Backoff = 20 * time.Millisecond
	p := newProducer(t, c)

	const n = 40000
	st := sendKeyed(p, n)
	// Restart once some records are through and others are on their way.
	st.acked(n / 4)
	b.Close()
	startBroker(t, BrokerOptions{Listen: addr, DataDir: dir})
	st.check(t, p, c, 2)
}

// TestProducerSendBlocksWhileTheBufferIsFull: with the broker gone, Send
// holds the caller once maxBuffered bytes wait, and lets it go on when the
// broker is back.
func TestProducerSendBlocksWhileTheBufferIsFull(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	b := startBroker(t, BrokerOptions{Listen: addr, DataDir: dir})
	c := connect(t, ClientOptions{Brokers: []string{addr}})
	mustCreate(t, c, "t", 1)
	c.Config().Producer.Retry.Max = 1000 // 20 s: a failure does not hang Close
	c.Config().Producer.Retry.Backoff = 20 * time.Millisecond
	p := newProducer(t, c)
	warm := newCountingAck(1)
	sendValues(p, "t", warm, "warm-up") // the topic's route is known
	<-warm.done
	b.Close()

	// Records of 512 KiB: one per batch (MaxMessageBytes is 1,000,000),
	// the rest queue.
	value := strings.Repeat("v", 512<<10)
	const n = 48 // 24 MiB: more than maxBuffered
	var returned atomic.Int32
	ack := newCountingAck(n)
	go func() {
		for range n {
			p.Send(&sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder(value)}, ack)
			returned.Add(1)
		}
	}()
	full := maxBuffered/(512<<10) + 1 // queued, and the batch the loop took
	waitFor := func(what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: only %d sends returned", what, returned.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("filling the buffer", func() bool { return int(returned.Load()) >= full-2 })
	// Blocked: no more than the buffer holds returns while the broker is
	// away.
	time.Sleep(200 * time.Millisecond)
	if r := int(returned.Load()); r > full+1 {
		t.Fatalf("%d of %d sends returned with the broker away, want at most %d", r, n, full+1)
	}
	b = startBroker(t, BrokerOptions{Listen: addr, DataDir: dir})
	waitFor("after the broker came back", func() bool { return int(returned.Load()) == n })
	if err := p.Close(testContext(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(ack.errs) > 0 {
		t.Fatalf("errors %v", ack.errs)
	}
	if s := p.Stats(); s.Acked != n+1 {
		t.Fatalf("Stats = %+v, want %d acked", s, n+1)
	}
}

func TestNextSeqWraps(t *testing.T) {
	for _, c := range []struct {
		seq  int32
		n    int
		want int32
	}{{0, 5, 5}, {math.MaxInt32 - 1, 1, math.MaxInt32}, {math.MaxInt32 - 1, 3, 1}, {math.MaxInt32, 1, 0}} {
		if got := nextSeq(c.seq, c.n); got != c.want {
			t.Errorf("nextSeq(%d, %d) = %d, want %d", c.seq, c.n, got, c.want)
		}
	}
}

// TestProducerFollowsMovingLeaders: on a cluster of three brokers, the
// leaders of a topic's six partitions move while records stream to them.
// Requests to the old leaders are refused (NOT_LEADER_FOR_PARTITION); the
// producer refreshes its metadata, sends each partition's batch to its new
// leader, and the topic ends with every record once, in order per
// partition.
func TestProducerFollowsMovingLeaders(t *testing.T) {
	const parts = 6
	cl, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(parts, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	c := connect(t, ClientOptions{Brokers: cl.ListenAddrs()})
	c.Config().Producer.Retry.Max = 50
	c.Config().Producer.Retry.Backoff = 10 * time.Millisecond
	p := newProducer(t, c)

	const n = 30000
	st := sendKeyed(p, n)
	// Three times, once a further sixth of the records is acknowledged,
	// move every partition's leader to the next broker.
	for range 3 {
		st.acked(n / 6)
		for part := range int32(parts) {
			if err := cl.MoveTopicPartition("t", part, (cl.LeaderFor("t", part)+1)%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.check(t, p, c, parts)
}

// TestProducerSpreadsOverAddedPartitions: partitions added to a topic the
// producer writes to get records (here a key that hashes to the new third
// partition) without a restart.
func TestProducerSpreadsOverAddedPartitions(t *testing.T) {
	defer func(d time.Duration) { partitionsCheck = d }(partitionsCheck)
	partitionsCheck = 20 * time.Millisecond
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "t", 1)
	p := newProducer(t, c)
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprint("k", i); KeyPartition([]byte(k), 3) == 2 {
			key = k
		}
	}
	send := func() *sarama.ProducerMessage {
		ack := newCountingAck(1)
		m := &sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("v")}
		p.Send(m, ack)
		<-ack.done
		if len(ack.errs) > 0 {
			t.Fatal(ack.errs[0])
		}
		return m
	}
	if m := send(); m.Partition != 0 {
		t.Fatalf("partition %d of a one-partition topic", m.Partition)
	}
	if err := newAdmin(t, c).CreatePartitions("t", 3, nil, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for send().Partition != 2 {
		if time.Now().After(deadline) {
			t.Fatal("records still go to partition 0 of 3, 20 s after the partitions were added")
		}
	}
}

// keyedStream is n records for topic "t", each with key and value "r<i>",
// sent from another goroutine.
type keyedStream struct {
	values []string
	msgs   []*sarama.ProducerMessage
	ack    *countingAck
	sent   sync.WaitGroup
}

func sendKeyed(p *Producer, n int) *keyedStream {
	s := &keyedStream{values: numbered("r", n), msgs: make([]*sarama.ProducerMessage, n), ack: newCountingAck(n)}
	for i, v := range s.values {
		s.msgs[i] = &sarama.ProducerMessage{Topic: "t", Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v)}
	}
	s.sent.Go(func() {
		for _, m := range s.msgs {
			p.Send(m, s.ack)
		}
	})
	return s
}

// acked waits for n more acks.
func (s *keyedStream) acked(n int) {
	for range n {
		<-s.ack.done
	}
}

// check closes p once everything is sent and checks that every record was
// acknowledged without error and is in topic "t" (parts partitions) once,
// in order within its partition.
func (s *keyedStream) check(t *testing.T, p *Producer, c sarama.Client, parts int32) {
	t.Helper()
	s.sent.Wait()
	if err := p.Close(testContext(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.ack.check(t, s.msgs)
	if len(s.ack.errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(s.ack.errs), s.ack.errs[0])
	}
	got := consumeAll(t, c, "t")
	seen := make(map[string]int, len(s.values))
	last := map[int32]int{}
	for _, v := range got {
		seen[v]++
		var i int
		fmt.Sscanf(v, "r%d", &i)
		part := KeyPartition([]byte(v), parts)
		if prev, ok := last[part]; ok && i < prev {
			t.Fatalf("partition %d: %s after r%d", part, v, prev)
		}
		last[part] = i
	}
	for _, v := range s.values {
		if seen[v] != 1 {
			t.Fatalf("%s is in the topic %d times", v, seen[v])
		}
	}
}

// TestProducerKeepsSendingWhileAPartitionHasNoLeader: partition b/0
// loses its leader while a record of it is being retried: the metadata
// says LEADER_NOT_AVAILABLE for it, and produce requests for it are refused
// with NOT_LEADER_FOR_PARTITION. sarama's Leader("b", 0) then refreshes the
// metadata, retrying, for seconds each time it is asked; that must not hold
// up topic a, whose records go on being acknowledged one after another
// (when the loop looked leaders up itself, the 200 took over 20 s).
func TestProducerKeepsSendingWhileAPartitionHasNoLeader(t *testing.T) {
	b := startBroker(t, BrokerOptions{})
	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}})
	mustCreate(t, c, "a", 1)
	mustCreate(t, c, "b", 1)
	// b's record is due again every millisecond ...
	c.Config().Producer.Retry.Max = 1 << 30
	c.Config().Producer.Retry.Backoff = time.Millisecond
	// ... and a leader lookup that finds none blocks for up to 20 metadata
	// retries, 250 ms apart (sarama cuts them short when another refresh
	// has just answered).
	c.Config().Metadata.Retry.Max = 20
	p := newProducer(t, c)
	sendOne := func(topic, v string) *countingAck {
		ack := newCountingAck(1)
		p.Send(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}, ack)
		return ack
	}
	for _, topic := range []string{"a", "b"} { // both routed, leaders known
		ack := sendOne(topic, "first")
		<-ack.done
		if len(ack.errs) > 0 {
			t.Fatal(ack.errs[0])
		}
	}
	var leaderless atomic.Bool
	leaderless.Store(true)
	var refused atomic.Int32
	host, port, _ := strings.Cut(b.Addr(), ":")
	var portN int32
	fmt.Sscan(port, &portN)
	b.cluster.ControlKey(int16(kmsg.Metadata), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		b.cluster.KeepControl()
		if !leaderless.Load() {
			return nil, nil, false
		}
		refused.Add(1)
		req := kr.(*kmsg.MetadataRequest)
		resp := req.ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 0, Host: host, Port: portN}}
		resp.ControllerID = 0
		for _, name := range []string{"a", "b"} {
			tp := kmsg.NewMetadataResponseTopic()
			tp.Topic = &name
			pp := kmsg.NewMetadataResponseTopicPartition()
			pp.Leader, pp.Replicas, pp.ISR = 0, []int32{0}, []int32{0}
			if name == "b" {
				pp.ErrorCode, pp.Leader = kerr.LeaderNotAvailable.Code, -1
			}
			tp.Partitions = append(tp.Partitions, pp)
			resp.Topics = append(resp.Topics, tp)
		}
		return resp, nil, true
	})
	produceFault := b.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "b", Err: kerr.NotLeaderForPartition, Count: -1})
	t.Cleanup(func() { // before the producer's Close, should the test fail
		leaderless.Store(false)
		produceFault.Remove()
	})
	stuck := sendOne("b", "stuck")
	// Once the metadata has been refused, the client has no leader for b.
	for refused.Load() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.After(20 * time.Second)
	for i := range 200 {
		ack := sendOne("a", fmt.Sprint(i))
		select {
		case <-ack.done:
		case <-deadline:
			t.Fatalf("only %d of 200 records of topic a acknowledged in 20 s while b has no leader", i)
		}
		if len(ack.errs) > 0 {
			t.Fatal(ack.errs[0])
		}
	}
	leaderless.Store(false)
	produceFault.Remove()
	select {
	case <-stuck.done:
		if len(stuck.errs) > 0 {
			t.Fatalf("b's record once its leader was back: %v", stuck.errs[0])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("b's record not delivered 30 s after its leader came back")
	}
}

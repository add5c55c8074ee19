package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// env is the embedded broker every scenario runs against, with the admin
// client the harness uses to create topics and watch offsets.
type env struct {
	broker *kafka.Broker
	addr   string
	client sarama.Client
	admin  sarama.ClusterAdmin
	seq    int // makes topic and group names unique within a run
}

func newEnv(ctx context.Context) (*env, error) {
	b, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		return nil, err
	}
	e := &env{broker: b, addr: b.Addr()}
	e.client, err = kafka.Connect(ctx, e.clientOptions("wasmhost-bench"), zerolog.Nop())
	if err != nil {
		b.Close()
		return nil, err
	}
	e.admin, err = sarama.NewClusterAdminFromClient(e.client)
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) clientOptions(id string) kafka.ClientOptions {
	return kafka.ClientOptions{Brokers: []string{e.addr}, ClientID: id, Version: "3.6.0"}
}

func (e *env) close() {
	// Not admin.Close: it would close the shared client.
	_ = e.client.Close()
	e.broker.Close()
}

// name returns a fresh topic or group name with a prefix.
func (e *env) name(prefix string) string {
	e.seq++
	return prefix + "-" + strconv.Itoa(e.seq)
}

func (e *env) createTopic(ctx context.Context, name string, partitions int32) error {
	spec := kafka.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: 1}
	res := kafka.SetupTopics(ctx, e.admin, []kafka.TopicSpec{spec}, false)
	if err := res[0].Err; err != nil {
		return err
	}
	return e.client.RefreshMetadata(name)
}

// drop deletes topics and groups once a run is over, so the broker's memory
// does not grow from run to run; failures are harmless and ignored.
func (e *env) drop(topics []string, groups []string) {
	for _, g := range groups {
		_ = e.admin.DeleteConsumerGroup(g)
	}
	for _, t := range topics {
		_ = e.admin.DeleteTopic(t)
	}
}

// records describes the input of a scenario.
type records struct {
	Partitions int32
	Count      int
	ValueBytes int
	// JSON values: a JSON object padded to ValueBytes, different for
	// every record (the original design's callback decodes it).
	JSON bool
}

func (r records) String() string {
	return fmt.Sprintf("%d × %s on %s", r.Count, byteSize(r.ValueBytes), partitions(r.Partitions))
}

func partitions(n int32) string {
	if n == 1 {
		return "1 partition"
	}
	return fmt.Sprintf("%d partitions", n)
}

func byteSize(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	default:
		return strconv.Itoa(n) + " B"
	}
}

// fill produces r.Count records with 8-byte keys and r.ValueBytes-byte
// values, spread evenly over the partitions, as fast as the producer goes.
func (e *env) fill(ctx context.Context, topic string, r records) error {
	cfg, err := kafka.NewSaramaConfig(e.clientOptions("wasmhost-bench-fill"))
	if err != nil {
		return err
	}
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewAsyncProducer([]string{e.addr}, cfg)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	var failed error
	var acked int
	wg.Go(func() {
		for range p.Successes() {
			acked++
		}
	})
	wg.Go(func() {
		for perr := range p.Errors() {
			failed = perr.Err
		}
	})
	value := make([]byte, r.ValueBytes)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	for i := range r.Count {
		if ctx.Err() != nil {
			break
		}
		if r.JSON {
			value = jsonValue(i, r.ValueBytes)
		}
		key := fmt.Appendf(nil, "%08d", i)
		p.Input() <- &sarama.ProducerMessage{
			Topic: topic, Partition: int32(i) % r.Partitions,
			Key: sarama.ByteEncoder(key), Value: sarama.ByteEncoder(value),
		}
	}
	p.AsyncClose()
	wg.Wait()
	switch {
	case failed != nil:
		return fmt.Errorf("filling %s: %w", topic, failed)
	case ctx.Err() != nil:
		return ctx.Err()
	case acked != r.Count:
		return fmt.Errorf("filling %s: %d of %d records acknowledged", topic, acked, r.Count)
	}
	return nil
}

// jsonValue is record i's JSON value, a user of the original demo, with its
// name padded so that the value has size bytes when it can.
func jsonValue(i, size int) []byte {
	v := fmt.Appendf(nil, `{"id":%d,"name":"user-%d","favorite_color":"teal","favorite_number":%d}`, i, i, i%1000)
	if pad := size - len(v); pad > 0 {
		name := fmt.Appendf(nil, `"user-%d`, i)
		at := len(`{"id":`) + len(strconv.Itoa(i)) + len(`,"name":`) + len(name)
		v = append(v[:at], append([]byte(strings.Repeat("x", pad)), v[at:]...)...)
	}
	return v
}

// highWater returns the sum of the high-water marks of a topic's partitions,
// in one ListOffsets request (the embedded broker is one node). It counts
// records, plus transaction markers for transactional output.
func (e *env) highWater(topic string, partitions int32) (int64, error) {
	b, err := e.client.Leader(topic, 0)
	if err != nil {
		return 0, err
	}
	req := sarama.NewOffsetRequest(e.client.Config().Version)
	for p := range partitions {
		req.AddBlock(topic, p, sarama.OffsetNewest, 1)
	}
	resp, err := b.GetAvailableOffsets(req)
	if err != nil {
		return 0, err
	}
	var sum int64
	for p := range partitions {
		blk := resp.GetBlock(topic, p)
		if blk == nil {
			return 0, fmt.Errorf("%s/%d: no offset in the response", topic, p)
		}
		if blk.Err != sarama.ErrNoError {
			return 0, fmt.Errorf("%s/%d: %w", topic, p, blk.Err)
		}
		sum += blk.Offset
	}
	return sum, nil
}

// committed returns the sum of a group's committed offsets on a topic
// (partitions with no commit count 0).
func (e *env) committed(group, topic string, partitions int32) (int64, error) {
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := e.admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return 0, nil // nothing committed yet
	}
	if err != nil {
		return 0, err
	}
	var sum int64
	for _, p := range ps {
		if blk := resp.GetBlock(topic, p); blk != nil && blk.Err == sarama.ErrNoError && blk.Offset > 0 {
			sum += blk.Offset
		}
	}
	return sum, nil
}

// pollEvery is how often the harness samples progress. Each sample is one
// small request to the broker.
const pollEvery = 2 * time.Millisecond

// errStalled is returned when a run makes no progress for too long.
var errStalled = errors.New("no progress")

// progress is a sample of a copy in progress: when it was taken, the CPU
// time the harness's process had used by then (broker, copier and harness
// together), and how many records had been copied.
type progress struct {
	at  time.Time
	cpu time.Duration
	n   int64
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watch samples count until it reaches want. It returns the first sample
// that saw a record and the one that saw them all; it fails when the count
// stops moving for stall.
func watch(ctx context.Context, count func() (int64, error), want int64, stall time.Duration) (first, last progress, err error) {
	return watchCPU(ctx, count, processCPU, want, stall)
}

// watchCPU is watch with the CPU time read by cpu.
func watchCPU(ctx context.Context, count func() (int64, error), cpuTime func() time.Duration, want int64, stall time.Duration) (first, last progress, err error) {
	moved, prev := time.Now(), int64(0)
	for {
		n, err := count()
		now, cpu := time.Now(), cpuTime()
		if err != nil {
			return first, last, err
		}
		if n > 0 && first.at.IsZero() {
			first = progress{now, cpu, n}
		}
		if n != prev {
			prev, moved = n, now
		}
		if n >= want {
			return first, progress{now, cpu, n}, nil
		}
		if now.Sub(moved) > stall {
			return first, last, fmt.Errorf("%w for %s: %d of %d records", errStalled, stall, n, want)
		}
		select {
		case <-ctx.Done():
			return first, last, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// copyRate is what one throughput run measured.
type copyRate struct {
	perSecond    float64 // records/s
	perCPUSecond float64 // records per second of the process's CPU time
}

// timeCopy measures a copy in progress: the rate between the first sample
// that saw a record and the one that saw them all, so that start-up
// (joining the group, instantiating plugins) is not counted, for the
// baseline as for wasmhost. It also divides by the CPU time the process
// used meanwhile, a figure that other load on the machine disturbs much
// less than the wall-clock one.
func timeCopy(ctx context.Context, count func() (int64, error), want int64, stall time.Duration) (copyRate, error) {
	return timeCopyOf(ctx, count, processCPU, want, stall)
}

// timeCopyOf is timeCopy with the CPU time read by cpu: another process's.
func timeCopyOf(ctx context.Context, count func() (int64, error), cpu func() time.Duration, want int64, stall time.Duration) (copyRate, error) {
	first, last, err := watchCPU(ctx, count, cpu, want, stall)
	if err != nil {
		return copyRate{}, err
	}
	if first.n >= want || !last.at.After(first.at) || last.cpu <= first.cpu {
		return copyRate{}, fmt.Errorf("all %d records appeared in one sample: too few to time", want)
	}
	n := float64(want - first.n)
	return copyRate{n / last.at.Sub(first.at).Seconds(), n / (last.cpu - first.cpu).Seconds()}, nil
}

package verify

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/internal/pipeline"
)

// record is what the verifier keeps of a consumed record.
type record struct {
	partition int32
	offset    int64
	seq       int
	hasSeq    bool
	// Where a dead-letter record says it came from (its wasmhost.source.*
	// headers); srcPartition is -1 without them.
	srcTopic     string
	srcPartition int32
	srcOffset    int64
}

// readTopic reads every partition of topic from the start to its end:
// until the high watermark, or until nothing arrives for idle (under
// read_committed, aborted records and transaction markers occupy offsets
// that are never delivered).
func readTopic(ctx context.Context, client sarama.Client, topic string, idle time.Duration) (map[int32][]record, error) {
	// Under read_committed a partition can hold only aborted records (an
	// exactly-once pipeline's seals): none ever arrives, and that is an
	// empty partition rather than an error.
	first := firstWait
	if client.Config().Consumer.IsolationLevel == sarama.ReadCommitted {
		first = min(firstWait, max(5*idle, 5*time.Second))
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("verify: partitions of %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	out := make(map[int32][]record, len(parts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(parts))
	for _, p := range parts {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("verify: high watermark of %s/%d: %w", topic, p, err)
		}
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("verify: consume %s/%d: %w", topic, p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.Close()
			recs, err := drain(ctx, pc, p, hwm, idle, first)
			if err != nil {
				errs <- err
			}
			mu.Lock()
			out[p] = recs
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

// firstWait is how long a partition with records may take to deliver its
// first one (a broker just restarted, a loaded machine) before it is an error.
const firstWait = 30 * time.Second

func drain(ctx context.Context, pc sarama.PartitionConsumer, p int32, hwm int64, idle, first time.Duration) ([]record, error) {
	var recs []record
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case m := <-pc.Messages():
			recs = append(recs, parseRecord(m))
			if m.Offset+1 >= hwm {
				return recs, nil
			}
			timer.Reset(idle)
		case err := <-pc.Errors():
			return recs, fmt.Errorf("verify: reading partition %d: %w", p, err)
		case <-timer.C:
			if len(recs) == 0 && first == firstWait {
				return nil, fmt.Errorf("verify: partition %d has records up to offset %d but none arrived in %s", p, hwm, firstWait)
			}
			return recs, nil
		case <-ctx.Done():
			return recs, ctx.Err()
		}
	}
}

// parseRecord keeps what the check needs of a consumed record: its seq
// header and, for a dead-letter record, the source headers.
func parseRecord(m *sarama.ConsumerMessage) record {
	r := record{partition: m.Partition, offset: m.Offset, srcPartition: -1}
	var srcPart, srcOff string
	for _, h := range m.Headers {
		switch string(h.Key) {
		case HeaderSeq:
			if _, err := fmt.Sscan(string(h.Value), &r.seq); err == nil {
				r.hasSeq = true
			}
		case pipeline.HeaderTopic:
			r.srcTopic = string(h.Value)
		case pipeline.HeaderPartition:
			srcPart = string(h.Value)
		case pipeline.HeaderOffset:
			srcOff = string(h.Value)
		}
	}
	p, perr := strconv.ParseInt(srcPart, 10, 32)
	o, oerr := strconv.ParseInt(srcOff, 10, 64)
	if perr == nil && oerr == nil {
		r.srcPartition, r.srcOffset = int32(p), o
	}
	return r
}

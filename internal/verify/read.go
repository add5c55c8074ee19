package verify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// record is what the verifier keeps of a consumed record.
type record struct {
	partition int32
	offset    int64
	seq       int
	hasSeq    bool
}

// readTopic reads every partition of topic from the start to its end:
// until the high watermark, or until nothing arrives for idle (under
// read_committed, aborted records and transaction markers occupy offsets
// that are never delivered).
func readTopic(ctx context.Context, client sarama.Client, topic string, idle time.Duration) (map[int32][]record, error) {
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
			recs, err := drain(ctx, pc, p, hwm, idle)
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

func drain(ctx context.Context, pc sarama.PartitionConsumer, p int32, hwm int64, idle time.Duration) ([]record, error) {
	var recs []record
	timer := time.NewTimer(firstWait)
	defer timer.Stop()
	for {
		select {
		case m := <-pc.Messages():
			r := record{partition: p, offset: m.Offset}
			for _, h := range m.Headers {
				if string(h.Key) == HeaderSeq {
					if _, err := fmt.Sscan(string(h.Value), &r.seq); err == nil {
						r.hasSeq = true
					}
				}
			}
			recs = append(recs, r)
			if m.Offset+1 >= hwm {
				return recs, nil
			}
			timer.Reset(idle)
		case err := <-pc.Errors():
			return recs, fmt.Errorf("verify: reading partition %d: %w", p, err)
		case <-timer.C:
			if len(recs) == 0 {
				return nil, fmt.Errorf("verify: partition %d has records up to offset %d but none arrived in %s", p, hwm, firstWait)
			}
			return recs, nil
		case <-ctx.Done():
			return recs, ctx.Err()
		}
	}
}

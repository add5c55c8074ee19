package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// restoreFetchBytes is how much one fetch asks for; a record batch larger
// than that is fetched again with room for it.
const restoreFetchBytes = 8 << 20

// Restored says what a restore read.
type Restored struct {
	Records int           // changelog records applied
	End     int64         // the offset the restore read up to
	Took    time.Duration // how long it took
}

// Restore rebuilds s from partition part of the changelog topic: every
// record from the start of the log up to its end is applied in order. With
// committed, records of aborted transactions are skipped and the end is the
// last stable offset (read_committed): the caller must have fenced the
// partition's previous transactional producer first, so that no
// transaction is left open on it. Without, the end is the high watermark.
//
// It reads with raw fetch requests, not a sarama consumer, because a
// consumer does not tell where a read_committed partition ends when its
// last batches are transaction markers: the request's answer does.
func Restore(ctx context.Context, client sarama.Client, s *Store, topic string, part int32, committed bool) (Restored, error) {
	start := time.Now()
	r := restorer{client: client, s: s, topic: topic, part: part, committed: committed, maxBytes: restoreFetchBytes}
	err := r.run(ctx)
	s.Publish()
	return Restored{Records: r.applied, End: r.offset, Took: time.Since(start)}, err
}

type restorer struct {
	client    sarama.Client
	s         *Store
	topic     string
	part      int32
	committed bool
	maxBytes  int32
	offset    int64 // next offset to read
	applied   int
	aborted   map[int64]struct{} // producer ids inside an aborted transaction
}

func (r *restorer) run(ctx context.Context) error {
	r.aborted = make(map[int64]struct{})
	for attempt := 0; ; attempt++ {
		done, err := r.fetch()
		if done {
			return nil
		}
		if err != nil {
			if attempt >= 20 {
				return fmt.Errorf("restore %s/%d at offset %d: %w", r.topic, r.part, r.offset, err)
			}
			// The leader may have moved: ask again after a pause.
			_ = r.client.RefreshMetadata(r.topic)
			select {
			case <-ctx.Done():
				return fmt.Errorf("restore %s/%d: %w", r.topic, r.part, ctx.Err())
			case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, time.Second)):
			}
			continue
		}
		if ctx.Err() != nil {
			return fmt.Errorf("restore %s/%d: %w", r.topic, r.part, ctx.Err())
		}
		attempt = -1
	}
}

// fetch reads one response and applies it; done once the end is reached.
func (r *restorer) fetch() (done bool, err error) {
	b, err := r.client.Leader(r.topic, r.part)
	if err != nil {
		return false, err
	}
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 0, MinBytes: 1, MaxBytes: r.maxBytes}
	if r.committed {
		req.Isolation = sarama.ReadCommitted
	}
	req.AddBlock(r.topic, r.part, r.offset, r.maxBytes, -1)
	res, err := b.Fetch(req)
	if err != nil {
		return false, err
	}
	blk := res.GetBlock(r.topic, r.part)
	if blk == nil {
		return false, errors.New("no answer for the partition")
	}
	if !errors.Is(blk.Err, sarama.ErrNoError) {
		if errors.Is(blk.Err, sarama.ErrOffsetOutOfRange) && r.offset < blk.LogStartOffset {
			r.offset = blk.LogStartOffset // compaction or retention removed the start
			return false, nil
		}
		return false, blk.Err
	}
	end := blk.HighWaterMarkOffset
	if r.committed {
		end = blk.LastStableOffset
	}
	if r.offset >= end {
		return true, nil
	}
	before := r.offset
	if err := r.apply(blk); err != nil {
		return false, err
	}
	if r.offset == before {
		// Nothing whole came back: a batch larger than the fetch.
		if r.maxBytes >= 1<<30 {
			return false, fmt.Errorf("a record batch at offset %d is larger than 1 GiB", r.offset)
		}
		r.maxBytes *= 2
		return false, nil
	}
	return r.offset >= end, nil
}

// apply applies the records of a fetch response and moves the offset past
// every whole batch, transaction markers and aborted batches included.
func (r *restorer) apply(blk *sarama.FetchResponseBlock) error {
	aborts := blk.AbortedTransactions
	for _, recs := range blk.RecordsSet {
		rb := recs.RecordBatch
		if rb == nil {
			return errors.New("changelog in the legacy message format")
		}
		if rb.PartialTrailingRecord {
			return nil
		}
		last := rb.FirstOffset + int64(rb.LastOffsetDelta)
		if last < r.offset {
			continue
		}
		// Aborted transactions that began at or before this batch.
		for len(aborts) > 0 && aborts[0].FirstOffset <= last {
			r.aborted[aborts[0].ProducerID] = struct{}{}
			aborts = aborts[1:]
		}
		switch {
		case rb.Control:
			if len(rb.Records) > 0 && isAbortMarker(rb.Records[0]) {
				delete(r.aborted, rb.ProducerID)
			}
		case r.committed && rb.IsTransactional && r.isAborted(rb.ProducerID):
		default:
			for _, rec := range rb.Records {
				if rb.FirstOffset+rec.OffsetDelta < r.offset {
					continue
				}
				r.s.Apply(rec.Key, rec.Value)
				r.applied++
			}
		}
		r.offset = last + 1
	}
	return nil
}

func (r *restorer) isAborted(pid int64) bool {
	_, ok := r.aborted[pid]
	return ok
}

// isAbortMarker reads a control record's key: version (int16), type
// (int16, 0 = abort, 1 = commit).
func isAbortMarker(rec *sarama.Record) bool {
	return len(rec.Key) >= 4 && rec.Key[2] == 0 && rec.Key[3] == 0
}

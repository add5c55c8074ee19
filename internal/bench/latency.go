package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// Latency runs send records at a fixed rate with their send time in the
// first 8 bytes of the value and a sequence number in the next 8, and read
// the output back as it arrives: a record's latency is the time from its
// hand-off to the producer to its arrival at the reading consumer, so it
// includes both clients' batching, as a real application would see it.
const latencyValueBytes = 100

// latency measures p50, p99 and max at the fixed rate, for the baseline and
// for wasmhost with default settings, runs interleaved.
func (h *harness) latency(ctx context.Context) {
	section := fmt.Sprintf("latency at %s records/s, %s", thousands(int64(h.opts.LatencyRate)), partitions(h.opts.MainPartitions))
	figs := [3]*Figure{
		{Section: section, Name: "p50", Unit: "ms"},
		{Section: section, Name: "p99", Unit: "ms", Target: &Target{Max: 50}},
		{Section: section, Name: "max", Unit: "ms"},
	}
	for run := range h.opts.Runs {
		for _, kind := range []string{kindBaseline, kindWasmhost} {
			if ctx.Err() != nil {
				return
			}
			lat, err := h.latencyRun(ctx, kind)
			if err != nil {
				h.progress("%-9s latency run %d: error: %v", kind, run+1, err)
				for _, f := range figs {
					f.record(kind, 0, err)
				}
				continue
			}
			p50, p99, mx := quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1]
			h.progress("%-9s latency run %d: %d records, p50 %.1f ms, p99 %.1f ms, max %.1f ms", kind, run+1, len(lat), p50, p99, mx)
			figs[0].record(kind, p50, nil)
			figs[1].record(kind, p99, nil)
			figs[2].record(kind, mx, nil)
		}
	}
	for _, f := range figs {
		h.rep.add(f)
	}
}

// latencyRun returns the sorted latencies in milliseconds of the records
// sent during the measured window.
func (h *harness) latencyRun(ctx context.Context, kind string) ([]float64, error) {
	parts := h.opts.MainPartitions
	in, out, group := h.env.name("lat-in"), h.env.name("lat-out"), h.env.name("group")
	defer h.env.drop([]string{in, out}, []string{group})
	for _, t := range []string{in, out} {
		if err := h.env.createTopic(ctx, t, parts); err != nil {
			return nil, err
		}
	}
	var stop func() error
	if kind == kindBaseline {
		c, err := startCopyLoop([]string{h.env.addr}, group, in, out)
		if err != nil {
			return nil, err
		}
		stop = c.stop
	} else {
		d, err := h.startDaemon(ctx, pipelineSpec{in: in, out: out, group: group, guarantee: config.AtLeastOnce})
		if err != nil {
			return nil, err
		}
		stop = d.stop
	}
	rd, err := h.env.startReader(out)
	if err != nil {
		_ = stop()
		return nil, err
	}
	lat, err := h.pace(ctx, in, parts, rd)
	rd.close()
	if serr := stop(); err == nil {
		err = serr
	}
	return lat, err
}

// pace sends at the fixed rate: first until the pipeline has copied a
// record and half a second more (warm-up, not measured), then for the
// measured window; it waits for every measured record to arrive.
func (h *harness) pace(ctx context.Context, in string, parts int32, rd *reader) ([]float64, error) {
	cfg, err := kafka.NewSaramaConfig(h.env.clientOptions("wasmhost-bench-pace"))
	if err != nil {
		return nil, err
	}
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewAsyncProducer([]string{h.env.addr}, cfg)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	wg.Go(func() {
		for range p.Successes() {
		}
	})
	wg.Go(func() {
		for range p.Errors() {
			failed.Add(1)
		}
	})
	defer func() {
		p.AsyncClose()
		wg.Wait()
	}()

	rate := float64(h.opts.LatencyRate)
	window := time.Duration(float64(h.opts.LatencyDuration) * h.opts.Scale)
	start := time.Now()
	var seq, from, to int64 = 0, -1, -1
	var warmed time.Time
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for to < 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		now := time.Now()
		switch {
		case from < 0 && warmed.IsZero() && rd.seen.Load() > 0:
			warmed = now
		case from < 0 && !warmed.IsZero() && now.Sub(warmed) >= 500*time.Millisecond:
			from = seq
		case from < 0 && warmed.IsZero() && now.Sub(start) > 60*time.Second:
			return nil, errors.New("no record came through within 60s")
		case from >= 0 && now.Sub(warmed) >= 500*time.Millisecond+window:
			to = seq
		}
		due := int64(now.Sub(start).Seconds() * rate)
		for ; seq < due && to < 0; seq++ {
			v := make([]byte, latencyValueBytes)
			binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
			binary.BigEndian.PutUint64(v[8:], uint64(seq))
			p.Input() <- &sarama.ProducerMessage{Topic: in, Partition: int32(seq % int64(parts)), Value: sarama.ByteEncoder(v)}
		}
	}
	if err := rd.waitFor(ctx, from, to, 30*time.Second); err != nil {
		return nil, err
	}
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%d records could not be sent", n)
	}
	lat := rd.latencies(from, to)
	slices.Sort(lat)
	return lat, nil
}

// reader consumes an output topic and notes when each record arrived.
type reader struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	seen   atomic.Int64

	mu      sync.Mutex
	arrived map[int64]float64 // seq -> latency in ms
}

func (e *env) startReader(topic string) (*reader, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(e.addr),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &reader{cl: cl, cancel: cancel, done: make(chan struct{}), arrived: map[int64]float64{}}
	go func() {
		defer close(r.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			r.mu.Lock()
			fs.EachRecord(func(rec *kgo.Record) {
				if len(rec.Value) < 16 {
					return
				}
				sent := int64(binary.BigEndian.Uint64(rec.Value))
				seq := int64(binary.BigEndian.Uint64(rec.Value[8:]))
				r.arrived[seq] = float64(now.UnixNano()-sent) / 1e6
				r.seen.Add(1)
			})
			r.mu.Unlock()
		}
	}()
	return r, nil
}

func (r *reader) close() {
	r.cancel()
	<-r.done
	r.cl.Close()
}

// waitFor waits until every record with a sequence number in [from, to) has
// arrived.
func (r *reader) waitFor(ctx context.Context, from, to int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		missing := int64(0)
		for s := from; s < to; s++ {
			if _, ok := r.arrived[s]; !ok {
				missing++
			}
		}
		r.mu.Unlock()
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d measured records did not arrive within %s", missing, to-from, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *reader) latencies(from, to int64) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]float64, 0, to-from)
	for s := from; s < to; s++ {
		out = append(out, r.arrived[s])
	}
	return out
}

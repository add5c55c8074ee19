package observe

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/wasmhost/wasmhost/internal/pipeline"
)

// The status page's charts draw the daemon's recent past, kept here rather
// than in the page, so a page opened (or reloaded) now shows where things
// were: every HistoryInterval the Monitor samples each pipeline's record
// rates and lags, and keeps the samples of the last HistoryWindow.

// HistoryInterval is how often [Monitor.RecordHistory] samples.
const HistoryInterval = time.Second

// HistoryWindow is how far back the history goes.
const HistoryWindow = 15 * time.Minute

// History is what /api/history serves: the samples of each pipeline,
// oldest first, as columns of equal length.
type History struct {
	IntervalSeconds float64           `json:"interval_seconds"`
	WindowSeconds   float64           `json:"window_seconds"`
	Now             time.Time         `json:"now"`
	Pipelines       []PipelineHistory `json:"pipelines"`
}

// PipelineHistory is one pipeline's samples. Rates are records per second
// since the sample before; lags are in records.
type PipelineHistory struct {
	Name string `json:"name"`
	// Time is each sample's time in Unix milliseconds.
	Time        []int64   `json:"time"`
	InPerSecond []float64 `json:"in_per_second"`
	// OutPerSecond counts the records the plugin produced.
	OutPerSecond []float64 `json:"out_per_second"`
	// Lag is the committed lag, ProcessedLag the lag of what the actors
	// have processed (see pipeline.PartitionStatus).
	Lag          []int64 `json:"lag"`
	ProcessedLag []int64 `json:"processed_lag"`
}

// history holds the samples. Its zero value is ready to use.
type history struct {
	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	PipelineHistory
	last      time.Time // of the latest sample
	in, out   uint64    // the counts at the latest sample
	hasCounts bool
}

// add samples the pipelines at now and drops what is older than the window.
func (h *history) add(now time.Time, pipes []pipeline.Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.series == nil {
		h.series = map[string]*series{}
	}
	for _, p := range pipes {
		s := h.series[p.Name]
		if s != nil && s.last.Equal(now) {
			continue // the same name twice: a reload's old and new pipeline
		}
		if s == nil {
			s = &series{PipelineHistory: PipelineHistory{Name: p.Name}}
			h.series[p.Name] = s
		}
		in, out := 0.0, 0.0
		if s.hasCounts && now.After(s.last) {
			dt := now.Sub(s.last).Seconds()
			// A pipeline restarted by a reload counts from 0 again: a
			// count below the last one is the new pipeline's whole count.
			in = round3(float64(since(p.Counts.In, s.in)) / dt)
			out = round3(float64(since(p.Counts.Out, s.out)) / dt)
		}
		s.last, s.in, s.out, s.hasCounts = now, p.Counts.In, p.Counts.Out, true
		s.Time = append(s.Time, now.UnixMilli())
		s.InPerSecond = append(s.InPerSecond, in)
		s.OutPerSecond = append(s.OutPerSecond, out)
		s.Lag = append(s.Lag, p.Lag)
		s.ProcessedLag = append(s.ProcessedLag, p.ProcessedLag)
	}
	cut := now.Add(-HistoryWindow).UnixMilli()
	for name, s := range h.series {
		i, _ := slices.BinarySearch(s.Time, cut)
		if i == len(s.Time) {
			delete(h.series, name) // a pipeline gone for a whole window
			continue
		}
		if i > 0 {
			s.Time = slices.Delete(s.Time, 0, i)
			s.InPerSecond = slices.Delete(s.InPerSecond, 0, i)
			s.OutPerSecond = slices.Delete(s.OutPerSecond, 0, i)
			s.Lag = slices.Delete(s.Lag, 0, i)
			s.ProcessedLag = slices.Delete(s.ProcessedLag, 0, i)
		}
	}
}

// since is the count added since last, for a counter that a restart may
// have reset.
func since(now, last uint64) uint64 {
	if now < last {
		return now
	}
	return now - last
}

// round3 keeps a rate's JSON short: three decimals are plenty for a chart.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// get returns the samples taken after the Unix millisecond after, every
// pipeline's in name order.
func (h *history) get(after int64) []PipelineHistory {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]PipelineHistory, 0, len(h.series))
	for _, s := range h.series {
		i, found := slices.BinarySearch(s.Time, after)
		if found {
			i++
		}
		out = append(out, PipelineHistory{
			Name: s.Name, Time: slices.Clone(s.Time[i:]),
			InPerSecond: slices.Clone(s.InPerSecond[i:]), OutPerSecond: slices.Clone(s.OutPerSecond[i:]),
			Lag: slices.Clone(s.Lag[i:]), ProcessedLag: slices.Clone(s.ProcessedLag[i:]),
		})
	}
	slices.SortFunc(out, func(a, b PipelineHistory) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// History returns the samples taken after the Unix millisecond after (0
// for all of them).
func (m *Monitor) History(after int64) History {
	return History{
		IntervalSeconds: HistoryInterval.Seconds(), WindowSeconds: HistoryWindow.Seconds(),
		Now: time.Now(), Pipelines: m.hist.get(after),
	}
}

// RecordHistory samples the pipelines every interval until ctx ends.
func (m *Monitor) RecordHistory(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.sampleHistory(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) sampleHistory(now time.Time) {
	m.mu.Lock()
	pipes := slices.Clone(m.pipelines)
	m.mu.Unlock()
	st := make([]pipeline.Status, len(pipes))
	for i, p := range pipes {
		st[i] = p.Status()
	}
	m.hist.add(now, st)
}

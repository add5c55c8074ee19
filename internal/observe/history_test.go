package observe

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/pipeline"
)

func pipeStatus(name string, in, out uint64, lag, plag int64) pipeline.Status {
	return pipeline.Status{Name: name, Counts: pipeline.Counts{In: in, Out: out}, Lag: lag, ProcessedLag: plag}
}

// TestHistoryRatesLagsAndWindow samples on an injected clock: rates are the
// change per second, a reset counter (a reloaded pipeline) counts from 0,
// samples older than the window are dropped, and a pipeline gone for a
// whole window disappears.
func TestHistoryRatesLagsAndWindow(t *testing.T) {
	var h history
	t0 := time.Unix(1_800_000_000, 0)
	h.add(t0, []pipeline.Status{pipeStatus("a", 0, 0, 0, 0), pipeStatus("gone", 5, 5, 0, 0)})
	h.add(t0.Add(time.Second), []pipeline.Status{pipeStatus("a", 100, 50, 7, 2)})
	h.add(t0.Add(3*time.Second), []pipeline.Status{pipeStatus("a", 300, 50, 3, 0), pipeStatus("a", 1, 1, 1, 1)})
	h.add(t0.Add(4*time.Second), []pipeline.Status{pipeStatus("a", 40, 10, 0, 0)}) // restarted
	h.add(t0.Add(7*time.Second), []pipeline.Status{pipeStatus("a", 41, 10, 0, 0)}) // 1/3 record a second
	got := h.get(0)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "gone" {
		t.Fatalf("pipelines %+v", got)
	}
	a := got[0]
	ms := t0.UnixMilli()
	if !slices.Equal(a.Time, []int64{ms, ms + 1000, ms + 3000, ms + 4000, ms + 7000}) ||
		!slices.Equal(a.InPerSecond, []float64{0, 100, 100, 40, 0.333}) || !slices.Equal(a.OutPerSecond, []float64{0, 50, 0, 10, 0}) ||
		!slices.Equal(a.Lag, []int64{0, 7, 3, 0, 0}) || !slices.Equal(a.ProcessedLag, []int64{0, 2, 0, 0, 0}) {
		t.Errorf("history of a: %+v", a)
	}
	if since := h.get(ms + 1000); len(since[0].Time) != 3 || since[0].Time[0] != ms+3000 {
		t.Errorf("samples after %d: %+v", ms+1000, since[0])
	}

	// A window later only a's samples from then on are left.
	h.add(t0.Add(HistoryWindow+2*time.Second), []pipeline.Status{pipeStatus("a", 40, 10, 0, 0)})
	got = h.get(0)
	if len(got) != 1 || got[0].Name != "a" || !slices.Equal(got[0].Time, []int64{ms + 3000, ms + 4000, ms + 7000, ms + HistoryWindow.Milliseconds() + 2000}) {
		t.Errorf("after a window: %+v", got)
	}
	if n := len(got[0].InPerSecond) + len(got[0].OutPerSecond) + len(got[0].Lag) + len(got[0].ProcessedLag); n != 4*len(got[0].Time) {
		t.Errorf("columns of unequal length: %+v", got[0])
	}
}

// TestHistoryEndpoint checks /api/history's shape and its since parameter.
func TestHistoryEndpoint(t *testing.T) {
	m := New(Options{Version: "test"})
	now := time.Now()
	m.hist.add(now.Add(-2*time.Second), []pipeline.Status{pipeStatus("p", 0, 0, 0, 0)})
	m.hist.add(now.Add(-time.Second), []pipeline.Status{pipeStatus("p", 10, 10, 1, 0)})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	get := func(q string) (int, History) {
		res, err := srv.Client().Get(srv.URL + "/api/history" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var h History
		if res.StatusCode == 200 {
			if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode, h
	}
	code, h := get("")
	if code != 200 || h.IntervalSeconds != 1 || h.WindowSeconds != 900 || len(h.Pipelines) != 1 || len(h.Pipelines[0].Time) != 2 {
		t.Errorf("GET /api/history: %d %+v", code, h)
	}
	first := h.Pipelines[0].Time[0]
	if code, h := get("?since=" + strconv.FormatInt(first, 10)); code != 200 || len(h.Pipelines[0].Time) != 1 || h.Pipelines[0].Time[0] <= first {
		t.Errorf("GET /api/history?since=%d: %d %+v", first, code, h)
	}
	if code, _ := get("?since=yesterday"); code != 400 {
		t.Errorf("GET /api/history?since=yesterday: %d, want 400", code)
	}
}

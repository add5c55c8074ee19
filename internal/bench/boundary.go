package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// boundaryBench is the Go benchmark in host/ whose ns/record figures the
// report includes, one sub-benchmark per batch size.
const boundaryBench = "BenchmarkBoundary/"

// boundary adds the plugin-boundary figures from BoundaryFile.
func (h *harness) boundary() {
	if h.opts.BoundaryFile == "" {
		return
	}
	f, err := os.Open(h.opts.BoundaryFile)
	if err != nil {
		h.rep.add(&Figure{Section: "plugin boundary, 100 B records", Name: "batch", Unit: "ns/record", Err: err.Error()})
		return
	}
	defer f.Close()
	figs, err := parseBoundary(f)
	if err != nil {
		h.rep.add(&Figure{Section: "plugin boundary, 100 B records", Name: "batch", Unit: "ns/record", Err: err.Error()})
		return
	}
	for _, fig := range figs {
		h.rep.add(fig)
	}
}

// parseBoundary reads `go test -bench` output: every line of a
// BenchmarkBoundary sub-benchmark with a ns/record metric is one run.
func parseBoundary(r io.Reader) ([]*Figure, error) {
	var figs []*Figure
	byName := map[string]*Figure{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !strings.HasPrefix(fields[0], boundaryBench) {
			continue
		}
		name := strings.TrimPrefix(fields[0], boundaryBench)
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		for i := 1; i < len(fields); i++ {
			if fields[i] != "ns/record" {
				continue
			}
			v, err := strconv.ParseFloat(fields[i-1], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: ns/record %q: %w", fields[0], fields[i-1], err)
			}
			f := byName[name]
			if f == nil {
				f = &Figure{Section: "plugin boundary, 100 B records", Name: strings.ReplaceAll(name, "=", " "), Unit: "ns/record"}
				if name == "batch=256" {
					f.Target = &Target{Max: 300}
				}
				byName[name] = f
				figs = append(figs, f)
			}
			f.WasmhostRuns = append(f.WasmhostRuns, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(figs) == 0 {
		return nil, fmt.Errorf("no %s results with a ns/record metric", strings.TrimSuffix(boundaryBench, "/"))
	}
	return figs, nil
}

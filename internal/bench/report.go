package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Report is everything one Run measured.
type Report struct {
	Date    string    `json:"date"`
	Host    string    `json:"host"`
	CPUs    int       `json:"cpus"`
	Runs    int       `json:"runs_per_figure"`
	Scale   float64   `json:"scale"`
	Seconds float64   `json:"seconds"`
	Figures []*Figure `json:"figures"`
}

func newReport(o Options) *Report {
	host, cpus := hostInfo()
	return &Report{Date: time.Now().UTC().Format(time.RFC3339), Host: host, CPUs: cpus, Runs: o.Runs, Scale: o.Scale}
}

func (r *Report) add(f *Figure) {
	f.summarize()
	r.Figures = append(r.Figures, f)
}

// Figure is one row of the table: the runs of the baseline and of wasmhost,
// their medians, the ratio and the target it is checked against.
type Figure struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Unit    string  `json:"unit"`
	Higher  bool    `json:"higher_is_better"`
	Target  *Target `json:"target,omitempty"`

	BaselineRuns []float64 `json:"baseline_runs,omitempty"`
	WasmhostRuns []float64 `json:"wasmhost_runs,omitempty"`
	// Throughput runs also count records per second of the process's
	// CPU time: less disturbed by other load on the machine.
	BaselineCPURuns []float64 `json:"baseline_per_cpu_second_runs,omitempty"`
	WasmhostCPURuns []float64 `json:"wasmhost_per_cpu_second_runs,omitempty"`
	RunErrors       []string  `json:"run_errors,omitempty"`
	// Err is why the figure has no value (for example a guarantee that is
	// not implemented).
	Err string `json:"error,omitempty"`

	Baseline *float64 `json:"baseline"`
	Wasmhost *float64 `json:"wasmhost"`
	// Ratio is wasmhost ÷ baseline; CPURatio the same per CPU-second.
	Ratio    *float64 `json:"ratio"`
	CPURatio *float64 `json:"per_cpu_second_ratio,omitempty"`
	Met      *bool    `json:"target_met,omitempty"`
	// CPUMet is whether the per-CPU-second ratio meets a ratio-to-baseline
	// target.
	CPUMet *bool `json:"target_met_per_cpu_second,omitempty"`
}

// Target is what a figure must reach: at least Ratio × a reference (the
// baseline, or Value, named by Of), or at most Max.
type Target struct {
	Ratio float64 `json:"ratio,omitempty"`
	Of    string  `json:"of,omitempty"`
	Value float64 `json:"value,omitempty"`
	// CPUValue is the reference's records per CPU-second, for Of targets.
	CPUValue float64 `json:"per_cpu_second_value,omitempty"`
	Max      float64 `json:"max,omitempty"`
}

func (t *Target) String() string {
	if t.Max > 0 {
		return fmt.Sprintf("< %s", trimFloat(t.Max))
	}
	return fmt.Sprintf("≥ %s × %s", trimFloat(t.Ratio), t.Of)
}

func (f *Figure) record(kind string, v float64, err error) {
	if err != nil {
		f.RunErrors = append(f.RunErrors, fmt.Sprintf("%s: %v", kind, err))
		return
	}
	if kind == kindBaseline {
		f.BaselineRuns = append(f.BaselineRuns, v)
	} else {
		f.WasmhostRuns = append(f.WasmhostRuns, v)
	}
}

// recordRate records a throughput run.
func (f *Figure) recordRate(kind string, r copyRate, err error) {
	f.record(kind, r.perSecond, err)
	if err != nil {
		return
	}
	if kind == kindBaseline {
		f.BaselineCPURuns = append(f.BaselineCPURuns, r.perCPUSecond)
	} else {
		f.WasmhostCPURuns = append(f.WasmhostCPURuns, r.perCPUSecond)
	}
}

func (f *Figure) median(kind string) float64 {
	if kind == kindBaseline {
		return median(f.BaselineRuns)
	}
	return median(f.WasmhostRuns)
}

// summarize computes the medians, the ratio and whether the target is met.
// A figure whose runs all failed gets the first error as its Err.
func (f *Figure) summarize() {
	if len(f.BaselineRuns) > 0 {
		f.Baseline = ptr(median(f.BaselineRuns))
	}
	if len(f.WasmhostRuns) > 0 {
		f.Wasmhost = ptr(median(f.WasmhostRuns))
	} else if f.Err == "" && len(f.RunErrors) > 0 {
		f.Err = f.RunErrors[0]
	}
	if f.Err != "" {
		f.Wasmhost = nil
	}
	if f.Baseline != nil && f.Wasmhost != nil && *f.Baseline != 0 {
		f.Ratio = ptr(*f.Wasmhost / *f.Baseline)
	}
	if len(f.BaselineCPURuns) > 0 && len(f.WasmhostCPURuns) > 0 && f.Err == "" {
		f.CPURatio = ptr(median(f.WasmhostCPURuns) / median(f.BaselineCPURuns))
	}
	if f.Target == nil || f.Wasmhost == nil {
		return
	}
	w, t := *f.Wasmhost, f.Target
	switch {
	case t.Max > 0:
		f.Met = ptr(w < t.Max)
	case t.Of == kindBaseline && f.Baseline != nil:
		f.Met = ptr(w >= t.Ratio**f.Baseline)
		if f.CPURatio != nil {
			f.CPUMet = ptr(*f.CPURatio >= t.Ratio)
		}
	case t.Of != kindBaseline && t.Value > 0:
		f.Met = ptr(w >= t.Ratio*t.Value)
		if t.CPUValue > 0 && len(f.WasmhostCPURuns) > 0 {
			f.CPUMet = ptr(median(f.WasmhostCPURuns) >= t.Ratio*t.CPUValue)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// median of the values; 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// quantile of sorted values by the nearest-rank method: the smallest value
// with at least q of the values at or below it.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints the report as a table, one section per kind of figure.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "wasmhost benchmark, %s, %s, %d CPUs, median of %d runs, %.0f s\n\n", r.Date, r.Host, r.CPUs, r.Runs, r.Seconds)
	rows := [][]string{{"", "baseline", "wasmhost", "÷ baseline", "per CPU-s", "target", ""}}
	units := map[string]string{} // by section; "" when its figures mix units
	for _, f := range r.Figures {
		if u, ok := units[f.Section]; ok && u != f.Unit {
			units[f.Section] = ""
		} else if !ok {
			units[f.Section] = f.Unit
		}
	}
	section := ""
	for _, f := range r.Figures {
		if f.Section != section {
			section = f.Section
			if u := units[section]; u != "" {
				rows = append(rows, []string{section + " (" + u + ")"})
			} else {
				rows = append(rows, []string{section})
			}
		}
		name := "  " + f.Name
		if units[section] == "" {
			name += " (" + f.Unit + ")"
		}
		rows = append(rows, []string{name, num(f.Baseline, f.Unit), value(f), ratio(f.Ratio), ratio(f.CPURatio), target(f), verdict(f)})
	}
	writeRows(w, rows)
	for _, f := range r.Figures {
		if f.Err != "" {
			fmt.Fprintf(w, "\n%s / %s: %s", f.Section, f.Name, f.Err)
		}
		for _, e := range f.RunErrors {
			if e != f.Err {
				fmt.Fprintf(w, "\n%s / %s: a run failed: %s", f.Section, f.Name, e)
			}
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// writeRows aligns the columns: names and targets on the left, numbers on
// the right. A row of one cell is a section heading.
func writeRows(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		if len(row) == 1 {
			continue
		}
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		if len(row) == 1 {
			fmt.Fprintln(w, row[0])
			continue
		}
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch i {
			case 0:
				b.WriteString(c + pad)
			case 1, 2, 3, 4:
				b.WriteString("  " + pad + c)
			default:
				b.WriteString("  " + c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func value(f *Figure) string {
	if f.Err != "" {
		if strings.Contains(f.Err, errNotImplemented.Error()) {
			return "not implemented"
		}
		return "error"
	}
	return num(f.Wasmhost, f.Unit)
}

func num(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	switch unit {
	case "records/s":
		return thousands(int64(math.Round(*v)))
	case "ns/record":
		return fmt.Sprintf("%.0f", *v)
	default:
		return fmt.Sprintf("%.1f", *v)
	}
}

func ratio(r *float64) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%.2f", *r)
}

func target(f *Figure) string {
	if f.Target == nil {
		return ""
	}
	s := f.Target.String()
	if f.Target.Max > 0 {
		s += " " + f.Unit
	}
	if f.Target.Of != "" && f.Target.Of != kindBaseline && f.Wasmhost != nil && f.Target.Value > 0 {
		s += fmt.Sprintf(" (%.2f)", *f.Wasmhost/f.Target.Value)
	}
	return s
}

func verdict(f *Figure) string {
	switch {
	case f.Met == nil && f.Target != nil:
		return "not checked"
	case f.Met == nil:
		return ""
	case f.CPUMet != nil && *f.CPUMet != *f.Met:
		if *f.Met {
			return "met (per CPU-s: MISSED)"
		}
		return "MISSED (per CPU-s: met)"
	case *f.Met:
		return "met"
	default:
		return "MISSED"
	}
}

// thousands writes n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/pipeline"
)

func newStatusCmd() *cobra.Command {
	var addr, path string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print what a running daemon is doing (its /api/status) in the terminal",
		Long: `Print the picture of the status page in the terminal: readiness, pipelines
with their partitions, committed offsets, high watermarks and lag, sources,
the producer, plugin versions with their reload history, and the latest
errors with their record coordinates. Two lags are shown: LAG PROCESSED is
what the actors have yet to hand to their plugin (high watermark minus the
offset after the last record processed), LAG COMMITTED what the group has yet
to commit (offsets commit every second, or per transaction, so a healthy
pipeline shows a little). Consumers are named by their client id:
wasmhost-<first 8 hex digits of the daemon id>-<pipeline>-<member>.

The daemon is found at --addr (host:port or a URL), or else at http.listen
of the config file.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, err := statusURL(addr, path, cmd.Flags().Changed("config"))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			raw, st, err := fetchStatus(ctx, base)
			if err != nil {
				return err
			}
			if asJSON {
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "the daemon's monitoring address, host:port or http://host:port (default: http.listen of --config)")
	cmd.Flags().StringVarP(&path, "config", "c", "config.toml", "config file whose http.listen to use when --addr is not given")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON of /api/status")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// statusURL is the base URL of the daemon's monitoring server.
func statusURL(addr, path string, configGiven bool) (string, error) {
	if addr == "" {
		cfg, err := config.Load(path)
		if err != nil {
			if !configGiven {
				return "", usagef("no --addr given and %v", err)
			}
			return "", usageError{err}
		}
		if cfg.HTTP.Listen == "" {
			return "", usagef("no --addr given and %s does not set http.listen (the monitoring server is off)", path)
		}
		addr = cfg.HTTP.Listen
	}
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return strings.TrimSuffix(addr, "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usagef("--addr: %q is neither host:port nor a URL", addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1" // listening on every interface: ask locally
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func fetchStatus(ctx context.Context, base string) ([]byte, *observe.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/status", nil)
	if err != nil {
		return nil, nil, usagef("--addr: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the daemon at %s (is it running with http.listen set?): %w", base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s/api/status: %w", base, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("%s/api/status answered %s", base, res.Status)
	}
	var st observe.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, nil, fmt.Errorf("%s/api/status is not a wasmhost status: %w", base, err)
	}
	return raw, &st, nil
}

// printStatus writes the status as sections of aligned tables.
func printStatus(w io.Writer, s *observe.Status) error {
	ew := &errWriter{w: w}
	state := "ready"
	if !s.Ready {
		state = "NOT READY: " + strings.Join(s.NotReady, "; ")
	}
	fmt.Fprintf(ew, "wasmhost %s (ABI %d) · daemon %s · up %s · %s\n", s.Version, s.ABIVersion, s.DaemonID,
		s.Now.Sub(s.StartedAt).Round(time.Second), state)
	brokers := strings.Join(s.Brokers, ", ")
	if s.EmbeddedBroker {
		brokers += " (embedded)"
	}
	p := s.Producer
	fmt.Fprintf(ew, "brokers %s · producer: %d sent, %d delivered, %d delivery errors, %d in flight\n",
		brokers, p.Sent, p.Delivered, p.Failed, p.InFlight)

	section(ew, "PIPELINES", len(s.Pipelines), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tPLUGIN\tGUARANTEE\tIN\tOUT\tFAILED\tDEAD-LETTERED\tSKIPPED\tTRAPS\tTIMEOUTS\tTXN OK/ABORTED\tMEAN CALL\tLAG PROCESSED/COMMITTED\tMEMORY")
		for _, p := range s.Pipelines {
			n := p.Counts
			txn := "-"
			if p.Guarantee == "exactly-once" {
				txn = fmt.Sprintf("%d/%d", n.TxnCommitted, n.TxnAborted)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d/%d\t%s\n", p.Name, pluginRef(p.Plugin),
				p.Guarantee, n.In, n.Out, n.Failed, n.DeadLettered, n.Skipped, n.Traps, n.Timeouts, txn,
				meanCall(p.CallSeconds), p.ProcessedLag, p.Lag, bytesString(p.MemoryBytes))
		}
	})
	for _, p := range s.Pipelines {
		section(ew, "PARTITIONS of "+p.Name+" (group "+p.Group+")", len(p.Members), func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "CONSUMER\tTOPIC\tPARTITION\tPROCESSED\tCOMMITTED\tHIGH WATERMARK\tLAG PROCESSED\tLAG COMMITTED\tSTATE")
			for _, m := range p.Members {
				if len(m.Partitions) == 0 {
					state := "in group, no partitions"
					if !m.Joined {
						state = "not in group"
					}
					fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t%s\n", m.Consumer, state)
				}
				for _, pt := range m.Partitions {
					state := "running"
					if pt.Halted {
						state = "HALTED"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n", m.Consumer, pt.Topic, pt.Partition,
						offsetOrNone(pt.Processed), offsetOrNone(pt.Committed), pt.HighWatermark, pt.ProcessedLag, pt.Lag, state)
				}
			}
		})
	}
	section(ew, "SOURCES", len(s.Sources), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tPLUGIN\tINTERVAL\tTICKS\tOUT\tFAILED TICKS")
		for _, src := range s.Sources {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", src.Name, pluginRef(src.Plugin), src.Interval, src.Ticks, src.Out, src.Failed)
		}
	})
	section(ew, "PLUGINS", len(s.Plugins), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tVERSION (SHA256)\tFILE\tSERVING SINCE\tRELOADS\tFAILED RELOADS")
		for _, p := range s.Plugins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", p.Name, p.SHA256, p.Path, clock(p.LoadedAt), p.Reloads, p.ReloadFailures)
		}
	})
	var history int
	for _, p := range s.Plugins {
		history += len(p.History)
	}
	section(ew, "PLUGIN HISTORY (newest first)", history, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "PLUGIN\tTIME\tEVENT\tDETAIL")
		for _, p := range s.Plugins {
			for _, h := range p.History {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, clock(h.Time), h.Event, historyDetail(h))
			}
		}
	})
	c := s.ConfigReloads
	section(ew, fmt.Sprintf("CONFIG RELOADS (%d applied, %d rejected; newest first)", c.Applied, c.Rejected), len(c.History), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "TIME\tRESULT\tWHY REJECTED")
		for _, h := range c.History {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", clock(h.Time), h.Result, oneLine(h.Error))
		}
	})
	section(ew, "LATEST ERRORS", len(s.Errors), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "TIME\tPIPELINE\tPLUGIN\tRECORD\tKIND\tACTION\tERROR")
		for _, e := range s.Errors {
			fmt.Fprintf(tw, "%s\t%s\t%s@%s\t%s\t%s\t%s\t%s\n", clock(e.Time), e.Pipeline, e.Plugin, short(e.PluginVersion),
				coordinates(e), e.Kind, e.Action, oneLine(e.Error))
		}
	})
	return ew.err
}

// offsetOrNone shows an offset, or "none" for -1 (nothing committed or
// processed yet).
func offsetOrNone(o int64) string {
	if o < 0 {
		return "none"
	}
	return fmt.Sprint(o)
}

// section prints a heading and a table, or "(none)".
func section(w io.Writer, title string, n int, rows func(*tabwriter.Writer)) {
	fmt.Fprintf(w, "\n%s\n", title)
	if n == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows(tw)
	_ = tw.Flush()
}

func pluginRef(p pipeline.PluginInfo) string { return p.Name + "@" + short(p.SHA256) }

func short(sha string) string { return sha[:min(len(sha), 12)] }

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.TimeOnly)
}

func meanCall(h pipeline.Histogram) string {
	if h.Count == 0 {
		return "-"
	}
	return (time.Duration(h.Sum / float64(h.Count) * 1e9)).Round(time.Microsecond).String()
}

func coordinates(e pipeline.ErrorEvent) string {
	if e.Topic == "" {
		return "-"
	}
	s := fmt.Sprintf("%s/%d@%d", e.Topic, e.Partition, e.Offset)
	if e.LastOffset != e.Offset {
		s += fmt.Sprintf("..%d", e.LastOffset)
	}
	return s
}

func historyDetail(h observe.PluginEvent) string {
	var b strings.Builder
	if h.SHA256 != "" {
		b.WriteString(short(h.SHA256))
	}
	if h.Event == "reloaded" && h.PreviousSHA256 != "" {
		fmt.Fprintf(&b, " (was %s)", short(h.PreviousSHA256))
	}
	if h.Seconds > 0 {
		fmt.Fprintf(&b, " in %s", time.Duration(h.Seconds*1e9).Round(time.Millisecond))
	}
	if h.Error != "" {
		fmt.Fprintf(&b, " %s", oneLine(h.Error))
	}
	return strings.TrimSpace(b.String())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func bytesString(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// errWriter keeps the first write error so a long print checks it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/daemon"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/kafka"
)

// fleetFlags are the flags of `status --fleet`.
type fleetFlags struct {
	on        bool
	fromKafka bool
}

func (f *fleetFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.on, "fleet", false, "print every daemon of the fleet (the status topic, as the daemon at --addr follows it): which plugin versions each serves, and which stopped reporting")
	cmd.Flags().BoolVar(&f.fromKafka, "kafka", false, "with --fleet: read the status topic from the brokers of --config instead of asking a daemon")
}

// runFleet prints the fleet, from the daemon at base or from the brokers of
// the config at path.
func runFleet(cmd *cobra.Command, f fleetFlags, base, path string, asJSON bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	var raw []byte
	var st fleet.FleetStatus
	var err error
	if f.fromKafka {
		st, err = readFleet(ctx, path)
		if err == nil {
			raw, err = json.MarshalIndent(st, "", "  ")
		}
	} else {
		raw, st, err = fetchFleet(ctx, base)
	}
	if err != nil {
		return err
	}
	if asJSON {
		_, err := cmd.OutOrStdout().Write(append(raw, '\n'))
		return err
	}
	return printFleet(cmd.OutOrStdout(), st)
}

func readFleet(ctx context.Context, path string) (fleet.FleetStatus, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return fleet.FleetStatus{}, err
	}
	if cfg.Fleet.StatusInterval.Duration == 0 {
		return fleet.FleetStatus{}, usagef("%s sets fleet.status_interval = \"0s\": daemons publish no status", path)
	}
	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		brokers = daemon.EmbeddedBrokerAddr(cfg)
	}
	log := newLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	o := daemon.ClientOptions(cfg, brokers)
	o.ClientID += "-status-cli"
	client, err := kafka.Connect(ctx, o, log)
	if err != nil {
		return fleet.FleetStatus{}, err
	}
	defer client.Close()
	return fleet.ReadFleet(ctx, client, cfg.Fleet.StatusTopic, cfg.Fleet.StaleAfter)
}

func fetchFleet(ctx context.Context, base string) ([]byte, fleet.FleetStatus, error) {
	var st fleet.FleetStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/fleet", nil)
	if err != nil {
		return nil, st, usagef("--addr: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, st, fmt.Errorf("cannot reach the daemon at %s (is it running with http.listen set? --kafka reads the status topic instead): %w", base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, st, fmt.Errorf("reading %s/api/fleet: %w", base, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, st, fmt.Errorf("%s/api/fleet answered %s: %s", base, res.Status, strings.TrimSpace(string(raw)))
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, st, fmt.Errorf("%s/api/fleet is not a wasmhost fleet: %w", base, err)
	}
	return raw, st, nil
}

// printFleet writes the daemons, then the plugin versions the live ones
// serve.
func printFleet(w io.Writer, f fleet.FleetStatus) error {
	ew := &errWriter{w: w}
	live := 0
	for _, d := range f.Daemons {
		if d.Live() {
			live++
		}
	}
	fmt.Fprintf(ew, "fleet: %d daemons reporting, %d stale or stopped (status topic %s; stale after %d intervals)\n",
		live, len(f.Daemons)-live, f.Topic, f.StaleAfter)
	section(ew, "DAEMONS", len(f.Daemons), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "DAEMON\tHOST\tVERSION\tSTATE\tREADY\tLAST SEEN\tUP\tPARTITIONS\tLAG\tSOURCES TICKING\tPLUGINS")
		for _, d := range f.Daemons {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%s\t%d\t%d\t%s\t%s\n", d.DaemonID, d.Host, d.Version, fleetState(d),
				fleetYesNo(d.Ready), fleetAge(d.AgeSeconds), d.Time.Sub(d.StartedAt).Round(time.Second), d.Partitions, d.Lag,
				fleetTicking(d.Sources), fleetPlugins(d.Plugins))
		}
	})
	section(ew, "PLUGIN VERSIONS SERVING (reporting daemons)", len(f.Plugins), func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "PLUGIN\tVERSION (SHA256)\tDAEMONS")
		for _, p := range f.Plugins {
			for _, v := range p.Versions {
				fmt.Fprintf(tw, "%s\t%s\t%d: %s\n", p.Name, v.SHA256, len(v.Daemons), strings.Join(v.Daemons, ", "))
			}
		}
	})
	return ew.err
}

func fleetState(d fleet.DaemonStatus) string {
	if d.Stale {
		return "STALE (" + d.State + ")"
	}
	return d.State
}

func fleetYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fleetAge(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}

// fleetTicking lists the sources the daemon ticks: those whose lease it holds,
// and those without a lease.
func fleetTicking(srcs []fleet.StatusSource) string {
	var out []string
	for _, s := range srcs {
		switch s.Lease {
		case fleet.LeaseHeld:
			out = append(out, s.Name)
		case "off":
			out = append(out, s.Name+" (no lease)")
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

func fleetPlugins(ps []fleet.StatusPlugin) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name + "@" + short(p.SHA256)
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

// leaseRef is a source's lease in the SOURCES table of `wasmhost status`.
func leaseRef(l *pipeline.LeaseStatus) string {
	if l == nil {
		return "off (ticks on every daemon)"
	}
	s := l.State + " (group " + l.Group
	if !l.Since.IsZero() {
		s += ", since " + clock(l.Since)
	}
	return s + ")"
}

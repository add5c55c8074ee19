package daemon

import (
	"context"
	"errors"
	"os"
	"slices"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/kafka"
)

// startFleetStatus publishes this daemon's status record to the status
// topic and follows the others' (mon serves them at /api/fleet), unless
// fleet.status_interval is 0. It returns the closer that publishes the last
// record, with state "stopped": it must run after the pipelines and sources
// have stopped.
func startFleetStatus(ctx context.Context, cfg *config.Config, copts kafka.ClientOptions, client sarama.Client,
	mon *observe.Monitor, id string, log zerolog.Logger) (func(context.Context) error, error) {
	f := cfg.Fleet
	if f.StatusInterval.Duration == 0 {
		return func(context.Context) error { return nil }, nil
	}
	if err := fleet.EnsureStatusTopic(ctx, client, f.StatusTopic); err != nil {
		return nil, err
	}
	// The view gets a client of its own: its fetches would hold the
	// shared client's requests back (see fleet.ViewOptions), and its own
	// records too. The records go through a producer of their own on the
	// shared client: the shared producer counts the plugins' records only.
	vopts := copts
	vopts.ClientID += "-status"
	vclient, err := kafka.Connect(ctx, vopts, log)
	if err != nil {
		return nil, err
	}
	view, err := fleet.StartView(fleet.ViewOptions{Client: vclient, Topic: f.StatusTopic, StaleAfter: f.StaleAfter,
		Logger: log.With().Str("topic", f.StatusTopic).Logger()})
	if err != nil {
		_ = vclient.Close()
		return nil, err
	}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = view.Close()
		_ = vclient.Close()
		return nil, err
	}
	mon.SetFleet(view.Status)
	host, _ := os.Hostname()
	rep := fleet.StartReporter(fleet.ReporterOptions{
		Producer: sp, Topic: f.StatusTopic, Interval: f.StatusInterval.Duration, Logger: log,
		Record: func() fleet.StatusRecord { return statusRecord(mon, id, host) },
	})
	log.Info().Str("topic", f.StatusTopic).Dur("interval", f.StatusInterval.Duration).Msg("fleet status: publishing this daemon's status, following the fleet's")
	return func(ctx context.Context) error {
		err := rep.Stop(ctx)
		mon.SetFleet(nil)
		return errors.Join(err, sp.Close(), view.Close(), vclient.Close())
	}, nil
}

// statusRecord is the daemon's status record: mon's picture, cut down to
// what the fleet view shows.
func statusRecord(mon *observe.Monitor, id, host string) fleet.StatusRecord {
	st := mon.Status()
	r := fleet.StatusRecord{DaemonID: id, Host: host, Version: st.Version, Ready: st.Ready, NotReady: st.NotReady,
		StartedAt: st.StartedAt, Pipelines: []fleet.StatusPipeline{}, Sources: []fleet.StatusSource{}, Plugins: []fleet.StatusPlugin{}}
	if mon.Stopping() {
		r.State = fleet.StateStopping
	}
	serving := func(p fleet.StatusPlugin) {
		if !slices.Contains(r.Plugins, p) {
			r.Plugins = append(r.Plugins, p)
		}
	}
	for _, p := range st.Pipelines {
		plugin := fleet.StatusPlugin{Name: p.Plugin.Name, SHA256: p.Plugin.SHA256}
		r.Pipelines = append(r.Pipelines, fleet.StatusPipeline{Name: p.Name, Group: p.Group, Plugin: plugin, Partitions: p.Partitions, Lag: p.Lag})
		r.Partitions += p.Partitions
		r.Lag += p.Lag
		serving(plugin)
	}
	for _, s := range st.Sources {
		plugin := fleet.StatusPlugin{Name: s.Plugin.Name, SHA256: s.Plugin.SHA256}
		lease := "off"
		if s.Lease != nil {
			lease = s.Lease.State
		}
		r.Sources = append(r.Sources, fleet.StatusSource{Name: s.Name, Plugin: plugin, Lease: lease, Ticks: s.Ticks})
		serving(plugin)
	}
	return r
}

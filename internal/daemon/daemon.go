package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/kafka"
)

// Options are what Run needs besides the config.
type Options struct {
	// Ready, when set, is called once every pipeline and source has started.
	Ready func()
	// Reload delivers reload requests (SIGHUP): the config is loaded again
	// with LoadConfig and applied, and every plugin file is read again.
	Reload <-chan struct{}
	// LoadConfig reads the config file again; nil disables config reloads
	// (plugin files are still watched and rescanned).
	LoadConfig func() (*config.Config, error)
	// ConfigPath is the file reload.watch_config watches.
	ConfigPath string
	// Stats, when set, counts reloads.
	Stats *ReloadStats
	// Version names the build in the status API and the metrics; "" is
	// "dev".
	Version string
	// OnHTTP, when set, is called with the monitoring server's address
	// ("host:port") once it listens: how a caller learns the port when
	// http.listen asks for port 0.
	OnHTTP func(addr string)
	// ID names this run of the daemon (see NewID); "" draws a new one. It
	// is added to every log line and, shortened, to the client id of every
	// Kafka client, so consumer ids are unique across a fleet.
	ID string
}

// Run starts everything cfg describes and blocks until ctx is cancelled,
// then shuts down. While it runs it swaps in new plugin versions and
// applies reloaded configs (see Options). Cancelled before it is running
// (while a plugin loads, say), it stops and returns nil.
func Run(ctx context.Context, cfg *config.Config, log zerolog.Logger, o Options) (err error) {
	var closers []func(context.Context) error
	shutdownTimeout := cfg.ShutdownTimeout.Duration // a reloaded config may change it
	running := false
	defer func() {
		if err != nil && !running && ctx.Err() != nil {
			// Stopped while starting (SIGTERM during a plugin load, a
			// broker that was never reached): what failed is the start
			// the stop cut short, and stopping is what was asked.
			log.Info().Err(err).Msg("stopped while starting")
			err = nil
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			if cerr := closers[i](sctx); cerr != nil {
				log.Error().Err(cerr).Msg("shutdown")
				err = errors.Join(err, cerr)
			}
		}
		if err == nil {
			log.Info().Msg("wasmhost stopped")
		}
	}()
	if o.Stats == nil {
		o.Stats = &ReloadStats{}
	}
	if o.ID == "" {
		o.ID = NewID()
	}
	log = log.With().Str("daemon", o.ID).Logger()

	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		b, err := startBroker(cfg, log)
		if err != nil {
			return err
		}
		closers = append(closers, func(context.Context) error { b.Close(); return nil })
		brokers = []string{b.Addr()}
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	mon := observe.New(observe.Options{Version: o.Version, DaemonID: o.ID, Brokers: brokers, Embedded: cfg.Embedded()})
	if cfg.HTTP.Listen != "" {
		srv, err := observe.Listen(cfg.HTTP.Listen, mon.Handler(), log)
		if err != nil {
			return err
		}
		closers = append(closers, srv.Close)
		log.Info().Str("url", srv.URL()).Msg("status page (also /metrics, /healthz, /readyz, /api/status)")
		if o.OnHTTP != nil {
			o.OnHTTP(srv.Addr())
		}
	}
	copts := ClientOptions(cfg, brokers)
	copts.ClientID = copts.ClientID + "-" + shortID(o.ID)
	client, err := kafka.Connect(ctx, copts, log)
	if err != nil {
		return err
	}
	closers = append(closers, func(context.Context) error { return client.Close() })
	mon.Connected()
	closers = append(closers, startProbe(mon, client, log), startHistory(mon))
	if err := ensureTopics(ctx, client, cfg, log); err != nil {
		return err
	}
	warnEmbeddedEOS(cfg, client, log)

	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: cfg.Plugins.CacheDir, Logger: log})
	if err != nil {
		return err
	}
	closers = append(closers, rt.Close)
	plugins := newPluginSet(rt, o.Stats, log)
	plugins.mon = mon
	plugins.topic, plugins.trusted = newPluginTopic(client, copts, cfg), trustedKeys(cfg)
	closers = append(closers, plugins.close)

	producer, err := kafka.NewProducer(client, kafka.ProducerOptions{Logger: log})
	if err != nil {
		return err
	}
	closers = append(closers, producer.Close)
	mon.SetProducer(producer)
	stopStatus, err := startFleetStatus(ctx, cfg, copts, client, mon, o.ID, log)
	if err != nil {
		return err
	}
	closers = append(closers, stopStatus)

	w := newWork(copts, producer, plugins, log)
	w.mon = mon
	closers = append(closers, func(ctx context.Context) error { return w.stopAll(ctx) })
	if err := w.startAll(ctx, cfg); err != nil {
		return err
	}
	mon.PluginsLoaded()
	mon.Working()
	running = true
	watcher := newWatcher(cfg.Reload.Delay.Duration, log)
	closers = append(closers, func(context.Context) error { return watcher.close() })
	log.Info().Strs("brokers", brokers).Int("pipelines", len(cfg.Pipelines)).Int("sources", len(cfg.Sources)).Msg("wasmhost running")
	if o.Ready != nil {
		o.Ready()
	}
	r := &reloader{cfg: cfg, opts: o, client: client, work: w, plugins: plugins, watcher: watcher, stats: o.Stats, mon: mon, log: log}
	wctx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); watcher.run(wctx) }()
	r.run(ctx)
	mon.ShuttingDown()
	stopWatch()
	<-watchDone
	shutdownTimeout = r.cfg.ShutdownTimeout.Duration
	log.Info().Dur("timeout", shutdownTimeout).Msg("shutting down")
	return nil
}

func startBroker(cfg *config.Config, log zerolog.Logger) (*kafka.Broker, error) {
	e := cfg.EmbeddedBroker
	if e.DataDir != "" {
		if err := os.MkdirAll(e.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded.data_dir: %w", err)
		}
	}
	o, err := BrokerOptions(e, log) // its lines say component=embedded-broker
	if err != nil {
		return nil, err
	}
	b, err := kafka.StartBroker(o)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	log.Info().Str("addr", b.Addr()).Str("data_dir", e.DataDir).Msg("embedded Kafka broker listening (no kafka.brokers configured)")
	return b, nil
}

func ensureTopics(ctx context.Context, client sarama.Client, cfg *config.Config, log zerolog.Logger) error {
	if len(cfg.Topics) == 0 {
		return nil
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	// Not admin.Close: it would close the shared client.
	results, err := kafka.EnsureTopics(ctx, admin, TopicSpecs(cfg.Topics))
	for _, r := range results {
		ev := log.Debug()
		if r.Status == "created" {
			ev = log.Info()
		}
		if r.Err != nil {
			ev = log.Error().Err(r.Err)
		}
		ev.Str("topic", r.Name).Str("status", r.Status).Msg("topic")
	}
	return err
}

// startProbe runs the monitor's broker probe until the returned function
// stops it (before the client closes).
func startProbe(mon *observe.Monitor, client sarama.Client, log zerolog.Logger) func(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.Probe(ctx, client, observe.ProbeInterval, log)
	}()
	return func(stop context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-stop.Done():
			return fmt.Errorf("broker probe: %w", stop.Err())
		}
	}
}

// startHistory samples the pipelines for the status page's charts until
// the returned function stops it.
func startHistory(mon *observe.Monitor) func(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		mon.RecordHistory(ctx, observe.HistoryInterval)
	}()
	return func(context.Context) error {
		cancel()
		<-done // a sample takes no longer than a Status
		return nil
	}
}

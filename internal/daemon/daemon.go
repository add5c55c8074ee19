package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/pipeline"
	"github.com/wasmhost/wasmhost/kafka"
)

// Run starts everything cfg describes and blocks until ctx is cancelled,
// then shuts down. ready, when not nil, is called once every pipeline and
// source has started.
func Run(ctx context.Context, cfg *config.Config, log zerolog.Logger, ready func()) (err error) {
	var closers []func(context.Context) error
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.Duration)
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

	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		b, err := startBroker(cfg, log)
		if err != nil {
			return err
		}
		closers = append(closers, func(context.Context) error { b.Close(); return nil })
		brokers = []string{b.Addr()}
	}
	copts := ClientOptions(cfg, brokers)
	client, err := kafka.Connect(ctx, copts, log)
	if err != nil {
		return err
	}
	closers = append(closers, func(context.Context) error { return client.Close() })
	if err := ensureTopics(ctx, client, cfg, log); err != nil {
		return err
	}

	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: cfg.Plugins.CacheDir, Logger: log})
	if err != nil {
		return err
	}
	closers = append(closers, rt.Close)
	plugins := newPluginSet(rt, cfg.Plugins.Dir)
	closers = append(closers, plugins.close)
	if err := plugins.loadAll(ctx, cfg, log); err != nil {
		return err
	}

	producer, err := kafka.NewProducer(client, kafka.ProducerOptions{Logger: log})
	if err != nil {
		return err
	}
	closers = append(closers, producer.Close)

	stops, err := startWork(cfg, copts, producer, plugins, log)
	closers = append(closers, stops)
	if err != nil {
		return err
	}
	log.Info().Strs("brokers", brokers).Int("pipelines", len(cfg.Pipelines)).Int("sources", len(cfg.Sources)).Msg("wasmhost running")
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	log.Info().Dur("timeout", cfg.ShutdownTimeout.Duration).Msg("shutting down")
	return nil
}

func startBroker(cfg *config.Config, log zerolog.Logger) (*kafka.Broker, error) {
	e := cfg.EmbeddedBroker
	if e.DataDir != "" {
		if err := os.MkdirAll(e.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded.data_dir: %w", err)
		}
	}
	o, err := BrokerOptions(e, log.With().Str("component", "broker").Logger())
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

// startWork starts sources, then pipelines. The returned function stops
// them all (sources first, so nothing new is produced while pipelines drain).
func startWork(cfg *config.Config, copts kafka.ClientOptions, producer *kafka.Producer, plugins *pluginSet, log zerolog.Logger) (func(context.Context) error, error) {
	var sources []*pipeline.Source
	var pipes []*pipeline.Pipeline
	stop := func(ctx context.Context) error {
		var errs []error
		for _, s := range sources {
			errs = append(errs, s.Stop(ctx))
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range pipes {
			wg.Go(func() {
				err := p.Stop(ctx)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	allTopics := make([]string, len(cfg.Topics))
	for i, t := range cfg.Topics {
		allTopics[i] = t.Name
	}
	allow := func(list []string) func(string) bool {
		if len(list) == 0 {
			list = allTopics
		}
		return pipeline.Allowlist(list)
	}
	for _, sc := range cfg.Sources {
		s, err := pipeline.StartSource(sc, pipeline.SourceOptions{
			Producer: producer, Plugin: plugins.source(sc.Name), AllowTopic: allow(sc.ProduceTopics), Logger: log,
		})
		if err != nil {
			return stop, err
		}
		sources = append(sources, s)
	}
	for _, pc := range cfg.Pipelines {
		produce := pc.ProduceTopics
		if len(produce) == 0 {
			produce = allTopics
		}
		if pc.Failure.DeadLetterTopic != "" {
			produce = append(produce[:len(produce):len(produce)], pc.Failure.DeadLetterTopic)
		}
		p, err := pipeline.Start(pc, pipeline.Options{
			Client: copts, Producer: producer, Plugin: plugins.pipeline(pc.Name),
			AllowTopic: pipeline.Allowlist(produce), DrainTimeout: drainTimeout(cfg), Logger: log,
		})
		if err != nil {
			return stop, err
		}
		pipes = append(pipes, p)
	}
	return stop, nil
}

func drainTimeout(cfg *config.Config) time.Duration {
	return cfg.ShutdownTimeout.Duration * 2 / 3
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// CheckReport is what Check found: what passed, one line each, and every
// problem, each naming the config key it is about.
type CheckReport struct {
	Passed   []string
	Problems []error
}

func (r *CheckReport) pass(format string, args ...any) {
	r.Passed = append(r.Passed, fmt.Sprintf(format, args...))
}
func (r *CheckReport) fail(err error) { r.Problems = append(r.Problems, err) }

// Check does what Run does before it starts work, and starts nothing: it
// loads every plugin cfg names as Run would (the file, its sha256 pin, the
// ABI check, the handler its users need), connects to the brokers (or, with
// the embedded broker, checks its listen address, data_dir and TLS files)
// and checks that every topic the pipelines and sources use exists or is in
// [[topics]], which Run creates. cfg has been validated (config.Load).
// timeout bounds connecting to the brokers.
func Check(ctx context.Context, cfg *config.Config, timeout time.Duration, log zerolog.Logger) *CheckReport {
	r := &CheckReport{}
	checkPlugins(ctx, cfg, r)
	existing, known := checkBrokers(ctx, cfg, timeout, log, r)
	checkTopics(cfg, existing, known, r)
	return r
}

func checkPlugins(ctx context.Context, cfg *config.Config, r *CheckReport) {
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{Logger: zerolog.Nop()}) // no cache: nothing written
	if err != nil {
		r.fail(err)
		return
	}
	defer rt.Close(ctx)
	check := func(key string, o host.LoadOptions, batches bool) {
		p, err := rt.Load(ctx, o)
		if err != nil {
			r.fail(fmt.Errorf("%s.plugin: %w", key, err))
			return
		}
		defer p.Close(ctx)
		switch {
		case batches && !p.HandlesBatches():
			r.fail(fmt.Errorf("%s.plugin: %s (%s) has no record handler", key, o.Name, o.Path))
		case !batches && !p.HandlesTicks():
			r.fail(fmt.Errorf("%s.plugin: %s (%s) has no tick handler", key, o.Name, o.Path))
		default:
			pin := "not pinned"
			if o.SHA256 != "" {
				pin = "matches its sha256 pin"
			}
			r.pass("%s.plugin: %s loads, ABI %d, %s", key, o.Path, abi.Version, pin)
		}
	}
	for i, p := range cfg.Pipelines {
		check(fmt.Sprintf("pipelines[%d]", i), pipelinePlugin(cfg, p), true)
	}
	for i, s := range cfg.Sources {
		check(fmt.Sprintf("sources[%d]", i), sourcePlugin(cfg, s), false)
	}
}

// checkBrokers returns the topics the cluster has and whether they are
// known (false with the embedded broker's data_dir, which may hold any).
func checkBrokers(ctx context.Context, cfg *config.Config, timeout time.Duration, log zerolog.Logger, r *CheckReport) (map[string]bool, bool) {
	if cfg.Embedded() {
		return nil, checkEmbedded(cfg, r)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := kafka.Connect(cctx, ClientOptions(cfg, cfg.Kafka.Brokers), log)
	if err != nil {
		r.fail(fmt.Errorf("kafka.brokers: %w", err))
		return nil, false
	}
	defer client.Close()
	names, err := client.Topics()
	if err != nil {
		r.fail(fmt.Errorf("kafka.brokers: listing topics: %w", err))
		return nil, false
	}
	r.pass("kafka.brokers: %v answer (%d brokers, %d topics)", cfg.Kafka.Brokers, len(client.Brokers()), len(names))
	existing := map[string]bool{}
	for _, n := range names {
		existing[n] = true
	}
	return existing, true
}

// checkEmbedded checks what starting the embedded broker needs; it reports
// whether the broker starts empty (no data_dir).
func checkEmbedded(cfg *config.Config, r *CheckReport) bool {
	e := cfg.EmbeddedBroker
	ok := true
	if _, err := BrokerOptions(e, zerolog.Nop()); err != nil {
		r.fail(err)
		ok = false
	}
	if l, err := net.Listen("tcp", e.Listen); err != nil {
		r.fail(fmt.Errorf("embedded.listen: %w", err))
		ok = false
	} else {
		_ = l.Close()
	}
	if e.DataDir != "" {
		if err := creatableDir(e.DataDir); err != nil {
			r.fail(fmt.Errorf("embedded.data_dir: %w", err))
			ok = false
		}
	}
	if ok {
		r.pass("embedded broker: %s is free, its settings are usable (run starts it)", e.Listen)
	}
	return e.DataDir == ""
}

// creatableDir checks that dir is a directory, or that its nearest existing
// parent is one, so MkdirAll can make it.
func creatableDir(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) || filepath.Dir(d) == d {
			return err
		}
	}
}

// checkTopics checks that every topic a pipeline or source uses exists or
// will be created from [[topics]]; with known false only [[topics]] counts
// as proof and nothing is reported missing.
func checkTopics(cfg *config.Config, existing map[string]bool, known bool, r *CheckReport) {
	created := map[string]bool{}
	for _, t := range cfg.Topics {
		created[t.Name] = true
	}
	missing := 0
	need := func(key, topic string) {
		if created[topic] || existing[topic] || !known {
			return
		}
		missing++
		r.fail(fmt.Errorf("%s: topic %q does not exist and is not in [[topics]], so nothing creates it", key, topic))
	}
	var all []string
	for i, p := range cfg.Pipelines {
		for j, t := range p.Topics {
			need(fmt.Sprintf("pipelines[%d].topics[%d]", i, j), t)
			all = append(all, t)
		}
		for j, t := range p.ProduceTopics {
			need(fmt.Sprintf("pipelines[%d].produce_topics[%d]", i, j), t)
			all = append(all, t)
		}
		if t := p.Failure.DeadLetterTopic; t != "" {
			need(fmt.Sprintf("pipelines[%d].failure.dead_letter_topic", i), t)
			all = append(all, t)
		}
	}
	for i, s := range cfg.Sources {
		for j, t := range s.ProduceTopics {
			need(fmt.Sprintf("sources[%d].produce_topics[%d]", i, j), t)
			all = append(all, t)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	unsure := slices.DeleteFunc(all, func(t string) bool { return created[t] })
	switch {
	case missing > 0:
	case len(unsure) == 0:
		r.pass("topics: every topic used is in [[topics]]")
	case !known && cfg.Embedded():
		r.pass("topics: %v are not in [[topics]]; the embedded broker's data_dir may hold them, which only run can tell", unsure)
	case known:
		r.pass("topics: every topic used exists or is in [[topics]]")
	}
}

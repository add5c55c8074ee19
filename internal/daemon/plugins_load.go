package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/kafka"
)

// kafkaScheme starts the path of a plugin that comes from the plugin topic:
// "kafka://wasmhost-plugins/forward". It names the plugin in logs, errors
// and the status page, and keeps its slot apart from a file's.
const kafkaScheme = "kafka://"

func kafkaPath(topic, name string) string { return kafkaScheme + topic + "/" + name }

func fromKafka(o host.LoadOptions) bool { return strings.HasPrefix(o.Path, kafkaScheme) }

// pluginTopic is how the plugin set reaches the plugin topic.
type pluginTopic struct {
	client  sarama.Client // the daemon's, to create the topic
	opts    kafka.ClientOptions
	topic   string
	maxSize int
}

// newPluginTopic describes cfg's plugin topic, reached with copts.
func newPluginTopic(client sarama.Client, copts kafka.ClientOptions, cfg *config.Config) *pluginTopic {
	copts.MaxMessageBytes = int(cfg.Plugins.MaxSize) + fleet.RecordHeadroom
	return &pluginTopic{client: client, opts: copts, topic: cfg.Plugins.Topic, maxSize: int(cfg.Plugins.MaxSize)}
}

// trustedKeys maps plugins.trusted_keys.
func trustedKeys(cfg *config.Config) []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, k := range cfg.Plugins.TrustedKeys {
		out = append(out, ed25519.PublicKey(k[:]))
	}
	return out
}

// follow starts following the plugin topic, creating it when missing, if
// it is not followed yet.
func (s *pluginSet) follow(ctx context.Context) error {
	if s.follower != nil {
		return nil
	}
	if s.topic == nil {
		return errors.New("plugins from Kafka, but the daemon has no plugin topic")
	}
	t := s.topic
	created, err := fleet.EnsureTopic(ctx, t.client, t.topic, t.maxSize)
	if err != nil {
		return err
	}
	if created {
		s.log.Info().Str("topic", t.topic).Msg("plugin topic created (compacted, one partition); deploy plugins with wasmhost plugin deploy")
	}
	start := time.Now()
	f, err := fleet.Follow(ctx, t.opts, t.topic, s.log.With().Str("component", "plugin-topic").Logger())
	if err != nil {
		return err
	}
	s.follower = f
	s.log.Info().Str("topic", t.topic).Str("took", seconds(time.Since(start))).Msg("plugin topic read; following it")
	return nil
}

// changes signals records on the plugin topic; nil (never) when it is not
// followed.
func (s *pluginSet) changes() <-chan struct{} {
	if s.follower == nil {
		return nil
	}
	return s.follower.Changes()
}

// content is one version of a plugin, read but not loaded yet.
type content struct {
	sha    string
	code   []byte // nil for Kafka until fetched
	sig    *fleet.Signature
	kafka  *fleet.Version // the version record, from Kafka
	failID string         // what a refusal is remembered by (see slotEntry.failed)
	from   string         // for logs: the file, or the pointer that chose it
}

// read reads what o names now: the file and its detached signature, or
// the current version in the plugin topic.
func (s *pluginSet) read(o host.LoadOptions) (content, error) {
	if fromKafka(o) {
		if s.follower == nil {
			return content{}, errors.New("the plugin topic is not followed")
		}
		v, ptr, err := s.follower.Current(o.Name)
		if err != nil {
			return content{}, err
		}
		return content{sha: v.SHA256, sig: v.Signature, kafka: &v, failID: fmt.Sprintf("%s@%d", v.SHA256, ptr.Offset),
			from: fmt.Sprintf("%s by %s at %s", ptr.Action, ptr.By, ptr.Time.Format(time.RFC3339))}, nil
	}
	code, err := os.ReadFile(o.Path)
	if err != nil {
		return content{}, err
	}
	c := content{sha: fleet.SHA256(code), code: code, from: o.Path}
	c.failID = c.sha
	if len(s.trusted) > 0 {
		if c.sig, err = fleet.ReadSignatureFile(o.Path); err != nil {
			return content{}, fmt.Errorf("%s%s: %w", o.Path, fleet.SigSuffix, err)
		}
	}
	return c, nil
}

// load checks c's signature when keys are trusted, and loads it.
func (s *pluginSet) load(ctx context.Context, o host.LoadOptions, c content) (*host.Plugin, error) {
	if len(s.trusted) > 0 {
		if err := fleet.Verify(s.trusted, config.PluginName(o.Name), c.sha, c.sig); err != nil {
			return nil, &host.PluginError{Plugin: o.Name, Func: "load " + o.Path, Err: err}
		}
	}
	code := c.code
	if c.kafka != nil {
		var err error
		if code, err = s.follower.Code(ctx, *c.kafka); err != nil {
			return nil, &host.PluginError{Plugin: o.Name, Func: "load " + o.Path, Err: err}
		}
	}
	return s.rt.LoadCode(ctx, o, code)
}

// loadJob is one plugin version to load, and what became of it.
type loadJob struct {
	o    host.LoadOptions
	c    content
	log  zerolog.Logger
	p    *host.Plugin
	err  error
	took time.Duration
	// fellBack: p is the previous version, loaded because the current one
	// (c.failID) was refused.
	fellBack bool
}

// loadParallel loads the jobs at once, as many at a time as there are
// CPUs: compiling a Go plugin takes seconds, and one after the other they
// made start-up and reloads wait for the sum.
func (s *pluginSet) loadParallel(ctx context.Context, jobs []*loadJob) {
	n := s.workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			j.log.Info().Str("version", shortSHA(j.c.sha)).Str("from", j.c.from).Msg("plugin version loading")
			start := time.Now()
			j.p, j.err = s.load(ctx, j.o, j.c)
			j.took = time.Since(start)
		})
	}
	wg.Wait()
}

// seconds writes a duration with its unit, as "1.234s" or "35ms".
func seconds(d time.Duration) string { return d.Round(time.Millisecond).String() }

package daemon

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/kafka"
)

// TestPluginsFromKafka: a slot from the plugin topic loads the current
// version, refuses a plugin that was never deployed (naming the entry),
// follows deploys and rollbacks, keeps its sha256 pin (a version that does
// not match is refused and the pinned one keeps serving), and keeps serving
// a plugin withdrawn from the topic.
func TestPluginsFromKafka(t *testing.T) {
	ctx := context.Background()
	a := readPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := readPlugin(t, "internal/e2e/testdata/plugins/versionb")
	br, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{br.Addr()}
	copts := ClientOptions(cfg, cfg.Kafka.Brokers)
	copts.MaxMessageBytes = int(cfg.Plugins.MaxSize) + fleet.RecordHeadroom
	client, err := kafka.Connect(ctx, copts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	s, stats, logs := newTestPluginSet(t)
	s.topic = newPluginTopic(client, copts, cfg)

	pipe := config.DefaultPipeline()
	pipe.Name, pipe.Plugin, pipe.Topics, pipe.PluginFrom = "copy", "tag", []string{"in"}, config.FromKafka
	cfg.Pipelines = []config.Pipeline{pipe}
	err = s.loadAll(ctx, cfg, cfg.Pipelines, nil)
	if err == nil || !strings.Contains(err.Error(), "pipelines[0].plugin: plugin tag: not deployed") {
		t.Fatalf("a plugin never deployed: %v", err)
	}

	pub, err := fleet.NewPublisher(client, cfg.Plugins.Topic, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	deploy := func(code []byte) {
		if _, _, err := pub.Deploy(ctx, fleet.Module{Name: "tag", Code: code, ABI: 2}, false); err != nil {
			t.Fatal(err)
		}
	}
	deploy(a)
	// Pinned to A: the follower started above has not seen the deploy yet.
	waitKafka(t, s, fleet.SHA256(a))
	copy(cfg.Pipelines[0].SHA256[:], mustHex(t, fleet.SHA256(a)))
	if err := s.loadAll(ctx, cfg, cfg.Pipelines, nil); err != nil {
		t.Fatal(err)
	}
	o := pipelinePlugin(cfg, cfg.Pipelines[0])
	if o.Path != "kafka://wasmhost-plugins/tag" {
		t.Fatalf("path %q", o.Path)
	}
	slot := s.use(o, true)
	running := func() string { return slot.Plugin().SHA256() }

	deploy(b)
	waitKafka(t, s, fleet.SHA256(b))
	s.refreshKafka(ctx, false)
	if running() != fleet.SHA256(a) || !bytes.Contains(logs.Bytes(), []byte("sha256 mismatch")) || stats.PluginFailures.Load() != 1 {
		t.Fatalf("a version against the pin: serving %.12s, %d refusals\n%s", running(), stats.PluginFailures.Load(), logs)
	}
	s.refreshKafka(ctx, false)
	if stats.PluginFailures.Load() != 1 {
		t.Fatal("a refused version was tried again with no new pointer")
	}

	if err := pub.Remove(ctx, "tag", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removal", func() bool { _, _, err := s.follower.Current("tag"); return err != nil })
	s.refreshKafka(ctx, false)
	if running() != fleet.SHA256(a) || !bytes.Contains(logs.Bytes(), []byte("plugin withdrawn from the plugin topic")) {
		t.Fatalf("after remove: serving %.12s\n%s", running(), logs)
	}
}

// TestPluginsFromKafkaFollowDeploys: unpinned, a slot follows a deploy and
// a rollback, each through the same swap as a file's.
func TestPluginsFromKafkaFollowDeploys(t *testing.T) {
	ctx := context.Background()
	a := readPlugin(t, "internal/e2e/testdata/plugins/versiona")
	b := readPlugin(t, "internal/e2e/testdata/plugins/versionb")
	br, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{br.Addr()}
	cfg.Plugins.From = config.FromKafka
	copts := ClientOptions(cfg, cfg.Kafka.Brokers)
	copts.MaxMessageBytes = int(cfg.Plugins.MaxSize) + fleet.RecordHeadroom
	client, err := kafka.Connect(ctx, copts, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	if _, err := fleet.EnsureTopic(ctx, client, cfg.Plugins.Topic, int(cfg.Plugins.MaxSize)); err != nil {
		t.Fatal(err)
	}
	pub, err := fleet.NewPublisher(client, cfg.Plugins.Topic, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if _, _, err := pub.Deploy(ctx, fleet.Module{Name: "tag", Code: a, ABI: 2}, false); err != nil {
		t.Fatal(err)
	}
	s, stats, logs := newTestPluginSet(t)
	s.topic = newPluginTopic(client, copts, cfg)
	pipe := config.DefaultPipeline()
	pipe.Name, pipe.Plugin, pipe.Topics = "copy", "tag", []string{"in"}
	cfg.Pipelines = []config.Pipeline{pipe}
	if err := s.loadAll(ctx, cfg, cfg.Pipelines, nil); err != nil {
		t.Fatal(err)
	}
	slot := s.use(pipelinePlugin(cfg, pipe), true)
	for i, want := range [][]byte{b, a} {
		if i == 0 {
			if _, _, err := pub.Deploy(ctx, fleet.Module{Name: "tag", Code: b, ABI: 2}, false); err != nil {
				t.Fatal(err)
			}
		} else if _, err := pub.Rollback(ctx, "tag", ""); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.changes():
		case <-time.After(20 * time.Second):
			t.Fatal("no change signalled")
		}
		waitKafka(t, s, fleet.SHA256(want))
		s.refreshKafka(ctx, false)
		if got := slot.Plugin().SHA256(); got != fleet.SHA256(want) {
			t.Fatalf("step %d: serving %.12s\n%s", i, got, logs)
		}
	}
	if stats.PluginSwaps.Load() != 2 || !bytes.Contains(logs.Bytes(), []byte(`"message":"plugin version loading"`)) {
		t.Fatalf("%d swaps\n%s", stats.PluginSwaps.Load(), logs)
	}
}

func waitKafka(t *testing.T, s *pluginSet, sha string) {
	t.Helper()
	waitFor(t, "version "+sha[:12]+" in the plugin topic", func() bool {
		if s.follower == nil {
			return false
		}
		v, _, err := s.follower.Current("tag")
		return err == nil && v.SHA256 == sha
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var d config.Digest
	if err := d.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return d[:]
}

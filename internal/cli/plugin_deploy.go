package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/plugintool"
	"github.com/wasmhost/wasmhost/kafka"
)

// The plugin topic's commands: deploy, list, rollback, remove. They reach
// the topic the daemon's config names (--config), or --brokers and --topic.

// topicFlags say how to reach the plugin topic.
type topicFlags struct {
	config  string
	brokers []string
	topic   string
	maxSize config.Size
	by      string
	timeout time.Duration
}

func (f *topicFlags) add(cmd *cobra.Command) {
	def := config.Default().Plugins
	f.maxSize = def.MaxSize
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "the daemon's config: its brokers (or embedded broker), plugins.topic and plugins.max_size")
	fl.StringSliceVar(&f.brokers, "brokers", []string{"127.0.0.1:9092"}, "bootstrap brokers, without --config")
	fl.StringVar(&f.topic, "topic", def.Topic, "the plugin topic, without --config")
	fl.TextVar(&f.maxSize, "max-size", &f.maxSize, "the largest module, without --config (as plugins.max_size)")
	fl.StringVar(&f.by, "by", whoAmI(), "who deploys, recorded with each version and pointer")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "give up after this long")
}

// whoAmI is user@host, for the deployed_by header.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// topicConn is a connection to the plugin topic.
type topicConn struct {
	client  sarama.Client
	pub     *fleet.Publisher
	topic   string
	maxSize int
}

func (c *topicConn) close() {
	_ = c.pub.Close()
	_ = c.client.Close()
}

// connectTopic connects as the flags say; create makes the topic when it
// is missing.
func (f *topicFlags) connect(ctx context.Context, cmd *cobra.Command, create bool) (*topicConn, error) {
	opts := kafka.ClientOptions{Brokers: f.brokers}
	topic, maxSize := f.topic, int(f.maxSize)
	if f.config != "" {
		cfg, err := loadConfig(f.config)
		if err != nil {
			return nil, err
		}
		brokers := cfg.Kafka.Brokers
		if cfg.Embedded() {
			brokers = daemon.EmbeddedBrokerAddr(cfg)
		}
		opts = daemon.ClientOptions(cfg, brokers)
		topic, maxSize = cfg.Plugins.Topic, int(cfg.Plugins.MaxSize)
	}
	opts.MaxMessageBytes = maxSize + fleet.RecordHeadroom
	log := newLogger(cmd.ErrOrStderr(), config.LevelWarn, config.FormatAuto)
	client, err := kafka.Connect(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	if create {
		created, err := fleet.EnsureTopic(ctx, client, topic, maxSize)
		if err != nil {
			_ = client.Close()
			return nil, err
		}
		if created {
			fmt.Fprintf(cmd.OutOrStdout(), "created the plugin topic %s\n", topic)
		}
	}
	pub, err := fleet.NewPublisher(client, topic, f.by)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return &topicConn{client: client, pub: pub, topic: topic, maxSize: maxSize}, nil
}

func newPluginDeployCmd() *cobra.Command {
	var f topicFlags
	var dir, signKey string
	var ifMissing bool
	cmd := &cobra.Command{
		Use:   "deploy NAME FILE | --dir DIR",
		Short: "Publish a plugin to the plugin topic: every daemon taking it from Kafka swaps it in",
		Long: `Check FILE as 'wasmhost plugin inspect' does and, if the host would load it,
publish it as plugin NAME to the plugin topic (created if missing): its
version record (key NAME@SHA256; headers for sha256, ABI version, size, time
and --by), then the pointer that makes it current. Daemons whose plugins come
from Kafka (plugins.from or plugin_from = "kafka") swap it in at their next
batch; one that cannot load it keeps serving the version it runs, and says
why. --dir deploys every DIR/NAME.wasm. --sign KEY signs NAME and the sha256
with a key from 'wasmhost plugin keygen', for daemons with
plugins.trusted_keys. --if-missing publishes only plugins with no current
version: how a bootstrap job seeds the topic without undoing later deploys.`,
		Args: wrapArgs(cobra.MaximumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			mods, err := deployArgs(args, dir)
			if err != nil {
				return err
			}
			return runDeploy(cmd, &f, mods, signKey, ifMissing)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "deploy every .wasm file of this directory, named after the file")
	cmd.Flags().StringVar(&signKey, "sign", "", "sign with this private key (wasmhost plugin keygen)")
	cmd.Flags().BoolVar(&ifMissing, "if-missing", false, "skip plugins that already have a current version")
	return cmd
}

// namedFile is a plugin name and the file to deploy as it.
type namedFile struct{ name, path string }

func deployArgs(args []string, dir string) ([]namedFile, error) {
	var out []namedFile
	switch {
	case dir != "" && len(args) > 0:
		return nil, usagef("deploy: give NAME FILE or --dir DIR, not both")
	case dir != "":
		files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
		if err != nil || len(files) == 0 {
			return nil, usagef("deploy: --dir %s: no .wasm files", dir)
		}
		for _, p := range files {
			out = append(out, namedFile{config.PluginName(p), p})
		}
	case len(args) == 2:
		out = append(out, namedFile{args[0], args[1]})
	default:
		return nil, usagef("deploy: give NAME FILE (or --dir DIR)")
	}
	for _, m := range out {
		if !config.ValidPluginName(m.name) {
			return nil, usagef("deploy: %q is not a plugin name (a-z, A-Z, 0-9, '.', '_', '-'; not ending in .wasm)", m.name)
		}
	}
	return out, nil
}

func runDeploy(cmd *cobra.Command, f *topicFlags, files []namedFile, signKey string, ifMissing bool) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	var key []byte
	if signKey != "" {
		k, err := fleet.ReadPrivateKey(signKey)
		if err != nil {
			return usageError{fmt.Errorf("--sign: %w", err)}
		}
		key = k
	}
	// The daemons' trusted keys, when their config is given: a module they
	// would refuse for its signature is refused here already.
	var trusted []ed25519.PublicKey
	if f.config != "" {
		cfg, err := loadConfig(f.config)
		if err != nil {
			return err
		}
		for _, k := range cfg.Plugins.TrustedKeys {
			trusted = append(trusted, ed25519.PublicKey(k[:]))
		}
	}
	// Every module is checked before anything is published.
	var mods []fleet.Module
	for _, nf := range files {
		m, err := checkModule(ctx, cmd.ErrOrStderr(), nf, int(f.maxSize), f.config == "")
		if err != nil {
			return err
		}
		if key != nil {
			sig := fleet.Sign(key, m.Name, fleet.SHA256(m.Code))
			m.Signature = &sig
		}
		if len(trusted) > 0 {
			if err := fleet.Verify(trusted, m.Name, fleet.SHA256(m.Code), m.Signature); err != nil {
				return fmt.Errorf("%s (%s): not deployed: daemons with %s would refuse it: %w", m.Name, nf.path, f.config, err)
			}
		}
		mods = append(mods, m)
	}
	conn, err := f.connect(ctx, cmd, true)
	if err != nil {
		return err
	}
	defer conn.close()
	out := cmd.OutOrStdout()
	for _, m := range mods {
		if len(m.Code) > conn.maxSize {
			return fmt.Errorf("%s: %s is larger than plugins.max_size (%s): raise it on the daemons and here", m.Name, humanSize(len(m.Code)), config.Size(conn.maxSize))
		}
		v, deployed, err := conn.pub.Deploy(ctx, m, ifMissing)
		if err != nil {
			return err
		}
		if !deployed {
			fmt.Fprintf(out, "%s: already deployed (version %s, %s by %s): left alone\n", m.Name, short(v.SHA256), v.Time.Format(time.RFC3339), v.By)
			continue
		}
		signed := "unsigned"
		if m.Signature != nil {
			signed = "signed by key " + m.Signature.Key
		}
		fmt.Fprintf(out, "%s: deployed version %s (%s, ABI %d, %s) to %s\n", m.Name, v.SHA256, humanSize(v.Size), v.ABI, signed, conn.topic)
	}
	return nil
}

// checkModule reads a file and inspects it as `plugin inspect` does; a
// module the host would refuse is an error listing why.
func checkModule(ctx context.Context, stderr io.Writer, nf namedFile, maxSize int, sizeFromFlag bool) (fleet.Module, error) {
	code, err := os.ReadFile(nf.path)
	if err != nil {
		return fleet.Module{}, usageError{err}
	}
	if sizeFromFlag && len(code) > maxSize {
		return fleet.Module{}, fmt.Errorf("%s: %s is larger than --max-size %s", nf.path, humanSize(len(code)), config.Size(maxSize))
	}
	rt, err := host.NewRuntime(ctx, host.RuntimeOptions{CacheDir: testCacheDir(), Logger: zerolog.New(io.Discard)})
	if err != nil {
		// No writable cache (a read-only home in a container): compile
		// without one.
		if rt, err = host.NewRuntime(ctx, host.RuntimeOptions{Logger: zerolog.New(io.Discard)}); err != nil {
			return fleet.Module{}, err
		}
	}
	defer rt.Close(ctx)
	in, err := rt.InspectCode(ctx, host.LoadOptions{Name: nf.name, Path: nf.path, MemoryLimit: uint64(config.DefaultPipeline().Limits.Memory)}, code)
	if err != nil {
		return fleet.Module{}, err
	}
	if len(in.Problems) > 0 {
		_ = plugintool.FormatInspection(stderr, in)
		return fleet.Module{}, fmt.Errorf("%s (%s): not deployed: the host would refuse it: %s", nf.name, nf.path, strings.Join(in.Problems, "; "))
	}
	return fleet.Module{Name: nf.name, Code: code, ABI: int(in.ABIVersion)}, nil
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

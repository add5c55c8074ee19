package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
	"github.com/wasmhost/wasmhost/kafka"
)

func newTopicsCmd() *cobra.Command {
	topics := &cobra.Command{
		Use:   "topics",
		Short: "Manage the topics named in the config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("topics: missing subcommand (try 'wasmhost topics setup --help')")
		},
	}
	var path string
	var recreate bool
	var timeout time.Duration
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create the configured topics (--recreate deletes them first)",
		Long: `Create every [[topics]] entry of the config on its cluster (the embedded
broker's listen address when no brokers are configured; start it with
'wasmhost broker' or 'wasmhost run'). Prints one line per topic: created,
already exists, or failed and why. --recreate deletes each topic first and
waits until the deletion has completed.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			return setupTopics(cmd, cfg, recreate, timeout)
		},
	}
	setup.Flags().StringVarP(&path, "config", "c", "config.toml", "config file")
	setup.Flags().BoolVar(&recreate, "recreate", false, "delete each topic first (its records are lost) and wait for the deletion")
	setup.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	topics.AddCommand(setup)
	return topics
}

func setupTopics(cmd *cobra.Command, cfg *config.Config, recreate bool, timeout time.Duration) error {
	if len(cfg.Topics) == 0 {
		fmt.Fprintln(cmd.OutOrStdout(), "no [[topics]] in the config: nothing to do")
		return nil
	}
	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		brokers = daemon.EmbeddedBrokerAddr(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	log := newLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	client, err := kafka.Connect(ctx, daemon.ClientOptions(cfg, brokers), log)
	if err != nil {
		return err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range kafka.SetupTopics(ctx, admin, daemon.TopicSpecs(cfg.Topics), recreate) {
		fmt.Fprintln(cmd.OutOrStdout(), r.String())
		if r.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		return errors.New(fmt.Sprint(failed, " of ", len(cfg.Topics), " topics failed"))
	}
	return nil
}

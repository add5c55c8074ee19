package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
)

func newRunCmd() *cobra.Command {
	var path, level, format string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: sources, pipelines and (with no brokers configured) the embedded broker",
		Long: `Run the daemon described by the config file. With no kafka.brokers it
starts the embedded broker first. SIGINT or SIGTERM stops it gracefully:
sources stop, actors finish their batch and commit, the producer flushes.
A second signal exits at once.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			if err := overrideLog(cfg, level, format); err != nil {
				return err
			}
			log := newLogger(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			ctx, stop := signalContext(log)
			defer stop()
			return daemon.Run(ctx, cfg, log, nil)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", "config.toml", "config file")
	cmd.Flags().StringVar(&level, "log-level", "", "override log.level (trace, debug, info, warn, error)")
	cmd.Flags().StringVar(&format, "log-format", "", "override log.format (auto, console, json)")
	return cmd
}

func overrideLog(cfg *config.Config, level, format string) error {
	if level != "" {
		if err := cfg.Log.Level.UnmarshalText([]byte(level)); err != nil {
			return usagef("--log-level: %w", err)
		}
	}
	if format != "" {
		if err := cfg.Log.Format.UnmarshalText([]byte(format)); err != nil {
			return usagef("--log-format: %w", err)
		}
	}
	return nil
}

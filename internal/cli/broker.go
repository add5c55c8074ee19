package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

func newBrokerCmd() *cobra.Command {
	def := config.Default().EmbeddedBroker
	var listen, dataDir, level, format string
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker on its own",
		Long: `Run the embedded broker (franz-go's kfake) alone, so several daemons and
any Kafka client can share it. Records, groups and offsets persist in
--data-dir ("" keeps them in memory). Stops on SIGINT or SIGTERM.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lvl := config.LevelInfo
			if err := lvl.UnmarshalText([]byte(level)); err != nil {
				return usagef("--log-level: %w", err)
			}
			fmtv := config.FormatAuto
			if err := fmtv.UnmarshalText([]byte(format)); err != nil {
				return usagef("--log-format: %w", err)
			}
			log := newLogger(os.Stderr, lvl, fmtv)
			if dataDir != "" {
				if err := os.MkdirAll(dataDir, 0o755); err != nil {
					return err
				}
			}
			b, err := kafka.StartBroker(kafka.BrokerOptions{Listen: listen, DataDir: dataDir, Logger: log})
			if err != nil {
				return err
			}
			log.Info().Str("addr", b.Addr()).Str("data_dir", dataDir).Msg("embedded Kafka broker listening")
			ctx, stop := signalContext(log)
			defer stop()
			<-ctx.Done()
			b.Close()
			log.Info().Msg("broker stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", def.Listen, "host:port to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data-dir", def.DataDir, `directory that persists records and offsets ("" = memory only)`)
	cmd.Flags().StringVar(&level, "log-level", "info", "log level (trace, debug, info, warn, error)")
	cmd.Flags().StringVar(&format, "log-format", "auto", "log format: auto (console on a terminal, JSON otherwise), console, json")
	return cmd
}

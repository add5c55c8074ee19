package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/daemon"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a config file",
		RunE: func(*cobra.Command, []string) error {
			return usagef("config: missing subcommand (check)")
		},
	}
	var path string
	var timeout time.Duration
	check := &cobra.Command{
		Use:   "check",
		Short: "Check everything run checks before it starts work, and start nothing",
		Long: `Check the config file and everything 'wasmhost run' checks before it starts
work, without starting anything: the config itself; every plugin file loads
in the sandbox, matches its sha256 pin, speaks this wasmhost's ABI and has
the handler its pipelines or sources need; the brokers answer (or, with no
kafka.brokers, the embedded broker's listen address is free and its TLS
files and data_dir are usable); every topic the pipelines and sources use
exists or is in [[topics]], which run creates. Prints what passed, then
every problem; exits 0 when there is none, 2 otherwise. Run it in CI before
a deploy.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			cfg, err := config.Load(path)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(out, "ok    %s: the config is valid\n", path)
			r := daemon.Check(cmd.Context(), cfg, timeout, zerolog.New(io.Discard))
			for _, p := range r.Passed {
				fmt.Fprintf(out, "ok    %s\n", p)
			}
			for _, p := range r.Problems {
				fmt.Fprintf(out, "FAIL  %v\n", p)
			}
			if len(r.Problems) > 0 {
				return usagef("%s: %d problems", path, len(r.Problems))
			}
			fmt.Fprintf(out, "%s: no problems: run would start\n", path)
			return nil
		},
	}
	check.Flags().StringVarP(&path, "config", "c", "config.toml", "config file")
	check.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to try to reach the brokers")
	cmd.AddCommand(check)
	return cmd
}

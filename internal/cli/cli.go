package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

const abiVersion = abi.Version

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// usageError marks errors that exit with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the CLI with args (without the program name) and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return execute(newRoot(stdout, stderr), args, stderr)
}

// execute runs root with args and returns the exit code.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "wasmhost:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "wasmhost",
		Short: "Run Kafka consumer actors that hand records to sandboxed WebAssembly plugins",
		Long: `wasmhost runs Kafka consumer-group actors that feed every record to
sandboxed WebAssembly plugins, which produce records back through the host.
With no brokers configured it starts an embedded Kafka-protocol broker.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(), newReloadCmd(), newBrokerCmd(), newTopicsCmd(), newStatusCmd(), newVerifyCmd(), newPluginCmd(), newVersionCmd())
	root.Args = wrapArgs(cobra.NoArgs) // an unknown command is a usage error
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs makes positional-argument errors usage errors.
func wrapArgs(f cobra.PositionalArgs) cobra.PositionalArgs {
	if f == nil {
		f = cobra.NoArgs
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the wasmhost version and the plugin ABI version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "wasmhost %s (plugin ABI %d)\n", Version, abiVersion)
			return nil
		},
	}
}

// loadConfig loads and validates a config file; every problem is a usage
// error (exit code 2).
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

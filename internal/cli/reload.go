package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func newReloadCmd() *cobra.Command {
	var pid int
	var pidFile string
	cmd := &cobra.Command{
		Use:   "reload (--pid PID | --pid-file FILE)",
		Short: "Ask a running daemon to reload its config and plugin files (sends SIGHUP)",
		Long: `Send SIGHUP to a running 'wasmhost run', identified by --pid or by the
--pid-file it was started with. The daemon reloads its config file and
rescans its plugin files; whether the new config was applied or rejected,
and why, is in its log. For operators who turn reload.watch_plugins off.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (pid == 0) == (pidFile == "") {
				return usagef("give exactly one of --pid and --pid-file")
			}
			if pidFile != "" {
				b, err := os.ReadFile(pidFile)
				if err != nil {
					return usagef("--pid-file: %w", err)
				}
				if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || pid <= 0 {
					return usagef("--pid-file %s: %q is not a process id", pidFile, strings.TrimSpace(string(b)))
				}
			}
			if pid <= 0 {
				return usagef("--pid: %d is not a process id", pid)
			}
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				if errors.Is(err, syscall.ESRCH) {
					return fmt.Errorf("no process %d: is the daemon running?", pid)
				}
				return fmt.Errorf("signal process %d: %w", pid, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent SIGHUP to %d; the daemon's log says what it applied\n", pid)
			return nil
		},
	}
	cmd.Flags().IntVar(&pid, "pid", 0, "process id of the daemon")
	cmd.Flags().StringVar(&pidFile, "pid-file", "", "file holding the daemon's process id ('wasmhost run --pid-file')")
	return cmd
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/fleet"
)

// plugin list, rollback and remove: reading and moving the plugin topic's
// pointers.

func newPluginListCmd() *cobra.Command {
	var f topicFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the plugins in the plugin topic: current and earlier versions, when and by whom",
		Args:  wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withConn(cmd, func(ctx context.Context, conn *topicConn) error {
				cat, err := conn.pub.Catalog(ctx)
				if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
					fmt.Fprintf(cmd.OutOrStdout(), "no plugins deployed: the plugin topic %s does not exist yet (plugin deploy creates it)\n", conn.topic)
					return nil
				}
				if cat == nil {
					return err
				}
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "wasmhost: some records were skipped:", err)
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), cat.Plugins())
				}
				return formatCatalog(cmd.OutOrStdout(), cat.Plugins())
			})
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newPluginRollbackCmd() *cobra.Command {
	var f topicFlags
	var to string
	cmd := &cobra.Command{
		Use:   "rollback NAME",
		Short: "Make an earlier version of a plugin current again",
		Long: `Point plugin NAME at the version deployed before the current one, or at
--to SHA256 (a unique prefix will do; 'wasmhost plugin list' shows them).
Daemons following the topic swap it in as they would a new deploy.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withConn(cmd, func(ctx context.Context, conn *topicConn) error {
				v, err := conn.pub.Rollback(ctx, args[0], to)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: rolled back to version %s (deployed %s by %s)\n", args[0], v.SHA256, v.Time.Format(time.RFC3339), v.By)
				return nil
			})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the version (sha256 or a unique prefix) to go back to")
	return cmd
}

func newPluginRemoveCmd() *cobra.Command {
	var f topicFlags
	var purge bool
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Withdraw a plugin from the plugin topic",
		Long: `Mark plugin NAME removed: running daemons keep serving the version they have
loaded (and log that it was withdrawn), but a daemon that starts cannot load
it. Its versions stay, so 'rollback NAME --to SHA' brings it back; --purge
also deletes them (tombstones, removed by compaction).`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.withConn(cmd, func(ctx context.Context, conn *topicConn) error {
				if err := conn.pub.Remove(ctx, args[0], purge); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: removed\n", args[0])
				return nil
			})
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete every version")
	return cmd
}

// formatCatalog prints each plugin, its pointer and its versions, newest
// first.
func formatCatalog(w io.Writer, plugins []fleet.Plugin) error {
	if len(plugins) == 0 {
		_, err := fmt.Fprintln(w, "no plugins deployed")
		return err
	}
	for _, p := range plugins {
		switch {
		case p.Current == nil:
			fmt.Fprintf(w, "%s: no current version\n", p.Name)
		case p.Current.SHA256 == "":
			fmt.Fprintf(w, "%s: removed %s by %s\n", p.Name, p.Current.Time.Format(time.RFC3339), p.Current.By)
		default:
			fmt.Fprintf(w, "%s: current %s (%s %s by %s)\n", p.Name, short(p.Current.SHA256), p.Current.Action, p.Current.Time.Format(time.RFC3339), p.Current.By)
		}
		vs := slices.Clone(p.Versions)
		slices.Reverse(vs)
		for _, v := range vs {
			mark := " "
			if p.Current != nil && p.Current.SHA256 == v.SHA256 {
				mark = "*"
			}
			signed := "unsigned"
			if v.Signature != nil {
				signed = "signed " + short(strings.TrimPrefix(v.Signature.Key, config.PublicKeyPrefix))
			}
			fmt.Fprintf(w, "  %s %s  %9s  abi %d  %-15s  %s  %s\n", mark, v.SHA256, humanSize(v.Size), v.ABI, signed, v.Time.Format(time.RFC3339), v.By)
		}
	}
	return nil
}

// withConn runs fn with a connection to the plugin topic, under the
// command's --timeout.
func (f *topicFlags) withConn(cmd *cobra.Command, fn func(context.Context, *topicConn) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	conn, err := f.connect(ctx, cmd, false)
	if err != nil {
		return err
	}
	defer conn.close()
	return fn(ctx, conn)
}

package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/mattn/go-isatty"
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
	var recreate, yes bool
	var timeout time.Duration
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create the configured topics (--recreate deletes them first)",
		Long: `Create every [[topics]] entry of the config on its cluster (the embedded
broker's listen address when no brokers are configured; start it with
'wasmhost broker' or 'wasmhost run'). Prints one line per topic: created or
already exists (with its partitions and replication factor), or failed and
why.

--recreate first deletes every topic (deleted, did not exist, or failed and
why), waits until the deletions have completed, then creates them again,
empty. It deletes records, so it asks for confirmation when stdin is a
terminal; without a terminal (a script, CI) it refuses (exit 2) unless --yes
says the deletion is meant.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(path)
			if err != nil {
				return err
			}
			return setupTopics(cmd, cfg, recreate, yes, timeout)
		},
	}
	setup.Flags().StringVarP(&path, "config", "c", "config.toml", "config file")
	setup.Flags().BoolVar(&recreate, "recreate", false, "delete each topic first (its records are lost) and wait for the deletion")
	setup.Flags().BoolVarP(&yes, "yes", "y", false, "with --recreate: delete without asking")
	setup.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "give up after this long")
	topics.AddCommand(setup)
	return topics
}

// stdinIsTerminal says whether --recreate can ask for confirmation; tests
// replace it.
var stdinIsTerminal = func(cmd *cobra.Command) bool {
	f, ok := cmd.InOrStdin().(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// errNotConfirmed: the user answered no to --recreate's question.
var errNotConfirmed = errors.New("topics setup --recreate: not confirmed; nothing was deleted")

// confirmRecreate asks before --recreate deletes anything, unless yes.
func confirmRecreate(cmd *cobra.Command, cfg *config.Config, brokers []string, yes bool) error {
	if yes {
		return nil
	}
	names := make([]string, len(cfg.Topics))
	for i, t := range cfg.Topics {
		names[i] = t.Name
	}
	what := fmt.Sprintf("%d topics (%s) on %s", len(names), strings.Join(names, ", "), strings.Join(brokers, ", "))
	if !stdinIsTerminal(cmd) {
		return usagef("topics setup --recreate would delete %s with every record in them: pass --yes to confirm (stdin is not a terminal to ask on)", what)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "--recreate deletes %s with every record in them. Continue? [y/N] ", what)
	answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errNotConfirmed
}

func setupTopics(cmd *cobra.Command, cfg *config.Config, recreate, yes bool, timeout time.Duration) error {
	out := cmd.OutOrStdout()
	if len(cfg.Topics) == 0 {
		fmt.Fprintln(out, "no [[topics]] in the config: nothing to do")
		return nil
	}
	brokers := cfg.Kafka.Brokers
	if cfg.Embedded() {
		brokers = daemon.EmbeddedBrokerAddr(cfg)
	}
	if recreate {
		if err := confirmRecreate(cmd, cfg, brokers, yes); err != nil {
			return err
		}
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
	specs := daemon.TopicSpecs(cfg.Topics)
	var deleted []kafka.TopicResult
	if recreate {
		fmt.Fprintf(out, "deleting %d topics on %s:\n", len(specs), strings.Join(brokers, ", "))
		deleted = kafka.DeleteTopics(admin, specs)
		printResults(out, deleted)
		fmt.Fprint(out, "waiting for the deletions to complete: ")
		start := time.Now()
		if err := kafka.WaitDeleted(ctx, admin, deleted); err != nil {
			fmt.Fprintf(out, "failed: %v\n", err)
			for i := range deleted { // not created again: see CreateTopics
				if deleted[i].Err == nil {
					deleted[i].Status, deleted[i].Err = kafka.TopicFailed, err
				}
			}
		} else {
			took := time.Since(start)
			fmt.Fprintf(out, "done in %s\n", took.Round(max(time.Microsecond, min(time.Millisecond, took/100))))
		}
	}
	fmt.Fprintf(out, "creating %d topics on %s:\n", len(specs), strings.Join(brokers, ", "))
	failed := printResults(out, kafka.CreateTopics(ctx, admin, specs, deleted))
	if failed > 0 {
		return fmt.Errorf("%d of %d topics failed", failed, len(specs))
	}
	return nil
}

// printResults prints a step's line per topic and counts the failures.
func printResults(w io.Writer, rs []kafka.TopicResult) int {
	failed := 0
	for _, r := range rs {
		fmt.Fprintln(w, "  "+r.String())
		if r.Err != nil {
			failed++
		}
	}
	return failed
}

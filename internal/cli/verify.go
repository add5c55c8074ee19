package cli

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/internal/verify"
	"github.com/wasmhost/wasmhost/kafka"
)

func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a pipeline's delivery guarantee: produce sequenced records, then compare output with input",
		RunE: func(*cobra.Command, []string) error {
			return usagef("verify: missing subcommand (produce or check)")
		},
	}
	var brokers []string
	cmd.PersistentFlags().StringSliceVar(&brokers, "brokers", []string{"127.0.0.1:9092"}, "bootstrap brokers")

	var po verify.ProduceOptions
	produce := &cobra.Command{
		Use:   "produce",
		Short: "Produce sequenced records (key k-N, header seq=N) to a topic",
		Args:  wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if po.Topic == "" || po.Count <= 0 {
				return usagef("verify produce: --topic and a positive --count are required")
			}
			cfg, err := kafka.NewSaramaConfig(kafka.ClientOptions{Brokers: brokers})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := verify.Produce(ctx, cfg, brokers, po); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "produced seq %d..%d to %s\n", po.From, po.From+po.Count-1, po.Topic)
			return nil
		},
	}
	produce.Flags().StringVar(&po.Topic, "topic", "", "input topic")
	produce.Flags().IntVar(&po.From, "from", 0, "first sequence number")
	produce.Flags().IntVar(&po.Count, "count", 0, "number of records")
	produce.Flags().IntVar(&po.Rate, "rate", 0, "records per second (0 = as fast as possible)")
	produce.Flags().IntVar(&po.ValueSize, "value-size", 0, "pad values to this many bytes")

	var co verify.CheckOptions
	var rules verify.Rules
	check := &cobra.Command{
		Use:   "check",
		Short: "Compare an output topic with its input: missing, duplicated, out-of-order records per partition",
		Long: `Read the input and output topics to their end (--read-committed for
exactly-once pipelines) and the group's committed offsets, and print per input
partition the records missing from the output, duplicated, out of order, and
committed but missing. Exits 1 when a record is missing or a committed one is
lost, on stray records, and with --read-committed (exactly-once) on any
duplicate; with --exact, also on reordering. --dead-letter TOPIC counts an
input record found in the pipeline's dead-letter topic, whose
wasmhost.source.* headers must name it, as delivered. --at-most-once reports
missing records without failing on them, and fails on duplicates.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if co.Input == "" || co.Output == "" {
				return usagef("verify check: --input and --output are required")
			}
			cfg, err := kafka.NewSaramaConfig(kafka.ClientOptions{Brokers: brokers})
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r, err := verify.Check(ctx, cfg, brokers, co)
			if err != nil {
				return err
			}
			if err := r.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			rules.ReadCommitted = co.ReadCommitted
			if fails := r.Failures(rules); len(fails) > 0 {
				return fmt.Errorf("verification failed: %s", strings.Join(fails, ", "))
			}
			return nil
		},
	}
	check.Flags().StringVar(&co.Input, "input", "", "input topic")
	check.Flags().StringVar(&co.Output, "output", "", "output topic")
	check.Flags().StringVar(&co.Group, "group", "", "consumer group whose committed offsets to check")
	check.Flags().BoolVar(&co.ReadCommitted, "read-committed", false, "read the output with isolation read_committed")
	check.Flags().DurationVar(&co.Idle, "idle", 2*time.Second, "a partition silent this long is read to its end")
	check.Flags().BoolVar(&rules.Exact, "exact", false, "fail on duplicates and reordering too")
	check.Flags().StringVar(&co.DeadLetter, "dead-letter", "", "the pipeline's dead-letter topic: input records found there count as delivered")
	check.Flags().BoolVar(&rules.AtMostOnce, "at-most-once", false, "report missing records without failing on them; fail on duplicates")
	cmd.AddCommand(produce, check)
	return cmd
}

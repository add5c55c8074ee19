package verify

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
)

// CheckOptions say what to compare.
type CheckOptions struct {
	Input, Output string
	// Group, when set, adds the group's committed offsets to the report:
	// every input record below a committed offset must have its output.
	Group string
	// ReadCommitted reads the output as a read_committed consumer would
	// (exactly-once pipelines); the config passed to Check is copied.
	ReadCommitted bool
	// Idle is how long a partition may stay silent before it is taken as
	// read to the end (default 2s).
	Idle time.Duration
}

// PartitionReport is the result for one input partition.
type PartitionReport struct {
	Partition  int32
	Input      int   // input records
	Output     int   // output records derived from them (duplicates included)
	Missing    int   // input records with no output
	Duplicated int   // output records beyond the first per input record
	OutOfOrder int   // outputs that came before an output of an earlier input record
	Committed  int64 // committed offset, -1 when unknown
	// CommittedMissing counts input records below the committed offset
	// with no output: records the commit claimed but that were lost.
	CommittedMissing int
}

// Report is the result of Check.
type Report struct {
	Partitions []PartitionReport
	// Stray are output records whose seq is not in the input, or that have
	// no seq header.
	Stray int
}

// Totals sums the partitions.
func (r *Report) Totals() PartitionReport {
	t := PartitionReport{Partition: -1, Committed: -1}
	for _, p := range r.Partitions {
		t.Input += p.Input
		t.Output += p.Output
		t.Missing += p.Missing
		t.Duplicated += p.Duplicated
		t.OutOfOrder += p.OutOfOrder
		t.CommittedMissing += p.CommittedMissing
	}
	return t
}

// Exact reports whether output equals input: nothing missing, duplicated,
// out of order or stray.
func (r *Report) Exact() bool {
	t := r.Totals()
	return t.Missing == 0 && t.Duplicated == 0 && t.OutOfOrder == 0 && t.CommittedMissing == 0 && r.Stray == 0
}

// WriteTable prints the report, one line per input partition and a total.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "partition\tinput\toutput\tmissing\tduplicated\tout-of-order\tcommitted\tcommitted-but-missing\t")
	row := func(name string, p PartitionReport) {
		c := "-"
		if p.Committed >= 0 {
			c = fmt.Sprint(p.Committed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t\n", name, p.Input, p.Output, p.Missing, p.Duplicated, p.OutOfOrder, c, p.CommittedMissing)
	}
	for _, p := range r.Partitions {
		row(fmt.Sprint(p.Partition), p)
	}
	row("total", r.Totals())
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "stray output records: %d\n", r.Stray)
	return err
}

// Check reads both topics and the committed offsets and builds the report.
func Check(ctx context.Context, cfg *sarama.Config, brokers []string, o CheckOptions) (*Report, error) {
	if o.Idle <= 0 {
		o.Idle = 2 * time.Second
	}
	c := *cfg
	c.Consumer.Return.Errors = true
	if o.ReadCommitted {
		c.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	client, err := sarama.NewClient(brokers, &c)
	if err != nil {
		return nil, fmt.Errorf("verify: connect: %w", err)
	}
	defer client.Close()
	in, err := readTopic(ctx, client, o.Input, o.Idle)
	if err != nil {
		return nil, err
	}
	out, err := readTopic(ctx, client, o.Output, o.Idle)
	if err != nil {
		return nil, err
	}
	committed := map[int32]int64{}
	if o.Group != "" {
		if committed, err = committedOffsets(client, o.Group, o.Input); err != nil {
			return nil, err
		}
	}
	return compare(in, out, committed, o.Group != ""), nil
}

func committedOffsets(client sarama.Client, group, topic string) (map[int32]int64, error) {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	res, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		return nil, fmt.Errorf("verify: committed offsets of %s: %w", group, err)
	}
	out := map[int32]int64{}
	for p, b := range res.Blocks[topic] {
		out[p] = b.Offset
	}
	return out, nil
}

// compare is the pure part of Check. An input record written twice (a
// producer that resent a batch) is two input records: each is owed its
// own output, so outputs are matched to input copies by seq, and only
// outputs beyond a seq's copies are duplicates.
func compare(in, out map[int32][]record, committed map[int32]int64, withCommits bool) *Report {
	type origin struct {
		partition int32
		offset    int64
	}
	bySeq := map[int]origin{}
	copies := map[int]int{}
	reports := map[int32]*PartitionReport{}
	for p, recs := range in {
		rep := &PartitionReport{Partition: p, Input: len(recs), Committed: -1}
		if c, ok := committed[p]; ok && withCommits {
			rep.Committed = c
		}
		reports[p] = rep
		for _, r := range recs {
			if r.hasSeq {
				bySeq[r.seq] = origin{p, r.offset}
				copies[r.seq]++
			}
		}
	}
	seen := map[int]int{}
	rep := &Report{}
	outParts := make([]int32, 0, len(out))
	for p := range out {
		outParts = append(outParts, p)
	}
	sort.Slice(outParts, func(i, j int) bool { return outParts[i] < outParts[j] })
	for _, op := range outParts {
		last := map[int32]int64{} // per input partition, the last input offset seen here
		for _, r := range out[op] {
			o, ok := bySeq[r.seq]
			if !r.hasSeq || !ok {
				rep.Stray++
				continue
			}
			pr := reports[o.partition]
			pr.Output++
			seen[r.seq]++
			if seen[r.seq] > copies[r.seq] {
				pr.Duplicated++
				continue
			}
			if prev, ok := last[o.partition]; ok && o.offset < prev {
				pr.OutOfOrder++
			}
			last[o.partition] = o.offset
		}
	}
	for p, recs := range in {
		pr := reports[p]
		nth := map[int]int{} // copies of a seq met so far in this partition
		for _, r := range recs {
			if !r.hasSeq {
				continue
			}
			nth[r.seq]++
			if seen[r.seq] >= nth[r.seq] {
				continue
			}
			pr.Missing++
			if pr.Committed >= 0 && r.offset < pr.Committed {
				pr.CommittedMissing++
			}
		}
	}
	for _, pr := range reports {
		rep.Partitions = append(rep.Partitions, *pr)
	}
	sort.Slice(rep.Partitions, func(i, j int) bool { return rep.Partitions[i].Partition < rep.Partitions[j].Partition })
	return rep
}

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
	// DeadLetter, when set, is the pipeline's dead-letter topic: an input
	// record found there, with wasmhost.source.* headers naming it, is
	// accounted for like an output (and one found in both is duplicated).
	DeadLetter string
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
	// DeadLettered counts the input records accounted for by a record in
	// the dead-letter topic (included in Output).
	DeadLettered int
}

// Report is the result of Check.
type Report struct {
	Partitions []PartitionReport
	// Stray are output records whose seq is not in the input, or that have
	// no seq header.
	Stray int
	// BadDeadLetter are dead-letter records whose wasmhost.source.*
	// headers do not name the input record with their seq.
	BadDeadLetter int

	outputs map[int]int // outputs per seq, for deadLetters
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
		t.DeadLettered += p.DeadLettered
	}
	return t
}

// Exact reports whether output equals input: nothing missing, duplicated,
// out of order or stray.
func (r *Report) Exact() bool {
	t := r.Totals()
	return t.Missing == 0 && t.Duplicated == 0 && t.OutOfOrder == 0 && t.CommittedMissing == 0 && r.Stray == 0 && r.BadDeadLetter == 0
}

// Rules say which findings fail a check.
type Rules struct {
	// Exact fails on anything but output equal to input.
	Exact bool
	// ReadCommitted (an exactly-once pipeline read with read_committed)
	// fails on duplicates too.
	ReadCommitted bool
	// AtMostOnce reports missing records without failing on them, and
	// fails on duplicates.
	AtMostOnce bool
}

// Failures lists what fails the check under rules, nil when it passes.
// Stray records and dead-letter records with wrong headers always fail.
func (r *Report) Failures(rules Rules) []string {
	t := r.Totals()
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	if !rules.AtMostOnce || rules.Exact {
		add(t.Missing, "input records missing from the output")
		add(t.CommittedMissing, "committed input records missing from the output")
	}
	if rules.ReadCommitted || rules.AtMostOnce || rules.Exact {
		add(t.Duplicated, "output records duplicated")
	}
	if rules.Exact {
		add(t.OutOfOrder, "output records out of order")
	}
	add(r.Stray, "stray output records")
	add(r.BadDeadLetter, "dead-letter records whose headers do not name their input record")
	return out
}

// WriteTable prints the report, one line per input partition and a total.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "partition\tinput\toutput\tdead-lettered\tmissing\tduplicated\tout-of-order\tcommitted\tcommitted-but-missing\t")
	row := func(name string, p PartitionReport) {
		c := "-"
		if p.Committed >= 0 {
			c = fmt.Sprint(p.Committed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t\n", name, p.Input, p.Output, p.DeadLettered, p.Missing, p.Duplicated, p.OutOfOrder, c, p.CommittedMissing)
	}
	for _, p := range r.Partitions {
		row(fmt.Sprint(p.Partition), p)
	}
	row("total", r.Totals())
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "stray output records: %d\nbad dead-letter records: %d\n", r.Stray, r.BadDeadLetter)
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
	var dl map[int32][]record
	if o.DeadLetter != "" {
		if dl, err = readTopic(ctx, client, o.DeadLetter, o.Idle); err != nil {
			return nil, err
		}
	}
	committed := map[int32]int64{}
	if o.Group != "" {
		if committed, err = committedOffsets(client, o.Group, o.Input); err != nil {
			return nil, err
		}
	}
	rep := compare(in, out, committed, o.Group != "")
	rep.deadLetters(in, dl, o.Input)
	return rep, nil
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
	bySeq := map[int][]origin{} // the copies of each seq, in input order
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
				bySeq[r.seq] = append(bySeq[r.seq], origin{p, r.offset})
				copies[r.seq]++
			}
		}
	}
	seen := map[int]int{}
	rep := &Report{outputs: seen}
	outParts := make([]int32, 0, len(out))
	for p := range out {
		outParts = append(outParts, p)
	}
	sort.Slice(outParts, func(i, j int) bool { return outParts[i] < outParts[j] })
	for _, op := range outParts {
		last := map[int32]int64{} // per input partition, the last input offset seen here
		for _, r := range out[op] {
			from, ok := bySeq[r.seq]
			if !r.hasSeq || !ok {
				rep.Stray++
				continue
			}
			pr := reports[from[0].partition]
			pr.Output++
			seen[r.seq]++
			if seen[r.seq] > copies[r.seq] {
				pr.Duplicated++
				continue
			}
			o := from[seen[r.seq]-1] // the k-th output answers the k-th copy
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

// deadLetters accounts for the input records found in the dead-letter
// topic: each must name, in its source headers, the input record with its
// seq; it then counts as that record's output.
func (r *Report) deadLetters(in, dl map[int32][]record, input string) {
	if len(dl) == 0 {
		return
	}
	type origin struct {
		partition int32
		offset    int64
	}
	copies := map[int]int{}
	at := map[origin]int{} // input records by coordinates, to their seq
	for p, recs := range in {
		for _, rec := range recs {
			if rec.hasSeq {
				at[origin{p, rec.offset}] = rec.seq
				copies[rec.seq]++
			}
		}
	}
	byPart := map[int32]*PartitionReport{}
	for i := range r.Partitions {
		byPart[r.Partitions[i].Partition] = &r.Partitions[i]
	}
	dead := map[int]int{}
	for _, recs := range dl {
		for _, d := range recs {
			seq, ok := at[origin{d.srcPartition, d.srcOffset}]
			pr := byPart[d.srcPartition]
			if !d.hasSeq || d.srcTopic != input || !ok || seq != d.seq || pr == nil {
				r.BadDeadLetter++
				continue
			}
			dead[d.seq]++
			pr.DeadLettered++
			pr.Output++
		}
	}
	// A dead-lettered record was counted missing by compare unless the
	// output has it too (then it is duplicated).
	for p, recs := range in {
		pr := byPart[p]
		for _, rec := range recs {
			n := dead[rec.seq]
			if !rec.hasSeq || n == 0 {
				continue
			}
			dead[rec.seq] = 0
			outs := r.outputs[rec.seq]
			missingBefore := max(0, copies[rec.seq]-outs)
			covered := min(n, missingBefore)
			pr.Missing -= covered
			if pr.Committed >= 0 && rec.offset < pr.Committed {
				pr.CommittedMissing -= min(covered, pr.CommittedMissing)
			}
			pr.Duplicated += n - covered
		}
	}
}

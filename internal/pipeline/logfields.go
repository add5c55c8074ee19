package pipeline

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// This file holds how log lines show what sarama gives as client constants
// or maps: a starting offset by name, an assignment as a list of
// {topic, partitions} objects.

// offsetName is how logs show a starting offset: sarama's OffsetOldest and
// OffsetNewest (-2, -1) by name, where nothing was committed and the
// pipeline's offset_reset applies; any other offset as its number.
func offsetName(o int64) string {
	switch o {
	case sarama.OffsetOldest:
		return "oldest"
	case sarama.OffsetNewest:
		return "newest"
	}
	return strconv.FormatInt(o, 10)
}

// topicPartitions is an assignment (or a revocation) as logs show it: a
// list of {"topic": t, "partitions": [...]} objects, sorted, so that log
// indexers see two fixed field names rather than one field per topic.
type topicPartitions []topicAssignment

type topicAssignment struct {
	topic      string
	partitions []int32
}

// newTopicPartitions sorts sarama's topic -> partitions map.
func newTopicPartitions(claims map[string][]int32) topicPartitions {
	out := make(topicPartitions, 0, len(claims))
	for t, ps := range claims {
		ps = slices.Clone(ps)
		slices.Sort(ps)
		out = append(out, topicAssignment{t, ps})
	}
	slices.SortFunc(out, func(a, b topicAssignment) int { return cmp.Compare(a.topic, b.topic) })
	return out
}

// count is the number of partitions.
func (tp topicPartitions) count() int {
	n := 0
	for _, t := range tp {
		n += len(t.partitions)
	}
	return n
}

func (tp topicPartitions) MarshalZerologArray(a *zerolog.Array) {
	for _, t := range tp {
		a.Object(t)
	}
}

func (t topicAssignment) MarshalZerologObject(e *zerolog.Event) {
	e.Str("topic", t.topic).Ints32("partitions", t.partitions)
}

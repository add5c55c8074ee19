// Package pipeline runs the daemon's work: consumer pipelines (a consumer
// group whose partitions are actors feeding a plugin) and sources (a plugin
// called on a timer).
//
// # Lifecycle
//
// [Start] starts a pipeline's group members; [Pipeline.Stop] stops them: each
// actor finishes the batch in hand, waits for everything it produced to be
// acknowledged (bounded by the stop context), marks and commits its offsets,
// then the members leave the group. Sources work the same way with
// [StartSource] and [Source.Stop]. The shared producer outlives them all: stop
// every pipeline and source before closing it.
//
// # Actors and offsets
//
// Every assigned partition is an actor: a goroutine that owns one plugin
// instance and feeds it the partition's records in offset order, in batches.
// Under at-least-once a batch's offsets are marked only once the plugin has
// returned for every record in it and the broker has acknowledged every
// record it produced (and any dead-letter record). Batches are acknowledged
// out of order but marked in order (see ackQueue), because sarama's
// MarkOffset only moves forward. Under at-most-once a batch's offsets are
// committed before the plugin sees it. Under exactly-once each actor has its
// own transactional producer (transactional id per group, topic and
// partition, so a previous owner is fenced) and a transaction spans
// batches (see span): it holds what they produced, their dead-letter
// records and the input offset past them (with the group generation), and
// commits once it holds transaction_size records or transaction_bytes, once
// transaction_wait has passed since it began, at once when the partition
// has no record ready, when the stop policy halts it, and when the
// partition is revoked or the pipeline stops. Its records and outputs stay
// in the actor until then and reach the broker only at commit, so the
// broker-side transaction is open only while it commits. A failed commit's
// outcome is settled, never guessed (txnrecover.go, txnoutcome.go): the
// actor seals its transactional id's partitions, reads the committed offset
// again and the ends of the partitions it wrote, then goes on past the
// span, sends again what did not commit, or runs every batch again from
// the committed offset.
//
// A batch's records are held until its outcome is known (see collector):
// when the actor stops at a record, nothing derived from later records is
// produced, and no later batch is handled.
//
// # Plugin versions
//
// Pipelines and sources take their plugin through a [Slot], which the
// daemon owns and may [Slot.Swap] to a new version at any time. An actor
// checks the slot once per batch and moves to a new version between
// batches, also between two batches of one exactly-once transaction (see
// actor.upgrade for why that is safe); a source between ticks. A version is closed when the slot has moved on and its last
// instance is closed.
//
// # Concurrency
//
// Pipeline and Source methods are safe for concurrent use. Everything inside
// an actor belongs to its goroutine except the ackQueue, which the producer's
// delivery goroutine completes.
//
// # Status
//
// [Pipeline.Status] and [Source.Status] return snapshots for the monitoring
// server (package observe): counters, call-duration and batch-size
// histograms, members and their partitions with high watermark, committed
// offset ([Pipeline.RefreshCommitted]) and lag, and the latest errors with
// their record coordinates. They may be called at any time from any
// goroutine; status.go holds all of it, and actors feed it from one place,
// handleBatch, around every plugin call.
package pipeline

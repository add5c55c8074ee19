package kafka

import (
	"time"

	"github.com/IBM/sarama"
)

// Producer tuning applied by NewSaramaConfig. The daemon's shared
// [Producer] writes its own requests and reads only RequiredAcks,
// Idempotent, Compression, Partitioner, MaxMessageBytes, Timeout and Retry
// from here (it sends as soon as the previous request to a broker is
// answered: no flush timer). The flush and buffer settings tune the sarama
// producers the daemon also runs (the exactly-once actors' transactional
// ones, the status reporter's). Measured with BenchmarkProducer when the
// shared producer was sarama's AsyncProducer (embedded broker, 60-byte
// records, 4 partitions, busy 2-core machine): 450k-800k records/s with
// these settings; flushing as fast as possible (all Flush fields 0)
// measured 450k-535k in the same runs; the other variants tried (5ms,
// 64 KiB or 1 MB flushes, 1000-record flushes, buffers of 256 or 4096, one
// request in flight) were within the noise.
const (
	// flushFrequency bounds how long a record waits in sarama's buffer
	// before a produce request carries it. Small enough to be invisible
	// next to a plugin call; large enough that, at high rates, one request
	// carries thousands of records instead of a handful.
	flushFrequency = 2 * time.Millisecond
	// flushBytes sends a request early once this much is buffered for a
	// broker, so bursts do not wait for the timer. It is a quarter of
	// Producer.MaxMessageBytes (1 MiB per partition batch), which keeps
	// requests well under the broker's message.max.bytes.
	flushBytes = 256 << 10
	// channelBufferSize is the depth of sarama's internal channels (input,
	// successes, errors, and the consumer's per-partition channels). A
	// batch of records from a plugin arrives as a burst; 1024 absorbs it
	// without holding much memory per consumed partition.
	channelBufferSize = 1024
)

func tuneProducer(cfg *sarama.Config) {
	// Delivery reports drive the at-least-once bookkeeping: every record
	// is acknowledged, success or failure (see Producer).
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	// acks=all: a record counts as delivered only once every in-sync
	// replica has it; this is what lets the daemon commit the input
	// offsets behind it. (The embedded broker ignores acks.)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	// Idempotent: when a connection drops after the broker wrote a batch
	// but before it answered, sarama's retry would otherwise write the
	// batch twice (seen on a broker restart). The broker deduplicates by
	// producer id and sequence, which needs one request in flight per
	// broker connection.
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	// No compression: on loopback and small records it costs CPU the
	// plugins need and saves nothing; records from plugins are usually
	// small JSON. Set per deployment if the network is the bottleneck.
	cfg.Producer.Compression = sarama.CompressionNone
	// Keys land where Kafka's Java producer puts them, and a plugin may
	// name a partition (partitioner.go).
	cfg.Producer.Partitioner = NewPartitioner
	cfg.Producer.Flush.Frequency = flushFrequency
	cfg.Producer.Flush.Bytes = flushBytes
	// Flush.Messages and Flush.MaxMessages stay 0 (no count limit): the
	// byte limits above and MaxMessageBytes bound a request better than a
	// record count, since record sizes vary.
	cfg.ChannelBufferSize = channelBufferSize
	// Net.MaxOpenRequests stays at sarama's 5: requests to a broker are
	// pipelined. The price is that a retried request can land after a
	// later one, reordering records within a partition; ordering across
	// retries would need the idempotent producer (MaxOpenRequests=1),
	// which the exactly-once work brings.
}

// Package bench measures wasmhost side by side with a plain Kafka copy loop;
// cmd/wasmhost-bench runs it and `make bench` runs that.
//
// # Method
//
// Everything runs against one embedded broker (kafka.StartBroker on
// 127.0.0.1:0) in the harness's process, over TCP.
//
//   - Baseline: copyLoop, a plain sarama consumer group that produces every
//     record it consumes to another topic through an async producer, marking
//     offsets in order as records are acknowledged (at-least-once). It uses
//     the daemon's own client tuning, so the comparison measures what
//     wasmhost adds: actors, batching, the plugin calls, the acknowledgement
//     bookkeeping.
//   - wasmhost: the daemon, run in-process by daemon.Run from a generated
//     config file, with the forward plugin and every setting at its default
//     except the guarantee.
//
// A throughput run copies a pre-filled input topic (8-byte keys, values of
// the given size, no headers, spread evenly over the partitions) to a new
// output topic with a new consumer group. The harness samples the output's
// high-water marks every 2 ms (for exactly-once, the group's committed
// offsets, since transaction markers also take offsets) and reports the rate
// between the first sample that saw a record and the one that saw them all,
// so that joining the group and instantiating plugins is not counted, for the
// baseline as for wasmhost. Runs of the baseline and of wasmhost alternate so
// that load from elsewhere on the machine does not favour one of them. Every
// figure is the median of Options.Runs runs; the table shows wasmhost ÷
// baseline. Exactly-once output is read back and checked: every record
// once, each inside a transaction; a pipeline that wrote outside
// transactions is reported as "not implemented".
//
// Latency runs send 100-byte records at a fixed rate with the send time and a
// sequence number in the value, through a running pipeline, and read the
// output as it arrives; after a warm-up, every record sent during the window
// is timed from its hand-off to the producer to its arrival at the reading
// consumer, so both clients' batching is included.
//
// The process figures run the wasmhost binary as its own process on a
// pre-filled topic: the time from exec to the first output record, with a
// compilation cache the harness has warmed, and the peak resident set
// (VmHWM) once the whole input has been copied.
//
// The original design's row compares wasmhost with the design it replaces,
// without Ray: a Python consumer loop on librdkafka (original.py, Debian's
// python3-confluent-kafka) that polls one record at a time, decodes its
// JSON value in a callback and hands it to the producer actor, which serves
// delivery reports and encodes and produces it again, then flushes: the
// baseline of the row. A second row compares with the same loop tuned to
// poll 1,000 records a call and produce the value as received. The loops
// and the wasmhost binary (forward, at-least-once) each run as their own
// process, alternately, on 1,000,000 pre-filled JSON records; the rate is timed as
// for the throughput runs, and the CPU time per record is that of the
// copier's process alone (from /proc/PID/stat, over the same window), since
// the broker runs in the harness.
//
// The plugin-boundary figures come from BenchmarkBoundary in package host,
// whose `go test -bench` output the harness parses (Options.BoundaryFile).
package bench

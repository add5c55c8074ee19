// Package daemon wires the configuration into a running wasmhost: the
// embedded broker when no brokers are configured, the Kafka client, topics,
// the plugin runtime, the shared producer, sources and pipelines.
//
// [Run] owns everything it starts and returns once ctx is cancelled and it
// has shut down in order: sources stop ticking, pipelines finish the batch in
// hand and commit, the producer flushes, then the runtime and the embedded
// broker close, all within the configured shutdown timeout.
package daemon

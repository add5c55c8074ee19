// Package daemon wires the configuration into a running wasmhost: the
// embedded broker when no brokers are configured, the Kafka client, topics,
// the plugin runtime, the shared producer, sources and pipelines.
//
// [Run] owns everything it starts and returns once ctx is cancelled and it
// has shut down in order: sources stop ticking, pipelines finish the batch in
// hand and commit, the producer flushes, then the runtime and the embedded
// broker close, all within the configured shutdown timeout.
//
// While it runs, one goroutine applies reloads: plugin files that changed
// (watched with fsnotify, see watcher), and plugins whose current version
// in the plugin topic changed (followed with fleet.Follower), are loaded in
// parallel and swapped into their slots (pluginSet.refreshEntries), and a
// reload request (Options.Reload, SIGHUP)
// or a change of the config file loads the config again and stops, starts
// or restarts only the pipelines and sources that changed (reloader). The
// running pipelines, sources and plugins are touched by that goroutine
// alone.
package daemon

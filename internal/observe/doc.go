// Package observe shows what a running daemon is doing: a [Monitor] gathers
// the state of its pipelines, sources, plugins, producer and brokers, and
// serves it over HTTP as
//
//   - /            the live status page (embedded assets, no CDN)
//   - /api/status  the same picture as JSON ([Status]); `wasmhost status`
//     prints it in a terminal
//   - /api/history the charts' samples of the last 15 minutes, one a
//     second, kept in the daemon ([History]; ?since=<Unix ms> for newer
//     ones only), so a page opened now shows where things were
//   - /metrics     Prometheus metrics (see metrics.go for the list)
//   - /healthz     200 while the process serves HTTP
//   - /readyz      200 once every plugin is loaded, every pipeline's
//     members are in their group and the brokers answer; 503 with the
//     reasons otherwise
//
// # Lifecycle
//
// The daemon creates the Monitor first and serves it while it connects,
// so /healthz answers and /readyz says what is missing. As it starts, it
// reports plugin loads, the producer, and each pipeline and source to the
// Monitor, runs [Monitor.Probe] and [Monitor.RecordHistory] in the
// background, and calls
// [Monitor.ShuttingDown] when it begins to stop.
//
// # Concurrency
//
// Every Monitor method is safe for concurrent use. Metrics are read from
// the pipelines' counters at scrape time: observing costs nothing on the
// record path beyond what package pipeline already counts.
package observe

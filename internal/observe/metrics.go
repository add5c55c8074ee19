package observe

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wasmhost/wasmhost/internal/pipeline"
)

// The metrics. Every value is read at scrape time from the counters the
// pipelines, sources and producer keep anyway. Labels are bounded: a
// pipeline (or source) name, its plugin's name and version (the first 12
// hex digits of its sha256), and for lag a topic and partition this daemon
// consumes. Nothing is labelled per record, key or offset.
var (
	pipeLabels = []string{"pipeline", "plugin", "plugin_version"}

	descBuildInfo = prometheus.NewDesc("wasmhost_build_info",
		"Always 1; labelled with the build's version and its plugin ABI version.", []string{"version", "abi_version"}, nil)
	descReady = prometheus.NewDesc("wasmhost_ready",
		"1 when /readyz answers 200: plugins loaded, every pipeline's members in their group, brokers answering.", nil, nil)

	descPipelineInfo = prometheus.NewDesc("wasmhost_pipeline_info",
		"Always 1; a pipeline with its plugin version, guarantee and consumer group.", append(pipeLabels, "guarantee", "group"), nil)
	descIn = prometheus.NewDesc("wasmhost_records_in_total",
		"Records handed to the pipeline's plugin.", pipeLabels, nil)
	descOut = prometheus.NewDesc("wasmhost_records_out_total",
		"Records the plugin produced (pipelines and sources).", pipeLabels, nil)
	descFailed = prometheus.NewDesc("wasmhost_records_failed_total",
		"Records whose plugin call still failed after the retries.", pipeLabels, nil)
	descRetried = prometheus.NewDesc("wasmhost_record_retries_total",
		"Retry attempts of failed records.", pipeLabels, nil)
	descDeadLettered = prometheus.NewDesc("wasmhost_records_dead_lettered_total",
		"Failed records sent to the dead-letter topic.", pipeLabels, nil)
	descSkipped = prometheus.NewDesc("wasmhost_records_skipped_total",
		"Failed records skipped (failure.policy = skip).", pipeLabels, nil)
	descTraps = prometheus.NewDesc("wasmhost_plugin_traps_total",
		"Plugin instances lost to a trap (panic, unreachable, out of memory) and replaced.", pipeLabels, nil)
	descTimeouts = prometheus.NewDesc("wasmhost_plugin_timeouts_total",
		"Plugin calls stopped at limits.call_timeout; the instance was replaced.", pipeLabels, nil)
	descTxnCommitted = prometheus.NewDesc("wasmhost_transactions_committed_total",
		"Exactly-once transactions committed: a batch's output and its input offsets.", pipeLabels, nil)
	descTxnAborted = prometheus.NewDesc("wasmhost_transactions_aborted_total",
		"Exactly-once transactions aborted; their batches ran again from the committed offset.", pipeLabels, nil)
	descStateWrites = prometheus.NewDesc("wasmhost_state_changelog_records_total",
		"State changelog records written (sent, or committed in a transaction).", pipeLabels, nil)
	descStateRestores = prometheus.NewDesc("wasmhost_state_restores_total",
		"Partition state stores restored from their changelog.", pipeLabels, nil)
	descStateRestored = prometheus.NewDesc("wasmhost_state_restored_records_total",
		"Changelog records applied by state restores.", pipeLabels, nil)
	descStateRestoreSeconds = prometheus.NewDesc("wasmhost_state_restore_seconds_total",
		"Time spent restoring partition state stores.", pipeLabels, nil)
	descStateKeys = prometheus.NewDesc("wasmhost_state_keys",
		"Keys in the state stores of the pipeline's partitions on this daemon.", pipeLabels, nil)
	descStateBytes = prometheus.NewDesc("wasmhost_state_bytes",
		"Bytes of keys and values in the state stores of the pipeline's partitions on this daemon.", pipeLabels, nil)
	descCallSeconds = prometheus.NewDesc("wasmhost_plugin_call_duration_seconds",
		"Duration of one plugin call (one batch).", pipeLabels, nil)
	descBatchRecords = prometheus.NewDesc("wasmhost_plugin_batch_records",
		"Records handed to the plugin in one call.", pipeLabels, nil)
	descMemory = prometheus.NewDesc("wasmhost_plugin_memory_bytes",
		"Linear memory of the pipeline's live plugin instances.", pipeLabels, nil)
	descPartitions = prometheus.NewDesc("wasmhost_pipeline_partitions",
		"Partitions assigned to this daemon's members of the pipeline.", []string{"pipeline"}, nil)
	descHalted = prometheus.NewDesc("wasmhost_pipeline_partitions_halted",
		"Partitions halted by failure.policy = stop.", []string{"pipeline"}, nil)
	descMembers = prometheus.NewDesc("wasmhost_pipeline_members_joined",
		"This daemon's members of the pipeline that are in a group session.", []string{"pipeline"}, nil)
	descLag = prometheus.NewDesc("wasmhost_consumer_lag",
		"High watermark minus committed offset of a partition this daemon consumes.", []string{"pipeline", "topic", "partition"}, nil)
	descProcessedLag = prometheus.NewDesc("wasmhost_consumer_processed_lag",
		"High watermark minus the offset after the last record the partition's actor processed (commits trail it by up to a second).", []string{"pipeline", "topic", "partition"}, nil)

	descLogDropped = prometheus.NewDesc("wasmhost_plugin_log_lines_dropped_total",
		"Plugin log lines (the log host function, stdout and stderr) dropped over an instance's rate limit.", pipeLabels, nil)

	descTicks = prometheus.NewDesc("wasmhost_source_ticks_total",
		"Calls of a source's plugin.", pipeLabels, nil)
	descTickFailures = prometheus.NewDesc("wasmhost_source_tick_failures_total",
		"Failed calls of a source's plugin.", pipeLabels, nil)
	descLeaseHeld = prometheus.NewDesc("wasmhost_source_lease_held",
		"1 while this daemon holds the source's lease (it ticks), 0 on standby; only sources with a lease.", []string{"pipeline"}, nil)

	descProdSent = prometheus.NewDesc("wasmhost_producer_records_sent_total",
		"Records given to the shared producer.", nil, nil)
	descProdDelivered = prometheus.NewDesc("wasmhost_producer_records_delivered_total",
		"Records the brokers acknowledged.", nil, nil)
	descProdErrors = prometheus.NewDesc("wasmhost_producer_delivery_errors_total",
		"Deliveries that failed after the producer's retries (the records are sent again or, at shutdown, consumed again after a restart).", nil, nil)
	descProdRetried = prometheus.NewDesc("wasmhost_producer_records_retried_total",
		"Records sent again after a retriable broker error or a lost connection; a record retried twice counts twice.", nil, nil)
	descProdInFlight = prometheus.NewDesc("wasmhost_producer_records_in_flight",
		"Records sent and not yet acknowledged or failed.", nil, nil)

	descConfigReloads = prometheus.NewDesc("wasmhost_config_reloads_total",
		"Config reloads by result: applied, or rejected (the running config stays).", []string{"result"}, nil)
	descReloads = prometheus.NewDesc("wasmhost_plugin_reloads_total",
		"Plugin reloads by result: succeeded (a new version serves) or failed (the old version stays).", []string{"plugin", "result"}, nil)
)

// collector exports a Monitor's state as Prometheus metrics.
type collector struct{ m *Monitor }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descBuildInfo, descReady, descPipelineInfo, descIn, descOut, descFailed, descRetried, descDeadLettered,
		descSkipped, descTraps, descTimeouts, descTxnCommitted, descTxnAborted,
		descStateWrites, descStateRestores, descStateRestored, descStateRestoreSeconds, descStateKeys, descStateBytes, descCallSeconds, descBatchRecords, descMemory, descPartitions,
		descHalted, descMembers, descLag, descProcessedLag, descTicks, descTickFailures, descLogDropped, descLeaseHeld, descProdSent, descProdDelivered,
		descProdErrors, descProdRetried, descProdInFlight, descReloads, descConfigReloads,
	} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descBuildInfo, 1, s.Version, strconv.Itoa(s.ABIVersion))
	gauge(descReady, bool01(s.Ready))
	for _, p := range s.Pipelines {
		l := []string{p.Name, p.Plugin.Name, shortSHA(p.Plugin.SHA256)}
		gauge(descPipelineInfo, 1, append(l, p.Guarantee, p.Group)...)
		n := p.Counts
		counter(descIn, n.In, l...)
		counter(descOut, n.Out, l...)
		counter(descFailed, n.Failed, l...)
		counter(descRetried, n.Retried, l...)
		counter(descDeadLettered, n.DeadLettered, l...)
		counter(descSkipped, n.Skipped, l...)
		counter(descTraps, n.Traps-min(n.Timeouts, n.Traps), l...)
		counter(descTimeouts, n.Timeouts, l...)
		counter(descTxnCommitted, n.TxnCommitted, l...)
		counter(descTxnAborted, n.TxnAborted, l...)
		counter(descStateWrites, n.StateWrites, l...)
		counter(descStateRestores, n.StateRestores, l...)
		counter(descStateRestored, n.StateRestored, l...)
		ch <- prometheus.MustNewConstMetric(descStateRestoreSeconds, prometheus.CounterValue, n.StateRestoreSeconds, l...)
		counter(descLogDropped, n.LogDropped, l...)
		ch <- constHistogram(descCallSeconds, p.CallSeconds, l)
		ch <- constHistogram(descBatchRecords, p.BatchRecords, l)
		gauge(descMemory, float64(p.MemoryBytes), l...)
		joined, halted, keys, bytes := 0, 0, 0, int64(0)
		for _, m := range p.Members {
			joined += int(bool01(m.Joined))
			for _, part := range m.Partitions {
				halted += int(bool01(part.Halted))
				keys, bytes = keys+part.StateKeys, bytes+part.StateBytes
				gauge(descLag, float64(part.Lag), p.Name, part.Topic, strconv.Itoa(int(part.Partition)))
				gauge(descProcessedLag, float64(part.ProcessedLag), p.Name, part.Topic, strconv.Itoa(int(part.Partition)))
			}
		}
		gauge(descPartitions, float64(p.Partitions), p.Name)
		gauge(descHalted, float64(halted), p.Name)
		gauge(descMembers, float64(joined), p.Name)
		gauge(descStateKeys, float64(keys), l...)
		gauge(descStateBytes, float64(bytes), l...)
	}
	for _, src := range s.Sources {
		l := []string{src.Name, src.Plugin.Name, shortSHA(src.Plugin.SHA256)}
		counter(descOut, src.Out, l...)
		counter(descTicks, src.Ticks, l...)
		counter(descTickFailures, src.Failed, l...)
		counter(descLogDropped, src.LogDropped, l...)
		if src.Lease != nil {
			gauge(descLeaseHeld, bool01(src.Lease.State == "held"), src.Name)
		}
	}
	counter(descProdSent, s.Producer.Sent)
	counter(descProdDelivered, s.Producer.Delivered)
	counter(descProdErrors, s.Producer.Failed)
	counter(descProdRetried, s.Producer.Retried)
	gauge(descProdInFlight, float64(s.Producer.InFlight))
	counter(descConfigReloads, s.ConfigReloads.Applied, "applied")
	counter(descConfigReloads, s.ConfigReloads.Rejected, "rejected")
	for _, p := range s.Plugins {
		counter(descReloads, p.Reloads, p.Name, "succeeded")
		counter(descReloads, p.ReloadFailures, p.Name, "failed")
	}
}

// constHistogram converts a pipeline histogram (per-bucket counts) into
// Prometheus's cumulative buckets.
func constHistogram(d *prometheus.Desc, h pipeline.Histogram, labels []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets, labels...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// metricsHandler serves the Monitor's metrics with the Go runtime's and
// the process's.
func (m *Monitor) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{m}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

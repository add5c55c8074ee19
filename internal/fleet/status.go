package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// StatusRecord is what a daemon publishes to the status topic, keyed by its
// daemon id: small (a few hundred bytes per pipeline), JSON, self-contained
// (a reader needs no other record to show it).
type StatusRecord struct {
	DaemonID  string    `json:"daemon_id"`
	Host      string    `json:"host"`
	Version   string    `json:"version"`
	State     string    `json:"state"` // StateRunning, StateStopping or StateStopped
	Ready     bool      `json:"ready"`
	NotReady  []string  `json:"not_ready,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Time      time.Time `json:"time"` // when it was published
	// IntervalSeconds is the publisher's status_interval: a reader calls
	// the daemon stale once Time is stale_after of them old.
	IntervalSeconds float64          `json:"interval_seconds"`
	Pipelines       []StatusPipeline `json:"pipelines"`
	Sources         []StatusSource   `json:"sources"`
	Plugins         []StatusPlugin   `json:"plugins"`    // the versions serving
	Partitions      int              `json:"partitions"` // held, over every pipeline
	Lag             int64            `json:"lag"`        // over those partitions
}

// Daemon states in a StatusRecord.
const (
	StateRunning  = "running"
	StateStopping = "stopping"
	StateStopped  = "stopped" // the daemon's last record, at a graceful shutdown
)

// StatusPlugin is a plugin version a daemon serves.
type StatusPlugin struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// StatusPipeline is one pipeline of a daemon.
type StatusPipeline struct {
	Name       string       `json:"name"`
	Group      string       `json:"group"`
	Plugin     StatusPlugin `json:"plugin"`
	Partitions int          `json:"partitions"`
	Lag        int64        `json:"lag"`
}

// StatusSource is one source of a daemon; Lease is the lease's state
// ("held", "standby", "joining") or "off" (it ticks on every daemon).
type StatusSource struct {
	Name   string       `json:"name"`
	Plugin StatusPlugin `json:"plugin"`
	Lease  string       `json:"lease"`
	Ticks  uint64       `json:"ticks"`
}

// StatusTopicSpec is the status topic: one partition, compacted (the last
// record of each daemon), and records deleted after a week, so the ids of
// daemons that are long gone do not pile up.
func StatusTopicSpec(topic string) kafka.TopicSpec {
	return kafka.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: -1, Configs: map[string]string{
		"cleanup.policy": "compact,delete",
		"retention.ms":   fmt.Sprint((7 * 24 * time.Hour).Milliseconds()),
	}}
}

// EnsureStatusTopic creates the status topic if it is missing.
func EnsureStatusTopic(ctx context.Context, client sarama.Client, topic string) error {
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return fmt.Errorf("status topic: %w", err)
	}
	// Not admin.Close: it would close the client.
	if _, err := kafka.EnsureTopics(ctx, admin, []kafka.TopicSpec{StatusTopicSpec(topic)}); err != nil {
		return fmt.Errorf("status topic: %w", err)
	}
	return nil
}

// ReporterOptions configure StartReporter.
type ReporterOptions struct {
	// Producer sends the records; the caller closes it after Stop. Not the
	// daemon's shared producer: its counts are the plugins' records.
	Producer sarama.SyncProducer
	Topic    string
	Interval time.Duration
	// Record returns the daemon's status now; the Reporter sets Time,
	// IntervalSeconds and, at Stop, State.
	Record func() StatusRecord
	Logger zerolog.Logger
}

// Reporter publishes a daemon's status record at once and every Interval.
type Reporter struct {
	o      ReporterOptions
	cancel context.CancelFunc
	done   chan struct{}
}

// StartReporter starts publishing.
func StartReporter(o ReporterOptions) *Reporter {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reporter{o: o, cancel: cancel, done: make(chan struct{})}
	go r.run(ctx)
	return r
}

func (r *Reporter) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	failing := false
	for {
		err := r.publish(ctx, r.o.Record())
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			r.o.Logger.Warn().Err(err).Str("topic", r.o.Topic).Msg("fleet status: cannot publish this daemon's status; retrying every interval")
			failing = true
		case err == nil && failing:
			r.o.Logger.Info().Str("topic", r.o.Topic).Msg("fleet status: publishing again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop stops the periodic records and publishes a last one with state
// "stopped", waiting until ctx ends for the brokers to take it: readers then
// show the daemon as stopped rather than as stale.
func (r *Reporter) Stop(ctx context.Context) error {
	r.cancel()
	<-r.done
	rec := r.o.Record()
	rec.State = StateStopped
	if err := r.publish(ctx, rec); err != nil {
		return fmt.Errorf("fleet status: the last record: %w", err)
	}
	return nil
}

// publish sends rec and waits until ctx ends for the brokers to take it.
func (r *Reporter) publish(ctx context.Context, rec StatusRecord) error {
	rec.Time = time.Now()
	rec.IntervalSeconds = r.o.Interval.Seconds()
	if rec.State == "" {
		rec.State = StateRunning
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	msg := &sarama.ProducerMessage{Topic: r.o.Topic, Key: sarama.StringEncoder(rec.DaemonID),
		Value: sarama.ByteEncoder(value), Timestamp: rec.Time}
	sent := make(chan error, 1)
	go func() {
		_, _, err := r.o.Producer.SendMessage(msg)
		sent <- err
	}()
	wait, cancel := context.WithTimeout(ctx, max(r.o.Interval, 5*time.Second))
	defer cancel()
	select {
	case err := <-sent:
		return err
	case <-wait.Done():
		return fmt.Errorf("not acknowledged: %w", wait.Err())
	}
}

package pipeline

import (
	"errors"
	"strconv"
	"time"

	"github.com/IBM/sarama"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
)

// Dead-letter headers added to a record the plugin could not handle. The
// record's own key, value and headers are kept.
const (
	HeaderError        = "wasmhost.error"
	HeaderPlugin       = "wasmhost.plugin"
	HeaderPluginSHA256 = "wasmhost.plugin.sha256"
	HeaderPipeline     = "wasmhost.pipeline"
	HeaderTopic        = "wasmhost.source.topic"
	HeaderPartition    = "wasmhost.source.partition"
	HeaderOffset       = "wasmhost.source.offset"
	HeaderAttempts     = "wasmhost.attempts"
	HeaderFailedAt     = "wasmhost.failed.at"
)

// settle retries a failed record with backoff until it succeeds or has had
// 1+retries attempts, then applies the failure policy. attempts counts the
// calls that already included the record. A record the host refused for its
// size (host.ErrInputTooLarge) is not retried: it would be refused again.
// It returns false when the actor must not go past the record: the stop
// policy, or the session ended.
func (a *actor) settle(p emitter, m *sarama.ConsumerMessage, attempts int, err error) bool {
	f := a.p.cfg.Failure
	delay := f.Backoff.Duration
	for ; attempts < 1+f.Retries && !errors.Is(err, host.ErrInputTooLarge); attempts++ {
		a.p.stats.Retried.Add(1)
		select {
		case <-time.After(delay):
		case <-a.sess.Context().Done():
			return false
		}
		delay = min(2*delay, 30*time.Second)
		if err = a.one(p, m); err == nil {
			return true
		}
	}
	a.p.stats.Failed.Add(1)
	a.failed(m, attempts, err, f.Policy)
	log := a.log.With().Int64("offset", m.Offset).Int("attempts", attempts).Logger()
	switch f.Policy {
	case config.Skip:
		a.p.stats.Skipped.Add(1)
		log.Error().Err(err).Msg("record failed; skipped (failure.policy = skip)")
		return true
	case config.DeadLetter:
		a.p.stats.DeadLettered.Add(1)
		p.emit(a.deadLetter(m, err, attempts), m.Offset)
		log.Warn().Err(err).Str("dead_letter_topic", f.DeadLetterTopic).Msg("record failed; sent to the dead-letter topic")
		return true
	default:
		a.halted, a.haltedAt = true, m.Offset
		log.Error().Err(err).Msg("record failed; partition halted (failure.policy = stop). Drop in a fixed plugin version to resume it, or fix the record and restart")
		return false
	}
}

func (a *actor) deadLetter(m *sarama.ConsumerMessage, err error, attempts int) *sarama.ProducerMessage {
	plugin := a.ver.plugin
	hs := make([]sarama.RecordHeader, 0, len(m.Headers)+9)
	for _, h := range m.Headers {
		if h != nil {
			hs = append(hs, *h)
		}
	}
	add := func(k, v string) { hs = append(hs, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}) }
	add(HeaderError, err.Error())
	add(HeaderPlugin, plugin.Name())
	add(HeaderPluginSHA256, plugin.SHA256())
	add(HeaderPipeline, a.p.cfg.Name)
	add(HeaderTopic, m.Topic)
	add(HeaderPartition, strconv.FormatInt(int64(m.Partition), 10))
	add(HeaderOffset, strconv.FormatInt(m.Offset, 10))
	add(HeaderAttempts, strconv.Itoa(attempts))
	add(HeaderFailedAt, time.Now().UTC().Format(time.RFC3339Nano))
	msg := &sarama.ProducerMessage{Topic: a.p.cfg.Failure.DeadLetterTopic, Headers: hs, Timestamp: m.Timestamp}
	if m.Key != nil {
		msg.Key = sarama.ByteEncoder(m.Key)
	}
	if m.Value != nil {
		msg.Value = sarama.ByteEncoder(m.Value)
	}
	return msg
}

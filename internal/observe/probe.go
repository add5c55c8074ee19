package observe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// ProbeInterval is how often [Monitor.Probe] asks the brokers for metadata
// and the groups' committed offsets.
const ProbeInterval = 2 * time.Second

// probeHung is how long a probe may go unanswered before the brokers count
// as unavailable (sarama's own timeouts are longer: a dial timeout per
// attempt, several attempts).
const probeHung = 5 * time.Second

var errNotConnected = errors.New("not connected yet")

// probeState is the outcome of the latest broker probe.
type probeState struct {
	mu      sync.Mutex
	err     error     // of the latest finished probe
	running time.Time // when the probe under way began; zero when none
}

func (p *probeState) begin(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = now
}

func (p *probeState) end(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err, p.running = err, time.Time{}
}

// check returns why the brokers count as unavailable at now, or nil.
func (p *probeState) check(now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running.IsZero() && now.Sub(p.running) > probeHung {
		return fmt.Errorf("no answer for %s", now.Sub(p.running).Round(time.Second))
	}
	return p.err
}

// Connected records that the daemon's client has connected, before the
// first probe has run.
func (m *Monitor) Connected() { m.probe.end(nil) }

// Probe checks every interval, until ctx ends, that the brokers answer a
// metadata request for the topics the pipelines consume (every topic when
// there are none), and refreshes the committed offsets of every pipeline's
// partitions. A broker that answers with a topic error still counts as
// available: the pipelines report their own trouble. Errors are logged
// when the outcome changes.
func (m *Monitor) Probe(ctx context.Context, client sarama.Client, interval time.Duration, log zerolog.Logger) {
	var admin sarama.ClusterAdmin // from client; closing it would close client
	wasDown := false
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.probe.begin(time.Now())
		err := refreshMetadata(client, m.topics())
		m.probe.end(err)
		switch {
		case err != nil && !wasDown:
			log.Warn().Err(err).Msg("brokers unavailable: not ready")
		case err == nil && wasDown:
			log.Info().Msg("brokers available again")
		}
		wasDown = err != nil
		if err == nil {
			if admin == nil {
				admin, err = sarama.NewClusterAdminFromClient(client)
			}
			if err == nil {
				m.refreshCommitted(admin, log)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func refreshMetadata(client sarama.Client, topics []string) error {
	err := client.RefreshMetadata(topics...)
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		return nil // a broker answered
	}
	return err
}

// topics are the topics the pipelines consume.
func (m *Monitor) topics() []string {
	m.mu.Lock()
	pipes := m.pipelines
	m.mu.Unlock()
	var out []string
	for _, p := range pipes {
		for _, t := range p.Topics() {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func (m *Monitor) refreshCommitted(admin sarama.ClusterAdmin, log zerolog.Logger) {
	m.mu.Lock()
	pipes := m.pipelines
	m.mu.Unlock()
	for _, p := range pipes {
		if err := p.RefreshCommitted(admin); err != nil {
			log.Debug().Err(err).Msg("committed offsets not refreshed")
		}
	}
}

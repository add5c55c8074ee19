package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// ClientOptions describe how to reach a Kafka cluster (or the embedded
// broker). The CLI maps its configuration into them.
type ClientOptions struct {
	// Brokers are the bootstrap host:port addresses; at least one.
	Brokers []string
	// ClientID names this client in broker logs and quotas; "" means
	// "wasmhost".
	ClientID string
	// Version is the oldest Kafka version the cluster runs, e.g. "3.6.0".
	// sarama picks request versions from it, capped by what the broker
	// advertises. "" means sarama's default (2.8.0).
	Version string
	// DialTimeout bounds each TCP (and TLS, SASL) connection attempt;
	// 0 means 10s.
	DialTimeout time.Duration
	TLS         TLSOptions
	SASL        SASLOptions
	// MaxMessageBytes, when set, raises the largest record the producer
	// sends and the fetch size consumers start with, for topics whose
	// records exceed the 1 MB defaults (the plugin topic). 0 keeps them.
	MaxMessageBytes int
}

// TLSOptions enable TLS to the brokers.
type TLSOptions struct {
	Enabled bool
	// CAFile is a PEM bundle of CAs to trust; "" trusts the system pool.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key for mutual
	// TLS; both or neither.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker's certificate;
	// "" uses the host of the address dialed.
	ServerName string
	// InsecureSkipVerify accepts any broker certificate. For tests only.
	InsecureSkipVerify bool
}

// SASLOptions select SASL authentication. A zero Mechanism disables it.
type SASLOptions struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	Username  string
	Password  string
}

const (
	defaultClientID    = "wasmhost"
	defaultDialTimeout = 10 * time.Second
)

// NewSaramaConfig builds the sarama configuration shared by every client of
// the daemon: identity, protocol version, TLS, SASL and the producer tuning
// described in tuning.go. Files are read now, so a missing certificate is
// reported here and not at the first connection.
func NewSaramaConfig(o ClientOptions) (*sarama.Config, error) {
	cfg := sarama.NewConfig()
	cfg.ClientID = defaultClientID
	if o.ClientID != "" {
		cfg.ClientID = o.ClientID
	}
	if o.Version != "" {
		v, err := sarama.ParseKafkaVersion(o.Version)
		if err != nil {
			return nil, fmt.Errorf("kafka: version %q: %w", o.Version, err)
		}
		cfg.Version = v
	}
	cfg.Net.DialTimeout = defaultDialTimeout
	if o.DialTimeout > 0 {
		cfg.Net.DialTimeout = o.DialTimeout
	}
	// Topics are created explicitly (SetupTopics, EnsureTopics). Against a
	// cluster with auto.create.topics.enable a typo in a topic name would
	// otherwise silently create a topic with the broker's defaults.
	cfg.Metadata.AllowAutoTopicCreation = false

	if o.TLS.Enabled {
		tc, err := loadTLS(o.TLS)
		if err != nil {
			return nil, err
		}
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = tc
	} else if o.TLS != (TLSOptions{}) {
		return nil, errors.New("kafka: TLS files or options are set but TLS is not enabled")
	}
	if err := applySASL(cfg, o.SASL); err != nil {
		return nil, err
	}
	tuneProducer(cfg)
	if o.MaxMessageBytes > 0 {
		// A record larger than the fetch size is still returned whole by
		// brokers (KIP-74), but starting at its size spares the retries.
		cfg.Producer.MaxMessageBytes = o.MaxMessageBytes
		cfg.Consumer.Fetch.Default = int32(o.MaxMessageBytes)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: invalid client configuration: %w", err)
	}
	return cfg, nil
}

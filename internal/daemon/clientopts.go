package daemon

import (
	"crypto/tls"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// ClientOptions maps the [kafka] section into client options for brokers.
func ClientOptions(cfg *config.Config, brokers []string) kafka.ClientOptions {
	k := cfg.Kafka
	o := kafka.ClientOptions{
		Brokers:     brokers,
		ClientID:    k.ClientID,
		Version:     k.Version.String(),
		DialTimeout: k.DialTimeout.Duration,
		TLS: kafka.TLSOptions{
			Enabled: k.TLS.Enabled, CAFile: k.TLS.CAFile, CertFile: k.TLS.CertFile, KeyFile: k.TLS.KeyFile,
			ServerName: k.TLS.ServerName, InsecureSkipVerify: k.TLS.InsecureSkipVerify,
		},
		SASL: kafka.SASLOptions{Mechanism: string(k.SASL.Mechanism), Username: k.SASL.Username, Password: k.SASL.Password},
	}
	if !cfg.Embedded() {
		return o
	}
	// The daemon's own clients of the embedded broker use its credentials
	// and trust its certificate unless [kafka] says otherwise.
	e := cfg.EmbeddedBroker
	if o.SASL.Mechanism == "" && e.SASL.Mechanism != "" {
		o.SASL = kafka.SASLOptions{Mechanism: string(e.SASL.Mechanism), Username: e.SASL.Username, Password: e.SASL.Password}
	}
	if !o.TLS.Enabled && e.TLS.Enabled() {
		o.TLS = kafka.TLSOptions{Enabled: true, CAFile: e.TLS.CertFile}
	}
	return o
}

// EmbeddedBrokerAddr is where clients reach the embedded broker of cfg.
func EmbeddedBrokerAddr(cfg *config.Config) []string {
	return []string{cfg.EmbeddedBroker.Listen}
}

// BrokerOptions maps the [embedded] section into broker options.
func BrokerOptions(e config.Embedded, log zerolog.Logger) (kafka.BrokerOptions, error) {
	o := kafka.BrokerOptions{Listen: e.Listen, DataDir: e.DataDir, SyncWrites: e.SyncWrites, Logger: log}
	if e.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(e.TLS.CertFile, e.TLS.KeyFile)
		if err != nil {
			return o, fmt.Errorf("embedded.tls: %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if e.SASL.Mechanism != "" {
		o.SASL = &kafka.SASLOptions{Mechanism: string(e.SASL.Mechanism), Username: e.SASL.Username, Password: e.SASL.Password}
	}
	return o, nil
}

// TopicSpecs maps [[topics]].
func TopicSpecs(ts []config.Topic) []kafka.TopicSpec {
	out := make([]kafka.TopicSpec, len(ts))
	for i, t := range ts {
		out[i] = kafka.TopicSpec{Name: t.Name, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Configs: t.Configs}
	}
	return out
}

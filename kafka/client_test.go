package kafka

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSASLMechanisms(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			creds := SASLOptions{Mechanism: mech, Username: "svc", Password: "s3cret"}
			b := startBroker(t, BrokerOptions{SASL: &creds})

			c := connect(t, ClientOptions{Brokers: []string{b.Addr()}, SASL: creds})
			mustCreate(t, c, "t", 1)
			produceN(t, c, "t", "r", 10)
			if got := consumeAll(t, c, "t"); len(got) != 10 {
				t.Fatalf("consumed %d records, want 10", len(got))
			}

			// The embedded broker drops the connection on bad
			// credentials, so Connect retries until ctx ends and says
			// what the EOF likely means.
			wrong := creds
			wrong.Password = "nope"
			// Ended once an attempt has failed (an event, not a time: a
			// loaded machine makes an attempt slow).
			ctx, cancel := context.WithCancel(testContext(t, 60*time.Second))
			defer cancel()
			log := zerolog.New(onWrite(func(line string) {
				if strings.Contains(line, "retrying") {
					cancel()
				}
			}))
			_, err := Connect(ctx, ClientOptions{Brokers: []string{b.Addr()}, SASL: wrong}, log)
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "wrong username or password") {
				t.Fatalf("wrong password: err = %v, want Connect to stop with ctx, naming the likely cause", err)
			}
		})
	}
}

// TestConnectAuthenticationFailedIsFinal answers SASL like Kafka does (an
// error code, not a closed connection): Connect must stop at once.
func TestConnectAuthenticationFailedIsFinal(t *testing.T) {
	creds := SASLOptions{Mechanism: "PLAIN", Username: "svc", Password: "s3cret"}
	b := startBroker(t, BrokerOptions{SASL: &creds})
	b.cluster.ControlKey(int16(kmsg.SASLAuthenticate), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		b.cluster.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		if f := bytes.Split(req.SASLAuthBytes, []byte{0}); len(f) == 3 && string(f[2]) == creds.Password {
			return nil, nil, false // let the broker complete the exchange
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = kmsg.StringPtr("Authentication failed: Invalid username or password")
		return resp, nil, true
	})
	connect(t, ClientOptions{Brokers: []string{b.Addr()}, SASL: creds})

	wrong := creds
	wrong.Password = "nope"
	var logs syncBuffer
	_, err := Connect(testContext(t, 20*time.Second), ClientOptions{Brokers: []string{b.Addr()}, SASL: wrong}, zerolog.New(&logs))
	if !errors.Is(err, ErrAuthentication) || !errors.Is(err, sarama.ErrSASLAuthenticationFailed) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	// Counted, not timed: a loaded machine makes one attempt slow too.
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("authentication failures must not be retried:\n%s", logs.String())
	}
	t.Logf("wrong password: %v", err)
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	serverTLS, caFile := selfSigned(t, dir)
	b := startBroker(t, BrokerOptions{TLS: serverTLS})

	c := connect(t, ClientOptions{Brokers: []string{b.Addr()}, TLS: TLSOptions{Enabled: true, CAFile: caFile}})
	mustCreate(t, c, "t", 1)
	produceN(t, c, "t", "r", 10)
	if got := consumeAll(t, c, "t"); len(got) != 10 {
		t.Fatalf("consumed %d records, want 10", len(got))
	}

	// Without the CA, the broker's certificate is refused.
	cfg, err := NewSaramaConfig(ClientOptions{TLS: TLSOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metadata.Retry.Max = 0
	_, err = sarama.NewClient([]string{b.Addr()}, cfg)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: err = %v, want a certificate error", err)
	}
}

func TestTLSWithSCRAM(t *testing.T) {
	serverTLS, caFile := selfSigned(t, t.TempDir())
	creds := SASLOptions{Mechanism: "SCRAM-SHA-512", Username: "svc", Password: "pw"}
	b := startBroker(t, BrokerOptions{TLS: serverTLS, SASL: &creds})
	c := connect(t, ClientOptions{
		Brokers: []string{b.Addr()},
		TLS:     TLSOptions{Enabled: true, CAFile: caFile, ServerName: "localhost"},
		SASL:    creds,
	})
	mustCreate(t, c, "t", 1)
	produceN(t, c, "t", "r", 5)
	if got := consumeAll(t, c, "t"); len(got) != 5 {
		t.Fatalf("consumed %d records, want 5", len(got))
	}
}

func TestNewSaramaConfig(t *testing.T) {
	dir := t.TempDir()
	_, caFile := selfSigned(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")

	cfg, err := NewSaramaConfig(ClientOptions{Version: "3.6.0", ClientID: "x", SASL: SASLOptions{Mechanism: "scram-sha-256", Username: "u", Password: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != sarama.V3_6_0_0 || cfg.ClientID != "x" || cfg.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA256 ||
		cfg.Net.SASL.SCRAMClientGeneratorFunc == nil || !cfg.Producer.Return.Successes || cfg.Metadata.AllowAutoTopicCreation {
		t.Fatalf("unexpected config: version %v, client id %q, mechanism %q", cfg.Version, cfg.ClientID, cfg.Net.SASL.Mechanism)
	}

	bad := []struct {
		name string
		o    ClientOptions
		want string
	}{
		{"version", ClientOptions{Version: "three"}, `version "three"`},
		{"missing CA", ClientOptions{TLS: TLSOptions{Enabled: true, CAFile: missing}}, missing},
		{"CA not PEM", ClientOptions{TLS: TLSOptions{Enabled: true, CAFile: garbage}}, garbage + ": no PEM certificate"},
		{"cert without key", ClientOptions{TLS: TLSOptions{Enabled: true, CertFile: caFile}}, "must be given together"},
		{"bad key", ClientOptions{TLS: TLSOptions{Enabled: true, CertFile: caFile, KeyFile: garbage}}, garbage},
		{"TLS options, TLS off", ClientOptions{TLS: TLSOptions{CAFile: caFile}}, "TLS is not enabled"},
		{"mechanism", ClientOptions{SASL: SASLOptions{Mechanism: "GSSAPI", Username: "u", Password: "p"}}, `"GSSAPI" is not supported`},
		{"no username", ClientOptions{SASL: SASLOptions{Mechanism: "PLAIN"}}, "needs a username"},
		{"user, no mechanism", ClientOptions{SASL: SASLOptions{Username: "u"}}, "no SASL mechanism"},
	}
	for _, tc := range bad {
		_, err := NewSaramaConfig(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestStartBrokerRejectsBadSASL(t *testing.T) {
	_, err := StartBroker(BrokerOptions{SASL: &SASLOptions{Mechanism: "OAUTHBEARER", Username: "u"}})
	if err == nil || !strings.Contains(err.Error(), "OAUTHBEARER") {
		t.Fatalf("err = %v, want unsupported mechanism", err)
	}
}

// onWrite is a log sink that hands every line to fn.
type onWrite func(line string)

func (f onWrite) Write(p []byte) (int, error) {
	f(string(p))
	return len(p), nil
}

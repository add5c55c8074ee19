package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"
)

// Connect backoff: a broker that is restarting or not up yet is retried
// quickly at first, then every connectMax.
const (
	connectMin = 100 * time.Millisecond
	connectMax = 5 * time.Second
)

// ErrAuthentication is wrapped by the error of [Connect] when the cluster
// refused the SASL credentials; it is not retried, since a wrong password
// does not fix itself.
var ErrAuthentication = errors.New("kafka: authentication failed")

// Connect builds the configuration with [NewSaramaConfig] and connects to
// the cluster, retrying with exponential backoff (100ms doubling to 5s)
// until it succeeds or ctx is done. Each failed attempt is logged at warn
// with its number and error. Invalid options and rejected credentials fail
// at once. The caller closes the client.
func Connect(ctx context.Context, o ClientOptions, log zerolog.Logger) (sarama.Client, error) {
	if len(o.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers to connect to")
	}
	cfg, err := NewSaramaConfig(o)
	if err != nil {
		return nil, err
	}
	b := newBackoff(connectMin, connectMax)
	var last error // the last attempt that failed on its own
	for attempt := 1; ; attempt++ {
		client, err := dial(ctx, o.Brokers, cfg)
		switch {
		case err == nil:
			if attempt > 1 {
				log.Info().Int("attempt", attempt).Strs("brokers", o.Brokers).Msg("connected to Kafka")
			}
			return client, nil
		case ctx.Err() != nil:
			return nil, connectErr(o.Brokers, ctx.Err(), last)
		case errors.Is(err, sarama.ErrSASLAuthenticationFailed):
			return nil, fmt.Errorf("%w: %w", ErrAuthentication, err)
		}
		last = explain(err, cfg)
		log.Warn().Int("attempt", attempt).Strs("brokers", o.Brokers).Err(last).
			Dur("retry_in", b.next).Msg("cannot connect to Kafka, retrying")
		if werr := b.wait(ctx); werr != nil {
			return nil, connectErr(o.Brokers, werr, last)
		}
	}
}

func connectErr(brokers []string, ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("kafka: connecting to %v: %w", brokers, ctxErr)
	}
	return fmt.Errorf("kafka: connecting to %v: %w (last attempt: %w)", brokers, ctxErr, last)
}

// explain adds what a bare connection error likely means. Kafka answers bad
// credentials with SASL_AUTHENTICATION_FAILED, but some brokers (the
// embedded one among them) just close the connection, which sarama reports
// as EOF.
func explain(err error, cfg *sarama.Config) error {
	if cfg.Net.SASL.Enable && errors.Is(err, io.EOF) {
		return fmt.Errorf("%w (the broker closed the connection; with SASL %s this usually means a wrong username or password)",
			err, cfg.Net.SASL.Mechanism)
	}
	return err
}

// dial runs one sarama.NewClient, which cannot be cancelled and may take up
// to a dial timeout per broker, in a goroutine, so that Connect returns as
// soon as ctx is done. A client that connects after that is closed.
func dial(ctx context.Context, brokers []string, cfg *sarama.Config) (sarama.Client, error) {
	type result struct {
		c   sarama.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := sarama.NewClient(brokers, cfg)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

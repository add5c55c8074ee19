package kafka

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// mechanism returns o.Mechanism in its canonical spelling, "" when SASL is
// off, or an error naming the mechanisms supported.
func (o SASLOptions) mechanism() (string, error) {
	switch m := strings.ToUpper(strings.TrimSpace(o.Mechanism)); m {
	case "", sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		return m, nil
	default:
		return "", fmt.Errorf("SASL mechanism %q is not supported (use %s, %s or %s)",
			o.Mechanism, sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512)
	}
}

// applySASL configures cfg for o; a zero o leaves SASL off.
func applySASL(cfg *sarama.Config, o SASLOptions) error {
	mech, err := o.mechanism()
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if mech == "" {
		if o.Username != "" || o.Password != "" {
			return fmt.Errorf("kafka: SASL username or password is set but no SASL mechanism")
		}
		return nil
	}
	if o.Username == "" {
		return fmt.Errorf("kafka: SASL %s needs a username", mech)
	}
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLMechanism(mech)
	cfg.Net.SASL.User = o.Username
	cfg.Net.SASL.Password = o.Password
	switch mech {
	case sarama.SASLTypeSCRAMSHA256:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
			return &scramClient{hash: sha256.New}
		}
	case sarama.SASLTypeSCRAMSHA512:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient {
			return &scramClient{hash: sha512.New}
		}
	}
	return nil
}

// scramClient implements sarama.SCRAMClient with xdg-go/scram. sarama makes
// one per connection.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authzID string) error {
	cl, err := c.hash.NewClient(user, pass, authzID)
	if err != nil {
		return err
	}
	c.conv = cl.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }

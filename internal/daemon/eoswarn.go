package daemon

import (
	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// embeddedEOSLimit is the one warning an exactly-once daemon on the
// embedded broker logs at start (README, Guarantees; docs/design.md).
const embeddedEOSLimit = "exactly-once on the embedded broker: the broker writes a transaction's commit markers " +
	"partition by partition and then its input offset, with no prepare record, so a broker crash (kill -9, power loss) " +
	"during a commit can leave it committed in some partitions only; pipelines read back and send the rest, but a crash " +
	"while they do can still duplicate records (never lose them). Apache Kafka's transaction coordinator logs the " +
	"commit decision first and completes it after a crash, and does not have this limit"

// warnEmbeddedEOS logs embeddedEOSLimit once when a pipeline runs
// exactly-once and the brokers are the embedded one.
func warnEmbeddedEOS(cfg *config.Config, client sarama.Client, log zerolog.Logger) {
	var names []string
	for _, p := range cfg.Pipelines {
		if p.Guarantee == config.ExactlyOnce {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 || !(cfg.Embedded() || kafka.IsEmbeddedBroker(client)) {
		return
	}
	log.Warn().Strs("pipelines", names).Msg(embeddedEOSLimit)
}

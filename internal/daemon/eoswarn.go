package daemon

import (
	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/kafka"
)

// embeddedEOSLimit is the one warning an exactly-once daemon on the
// embedded broker logs at start (README, Guarantees; docs/design.md).
const embeddedEOSLimit = "exactly-once on the embedded broker: if the broker is killed (kill -9, power loss) " +
	"while it writes a transaction's commit, the transaction can end up committed in some output partitions " +
	"and not in the others, or without its input offset; the pipeline then runs it again, which duplicates " +
	"the outputs already committed (nothing is lost). Apache Kafka's transaction coordinator writes a prepare " +
	"record first and finishes the commit after a crash, and does not have this limit"

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

// Package kafka connects wasmhost to Kafka: the embedded broker, the
// sarama client configuration, topic administration and the shared host
// producer. It does not import the config package; the CLI maps its
// configuration into the option structs defined here.
//
// # Lifecycle
//
// Start in this order and stop in the reverse one:
//
//  1. [StartBroker], only when no brokers are configured. [Broker.Close]
//     comes last, after every client is closed; with a DataDir it writes the
//     broker's state (records, committed offsets) to disk.
//  2. [Connect] returns a sarama.Client; it waits, retrying, for a broker
//     that is not up yet. The caller owns the client and closes it after
//     everything built on it.
//  3. [EnsureTopics] (daemon start) or [SetupTopics] (the CLI's topic
//     setup) with a sarama.ClusterAdmin made from the client. Topics are
//     never created implicitly, by the embedded broker or, through
//     Metadata.AllowAutoTopicCreation=false, by a real cluster.
//  4. [NewProducer] on the client. Stop every sender, then call
//     [Producer.Close] with a deadline; it flushes what is in flight.
//
// # Concurrency
//
// [Producer.Send] and [Producer.Stats] may be called from any number of
// goroutines, also while Close runs: a Send that starts after Close began
// does not send, and its Ack gets [ErrProducerClosed]. Every record's
// [Ack.Done] is called exactly once, from the producer's single delivery
// goroutine, one call at a time, so an Ack needs no lock against other Acks
// of the same producer but must not block or call Send.
//
// # Ownership
//
// Send takes the message until its Ack is called: the caller must not
// change the message, or the bytes its Key and Value encode, before then.
// Send stores the Ack in msg.Metadata, which callers must leave alone.
//
// # Errors
//
// [Connect] retries until its context ends, except when the cluster refuses
// the credentials ([ErrAuthentication]). The producer retries a batch the
// broker refuses with a retriable error, or whose connection fails, up to
// Producer.Retry.Max times, with the same sequence numbers; then, and for
// errors that cannot go away (a record too large, a partition the topic
// does not have), the Ack gets the error: errors.Is works with sarama's
// KError values.
package kafka

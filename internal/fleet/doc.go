// Package fleet is what daemons sharing brokers need from each other,
// through Kafka alone.
//
// # Plugins through Kafka
//
// The plugin topic (plugins.topic, one partition, compacted) holds every
// deployed module under its own key "NAME@SHA256" and, under key "NAME",
// a pointer to the version that runs (see plugins_catalog.go for the
// records). [Publisher] writes it: `wasmhost plugin deploy`, `rollback`,
// `remove`. A [Catalog] is the topic's state, built by applying its
// records in order; [ReadCatalog] reads it once (`plugin list`), and a
// [Follower] reads it from the start and then follows it for a daemon,
// which swaps in a new current version as it swaps a changed plugin file.
//
// Modules may be signed: [Sign] with an Ed25519 key from [GenerateKey]
// over the plugin's name and sha256; [Verify] checks a [Signature] against
// the trusted keys, for modules from Kafka and from files alike.
//
// # Sources run once per fleet
//
// A [Lease] is a source's membership of its lease group, a consumer group
// over a one-partition lease topic ([LeaseTopicSpec]): the member holding
// the partition holds the lease. The Lease is the source's pipeline.Gate:
// ticks pass only while it is held and while the coordinator has accepted
// one of the member's own heartbeats recently enough (the fence, see
// [Lease]); revoking it waits for the tick under way. [StartLease] joins in
// the background; Close leaves the group, so another daemon takes over at
// once.
//
// # One view of the fleet
//
// A [Reporter] publishes the daemon's [StatusRecord], keyed by daemon id,
// to the status topic ([StatusTopicSpec], compacted) every interval, and a
// last one with state "stopped" at Stop. A [View] follows the topic and
// returns the fleet ([FleetStatus]: every daemon, stale ones marked, and
// which plugin versions the live ones serve); [ReadFleet] reads it once.
// [Snapshot] is the pure function from records to a FleetStatus.
//
// # Lifecycle and concurrency
//
// A Lease's methods are safe for concurrent use; Enter and Exit are called
// by the source's goroutine around each tick, Status by anyone, Close once
// after the source has stopped. A Reporter is started and stopped by one
// goroutine, before the producer it uses is closed. A View's Status is safe
// for concurrent use; Close it before its client. A View needs a client of
// its own: a broker answers a connection's requests in order, and the
// View's long-polling fetches would hold back other requests on a shared
// one (the lease clients shorten their fetches for the same reason).
//
// A Publisher is used by one goroutine and closed before its client. A
// Follower is made by [Follow], which returns once it has read the topic
// to its end; its methods are safe for concurrent use, and Close stops it
// before its client is closed. Catalogs are not safe for concurrent use
// (the Follower guards its own).
package fleet

// Package fleet is what daemons sharing a config need from each other,
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
// # Lifecycle and concurrency
//
// A Publisher is used by one goroutine and closed before its client. A
// Follower is made by [Follow], which returns once it has read the topic
// to its end; its methods are safe for concurrent use, and Close stops it
// before its client is closed. Catalogs are not safe for concurrent use
// (the Follower guards its own).
package fleet

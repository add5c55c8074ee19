// Package state is the key-value state of stateful plugins: one [Store]
// per pipeline and input partition, kept in memory and made durable by a
// changelog topic (see docs/design.md, "State").
//
// # Lifecycle
//
// An actor creates a Store when it is assigned a partition whose plugin
// uses state, rebuilds it with [Restore] from the changelog before the
// plugin sees any record, and drops it when the partition is revoked. Each
// plugin call is bracketed by [Store.BeginCall] and [Store.EndCall] (a
// failed call's changes are taken back); the changes since the last
// [Store.Commit] are the open transaction, written to the changelog by
// [Store.AppendChangelog], then committed, or taken back by [Store.Abort]
// when the transaction aborts.
//
// # Concurrency
//
// A Store is owned by one goroutine (the partition's actor). Only
// [Store.Size] may be called from others.
package state

// Package plugintool is the plugin author's tool chain behind `wasmhost
// plugin`: scaffolding a plugin in Go, C or AssemblyScript (New), building
// it with the right compiler flags for its language (Build) and measuring
// what it costs the daemon to load (MeasureCost), running it offline on
// records from a JSON lines file in the daemon's sandbox (Run) and
// comparing what it did with an expected transcript (Diff), and describing
// a .wasm file (FormatInspection).
//
// # Scaffolds
//
// A scaffold carries its SDK, copied from the SDKs this binary embeds, so
// it builds with its language's toolchain alone, anywhere: a Go plugin gets
// the Go SDK's source in GoSDKDir, which its go.mod replaces the SDK module
// with; C gets the headers; AssemblyScript the .ts files and a package.json
// pinning the compiler. SDKFile records the ABI version copied; Build warns
// when it is not this binary's.
//
// # Records files
//
// A records file has one JSON object per line; blank lines and lines that
// start with # are skipped. An input line is a record:
//
//	{"topic":"users","partition":0,"offset":7,"timestamp":1704067200000,
//	 "key":"42","value":{"name":"Ada"},"headers":[{"key":"trace","value":"x1"}]}
//
// Every field may be left out: topic defaults to the --topic flag, partition
// to 0, offset to one more than the previous line's, timestamp (Unix ms or
// RFC 3339) to the --time flag, key and value to null, headers to none. A key,
// value or header value is a JSON string (its UTF-8 bytes), null, any other
// JSON value (an object, array, number or boolean: its compact encoding, as
// written), or given as base64 in key_b64, value_b64 or a header's value_b64.
// A line {"tick":true} (with an optional "timestamp") calls the plugin's tick
// handler at that point.
//
// # Transcripts
//
// What a plugin did is a transcript: JSON lines in input order, one per
// produced record, {"input":0,"topic":"out","partition":-1,"key":"42",...},
// and one per failed record, {"input":3,"failed":true,"reason":"..."}.
// Records produced by a tick carry "tick" (its 0-based number) instead of
// "input". A value that is a JSON object or array is written as JSON, other
// UTF-8 as a string, anything else as value_b64. An expected-output file is a
// transcript; when it is compared with what the plugin did, every field of an
// expected line that is present must match, except that a missing key or
// value means null and missing headers mean none, and a value written as
// JSON matches any bytes that decode to the same JSON.
//
// # Sandbox
//
// Run uses the host package exactly as the daemon does: the same load checks,
// sandbox, memory limit, call time limit and produce checks (and the same
// defaults, taken from the config package). Records are handed to one
// instance in file order, in batches of at most the batch size that never mix
// partitions. Unlike the daemon there is no retry: a record that fails is
// reported once, and a call that traps fails every record of its batch and
// the instance is replaced.
package plugintool

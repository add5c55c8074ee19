// Package verify checks a pipeline's delivery guarantee from the outside.
// [Produce] writes input records that carry a sequence number (header
// "seq"); after a run, [Check] reads the input and output topics (with
// read_committed where asked) and the group's committed offsets, and reports
// per input partition the records missing from the output, duplicated in it,
// and out of order, plus committed records whose output is missing. The
// output must keep the input's "seq" header, as the forward plugin does.
//
// Used by the tests and by hand: `wasmhost verify produce` and
// `wasmhost verify check`. Functions are safe to call concurrently; each
// uses its own client.
package verify

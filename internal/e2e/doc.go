// Package e2e holds the end-to-end tests: the daemon against the embedded
// broker over TCP, with the bundled plugins built from source, in-process
// and as a subprocess. It has no non-test code.
package e2e

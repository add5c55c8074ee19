// Package cli is the wasmhost command line: it parses arguments (with
// cobra), loads the configuration, sets up logging and signals, and hands
// over to the packages that do the work. [Main] returns the process exit
// code: 0 on success, 1 on a runtime failure, 2 on a usage or configuration
// error.
package cli

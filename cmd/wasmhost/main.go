// Command wasmhost runs Kafka consumer actors that hand records to sandboxed
// WebAssembly plugins. Run "wasmhost --help" for the commands.
package main

import (
	"os"

	"github.com/wasmhost/wasmhost/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

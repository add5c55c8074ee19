// Command wrongabi is a plugin built for an ABI version the host does not
// speak.
package main

//go:wasmexport wasmhost_abi_version
func abiVersion() int32 { return 999 }

//go:wasmexport wasmhost_on_batch
func onBatch(n, count int32) int32 { return 0 }

func main() {}

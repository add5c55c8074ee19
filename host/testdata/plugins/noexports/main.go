// Command noexports is a WASI reactor that is not a wasmhost plugin.
package main

func main() {}

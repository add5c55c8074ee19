// Command nohandler is a test plugin built with the SDK that registers no
// handler: the host must refuse it at load.
package main

import _ "github.com/wasmhost/wasmhost/sdk"

func main() {}

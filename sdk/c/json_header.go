package csdk

import _ "embed"

// JSONHeaderName is the file name of the C SDK's JSON reader.
const JSONHeaderName = "wasmhost_json.h"

// JSONHeader is the content of wasmhost_json.h, which `wasmhost plugin new
// --lang c` copies beside wasmhost.h.
//
//go:embed wasmhost_json.h
var JSONHeader []byte

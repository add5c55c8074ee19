package sdk

import (
	"fmt"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Log writes one line to the host's log at level. The host adds the plugin's
// name and version (and pipeline) to it. Log allocates nothing of its own, so
// a constant message costs one host call.
func Log(level abi.LogLevel, msg string) { hostLog(level, msg) }

// Debugf logs at debug level, formatting as fmt.Sprintf.
func Debugf(format string, args ...any) { Log(abi.LevelDebug, fmt.Sprintf(format, args...)) }

// Infof logs at info level, formatting as fmt.Sprintf.
func Infof(format string, args ...any) { Log(abi.LevelInfo, fmt.Sprintf(format, args...)) }

// Warnf logs at warning level, formatting as fmt.Sprintf.
func Warnf(format string, args ...any) { Log(abi.LevelWarn, fmt.Sprintf(format, args...)) }

// Errorf logs at error level, formatting as fmt.Sprintf. It returns nothing:
// to fail a record, return an error from the handler.
func Errorf(format string, args ...any) { Log(abi.LevelError, fmt.Sprintf(format, args...)) }

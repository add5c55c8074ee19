//go:build !wasip1

package sdk

import (
	"fmt"
	"strings"
	"time"

	"github.com/wasmhost/wasmhost/sdk/abi"
)

// Hooks for the examples in package sdk_test: they run the registered
// handlers through the native stub host, as the wasmhost daemon runs them in
// a WebAssembly instance, and print the host calls they made.

// RunStubBatch delivers recs as one batch to a fresh stub host whose config is
// cfg and returns the calls the plugin made.
func RunStubBatch(cfg map[string]string, recs ...Record) string {
	h := installStub(cfg)
	st := h.runBatch(abi.AppendBatch(nil, recs), int32(len(recs)))
	return h.format(st)
}

// RunStubTick runs one tick at now on a fresh stub host whose config is cfg
// and returns the calls the plugin made.
func RunStubTick(cfg map[string]string, now time.Time) string {
	h := installStub(cfg)
	return h.format(h.runTick(now))
}

// installStub installs a fresh stub host and forgets the cached config.
// Handlers stay registered.
func installStub(cfg map[string]string) *stubHost {
	host = &stubHost{config: cfg}
	config.loaded, config.m = false, nil
	abort()
	return host
}

var levelNames = map[abi.LogLevel]string{
	abi.LevelDebug: "debug", abi.LevelInfo: "info", abi.LevelWarn: "warn", abi.LevelError: "error",
}

// format prints the calls a plugin made, leaving out reading the batch and
// the config, and the call's status.
func (h *stubHost) format(status int32) string {
	var b strings.Builder
	for _, c := range h.calls {
		switch c.Func {
		case abi.FuncLog:
			fmt.Fprintf(&b, "log %s %q\n", levelNames[c.Level], c.Text)
		case abi.FuncRecordFail:
			fmt.Fprintf(&b, "record_fail %d %q\n", c.Index, c.Text)
		case abi.FuncProduce:
			fmt.Fprintf(&b, "produce -> %s\n", abi.StatusText(c.Status))
			for _, e := range c.Outputs {
				in := fmt.Sprint(e.input)
				if e.input == abi.NoInput {
					in = "none"
				}
				fmt.Fprintf(&b, "  input=%s topic=%s partition=%d key=%q value=%q", in, e.rec.Topic, e.rec.Partition, e.rec.Key, e.rec.Value)
				for _, hd := range e.rec.Headers {
					fmt.Fprintf(&b, " header[%s]=%q", hd.Key, hd.Value)
				}
				b.WriteByte('\n')
			}
		}
	}
	fmt.Fprintf(&b, "status %s\n", abi.StatusText(status))
	return b.String()
}

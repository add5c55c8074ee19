//go:build !linux

package host

import "context"

// Elsewhere than on Linux an instance's memory is wazero's default: a Go
// slice that memory.grow reallocates (linearmem_linux.go maps it instead).

type linearMemory struct{}

func (*linearMemory) afterCall() {}

func withLinearMemory(ctx context.Context, _ *Instance) context.Context { return ctx }

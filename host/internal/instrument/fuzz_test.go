package instrument_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/wasmhost/wasmhost/host/internal/instrument"
	wt "github.com/wasmhost/wasmhost/host/internal/wasmtest"
)

// FuzzInterruptible: any bytes either are refused or come out as a module;
// a module wazero accepts still compiles once instrumented.
func FuzzInterruptible(f *testing.F) {
	f.Add(sample())
	var empty wt.Module
	f.Add(empty.Bytes())
	var loops wt.Module
	loops.Memory(1, 2)
	loops.Func([]byte{wt.I32}, []byte{wt.I32}, nil, new(wt.Code).
		Loop().Block().Loop().LocalGet(0).BrIf(0).EndBlock().EndBlock().EndBlock().
		LocalGet(0).End())
	f.Add(loops.Bytes())
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := instrument.Interruptible(bin, opts)
		if err != nil {
			return
		}
		// The name section aside (wazero sizes a name map by its count
		// before reading it, so an input's could exhaust memory here), a
		// module wazero accepts must still compile once instrumented; and
		// the name section the rewrite writes must never spoil a module.
		inPlain, outPlain := withoutNameSection(bin), withoutNameSection(out)
		outOK := compiles(ctx, rt, outPlain)
		if !outOK && compiles(ctx, rt, inPlain) {
			t.Fatalf("valid module no longer compiles after instrumenting")
		}
		if outOK && len(outPlain) != len(out) && !compiles(ctx, rt, out) {
			t.Fatalf("the rewritten name section makes the module fail to compile")
		}
		if _, err := instrument.Interruptible(out, instrument.Options{Module: "again", Yield: "y", Overflow: "o", Every: 3, MaxDepth: 5}); err != nil {
			t.Fatalf("instrumented output does not parse again: %v", err)
		}
	})
}

func compiles(ctx context.Context, rt wazero.Runtime, bin []byte) bool {
	c, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return false
	}
	_ = c.Close(ctx)
	return true
}

// withoutNameSection drops the "name" custom sections of a module whose
// sections the instrumenter has already split without error.
func withoutNameSection(bin []byte) []byte {
	out := append([]byte(nil), bin[:8]...)
	for p := 8; p < len(bin); {
		size, n := binary.Uvarint(bin[p+1:])
		payload := bin[p+1+n : p+1+n+int(size)]
		if bin[p] != 0 || !bytes.HasPrefix(payload, []byte("\x04name")) {
			out = append(out, bin[p:p+1+n+int(size)]...)
		}
		p += 1 + n + int(size)
	}
	return out
}

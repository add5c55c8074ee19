package plugintool

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/sdk/abi"
)

// FormatInspection writes a readable account of an inspected plugin,
// ending with the verdict: loads, or every reason it would be refused.
func FormatInspection(w io.Writer, in *host.Inspection) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\t%s\n", in.Path)
	fmt.Fprintf(tw, "size\t%s (%d bytes)\n", humanBytes(uint64(in.Size)), in.Size)
	fmt.Fprintf(tw, "sha256\t%s\n", in.SHA256)
	if in.HasABIVersion {
		fmt.Fprintf(tw, "abi\tversion %d (this host speaks %d)\n", in.ABIVersion, abi.Version)
	} else {
		fmt.Fprintf(tw, "abi\tnot known: the plugin was not run\n")
	}
	// What the plugin handles: its handler exports, narrowed by what its
	// wasmhost_handlers export says (the Go SDK exports both handlers
	// whatever the plugin registered).
	var handlers []string
	if in.HandlesBatches() {
		handlers = append(handlers, abi.ExportOnBatch+" (records)")
	}
	if in.HandlesTicks() {
		handlers = append(handlers, abi.ExportOnTick+" (ticks)")
	}
	if len(handlers) == 0 {
		handlers = append(handlers, "none")
	}
	fmt.Fprintf(tw, "handlers\t%s\n", strings.Join(handlers, ", "))
	if m := in.Memory; m != nil {
		max := "no max"
		if m.HasMax {
			max = fmt.Sprintf("max %d pages (%s)", m.MaxPages, humanBytes(uint64(m.MaxPages)*64<<10))
		}
		fmt.Fprintf(tw, "memory\tmin %d pages (%s), %s; the limit is %s\n", m.MinPages, humanBytes(uint64(m.MinPages)*64<<10), max, humanBytes(in.MemoryLimit))
	} else {
		fmt.Fprintf(tw, "memory\tnone exported\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "exports (%d)\n", len(in.Exports))
	for _, s := range in.Exports {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Kind, s.Name, s.Type)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "imports (%d)\n", len(in.Imports))
	for _, s := range in.Imports {
		fmt.Fprintf(tw, "  %s\t%s.%s\t%s\n", s.Kind, s.Module, s.Name, s.Type)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(in.Problems) == 0 {
		_, err := fmt.Fprintln(w, "ok: the host would load this plugin")
		return err
	}
	fmt.Fprintf(w, "REFUSED: the host would not load this plugin:\n")
	for _, p := range in.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	return nil
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

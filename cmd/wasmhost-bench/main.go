// Command wasmhost-bench measures wasmhost against a plain sarama copy loop
// on the embedded broker and prints a table; `make bench` runs it. See
// package internal/bench for the method.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/wasmhost/wasmhost/internal/bench"
)

func main() {
	d := bench.DefaultOptions()
	o := d
	out := flag.String("out", "bench/results.json", "write the results as JSON to this file (\"\" to skip)")
	flag.StringVar(&o.PluginsDir, "plugins", d.PluginsDir, "directory holding forward.wasm")
	flag.StringVar(&o.StatefulPlugin, "stateful", d.StatefulPlugin, "the counter example's .wasm, for the stateful exactly-once row (\"\" to skip)")
	flag.StringVar(&o.Binary, "bin", d.Binary, "the wasmhost binary, for the process figures")
	flag.StringVar(&o.CacheDir, "cache", d.CacheDir, "compilation cache shared by the daemons")
	flag.IntVar(&o.Runs, "runs", d.Runs, "runs per figure (the median is reported)")
	flag.Float64Var(&o.Scale, "scale", d.Scale, "multiply record counts and the latency window (e.g. 0.1 for a quick check)")
	flag.StringVar(&o.BoundaryFile, "boundary", "", "output of `go test -bench Boundary ./host/` to include")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write the CPU profile of each at-least-once run to `PREFIX`-<baseline|wasmhost>-<partitions>p-<bytes>B.pprof")
	quiet := flag.Bool("q", false, "do not print a line per measurement")
	parts := flag.String("partitions", "", "partition counts of the scaling grid, e.g. \"1,4,16\" (default all)")
	values := flag.String("values", "", "value sizes in bytes of the scaling grid, e.g. \"100,1024\" (default all)")
	flag.StringVar(&o.Python, "python", d.Python, "the Python interpreter, with confluent_kafka, for the original design's row")
	skip := flag.String("skip", "", "parts not to run, comma-separated: throughput, latency, process, original")
	flag.Parse()
	var err error
	if o.Partitions, err = ints[int32](*parts, d.Partitions); err != nil {
		usage("-partitions: %v", err)
	}
	if o.ValueBytes, err = ints[int](*values, d.ValueBytes); err != nil {
		usage("-values: %v", err)
	}
	if *skip != "" {
		known := []string{"throughput", "latency", "process", "original"}
		o.Skip = strings.Split(*skip, ",")
		for _, s := range o.Skip {
			if !slices.Contains(known, s) {
				usage("-skip: %q is not one of %s", s, strings.Join(known, ", "))
			}
		}
	}
	if flag.NArg() > 0 {
		usage("unexpected arguments %q", flag.Args())
	}
	if o.Runs < 1 || o.Scale <= 0 {
		usage("-runs must be at least 1 and -scale above 0")
	}
	if !*quiet {
		o.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmhost-bench:", err)
		os.Exit(1)
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wasmhost-bench:", err)
		os.Exit(1)
	}
	if *out != "" {
		if err := rep.WriteJSON(*out); err != nil {
			fmt.Fprintln(os.Stderr, "wasmhost-bench:", err)
			os.Exit(1)
		}
		fmt.Println("results written to", *out)
	}
}

func usage(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wasmhost-bench: "+format+"\n", args...)
	os.Exit(2)
}

// ints parses a comma-separated list of positive integers; "" is def.
func ints[T int | int32](s string, def []T) ([]T, error) {
	if s == "" {
		return def, nil
	}
	var out []T
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, T(n))
	}
	return out, nil
}

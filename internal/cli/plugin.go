package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/plugintool"
)

func newPluginCmd() *cobra.Command {
	plugin := &cobra.Command{
		Use:   "plugin",
		Short: "Write, build, test and inspect plugins",
		Long: `Tools for plugin authors: scaffold a plugin in Go or C, build it with the
right flags, run it offline on records from a file in the daemon's sandbox,
and inspect a .wasm file. docs/plugin-guide.md walks through them.`,
		Args: wrapArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("plugin: missing subcommand (try 'wasmhost plugin --help')")
		},
	}
	plugin.AddCommand(newPluginNewCmd(), newPluginBuildCmd(), newPluginTestCmd(), newPluginInspectCmd())
	return plugin
}

func newPluginNewCmd() *cobra.Command {
	var o plugintool.NewOptions
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Scaffold a plugin that builds and passes its own test",
		Long: `Write a new plugin in directory NAME (or --dir): its source, fixture records
(testdata/input.jsonl), the output they must give (testdata/expected.jsonl)
and a README. It builds and passes its test as written:

  wasmhost plugin new myplugin && cd myplugin
  wasmhost plugin build
  wasmhost plugin test myplugin.wasm --input testdata/input.jsonl --expect testdata/expected.jsonl

A Go plugin's go.mod points the SDK module at a wasmhost source tree: --sdk,
else $WASMHOST_SDK, else the tree this binary was built from. A C plugin gets
a copy of the single-header SDK, wasmhost.h.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			files, err := plugintool.New(o)
			if err != nil {
				return usageError{err}
			}
			dir := o.Dir
			if dir == "" {
				dir = o.Name
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created %s plugin %s in %s:\n", o.Lang, o.Name, dir)
			for _, f := range files {
				fmt.Fprintf(out, "  %s\n", f)
			}
			fmt.Fprintf(out, "next:\n  cd %s\n  wasmhost plugin build\n  wasmhost plugin test %s.wasm --input testdata/input.jsonl --expect testdata/expected.jsonl\n", dir, o.Name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Lang, "lang", "l", plugintool.LangGo, "language: go or c")
	cmd.Flags().StringVarP(&o.Dir, "dir", "d", "", "directory to create (default ./NAME)")
	cmd.Flags().StringVar(&o.SDK, "sdk", "", "wasmhost source tree for a Go plugin's SDK (default $"+plugintool.EnvSDK+", else the tree this binary was built from)")
	return cmd
}

func newPluginBuildCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the plugin in DIR (default .) to WebAssembly",
		Long: `Build the plugin whose source is in DIR (default the current directory) to
DIR/NAME.wasm, NAME being the directory's name; -o names another file, or a
directory (such as the daemon's plugins directory) to write NAME.wasm into.
The language is told by the files: Go (.go) is built with
  GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
and C (.c) with
  clang ` + strings.Join(plugintool.CFlags, " ") + `
($` + plugintool.EnvClang + ` picks another clang, $` + plugintool.EnvSysroot + ` a WASI sysroot).`,
		Args: wrapArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			path, err := plugintool.Build(plugintool.BuildOptions{Dir: dir, Out: out, Log: cmd.ErrOrStderr()})
			if errors.Is(err, plugintool.ErrNotAPlugin) || errors.Is(err, os.ErrNotExist) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the .wasm to write, or a directory to write NAME.wasm into")
	return cmd
}

// testFlags are the flags of plugin test.
type testFlags struct {
	input, expect      string
	stateFile          string
	update, jsonOut    bool
	config             []string
	ticks              int
	start              string
	interval           time.Duration
	topic              string
	produceTopics      []string
	batchSize          int
	memory             config.Size
	callTimeout        time.Duration
	pipeline, consumer string
	name               string
}

func newPluginTestCmd() *cobra.Command {
	def := config.DefaultPipeline()
	f := testFlags{memory: def.Limits.Memory}
	cmd := &cobra.Command{
		Use:   "test PLUGIN.wasm",
		Short: "Run a plugin offline on records from a file, in the daemon's sandbox",
		Long: `Run PLUGIN.wasm on the records of --input (JSON lines) with the same loader,
sandbox and limits as the daemon, then call its tick handler --tick times.
Prints every call: the plugin's log lines, each record's result (ok or
failed, and why) and the records it produced. With --json only the
transcript is printed (the account goes to stderr): one JSON line per
produced record or failed record, the format of --expect files.

--expect compares the transcript with a file and exits 1 if they differ,
printing a diff; --update rewrites that file instead. Without --expect the
exit status is 0 whatever the records' results, once the plugin loads.

An input line is a record, every field optional:
  {"topic":"in","partition":0,"offset":0,"timestamp":1704067200000,
   "key":"k","value":{"any":"json"},"headers":[{"key":"h","value":"v"}]}
(a string value is its text, other JSON its encoding, value_b64 base64),
or {"tick":true} to call the tick handler at that point.
docs/plugin-guide.md describes both formats in full.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPluginTest(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.input, "input", "i", "", "input records, JSON lines")
	fl.StringVarP(&f.expect, "expect", "e", "", "expected transcript, JSON lines: exit 1 on a difference")
	fl.BoolVar(&f.update, "update", false, "write the transcript to the --expect file instead of comparing")
	fl.BoolVar(&f.jsonOut, "json", false, "print only the transcript on stdout (the account goes to stderr)")
	fl.StringArrayVar(&f.config, "config", nil, "plugin config entry KEY=VALUE (repeatable)")
	fl.IntVar(&f.ticks, "tick", 0, "call the tick handler N times after the input")
	fl.StringVar(&f.start, "time", "2024-01-01T00:00:00Z", "time of the run (RFC 3339 or Unix ms): timestamp of records that give none; tick n is at time + (n+1)*interval")
	fl.DurationVar(&f.interval, "interval", time.Second, "time between ticks")
	fl.StringVar(&f.topic, "topic", "input", "topic of input records that name none")
	fl.StringSliceVar(&f.produceTopics, "produce-topics", nil, "topics the plugin may produce to, comma separated (default any)")
	fl.IntVar(&f.batchSize, "batch-size", def.BatchSize, "most records per call, as the pipeline setting")
	fl.TextVar(&f.memory, "memory", &f.memory, "memory limit of the instance, as limits.memory")
	fl.DurationVar(&f.callTimeout, "call-timeout", def.Limits.CallTimeout.Duration, "time limit of one call, as limits.call_timeout")
	fl.StringVar(&f.pipeline, "pipeline", "test", "pipeline name the plugin sees (config wasmhost.pipeline)")
	fl.StringVar(&f.consumer, "consumer", "", "consumer id the plugin sees (config wasmhost.consumer); default \"PIPELINE-0\" with input records, \"\" (a source) without")
	fl.StringVar(&f.stateFile, "state", "", "initial state of a plugin that uses state, JSON lines {\"key\":\"k\",\"value\":\"v\"}; the final state ends the transcript")
	fl.StringVar(&f.name, "name", "", "plugin name (config wasmhost.plugin; default the file name without .wasm)")
	return cmd
}

// parseTestFlags checks the flags and reads the input; every problem is a
// usage error.
func parseTestFlags(f *testFlags, o *plugintool.RunOptions) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if f.input == "" && f.ticks == 0 {
		bad("nothing to run: give --input, --tick N or both")
	}
	if f.update && f.expect == "" {
		bad("--update needs --expect FILE to write")
	}
	if f.ticks < 0 {
		bad("--tick %d: must be 0 or more", f.ticks)
	}
	if f.batchSize < 1 {
		bad("--batch-size %d: must be at least 1", f.batchSize)
	}
	if f.interval <= 0 {
		bad("--interval %s: must be positive", f.interval)
	}
	if f.callTimeout <= 0 {
		bad("--call-timeout %s: must be positive", f.callTimeout)
	}
	if f.memory < 1<<20 || f.memory%(64<<10) != 0 {
		bad("--memory %s: must be a multiple of 64KiB, at least 1MiB", f.memory)
	}
	start, err := parseTime(f.start)
	if err != nil {
		bad("--time: %v", err)
	}
	cfg := map[string]string{}
	for _, kv := range f.config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			bad("--config %q: want KEY=VALUE", kv)
			continue
		}
		cfg[k] = v
	}
	if len(problems) > 0 {
		return usagef("%s", strings.Join(problems, "; "))
	}
	*o = plugintool.RunOptions{
		Name: f.name, Ticks: f.ticks, Start: start, Interval: f.interval,
		Config: cfg, Pipeline: f.pipeline, Consumer: f.consumer, ProduceTopics: f.produceTopics,
		BatchSize: f.batchSize, Memory: uint64(f.memory), CallTimeout: f.callTimeout,
	}
	if f.input != "" {
		steps, err := plugintool.ReadInputFile(f.input, plugintool.InputDefaults{Topic: f.topic, Time: start})
		if err != nil {
			return usageError{fmt.Errorf("--input %w", err)}
		}
		o.Steps = steps
	}
	if f.stateFile != "" {
		st, err := plugintool.ReadStateFile(f.stateFile)
		if err != nil {
			return usageError{fmt.Errorf("--state %w", err)}
		}
		o.State = st
	}
	if f.consumer == "" && len(o.Steps) > 0 {
		o.Consumer = f.pipeline + "-0"
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err == nil && fmt.Sprint(ms) == s {
		return time.UnixMilli(ms), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-01-01T00:00:00Z) nor Unix milliseconds", s)
}

func runPluginTest(cmd *cobra.Command, path string, f *testFlags) error {
	var o plugintool.RunOptions
	if err := parseTestFlags(f, &o); err != nil {
		return err
	}
	var expected []plugintool.Expected
	if f.expect != "" && !f.update {
		var err error
		if expected, err = plugintool.ReadExpectedFile(f.expect); err != nil {
			return usageError{fmt.Errorf("--expect %w", err)}
		}
	}
	stdout := cmd.OutOrStdout()
	o.Path, o.Report = path, stdout
	if f.jsonOut {
		o.Report = cmd.ErrOrStderr()
	}
	o.CacheDir = testCacheDir()
	entries, sum, err := plugintool.Run(cmd.Context(), o)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Report, "%d records, %d ticks in %d calls: %d records produced, %d failed\n", sum.Records, sum.Ticks, sum.Calls, sum.Produced, sum.Failed)
	if f.jsonOut {
		if err := plugintool.WriteTranscript(stdout, entries); err != nil {
			return err
		}
	}
	switch {
	case f.update:
		if err := writeTranscriptFile(f.expect, entries); err != nil {
			return err
		}
		fmt.Fprintf(o.Report, "wrote %s\n", f.expect)
	case f.expect != "":
		if diff := plugintool.Diff(f.expect, expected, entries); diff != "" {
			fmt.Fprint(o.Report, diff)
			return fmt.Errorf("FAIL: the plugin's output differs from %s", f.expect)
		}
		fmt.Fprintf(o.Report, "PASS: the output matches %s\n", f.expect)
	}
	return nil
}

func writeTranscriptFile(path string, entries []plugintool.Entry) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := plugintool.WriteTranscript(fh, entries); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}

// testCacheDir is a compilation cache under the user's cache directory, so
// running the same plugin again skips compiling it; "" when there is none.
func testCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wasmhost", "wazero")
}

func newPluginInspectCmd() *cobra.Command {
	var memory config.Size = config.DefaultPipeline().Limits.Memory
	var pin string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PLUGIN.wasm",
		Short: "Describe a plugin file and say whether the host would load it",
		Long: `Print a plugin file's size, sha256, ABI version (from running its
initializer and wasmhost_abi_version in the sandbox), the handlers it exports,
its declared memory, and its exports and imports; then either "ok" or every
reason the daemon would refuse it, with exit code 1. --memory and --sha256
check it against a pipeline's limits.memory and sha256 settings.`,
		Args: wrapArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if memory < 1<<20 || memory%(64<<10) != 0 {
				return usagef("--memory %s: must be a multiple of 64KiB, at least 1MiB", memory)
			}
			ctx := cmd.Context()
			rt, err := host.NewRuntime(ctx, host.RuntimeOptions{Logger: zerolog.New(io.Discard)})
			if err != nil {
				return err
			}
			defer rt.Close(ctx)
			in, err := rt.Inspect(ctx, host.LoadOptions{Path: args[0], SHA256: pin, MemoryLimit: uint64(memory)})
			if err != nil {
				return usageError{err}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(in); err != nil {
					return err
				}
			} else if err := plugintool.FormatInspection(out, in); err != nil {
				return err
			}
			if len(in.Problems) > 0 {
				return fmt.Errorf("%s: the host would refuse it (%d problems)", args[0], len(in.Problems))
			}
			return nil
		},
	}
	cmd.Flags().TextVar(&memory, "memory", &memory, "memory limit to check against, as limits.memory")
	cmd.Flags().StringVar(&pin, "sha256", "", "check the file against this sha256 pin")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the inspection as JSON")
	return cmd
}

package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wasmhost/wasmhost/internal/config"
)

// A file with mistakes: Load reports them all, each under its full key.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "wasmhost-config")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.toml")
	err = os.WriteFile(path, []byte(`
[[pipelines]]
name = "orders"
plugin = "enrich"
topics = ["orders"]
batchsize = 100
guarantee = "twice"

[pipelines.failure]
policy = "dead-letter"
`), 0o600)
	if err != nil {
		panic(err)
	}

	_, err = config.Load(path)
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			fmt.Printf("%s: %s\n", fe.Key, fe.Msg)
		}
	}
	// Output:
	// pipelines[0].batchsize: unknown key (did you mean "batch_size"?)
	// pipelines[0].failure.dead_letter_topic: required when policy is dead-letter
	// pipelines[0].guarantee: "twice" is not one of at-most-once, at-least-once, exactly-once
}

func ExampleConfig_Validate() {
	cfg := config.Default()
	p := config.DefaultPipeline()
	p.Name, p.Plugin, p.Topics = "orders", "enrich", []string{"orders"}
	p.Group = config.DefaultGroup(p.Name)
	p.Consumers = 0
	cfg.Pipelines = append(cfg.Pipelines, p)
	fmt.Println(cfg.Validate())
	fmt.Println(p.PluginPath(cfg.Plugins.Dir))
	// Output:
	// pipelines[0].consumers: must be between 1 and 1024, got 0
	// plugins/enrich.wasm
}

// Package config is the one place wasmhost's TOML configuration is read,
// defaulted and checked. docs/config.md lists every key.
//
// # Contract
//
//   - Load(path) reads a file, applies it on top of Default(), gives each
//     [[topics]], [[pipelines]] and [[sources]] entry the defaults of
//     DefaultTopic, DefaultPipeline and DefaultSource, sets an omitted pipeline
//     group to DefaultGroup(name), and runs Validate. A *Config returned by Load
//     is valid; nothing else in wasmhost needs to check it again.
//   - Every problem is reported at once: unknown keys (a typo is never
//     ignored), values of the wrong type or syntax, and failed checks come out
//     together in one *ValidationError, one FieldError per problem, each with
//     the key's full name including array indexes: "pipelines[1].guarantee".
//     Load wraps it with the file path; errors.As finds it. A TOML syntax
//     error is instead reported as "path:line:col: message".
//   - Values are typed: Duration, Size, Digest, KafkaVersion and the enums
//     (Guarantee, OffsetReset, FailurePolicy, LogLevel, LogFormat,
//     SASLMechanism). Other packages never parse configuration strings.
//   - Validate may be called on a Config built in Go (tests do: start from
//     Default and DefaultPipeline). It does not modify the Config, reads the
//     file system only to check that TLS files in use exist, and does not look
//     for plugin files.
//   - Relative paths (plugin paths, plugins.dir, data_dir, TLS files) are
//     relative to the daemon's working directory, not to the config file.
//
// A Config is a plain value: it is not safe to modify concurrently with
// readers, and nothing in this package keeps a reference to it.
package config

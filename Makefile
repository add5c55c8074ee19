# wasmhost: `make run` builds everything and starts the demo on the embedded
# broker; `make test` runs the whole suite. Only Go is needed.
GO      ?= go
BIN     := bin/wasmhost
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
PLUGINS := $(patsubst %/,%,$(dir $(wildcard plugins/*/main.go)))
WASM    := $(addsuffix .wasm,$(PLUGINS))

.PHONY: all build plugins run test bench vet fmt clean

all: build plugins

build: $(BIN)

$(BIN): $(shell find cmd internal host kafka sdk -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -ldflags "-X github.com/wasmhost/wasmhost/internal/cli.Version=$(VERSION)" -o $@ ./cmd/wasmhost

# Each bundled plugin builds to plugins/NAME.wasm (the daemon's plugins.dir).
plugins: $(WASM)

plugins/%.wasm: plugins/%/*.go $(shell find sdk -name '*.go' -not -name '*_test.go')
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o $@ ./plugins/$*

run: build plugins
	./$(BIN) run --config config.toml

test:
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/... ./plugins/...
	$(GO) test -count=1 -timeout 9m ./...

bench: build plugins
	$(GO) test -run '^$$' -bench . -benchmem ./host/ ./sdk/...

fmt:
	gofmt -w .

clean:
	rm -rf bin plugins/*.wasm .cache

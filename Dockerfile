# wasmhost: the daemon and the bundled plugins, built with the Makefile.
#
#   docker build -t wasmhost:dev --build-arg VERSION=$(git describe --always --dirty) .
#   docker build -t wasmhost-plugins:dev --target plugins .   # deploys the bundled plugins
#
# Stages: build (Go toolchain, runs `make build plugins`), plugins (the
# binary and the bundled .wasm files: it publishes them to the plugin topic
# with `wasmhost plugin deploy`, once, as a Kubernetes Job or a compose
# one-shot service), daemon (the default: a static binary on distroless,
# non-root, and no plugin files: its plugins come from Kafka).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# A static binary for the distroless image; wazero and sarama need no cgo.
ENV CGO_ENABLED=0
RUN make build plugins VERSION=${VERSION}

FROM gcr.io/distroless/static-debian12:nonroot AS plugins
COPY --from=build /src/bin/wasmhost /usr/local/bin/wasmhost
COPY --from=build /src/plugins/*.wasm /app/plugins/
COPY deploy/compose.toml /app/config.toml
WORKDIR /app
USER nonroot
ENTRYPOINT ["/usr/local/bin/wasmhost"]
# Publishes every bundled plugin that has no current version yet: running
# it again never undoes a later deploy or rollback.
CMD ["plugin", "deploy", "--dir", "/app/plugins", "--if-missing", "--config", "/app/config.toml"]

FROM gcr.io/distroless/static-debian12:nonroot AS daemon
COPY --from=build /src/bin/wasmhost /usr/local/bin/wasmhost
COPY deploy/compose.toml /app/config.toml
WORKDIR /app
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/wasmhost"]
CMD ["run", "--config", "/app/config.toml", "--log-format", "json"]

# wasmhost: the daemon and the bundled plugins, built with the Makefile.
#
#   docker build -t wasmhost:dev --build-arg VERSION=$(git describe --always --dirty) .
#   docker build -t wasmhost-plugins:dev --target plugins .   # the plugins alone, for Kubernetes
#
# Stages: build (Go toolchain, runs `make build plugins`), plugins (the .wasm
# files and a shell to copy them into a volume), daemon (the default: a
# static binary on distroless, non-root, with the bundled plugins).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# A static binary for the distroless image; wazero and sarama need no cgo.
ENV CGO_ENABLED=0
RUN make build plugins VERSION=${VERSION}

FROM busybox:1.37 AS plugins
COPY --from=build /src/plugins/*.wasm /plugins-src/
# Copies the bundled plugins into the volume mounted at /plugins.
CMD ["sh", "-c", "cp /plugins-src/*.wasm /plugins/ && ls -l /plugins"]

FROM gcr.io/distroless/static-debian12:nonroot AS daemon
COPY --from=build /src/bin/wasmhost /usr/local/bin/wasmhost
COPY --from=build /src/plugins/*.wasm /app/plugins/
COPY deploy/compose.toml /app/config.toml
WORKDIR /app
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/wasmhost"]
CMD ["run", "--config", "/app/config.toml", "--log-format", "json"]

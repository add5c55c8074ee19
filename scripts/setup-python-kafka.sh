#!/usr/bin/env bash
# Installs Debian's python3-confluent-kafka (librdkafka's Python client) for
# /usr/bin/python3: `make bench` compares wasmhost with the original design,
# a Python consumer loop on it (internal/bench/original.py). Idempotent: when
# the module imports, it does nothing. Where apt-get is not usable it says so
# and exits 1; `make bench` then runs without that row.
set -euo pipefail

python=${WASMHOST_PYTHON:-/usr/bin/python3}

works() {
	"$python" -c 'import confluent_kafka' >/dev/null 2>&1
}

if works; then
	exit 0
fi

if ! command -v apt-get >/dev/null; then
	echo "setup-python-kafka: no apt-get here; install confluent-kafka for $python yourself" >&2
	exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "setup-python-kafka: need root to apt-get install python3-confluent-kafka" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "setup-python-kafka: installing python3-confluent-kafka" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-confluent-kafka >/dev/null

if ! works; then
	echo "setup-python-kafka: $python still cannot import confluent_kafka" >&2
	exit 1
fi

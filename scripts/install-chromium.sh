#!/bin/sh
# Installs Debian's chromium for the status page's headless browser test
# (internal/e2e/statuspage_test.go). Idempotent: does nothing when a chromium
# binary is already on PATH. `make test` runs it first, so a fresh Debian
# machine with apt access needs nothing else.
set -eu

for b in chromium chromium-browser; do
	if command -v "$b" >/dev/null 2>&1; then
		exit 0
	fi
done

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: no chromium on PATH and no apt-get to install it; install chromium (or set WASMHOST_CHROMIUM to a Chrome/Chromium binary)" >&2
	exit 1
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-chromium: not root and no sudo: run 'apt-get install chromium' as root" >&2
		exit 1
	fi
	SUDO=sudo
fi

echo "install-chromium: installing Debian's chromium (for the status page browser test)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null 2>&1

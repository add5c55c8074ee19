#!/usr/bin/env bash
# Installs the AssemblyScript compiler that AssemblyScript plugins build with
# (sdk/as, the AssemblyScript scaffold and example): node and npm from
# Debian's packages when missing, then the assemblyscript npm package at the
# version sdk/as/package.json pins, into .cache/asc. Idempotent: when that
# version is installed it does nothing. `make test` runs it first, so a fresh
# machine (CI) gets it; tests find asc at .cache/asc/node_modules/.bin/asc
# (or $WASMHOST_ASC).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.cache/asc
want=$(sed -n 's/.*"assemblyscript": *"\([^"]*\)".*/\1/p' sdk/as/package.json)
if [ -z "$want" ]; then
	echo "setup-as: sdk/as/package.json pins no assemblyscript version" >&2
	exit 1
fi

installed() {
	[ -x "$dir/node_modules/.bin/asc" ] &&
		grep -q "\"version\": *\"$want\"" "$dir/node_modules/assemblyscript/package.json" 2>/dev/null
}

if installed; then
	exit 0
fi

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
	if ! command -v apt-get >/dev/null; then
		echo "setup-as: no node/npm and no apt-get here; install Node.js 18 or later with npm yourself" >&2
		exit 1
	fi
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		sudo=(sudo)
	fi
	echo "setup-as: installing nodejs npm" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

echo "setup-as: installing assemblyscript $want into $dir" >&2
mkdir -p "$dir"
cp sdk/as/package.json "$dir/package.json"
(cd "$dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
if ! installed; then
	echo "setup-as: $dir/node_modules/.bin/asc is not assemblyscript $want" >&2
	exit 1
fi

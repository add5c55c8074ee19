#!/usr/bin/env bash
# Installs what C plugins build with: clang, lld (wasm-ld), wasi-libc and the
# compiler-rt builtins for wasm32, from Debian's packages. Idempotent: when
# they are installed and compile a reactor, it does nothing. `make test` runs
# it first, so a fresh machine (CI) gets them.
set -euo pipefail

packages=(clang lld wasi-libc libclang-rt-dev-wasm32)

# works compiles and links a minimal WASI reactor.
works() {
	local dir
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' RETURN
	printf '#include <stdlib.h>\n__attribute__((export_name("f"))) int f(void) { return (int)(size_t)malloc(1); }\n' >"$dir/t.c"
	"${WASMHOST_CLANG:-clang}" --target=wasm32-wasi -mexec-model=reactor -O2 -o "$dir/t.wasm" "$dir/t.c" >/dev/null 2>&1
}

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ] && works; then
	exit 0
fi

if ! command -v apt-get >/dev/null; then
	if works; then
		exit 0 # not Debian, but a working clang for wasm32-wasi is there
	fi
	echo "setup-c: no apt-get here; install clang, lld and wasi-libc (a WASI sysroot: set WASI_SYSROOT) yourself" >&2
	exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "setup-c: need root to apt-get install ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "setup-c: installing ${missing[*]:-${packages[*]}}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

if ! works; then
	echo "setup-c: clang still cannot build a wasm32-wasi reactor" >&2
	exit 1
fi

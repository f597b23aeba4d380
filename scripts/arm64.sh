#!/usr/bin/env bash
# The Raspberry Pi build, checked on an x86-64 machine: bundles Astera into
# dist/astera.js, runs it with Deno's arm64 build (npm package
# @deno/linux-arm64-glibc) under qemu-aarch64-static with Debian's arm64 C
# library, with the permission set of `deno task serve` (deno.json), and runs
# the end-to-end go tests against it. A change that breaks arm64 (a native
# module, an FFI dependency, a platform assumption) fails here.
#
# Usage: scripts/arm64.sh [test files...]   (default: the end-to-end tests)
# Installs what is missing: qemu-user-static, libc6-arm64-cross and
# libgcc-s1-arm64-cross with apt-get; the arm64 deno into
# ${ASTERA_ARM64_DIR:-~/.cache/astera-arm64} with npm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DENO_VERSION=2.9.6
SYSROOT=/usr/aarch64-linux-gnu
PREFIX=${ASTERA_ARM64_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/astera-arm64}

if ! command -v qemu-aarch64-static >/dev/null 2>&1 ||
  [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$SYSROOT/lib/libgcc_s.so.1" ]; then
  echo "arm64: installing qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross >/dev/null
fi

DENO_ARM64="$PREFIX/$DENO_VERSION/package/deno"
if [ ! -x "$DENO_ARM64" ]; then
  echo "arm64: fetching @deno/linux-arm64-glibc@$DENO_VERSION"
  mkdir -p "$PREFIX/$DENO_VERSION"
  # `npm pack` rather than `npm install`: install refuses a package built for another CPU.
  tarball=$(cd "$PREFIX/$DENO_VERSION" && npm pack --silent "@deno/linux-arm64-glibc@$DENO_VERSION")
  tar -xzf "$PREFIX/$DENO_VERSION/$tarball" -C "$PREFIX/$DENO_VERSION"
  chmod +x "$DENO_ARM64"
fi
RUN_ARM64=(qemu-aarch64-static -L "$SYSROOT" "$DENO_ARM64")
"${RUN_ARM64[@]}" --version | head -1

deno task bundle

# The command the e2e harness (tests/asteraprocess.ts) starts instead of main.ts:
# the same permission set as `deno task serve`, from the same deno.json.
server=("${RUN_ARM64[@]}" run -P=serve --v8-flags=--max-semi-space-size=4,--expose-gc --config "$ROOT/deno.json" "$ROOT/dist/astera.js")
ASTERA_TEST_SERVER=$(printf '%s\n' "${server[@]}" |
  deno eval 'console.log(JSON.stringify((await new Response(Deno.stdin.readable).text()).trimEnd().split("\n")))')
export ASTERA_TEST_SERVER
echo "arm64: server command: ${server[*]}"

if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=(tests/e2e_test.ts tests/seed_test.ts tests/faults_test.ts tests/private_e2e_test.ts)
fi
# SQLite only: the PostgreSQL variants would double the slow qemu run, and the store
# backend is TypeScript the x86-64 run already covers (tests/store_backends.ts).
export ASTERA_TEST_BACKENDS=${ASTERA_TEST_BACKENDS:-sqlite}
export PATH="/usr/local/go/bin:$PATH" GOTOOLCHAIN=local NO_COLOR=1
deno test --allow-all "${tests[@]}"

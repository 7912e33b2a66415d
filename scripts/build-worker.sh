#!/usr/bin/env bash
# Builds the Worker into build/ with worker-build, offline (see TOOLCHAIN notes in the
# README). Does nothing when build/ is newer than every source. TOOLGATE_NO_OPT=1 skips
# wasm-opt for a fast dev loop.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=build/.toolgate-stamp
mode="${TOOLGATE_NO_OPT:+no-opt}"
mode="${mode:-release}"
if [ -f "$stamp" ] && [ -f build/index.js ] && [ "$(cat "$stamp")" = "$mode" ] &&
   [ -z "$(find src Cargo.toml Cargo.lock scripts/build-worker.sh -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
worker_build="${WORKER_BUILD_BIN:-$HOME/.cargo/bin/worker-build}"
# The Worker is built for size (the release profile is for the command line).
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}"
opt=()
if [ -n "${TOOLGATE_NO_OPT:-}" ]; then opt=(--no-opt); fi
"$worker_build" --release "${opt[@]}" --features worker
if [ -z "${TOOLGATE_NO_OPT:-}" ]; then
  # worker-build keeps the names section for stack traces; the Worker never panics on
  # purpose, and the names are a sixth of the module. A second -Oz, run until it stops
  # gaining (--converge), takes off a few more kilobytes.
  "$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm -Oz --converge --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
fi
echo "$mode" > "$stamp"

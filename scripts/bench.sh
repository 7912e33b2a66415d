#!/usr/bin/env bash
# `make bench`: every performance figure against its baseline, in one table
# (bench/table.mjs prints it; bench/PERFORMANCE.md explains the method).
#
#   core     the core natively (Criterion, benches/decision.rs): the release profile
#            (opt-level 3, the command line's) and the size profile (opt-level "z", the
#            Worker's), each in its own target directory
#   cedar    `toolgate eval` against Cedar, tuned and whole (benches/cedar), toolgate built
#            with each profile
#   wasm     the playground's wasm on the Cedar part's calls in node, against native
#            `toolgate eval` (bench/playground.mjs; needs the cedar part's files), and
#            the gzip size of the Worker's and the playground's wasm
#   gateway  toolgate against a pass-through JavaScript Worker under the same
#            `wrangler dev`, same origin, same run, interleaved (bench/gateway.mjs)
#
# Builds what it needs (the first run takes a while: the Cedar crate alone is about
# 5 minutes). Needs what `make test` installs (scripts/setup.sh). No part asserts a time.
#   BENCH_PARTS="core cedar wasm gateway"   the parts to run (default: all four)
#   BENCH_REQUESTS=300                 gateway requests of each kind per target
#   BENCH_CALLS=50000 BENCH_ROUNDS=3   the Cedar comparison's workload
set -euo pipefail
cd "$(dirname "$0")/.."
parts="${BENCH_PARTS:-core cedar wasm gateway}"
out=target/bench
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m (load average: %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
has() { [[ " $parts " == *" $1 "* ]]; }
criterion=(-- --warm-up-time 1 --measurement-time 3)

if has core; then
  step "core: Criterion, release profile (opt-level 3)"
  cargo bench --bench decision "${criterion[@]}" | tee "$out/core-release.txt"
  step "core: Criterion, size profile (opt-level z, as the Worker)"
  CARGO_PROFILE_BENCH_OPT_LEVEL=z cargo bench --target-dir target/size --bench decision \
    "${criterion[@]}" | tee "$out/core-size.txt"
fi

if has cedar; then
  step "cedar: toolgate eval against Cedar"
  cargo build --release --bin toolgate
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z cargo build --release --target-dir target/size --bin toolgate
  cedar=(cargo run --release --manifest-path benches/cedar/Cargo.toml --
    --calls "${BENCH_CALLS:-50000}" --rounds "${BENCH_ROUNDS:-3}")
  CARGO_TARGET_DIR=target/cedar-bench "${cedar[@]}"
  cp target/cedar-bench/result.jsonl "$out/cedar-release.jsonl"
  TOOLGATE_BIN=target/size/release/toolgate CARGO_TARGET_DIR=target/cedar-bench "${cedar[@]}"
  cp target/cedar-bench/result.jsonl "$out/cedar-size.jsonl"
fi

if has wasm; then
  step "wasm: the playground's evaluator in node; module sizes"
  bash scripts/build.sh
  node bench/playground.mjs --work target/cedar-bench/work --json "$out/playground.jsonl"
  printf '{"worker_gzip":%s,"worker_raw":%s,"playground_gzip":%s,"playground_raw":%s}\n' \
    "$(gzip -9 -c build/index_bg.wasm | wc -c)" "$(wc -c < build/index_bg.wasm)" \
    "$(gzip -9 -c www/pkg/toolgate_bg.wasm | wc -c)" "$(wc -c < www/pkg/toolgate_bg.wasm)" > "$out/sizes.jsonl"
fi

if has gateway; then
  step "gateway: toolgate against a pass-through Worker under wrangler dev"
  bash scripts/build-worker.sh
  node bench/gateway.mjs --requests "${BENCH_REQUESTS:-300}" --warmup 30 --json "$out/gateway.jsonl"
fi

step "the table"
node bench/table.mjs "$out"

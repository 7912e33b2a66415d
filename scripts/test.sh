#!/usr/bin/env bash
# Quick start #2: every test. Installs what is missing first (scripts/setup.sh).
#   lint      cargo fmt --check; clippy natively and for each wasm feature
#   unit      cargo test (the pure core, the CLI, examples, schema)
#   origin    the demo origin's own test (MCP Python SDK client)
#   e2e       the Worker in workerd (wrangler dev) with the demo origin and the MCP SDK client
#   browser   the playground and the admin page in Chromium (playwright-core)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lint"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --features playground -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --features worker -- -D warnings

step "unit: cargo test"
cargo test

step "origin: demo origin test"
python3 demo/origin/test_origin.py

step "build: Worker and playground"
bash scripts/build.sh

suites=()
[ -d tests/e2e ] && suites+=(tests/e2e/)
[ -d tests/browser ] && suites+=(tests/browser/)
step "end to end: node --test ${suites[*]}"
node --test --test-concurrency=1 "${suites[@]}"

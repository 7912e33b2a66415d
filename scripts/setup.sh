#!/usr/bin/env bash
# Installs what toolgate needs on a fresh machine, and nothing twice.
#   scripts/setup.sh            Rust target, worker-build, wasm-bindgen-cli, npm and Python packages
#   scripts/setup.sh --browser  also Debian's chromium, for the browser tests
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if ! "$HOME/.cargo/bin/worker-build" --version 2>/dev/null | grep -q '0.8.7'; then
  say "installing worker-build 0.8.7 (about 7 minutes, once)"
  cargo install worker-build --version 0.8.7
fi
if ! "$HOME/.cargo/bin/wasm-bindgen" --version 2>/dev/null | grep -q '0.2.130'; then
  say "installing wasm-bindgen-cli 0.2.130 (about 4 minutes, once)"
  cargo install wasm-bindgen-cli --version 0.2.130
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi
if ! python3 -c 'import mcp, uvicorn' 2>/dev/null; then
  say "installing the demo origin's Python packages"
  python3 -m pip install -q -r demo/origin/requirements.txt
fi
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
  say "installing chromium"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

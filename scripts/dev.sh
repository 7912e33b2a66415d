#!/usr/bin/env bash
# Quick start #1: the gateway on this machine. Starts the demo Odoo origin on 8084 and
# `wrangler dev` (local Durable Objects under .wrangler/state) with the example policy,
# and serves the playground at /.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# wasm-opt makes the Worker smaller but takes a minute; a dev loop does without it.
export TOOLGATE_NO_OPT="${TOOLGATE_NO_OPT-1}"
bash scripts/build.sh

PORT="${PORT:-8787}"
POLICY_FILE="${POLICY_FILE:-examples/odoo.policy.json}"
TOKEN="${TOOLGATE_DEMO_TOKEN:-tg_demo_agent_token}"
ADMIN_TOKEN="${TOOLGATE_DEMO_ADMIN_TOKEN:-tg_demo_admin_token}"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
./target/debug/toolgate check "$POLICY_FILE" 2>/dev/null || cargo run -q --bin toolgate -- check "$POLICY_FILE"

setsid python3 demo/origin/server.py --port 8084 --log-level warning &
ORIGIN_PID=$!
stop() { kill -- -"$ORIGIN_PID" 2>/dev/null || true; }
trap stop EXIT
trap 'stop; exit 130' INT TERM

cat <<MSG

  toolgate is starting.
    MCP endpoint   http://127.0.0.1:$PORT/mcp
    bearer token   $TOKEN          (grant "demo")
    admin token    $ADMIN_TOKEN    (admin "ops")
    playground     http://127.0.0.1:$PORT/
    origin         http://127.0.0.1:8084/mcp  (demo Odoo MCP server, echoes every call)
    policy         $POLICY_FILE

  MCP Inspector:   npx @modelcontextprotocol/inspector
                   transport "Streamable HTTP", URL http://127.0.0.1:$PORT/mcp,
                   header "Authorization: Bearer $TOKEN"
  Claude Desktop:  add to claude_desktop_config.json
                   "toolgate": { "command": "npx", "args": ["mcp-remote",
                     "http://127.0.0.1:$PORT/mcp", "--header", "Authorization: Bearer $TOKEN"] }

MSG
npx wrangler dev --port "$PORT" --ip 127.0.0.1 --persist-to .wrangler/state \
  --show-interactive-dev-session=false \
  --var "POLICY:$(tr -d '\n' < "$POLICY_FILE")" \
  --var "GRANTS:{\"demo\":\"$(sha "$TOKEN")\"}" \
  --var "ADMINS:{\"ops\":\"$(sha "$ADMIN_TOKEN")\"}"

// The gateway's added latency over calling the origin directly, measured in one run with
// autocannon: the same `tools/call` of an allowed tool that has a rate limit (so every
// call also makes one Durable Object round trip), straight at the demo origin (with its
// own session) and through the Worker under `wrangler dev` (with a session made through
// the gateway). Not part of `node --test`.
//
//   node tests/e2e/bench.mjs                      # 2,000 calls, 10 connections, 2 rounds
//   BENCH_AMOUNT=5000 BENCH_CONNECTIONS=20 BENCH_ROUNDS=3 node tests/e2e/bench.mjs
//
// Rounds alternate origin and gateway so that a slow moment of the machine hits both.

import autocannon from 'autocannon';
import os from 'node:os';
import { startStack, ACCEPT, rpcResult } from './harness.mjs';

const AMOUNT = Number(process.env.BENCH_AMOUNT ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP = 200;
const TOKEN = 'tg-bench-agent-token';
const TOOL = 'odoo_search_read';
const UNLIMITED_TOOL = 'odoo_read';

const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    [TOOL]: { limits: [{ counter: 'bench', window: 'minute', max: 1_000_000, scope: 'grant' }] },
    [UNLIMITED_TOOL]: {},
  },
};

// `[<id>]` is replaced by autocannon with a fresh id per request (idReplacement), so that
// concurrent calls on one session never share a JSON-RPC id.
const body = (tool) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: '[<id>]',
    method: 'tools/call',
    params: { name: tool, arguments: { model: 'res.partner', domain: [['is_company', '=', true]], fields: ['name'], limit: 5 } },
  });

/** initialize + notifications/initialized straight at a Streamable HTTP endpoint. */
async function session(url, extraHeaders = {}) {
  const headers = { 'content-type': 'application/json', accept: ACCEPT, ...extraHeaders };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '0' } },
    }),
  });
  const sessionId = init.headers.get('mcp-session-id');
  await rpcResult(init, 'init');
  const sessionHeaders = { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
  const note = await fetch(url, { method: 'POST', headers: sessionHeaders, body: '{"jsonrpc":"2.0","method":"notifications/initialized"}' });
  await note.arrayBuffer();
  return sessionHeaders;
}

function run({ url, headers, tool }, amount) {
  return autocannon({
    url,
    method: 'POST',
    headers,
    body: body(tool),
    idReplacement: true,
    connections: CONNECTIONS,
    amount,
    timeout: 30,
  });
}

function check(name, result) {
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) {
    throw new Error(
      `${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts; ` +
        `status codes ${JSON.stringify(result.statusCodeStats)}`,
    );
  }
}

const ms = (x) => `${x.toFixed(2).padStart(8)} ms`;

// BENCH_WRANGLER_LOG=warn quiets wrangler's per-request log lines (dev tooling, not the
// Worker) to see how much of the cost is theirs.
const wranglerArgs = process.env.BENCH_WRANGLER_LOG ? ['--log-level', process.env.BENCH_WRANGLER_LOG] : [];
const stack = await startStack({ policy: POLICY, tokens: { bench: TOKEN }, wranglerArgs });
try {
  const direct = { name: 'origin', tool: TOOL, url: stack.origin.url, headers: await session(stack.origin.url) };
  const gated = {
    name: 'gateway',
    tool: TOOL,
    url: stack.url,
    headers: await session(stack.url, { authorization: `Bearer ${TOKEN}` }),
  };
  // For comparison: the same path through the gateway without a limit (no Durable Object).
  const unlimited = { ...gated, name: 'gateway, no limit', tool: UNLIMITED_TOOL };
  const targets = [direct, gated, unlimited];
  for (const target of targets) check(`${target.name} warm-up`, await run(target, WARMUP));

  const rows = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of targets) {
      await stack.originReset();
      const result = await run(target, AMOUNT);
      check(target.name, result);
      const reached = (await stack.originLog()).filter((e) => e.tool === target.tool).length;
      if (reached !== AMOUNT) throw new Error(`${target.name}: ${reached} of ${AMOUNT} calls reached the origin`);
      rows.push({ round, target: target.name, result });
    }
  }

  console.log(
    `\ntoolgate bench: ${AMOUNT} tools/call of ${TOOL} (rate-limited: one Durable Object round trip each), ` +
      `${CONNECTIONS} connections, ${ROUNDS} round(s); ${os.cpus().length} CPUs, node ${process.version}`,
  );
  console.log('round  target                 p50          p99         mean    req/s');
  for (const { round, target, result } of rows) {
    const l = result.latency;
    console.log(
      `${String(round).padStart(5)}  ${target.padEnd(18)} ${ms(l.p50)}  ${ms(l.p99)}  ${ms(l.average)}  ${result.requests.average.toFixed(0).padStart(7)}`,
    );
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const o = rows.find((r) => r.round === round && r.target === 'origin').result.latency;
    const g = rows.find((r) => r.round === round && r.target === 'gateway').result.latency;
    console.log(`round ${round}: added by the gateway: p50 ${(g.p50 - o.p50).toFixed(2)} ms, p99 ${(g.p99 - o.p99).toFixed(2)} ms`);
  }
} catch (err) {
  const lines = stack.gateway.output().split('\n').filter((l) => !l.startsWith('{') && !/ 200 OK /.test(l));
  console.error(`wrangler output (without audit lines and 200s):\n${lines.slice(-40).join('\n')}`);
  throw err;
} finally {
  await stack.stop();
}

// The gateway's cost in workerd. One demo origin (demo/origin/server.py, the MCP Python
// SDK, as the Odoo server) serves the 48 catalogue tools whose `tools/list` answer is the
// size of the real server's (36 KB; the same run of tools as `benches/decision.rs`).
// In front of it, each under its own `wrangler dev` started the same way:
//
// - pass-through: bench/passthrough/, a JavaScript Worker that forwards every request;
// - toolgate: build/ (scripts/build-worker.sh), with the policy below.
//
// Each has its own MCP session. The same requests go to the origin directly (for the
// breakdown), to the pass-through and to toolgate: sequential, one keep-alive
// connection per target, interleaved request by request (the order of the targets
// rotating), after a warm-up. Every answer is checked (status, JSON-RPC result, the
// tools listed, the origin's echo of a call); a wrong one fails the run.
//
//   node bench/gateway.mjs [--requests 300] [--warmup 30] [--state DIR] [--json FILE]
//
// Prints p50 and p90 per target and kind, and toolgate's added latency over the
// pass-through; `--json` also writes one JSON object per kind to FILE.
//
// Durable Object storage (`--persist-to`) goes under `--state`, by default /dev/shm
// when there is one: under `wrangler dev` every storage commit is a synchronous SQLite
// write on the Worker's own thread, and on a disk it costs the machine's fsync latency
// (1–50 ms on a shared VM), which is neither toolgate's cost nor what a deployed Worker
// pays (its Durable Objects commit elsewhere). `--state /tmp` measures with it.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');
const PROTOCOL = '2025-06-18';
const TOKEN = 'tg-bench-agent-token';

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    state: { type: 'string', default: existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir() },
    json: { type: 'string' },
  },
});
const REQUESTS = Number(options.requests);
const WARMUP = Number(options.warmup);

// ------------------------------------------------------------------ the workload

const CATALOGUE = JSON.parse(readFileSync(path.join(ROOT, 'www', 'odoo-tools.json'), 'utf8'));

/**
 * Of every run of `count` consecutive catalogue tools, the first whose compact
 * `tools/list` answer is closest to `bytes` (the rule of `benches/decision.rs`).
 */
function toolsRun(count, bytes) {
  let best = null;
  for (let start = 0; start + count <= CATALOGUE.length; start++) {
    const run = CATALOGUE.slice(start, start + count);
    const size = Buffer.byteLength(JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: run } }));
    if (!best || Math.abs(size - bytes) < Math.abs(best.size - bytes)) best = { run, size };
  }
  return best.run.map((t) => t.name);
}

const SERVED = toolsRun(48, 36_000);
const HIDDEN = (name) => name.startsWith('odoo_web_');
const CALL = { name: 'odoo_report', arguments: { report_name: 'account.report_invoice', ids: [7] } };
const LIMITED = { name: 'google_gmail_search', arguments: { query: 'is:unread', max_results: 5 } };
for (const tool of [CALL.name, LIMITED.name]) {
  if (!SERVED.includes(tool)) throw new Error(`${tool} is not among the tools served`);
}

// Every served tool is listed except `odoo_web_*`; the call has conditions and no limit,
// the limited call one limit (one Durable Object round trip).
const POLICY = {
  version: '1',
  default: 'deny',
  hide: ['odoo_web_*'],
  tools: {
    'odoo_*': {},
    'public_access_*': {},
    'google_*': {},
    [CALL.name]: {
      require: [
        { path: 'args.ids', op: 'exists' },
        { path: 'args.report_name', op: 'regex', value: '^account\\.' },
      ],
      deny_if: [{ path: 'args.report_name', op: 'in', value: ['account.report_payslip'] }],
    },
    [LIMITED.name]: { limits: [{ counter: 'bench', window: 'minute', max: 1_000_000, scope: 'grant' }] },
  },
};

/** The kinds of request timed, each with its body and its check of the answer. */
const KINDS = [
  { kind: 'tools/call', params: { name: CALL.name, arguments: CALL.arguments }, check: echoes(CALL) },
  { kind: 'tools/list 36 KB', method: 'tools/list', check: lists },
  { kind: 'tools/call, 1 limit', params: { name: LIMITED.name, arguments: LIMITED.arguments }, check: echoes(LIMITED) },
  { kind: 'ping', method: 'ping', check: (result) => result && Object.keys(result).length === 0 },
];

function echoes({ name, arguments: args }) {
  return (result) =>
    !result.isError &&
    result.structuredContent?.tool === name &&
    JSON.stringify(result.structuredContent.arguments) === JSON.stringify(args);
}

function lists(result, target) {
  const names = (result.tools ?? []).map((t) => t.name).join(',');
  const expected = SERVED.filter((t) => !(target.filters && HIDDEN(t))).join(',');
  return names === expected;
}

// ------------------------------------------------------------------ processes

const live = new Set(); // process groups started and not yet stopped
const scratch = new Set(); // temporary directories
process.on('exit', () => {
  for (const pgid of live) killGroup(pgid, 'SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** A server in its own process group; `output()` is what it printed last. */
function startProcess(command, args, env = {}) {
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', WRANGLER_SEND_METRICS: 'false', ...env },
  });
  live.add(child.pid);
  let text = '';
  const collect = (chunk) => {
    text = (text + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  child.on('exit', () => (exited = true));
  return {
    output: () => text,
    exited: () => exited,
    async stop() {
      killGroup(child.pid, 'SIGTERM');
      await until(() => !killGroup(child.pid, 0), 5000).catch(() => killGroup(child.pid, 'SIGKILL'));
      live.delete(child.pid);
    },
  };
}

async function until(check, timeoutMs, what = 'a condition', detail = () => '') {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err.fatal) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function tempDir(prefix, base = os.tmpdir()) {
  const dir = mkdtempSync(path.join(base, prefix));
  scratch.add(dir);
  return dir;
}

/** The demo origin, serving only SERVED. */
async function startOrigin() {
  const port = await freePort();
  const proc = startProcess('python3', [
    'demo/origin/server.py', '--port', String(port), '--log-level', 'warning', '--timeout-keep-alive', '900',
  ]);
  const base = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (proc.exited()) throw Object.assign(new Error(`the demo origin exited:\n${proc.output()}`), { fatal: true });
    return (await fetch(`${base}/_demo/health`)).ok;
  }, 30_000, 'the demo origin', proc.output);
  const remove = CATALOGUE.map((t) => t.name).filter((name) => !SERVED.includes(name));
  const changed = await fetch(`${base}/_demo/tools`, { method: 'POST', body: JSON.stringify({ remove }) });
  const { tools } = await changed.json();
  if (tools !== SERVED.length) throw new Error(`the origin serves ${tools} tools, not ${SERVED.length}`);
  return { url: `${base}/mcp`, stop: proc.stop };
}

/**
 * The repository's wrangler.toml as the e2e harness serves it (no `[build]`, absolute
 * paths to build/ and www/), with the coarse budget's binding raised: the bench sends
 * far more than 600 requests a minute from one grant.
 */
function toolgateConfig() {
  const source = readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8');
  const text = source
    .replace(/^\[build\]\n(?:(?!\[)[^\n]*\n)*/m, '')
    .replace(/^main = "build\/index\.js"$/m, `main = ${JSON.stringify(path.join(ROOT, 'build', 'index.js'))}`)
    .replace(/^directory = "\.\/www"$/m, `directory = ${JSON.stringify(path.join(ROOT, 'www'))}`)
    .replace(/^simple = \{ limit = 600, period = 60 \}$/m, 'simple = { limit = 1000000, period = 60 }');
  for (const wanted of ['build', 'www', 'limit = 1000000']) {
    if (!text.includes(wanted) || /^\[build\]/m.test(text)) throw new Error(`wrangler.toml changed: cannot adapt ${wanted}`);
  }
  const file = path.join(tempDir('toolgate-bench-config-'), 'wrangler.toml');
  writeFileSync(file, text);
  return file;
}

/** `wrangler dev` on `config`, the same way for both Workers; ready at `ready`. */
async function startWorker(name, config, vars, ready) {
  const [port, inspector] = [await freePort(), await freePort()];
  const args = [
    'dev', '--config', config, '--port', String(port), '--ip', '127.0.0.1',
    '--inspector-port', String(inspector), '--persist-to', tempDir('toolgate-bench-state-', options.state),
    '--show-interactive-dev-session=false',
  ];
  for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}:${value}`);
  const proc = startProcess(WRANGLER, args);
  const url = `http://127.0.0.1:${port}/mcp`;
  await until(async () => {
    if (proc.exited()) throw Object.assign(new Error(`wrangler dev (${name}) exited:\n${proc.output()}`), { fatal: true });
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT }, body: '{}' });
    await r.arrayBuffer();
    return r.status === ready;
  }, 180_000, `wrangler dev (${name}) to answer ${ready}`, proc.output);
  return { url, output: proc.output, stop: proc.stop };
}

// ------------------------------------------------------------------ requests

const ACCEPT = 'application/json, text/event-stream';

/** One request on the target's keep-alive connection: status, headers, body, ms. */
function request(target, body, headers = {}) {
  const url = new URL(target.url);
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request(
      {
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: target.agent,
        headers: { ...target.headers, ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The JSON-RPC messages of a JSON or SSE body. */
function messages(answer) {
  if (!(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) return answer.body ? [JSON.parse(answer.body)] : [];
  return answer.body
    .split(/\r?\n\r?\n/)
    .map((event) => event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n'))
    .filter(Boolean)
    .map((data) => JSON.parse(data));
}

/** Opens an MCP session on `target` (initialize + notifications/initialized). */
async function openSession(target) {
  const init = await request(
    target,
    JSON.stringify({
      jsonrpc: '2.0', id: 'init', method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'toolgate-bench', version: '0' } },
    }),
  );
  const session = init.headers['mcp-session-id'];
  if (init.status !== 200 || !session) throw new Error(`${target.name}: initialize answered ${init.status}: ${init.body}`);
  target.headers = { ...target.headers, 'mcp-session-id': session, 'mcp-protocol-version': PROTOCOL };
  const note = await request(target, '{"jsonrpc":"2.0","method":"notifications/initialized"}');
  if (note.status !== 202) throw new Error(`${target.name}: notifications/initialized answered ${note.status}`);
}

let nextId = 0;
/** Sends one request of `kind` to `target`, checks its answer, returns its time. */
async function timed(target, { kind, method = 'tools/call', params, check }) {
  const id = `b${nextId++}`;
  const answer = await request(target, JSON.stringify({ jsonrpc: '2.0', id, method, ...(params && { params }) }));
  const found = answer.status === 200 ? messages(answer).find((m) => m.id === id) : undefined;
  if (!found?.result || !check(found.result, target)) {
    throw new Error(`${target.name}, ${kind}: unexpected answer ${answer.status}: ${answer.body.slice(0, 600)}`);
  }
  return answer.ms;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Every kind to every target, `rounds` times, interleaved; times by kind and target. */
async function measure(targets, rounds) {
  const times = KINDS.map(() => targets.map(() => []));
  for (let round = 0; round < rounds; round++) {
    for (const [k, kind] of KINDS.entries()) {
      for (let i = 0; i < targets.length; i++) {
        const t = (i + round) % targets.length;
        times[k][t].push(await timed(targets[t], kind));
      }
    }
  }
  return times;
}

// ------------------------------------------------------------------ the run

const origin = await startOrigin();
const workers = [];
try {
  const agent = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
  const common = { 'content-type': 'application/json', accept: ACCEPT, authorization: `Bearer ${TOKEN}` };
  const passthrough = await startWorker('pass-through', path.join(ROOT, 'bench', 'passthrough', 'wrangler.toml'), { ORIGIN_URL: origin.url }, 400);
  workers.push(passthrough);
  const grants = JSON.stringify({ bench: createHash('sha256').update(TOKEN).digest('hex') });
  const vars = { ORIGIN_URL: origin.url, POLICY: JSON.stringify(POLICY), GRANTS: grants, REQUESTS_PER_MINUTE: '1000000' };
  const gateway = await startWorker('toolgate', toolgateConfig(), vars, 401);
  workers.push(gateway);
  const targets = [
    { name: 'origin', url: origin.url },
    { name: 'pass-through', url: passthrough.url },
    { name: 'toolgate', url: gateway.url, filters: true },
  ].map((t) => ({ ...t, agent: agent(), headers: common }));
  for (const target of targets) await openSession(target);
  await measure(targets, WARMUP);
  const loadBefore = os.loadavg()[0];
  const times = await measure(targets, REQUESTS);
  const load = `${loadBefore.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`;

  const rows = KINDS.map(({ kind }, k) => {
    const [direct, through, gated] = times[k].map((ms) => ms.sort((a, b) => a - b));
    const at = (p) => ({
      origin: percentile(direct, p),
      passthrough: percentile(through, p),
      toolgate: percentile(gated, p),
      added: percentile(gated, p) - percentile(through, p),
    });
    return { kind, requests: REQUESTS, warmup: WARMUP, load, p50: at(50), p90: at(90) };
  });
  const f = (ms) => ms.toFixed(2).padStart(7);
  console.log(`gateway bench: ${REQUESTS} sequential requests of each kind per target after ${WARMUP} warm-up, interleaved; ms, p50 / p90; load average ${load}`);
  console.log(`${'kind'.padEnd(20)} ${'origin'.padStart(15)} ${'pass-through'.padStart(15)} ${'toolgate'.padStart(15)} ${'added'.padStart(15)}`);
  for (const { kind, p50, p90 } of rows) {
    const pair = (key) => `${f(p50[key])} /${f(p90[key])}`;
    console.log(`${kind.padEnd(20)} ${pair('origin')} ${pair('passthrough')} ${pair('toolgate')} ${pair('added')}`);
  }
  if (options.json) writeFileSync(options.json, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
} catch (err) {
  for (const worker of workers) console.error(`--- wrangler dev output ---\n${worker.output().slice(-4000)}`);
  throw err;
} finally {
  for (const worker of workers) await worker.stop();
  await origin.stop();
}

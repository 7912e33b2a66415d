// Shared harness for toolgate's end-to-end tests: the real Worker under `wrangler dev`
// (workerd), in front of the real demo origin (MCP Python SDK), driven by the official
// MCP TypeScript SDK client and by raw fetch.
//
// Every server runs in its own process group on a free 127.0.0.1 port and is stopped by
// its own group id: in `after()`, and on exit or a signal as a safety net, so a run never
// leaves processes behind. Nothing here sleeps to pass: waits poll a condition with a
// bounded deadline and fail with the server's output when it does not hold.

import { spawn } from 'node:child_process';
import { afterEach } from 'node:test';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');
/**
 * The checkout whose Worker runs under `wrangler dev` (its wrangler.toml, build/ and www/):
 * this one, unless TOOLGATE_E2E_WORKER_ROOT names another, e.g. a worktree of an older
 * commit, to show that a test fails there. The demo origin and the tests are always this
 * checkout's.
 */
export const WORKER_ROOT = process.env.TOOLGATE_E2E_WORKER_ROOT ? path.resolve(process.env.TOOLGATE_E2E_WORKER_ROOT) : ROOT;

/** The 198 tools the demo origin serves. */
export const ORIGIN_TOOLS = JSON.parse(readFileSync(path.join(ROOT, 'www', 'odoo-tools.json'), 'utf8')).map(
  (t) => t.name,
);

export const ACCEPT = 'application/json, text/event-stream';

export const sha256hex = (text) => createHash('sha256').update(text).digest('hex');

// ------------------------------------------------------------------ processes

const live = new Set(); // process-group ids we started and have not seen die
const scratch = new Set(); // temporary directories to remove on exit
const servers = []; // { name, output() } of every server started, for failure reports

/** The last `chars` characters each server printed, as one text (for a failure report). */
export function recentOutput(chars = 4000) {
  return servers
    .map(({ name, output }) => `--- ${name}: last ${chars} characters of its output ---\n${output().slice(-chars)}`)
    .join('\n');
}

// Any failed test prints what the origin and the Worker said last: a failure in CI must
// be readable from its log alone.
afterEach((t) => {
  if (t.passed === false && servers.length > 0) {
    console.error(`test ${JSON.stringify(t.name)} failed; the servers' recent output follows\n${recentOutput()}`);
  }
});
process.on('exit', (code) => {
  if (code !== 0 && servers.length > 0) console.error(`exit code ${code}; the servers' recent output follows\n${recentOutput()}`);
});

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

function groupAlive(pgid) {
  return killGroup(pgid, 0);
}

process.on('exit', () => {
  for (const pgid of live) killGroup(pgid, 'SIGKILL');
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => process.exit(128 + (os.constants.signals[signal] ?? 1)));
}

/**
 * Starts a command in its own process group; collects its stdout and stderr.
 * Returns { child, output(), exited (promise of the exit code), stop() }.
 */
export function startProcess(command, args, { cwd = ROOT, env = {} } = {}) {
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
  });
  const pgid = child.pid;
  live.add(pgid);
  let text = '';
  const collect = (chunk) => {
    text += chunk.toString('utf8');
    if (text.length > 4_000_000) text = text.slice(-2_000_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitCode = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? signal;
      resolve(exitCode);
    });
    child.on('error', (err) => {
      collect(`spawn error: ${err.message}\n`);
      exitCode = 'error';
      resolve(exitCode);
    });
  });
  async function stop() {
    if (!live.has(pgid)) return;
    killGroup(pgid, 'SIGTERM');
    // The group leader (node or python) usually exits at once; workerd is its child.
    await waitFor(() => !groupAlive(pgid), { timeoutMs: 5000, intervalMs: 50, quiet: true });
    if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL');
    await waitFor(() => !groupAlive(pgid), { timeoutMs: 5000, intervalMs: 50, quiet: true });
    live.delete(pgid);
  }
  return {
    child,
    pid: pgid,
    output: () => text,
    exited,
    hasExited: () => exitCode !== null,
    stop,
  };
}

/**
 * Polls `check` (sync or async; truthy = done) until it holds or the deadline passes.
 * Returns the truthy value; throws with `what` (and `detail()`) at the deadline unless quiet.
 */
export async function waitFor(check, { timeoutMs = 10_000, intervalMs = 100, what = 'condition', detail, quiet } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      if (err?.fatal) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      if (quiet) return undefined;
      const extra = detail ? `\n--- detail ---\n${detail()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}${extra}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks one; released before use). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * One HTTP request on a connection of its own, closed after the answer. The test's own
 * control requests (the origin's log, health) use it: a pooled keep-alive connection can
 * be closed by an idle server (uvicorn after 5 s) just as the next request reuses it,
 * which `fetch` reports as `other side closed`. Resolves { status, headers, body }.
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 30_000 } = {}) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path: target.pathname + target.search,
        agent: false,
        headers: { connection: 'close', ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Runs a command to its end without blocking the event loop (never `spawnSync` in a
 * test: a blocked loop cannot close idle pooled connections or serve timers, and the
 * next request fails). Resolves { status, signal, stdout, stderr }; rejects after
 * `timeoutMs` with what the command printed so far.
 */
export function run(command, args, { cwd = ROOT, env = {}, input, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

let built;
/**
 * Builds what the Worker deploys (build/, and the playground in www/pkg and www/dist)
 * once per process, before any `wrangler dev` starts; a no-op when it is fresh.
 */
export function buildWorker() {
  built ??= (async () => {
    const build = startProcess('bash', ['scripts/build.sh'], { cwd: WORKER_ROOT });
    const code = await build.exited;
    live.delete(build.pid);
    if (code !== 0) throw new Error(`scripts/build.sh failed (${code}):\n${build.output().slice(-4000)}`);
  })();
  return built;
}

let devConfig;
/**
 * The repository's wrangler.toml without its `[build]` step, written once per process
 * into a scratch directory, with absolute paths to build/ and www/. `wrangler dev` on the
 * real file runs scripts/build.sh at start and again whenever its watcher reports src/
 * changed (it does so spuriously at start); a build that rewrites www/dist or build/ while
 * a test runs makes every running `wrangler dev` reload its Worker mid-request. The
 * harness builds first (buildWorker) and serves the result unchanged.
 */
export function devWranglerConfig() {
  if (devConfig) return devConfig;
  const source = readFileSync(path.join(WORKER_ROOT, 'wrangler.toml'), 'utf8');
  const withoutBuild = source.replace(/^\[build\]\n(?:(?!\[)[^\n]*\n)*/m, '');
  if (/^\[build\]/m.test(withoutBuild)) throw new Error('could not remove [build] from wrangler.toml');
  const text = withoutBuild
    .replace(/^main = "build\/index\.js"$/m, `main = ${JSON.stringify(path.join(WORKER_ROOT, 'build', 'index.js'))}`)
    .replace(/^directory = "\.\/www"$/m, `directory = ${JSON.stringify(path.join(WORKER_ROOT, 'www'))}`);
  if (!text.includes(path.join(WORKER_ROOT, 'build', 'index.js')) || !text.includes(path.join(WORKER_ROOT, 'www'))) {
    throw new Error('wrangler.toml no longer has main = "build/index.js" and directory = "./www"');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-e2e-config-'));
  scratch.add(dir);
  devConfig = path.join(dir, 'wrangler.toml');
  writeFileSync(devConfig, `# Written by tests/e2e/harness.mjs from ${path.join(WORKER_ROOT, 'wrangler.toml')}, without [build].\n${text}`);
  return devConfig;
}

// ------------------------------------------------------------------ the demo origin

/**
 * Starts the demo origin; resolves when /_demo/health answers. `args` are added to its
 * command line (`--event-store`, `--json-response`, `--odoo-unknown-tools`, `--page-size N`:
 * demo/origin/README.md).
 */
export async function startOrigin({ args = [], port: wanted } = {}) {
  const port = wanted ?? (await freePort());
  // uvicorn closes a keep-alive connection idle for 5 s by default; workerd's pooled
  // connection to it can be reused just as it closes, and the call then fails for a
  // reason no test is about. Keep idle connections for longer than any test file runs.
  const proc = startProcess('python3', [
    'demo/origin/server.py', '--port', String(port), '--log-level', 'warning', '--timeout-keep-alive', '900', ...args,
  ]);
  servers.push({ name: `demo origin on ${port}`, output: proc.output });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (proc.hasExited()) throw Object.assign(new Error(`the demo origin exited:\n${proc.output()}`), { fatal: true });
      const r = await httpRequest(`${base}/_demo/health`, { timeoutMs: 2000 });
      return r.status === 200;
    },
    { timeoutMs: 30_000, what: `the demo origin on ${port}`, detail: proc.output },
  );
  return {
    port,
    base,
    url: `${base}/mcp`,
    proc,
    /** The tools/calls the origin's tool handler really ran since the last reset. */
    async executions() {
      const r = await httpRequest(`${base}/_demo/executions`);
      if (r.status !== 200) throw new Error(`/_demo/executions answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
    /** Every request the origin received on /mcp since the last reset. */
    async log() {
      const r = await httpRequest(`${base}/_demo/log`);
      if (r.status !== 200) throw new Error(`/_demo/log answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
    async reset() {
      const r = await httpRequest(`${base}/_demo/reset`, { method: 'POST' });
      if (r.status !== 200) throw new Error(`/_demo/reset answered ${r.status}: ${r.body}`);
    },
    /** Sets answer modes, `{method or "*": mode or null}` (POST /_demo/mode). */
    async mode(modes) {
      const r = await httpRequest(`${base}/_demo/mode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(modes),
      });
      if (r.status !== 200) throw new Error(`/_demo/mode answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
    /** Changes the live catalogue, `{set: [tools], remove: [names]}` (POST /_demo/tools). */
    async tools(changes) {
      const r = await httpRequest(`${base}/_demo/tools`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(changes),
      });
      if (r.status !== 200) throw new Error(`/_demo/tools answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
    stop: proc.stop,
  };
}

// ------------------------------------------------------------------ the gateway

/**
 * Starts `wrangler dev` on the real wrangler.toml with the CONTRACT §3 vars.
 * `ready` is the status an unauthenticated POST /mcp gets once the Worker serves (401;
 * 503 for a bad configuration). `wranglerArgs` are added to the command line.
 */
export async function startGateway({ originUrl, policy, grants, originHeaders, vars = {}, ready = 401, wranglerArgs = [], persistTo, runtime = 'wrangler' }) {
  await buildWorker();
  if (runtime === 'miniflare') return startMiniflareGateway({ originUrl, policy, grants, originHeaders, vars, ready });
  const [port, inspectorPort] = [await freePort(), await freePort()];
  // `persistTo`: a storage directory the caller owns and keeps across restarts.
  const persist = persistTo ?? mkdtempSync(path.join(os.tmpdir(), 'toolgate-e2e-'));
  if (!persistTo) scratch.add(persist);
  const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  const allVars = { ORIGIN_URL: originUrl, POLICY: text(policy), GRANTS: text(grants), ...vars };
  if (originHeaders !== undefined) allVars.ORIGIN_HEADERS = text(originHeaders);
  const args = [
    'dev',
    '--config', devWranglerConfig(),
    '--port', String(port),
    '--ip', '127.0.0.1',
    '--inspector-port', String(inspectorPort),
    '--persist-to', persist,
    '--show-interactive-dev-session=false',
    ...wranglerArgs,
  ];
  for (const [name, value] of Object.entries(allVars)) args.push('--var', `${name}:${value}`);
  const proc = startProcess(WRANGLER, args, { env: { WRANGLER_SEND_METRICS: 'false' } });
  servers.push({ name: `wrangler dev on ${port}`, output: proc.output });
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    if (!persistTo) {
      rmSync(persist, { recursive: true, force: true });
      scratch.delete(persist);
    }
  };
  try {
    await waitFor(
      async () => {
        if (proc.hasExited()) throw Object.assign(new Error(`wrangler dev exited:\n${proc.output()}`), { fatal: true });
        const r = await fetch(`${base}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: ACCEPT },
          body: '{"jsonrpc":"2.0","id":0,"method":"ping"}',
          signal: AbortSignal.timeout(3000),
        });
        await r.arrayBuffer();
        return r.status === ready;
      },
      { timeoutMs: 180_000, intervalMs: 250, what: `wrangler dev on ${port} to answer ${ready}`, detail: proc.output },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, base, url: `${base}/mcp`, proc, output: proc.output, stop };
}

/**
 * The same Worker in workerd through Miniflare itself, without `wrangler dev`'s proxy:
 * its bindings are what wrangler makes of the same wrangler.toml
 * (`unstable_getMiniflareWorkerOptions`). For heavy concurrent load only. Under
 * `wrangler dev` every request crosses a ProxyWorker whose pooled connection to the
 * Worker's runtime is closed by both ends after 5 s idle (kj's client `idleTimeout` and
 * server `pipelineTimeout`); a request written on it at that moment is lost, and the
 * proxy answers a POST 503 "Your worker restarted mid-request" although the Worker never
 * saw it (cloudflare/workers-sdk#14641; wrangler 4.164 still retries only GET and HEAD).
 * With 1,000 calls over 50 connections the pool's idle connections meet that moment
 * often enough to fail a run; toolgate is never involved. Miniflare's entry reaches the
 * Worker inside workerd, with no such pool.
 */
async function startMiniflareGateway({ originUrl, policy, grants, originHeaders, vars, ready }) {
  const { Miniflare } = await import('miniflare');
  const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
  const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  const allVars = { ORIGIN_URL: originUrl, POLICY: text(policy), GRANTS: text(grants), ...vars };
  if (originHeaders !== undefined) allVars.ORIGIN_HEADERS = text(originHeaders);
  const persist = mkdtempSync(path.join(os.tmpdir(), 'toolgate-e2e-mf-'));
  scratch.add(persist);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(devWranglerConfig());
  let out = '';
  const collect = (stream) => stream.on('data', (chunk) => (out += chunk));
  const port = await freePort();
  const mf = new Miniflare({
    ...workerOptions,
    modules: true,
    modulesRoot: path.join(WORKER_ROOT, 'build'),
    scriptPath: path.join(WORKER_ROOT, 'build', 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    bindings: { ...workerOptions.bindings, ...allVars },
    defaultPersistRoot: persist,
    host: '127.0.0.1',
    port,
    handleRuntimeStdio(stdout, stderr) {
      collect(stdout);
      collect(stderr);
    },
  });
  const output = () => out;
  servers.push({ name: `miniflare on ${port}`, output });
  const stop = async () => {
    await mf.dispose();
    rmSync(persist, { recursive: true, force: true });
    scratch.delete(persist);
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await mf.ready;
    const r = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: ACCEPT },
      body: '{"jsonrpc":"2.0","id":0,"method":"ping"}',
    });
    await r.arrayBuffer();
    if (r.status !== ready) throw new Error(`miniflare on ${port} answered ${r.status}, not ${ready}:\n${out}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, base, url: `${base}/mcp`, output, stop };
}

// ------------------------------------------------------------------ a whole stack

/**
 * The demo origin plus a gateway in front of it. `tokens` maps grant id → bearer token;
 * GRANTS is built from their SHA-256. `originUrl` overrides where the gateway points
 * (e.g. a closed port); the origin is still started unless `withOrigin` is false.
 * `originArgs` go on the origin's command line (see startOrigin), `vars` are more Worker
 * vars (`REQUESTS_PER_MINUTE`, `ADMINS`, ...).
 */
export async function startStack({ policy, tokens, originHeaders, originUrl, originArgs, vars, ready, wranglerArgs, withOrigin = true, prime = true, runtime }) {
  const grants = Object.fromEntries(Object.entries(tokens).map(([id, token]) => [id, sha256hex(token)]));
  const origin = withOrigin ? await startOrigin({ args: originArgs }) : null;
  let gateway;
  try {
    gateway = await startGateway({ originUrl: originUrl ?? origin.url, policy, grants, originHeaders, vars, ready, wranglerArgs, runtime });
  } catch (err) {
    await origin?.stop();
    throw err;
  }
  const clients = [];
  const stack = {
    origin,
    gateway,
    url: gateway.url,
    base: gateway.base,
    tokens,
    originLog: () => origin.log(),
    originReset: () => origin.reset(),
    executions: () => origin.executions(),

    /** POSTs raw bytes to the gateway (default path /mcp) with a bearer token. */
    post(body, { token, headers = {}, path: p = '/mcp', method = 'POST', signal } = {}) {
      const h = { 'content-type': 'application/json', accept: ACCEPT, ...headers };
      if (token !== undefined && token !== null) h.authorization = `Bearer ${token}`;
      return fetch(`${gateway.base}${p}`, { method, headers: h, body, signal });
    },

    /** initialize + notifications/initialized over raw fetch; returns the session's headers. */
    async rawSession({ token, version = '2025-06-18' }) {
      const init = await stack.post(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 'init',
          method: 'initialize',
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'toolgate-e2e-raw', version: '0' } },
        }),
        { token },
      );
      if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${await init.text()}`);
      const sessionId = init.headers.get('mcp-session-id');
      const answer = await rpcResult(init, 'init');
      const headers = { 'mcp-protocol-version': answer.result.protocolVersion };
      if (sessionId) headers['mcp-session-id'] = sessionId;
      const note = await stack.post('{"jsonrpc":"2.0","method":"notifications/initialized"}', { token, headers });
      await note.arrayBuffer();
      if (note.status !== 202) throw new Error(`notifications/initialized answered ${note.status}`);
      return { sessionId, headers, negotiated: answer.result.protocolVersion };
    },

    /**
     * An SDK client (Client + StreamableHTTPClientTransport) connected through the
     * gateway. `protocolVersion` makes it offer that revision in `initialize` instead of
     * the SDK's latest (the SDK negotiates down to any revision it supports).
     */
    async client({ token, protocolVersion } = {}) {
      const transport = new StreamableHTTPClientTransport(new URL(gateway.url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      if (protocolVersion) {
        const send = transport.send.bind(transport);
        transport.send = (message, options) => {
          if (message?.method === 'initialize') {
            message = { ...message, params: { ...message.params, protocolVersion } };
          }
          return send(message, options);
        };
      }
      const client = new Client({ name: 'toolgate-e2e', version: '0.0.0' }, { capabilities: {} });
      client.onerror = () => {}; // the standalone GET stream ends when a test closes the client
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    },

    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gateway.stop();
      await origin?.stop();
    },
  };
  // The gateway reads the origin's tool list itself before the first tools/call (so that
  // a tool the origin does not have is answered like a hidden one). Let it do so now,
  // with a tools/list through it, so that tests counting the origin's requests see only
  // their own.
  if (prime && origin && (ready ?? 401) === 401) {
    const token = Object.values(tokens)[0];
    const session = await stack.rawSession({ token });
    const list = await stack.post('{"jsonrpc":"2.0","id":"prime","method":"tools/list"}', { token, headers: session.headers });
    await list.arrayBuffer();
    if (list.status !== 200) throw new Error(`priming tools/list answered ${list.status}`);
    const end = await fetch(gateway.url, { method: 'DELETE', headers: { authorization: `Bearer ${token}`, ...session.headers } });
    await end.arrayBuffer();
    await origin.reset();
  }
  return stack;
}

// ------------------------------------------------------------------ reading answers

/** Parses a text/event-stream body into its events' JSON data (non-JSON data kept as text). */
export function parseSse(text) {
  const messages = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (!data) continue;
    try {
      messages.push(JSON.parse(data));
    } catch {
      messages.push(data);
    }
  }
  return messages;
}

/** All JSON-RPC messages of an answer, JSON or SSE alike. */
export async function rpcMessages(response) {
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) return parseSse(text);
  if (!text) return [];
  return [JSON.parse(text)];
}

/** The JSON-RPC response with `id` in an answer (JSON or SSE); throws when absent. */
export async function rpcResult(response, id) {
  const messages = await rpcMessages(response);
  const found = messages.find((m) => m && typeof m === 'object' && m.id === id && ('result' in m || 'error' in m));
  if (!found) throw new Error(`no response with id ${JSON.stringify(id)} in ${JSON.stringify(messages).slice(0, 2000)}`);
  return found;
}

/** A tools/call body with a given id, name and arguments. */
export function callBody(id, name, args = {}, extraParams = {}) {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...extraParams } });
}

/**
 * A raw HTTP/1.1 request whose path is sent exactly as given (fetch would normalize
 * `/mcp/../mcp`). Resolves { status, headers, body } at the end of the answer, or at its
 * headers with `headersOnly`.
 */
export function rawRequest(port, { method = 'POST', path: p, headers = {}, body = '', headersOnly = false }) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: p, headers: { 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        if (headersOnly) {
          // e.g. an SSE stream that stays open: the status is all we need.
          resolve({ status: res.statusCode, headers: res.headers, body: null });
          req.destroy();
          return;
        }
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The origin's session id inside one the gateway issued (`tg1.<mac>.<origin id>`). */
export function originSession(agentSession) {
  const match = /^tg1\.[0-9a-f]{32}\.(.+)$/.exec(agentSession ?? '');
  return match ? match[1] : null;
}

/** Tool-name matching as CONTRACT §1 defines it: `*` matches any run of characters. */
export function matches(pattern, name) {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

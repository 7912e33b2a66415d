// What the Worker does when its surroundings fail: the origin is down, the configuration
// is bad; and that `wrangler deploy --dry-run` bundles it. Two small stacks, started
// together.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, startProcess, freePort, waitFor, callBody, buildWorker, WRANGLER } from './harness.mjs';

const TOKEN = 'tg-e2e-failures-0d2c';
const MARKER = 'zz_policy_marker_5e0c';

let down; // ORIGIN_URL points at a closed port
let broken; // POLICY is invalid

before(async () => {
  await buildWorker(); // once, before the two stacks start side by side
  const closed = await freePort(); // nothing listens there once freePort returns
  const results = await Promise.allSettled([
    startStack({
      withOrigin: false,
      originUrl: `http://127.0.0.1:${closed}/mcp`,
      policy: {
        version: '1',
        default: 'deny',
        tools: {
          odoo_read: {},
          odoo_version: { limits: [{ counter: 'one', window: 'hour', max: 1, scope: 'grant' }] },
        },
      },
      tokens: { down: TOKEN },
    }),
    startStack({
      withOrigin: false,
      originUrl: 'http://127.0.0.1:9/mcp',
      policy: JSON.stringify({
        version: '1',
        default: 'deny',
        tools: { odoo_read: { action: 'maybe' } },
        [MARKER]: true,
      }),
      tokens: { broken: TOKEN },
      ready: 503,
    }),
  ]);
  [down, broken] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled([down?.stop(), broken?.stop()]);
    throw failed.reason;
  }
});

after(async () => {
  await Promise.allSettled([down?.stop(), broken?.stop()]);
});

test('origin unreachable: an allowed call gets 502 with the request\'s id', async () => {
  for (const id of ['down-1', 42]) {
    const r = await down.post(callBody(id, 'odoo_read', { model: 'res.partner', ids: [1] }), { token: TOKEN });
    assert.equal(r.status, 502);
    const body = await r.json();
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(body.id, id);
    assert.equal(typeof body.error.code, 'number');
    assert.equal(typeof body.error.message, 'string');
  }
  // Other methods too (no tool, no limit): initialize.
  const init = await down.post(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 'init-down',
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'down', version: '0' } },
    }),
    { token: TOKEN },
  );
  assert.equal(init.status, 502);
  assert.equal((await init.json()).id, 'init-down');
});

test('origin down from the start: a call is refused before its limit (toolgate cannot tell which tools exist), so a max-1 limit never turns into rate_limited', async () => {
  // Refunds for an origin that goes down under a known catalogue: refunds.test.mjs.
  for (const id of [1, 2, 3]) {
    const r = await down.post(callBody(id, 'odoo_version', {}), { token: TOKEN });
    const body = await r.json();
    assert.equal(r.status, 502, `call ${id}: ${JSON.stringify(body)}`);
    assert.equal(body.id, id);
    assert.match(body.error.message, /^toolgate could not read the origin's list of tools/);
  }
});

test('bad POLICY: 503 with a JSON-RPC error that does not echo the policy; the reason is in wrangler\'s output', async () => {
  for (const token of [TOKEN, undefined]) {
    const r = await broken.post(callBody('cfg-1', 'odoo_read', {}), { token });
    assert.equal(r.status, 503);
    const text = await r.text();
    const body = JSON.parse(text);
    assert.equal(body.jsonrpc, '2.0');
    assert.equal(typeof body.error.code, 'number');
    assert.equal(body.result, undefined);
    for (const secret of [MARKER, 'maybe', '"version"', 'odoo_read']) {
      assert.ok(!text.includes(secret), `the answer echoes ${secret}: ${text}`);
    }
  }
  // The operator reads why: the variable and the JSON Pointer of each error.
  await waitFor(
    () => {
      const out = broken.gateway.output();
      return out.includes('POLICY') && out.includes('/tools/odoo_read/action') && out.includes(`/${MARKER}`);
    },
    {
      timeoutMs: 10_000,
      what: 'the reason for the bad configuration in wrangler\'s output',
      detail: () => broken.gateway.output().slice(-3000),
    },
  );
});

test('`wrangler deploy --dry-run --outdir` bundles the Worker', async () => {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-e2e-deploy-'));
  try {
    const deploy = startProcess(WRANGLER, ['deploy', '--dry-run', '--outdir', outdir], {
      env: { WRANGLER_SEND_METRICS: 'false' },
    });
    const code = await Promise.race([
      deploy.exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 240_000).unref()),
    ]);
    await deploy.stop();
    assert.equal(code, 0, `wrangler deploy --dry-run: ${code}\n${deploy.output().slice(-3000)}`);
    assert.match(deploy.output(), /--dry-run: exiting now/);
    const files = readdirSync(outdir);
    assert.ok(files.some((f) => f.endsWith('.js')), `bundle: ${files.join(', ')}`);
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `bundle: ${files.join(', ')}`);
    assert.ok(statSync(path.join(outdir, wasm[0])).size > 100_000);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

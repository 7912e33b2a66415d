// Every request is bounded (CONTRACT §3): each grant has a coarse request budget over all
// methods, REQUESTS_PER_MINUTE (default 600), exact in each isolate and kept with the
// Workers Rate Limiting binding `REQUESTS` (`[[ratelimits]]` in wrangler.toml). Beyond
// it: 429 with Retry-After, nothing forwarded.
//
// Two stacks, one after the other: a small REQUESTS_PER_MINUTE (the isolate's exact
// window), and a huge one (only the binding can refuse: does it under wrangler dev?).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, callBody, ACCEPT } from './harness.mjs';

const TOKEN = 'tg-e2e-budget-a-0c4f';
const OTHER = 'tg-e2e-budget-b-9e21';
const POLICY = { version: '1', default: 'allow' };

let stack;

after(async () => {
  await stack?.stop();
});

async function expectBudgetRefusal(response, what) {
  const text = await response.text();
  assert.equal(response.status, 429, `${what}: ${response.status} ${text.slice(0, 200)}`);
  const retry = response.headers.get('retry-after');
  assert.match(retry ?? '', /^\d+$/, `${what}: Retry-After`);
  assert.ok(Number(retry) >= 1 && Number(retry) <= 60, `${what}: Retry-After ${retry}`);
  const answer = JSON.parse(text);
  assert.equal(answer.jsonrpc, '2.0');
  assert.equal(typeof answer.error.code, 'number');
  assert.match(answer.error.message, /budget/);
}

/** Runs `body` on a stack of its own, stopped whatever happens. */
async function withStack(options, body) {
  stack = await startStack({ policy: POLICY, prime: false, ...options });
  try {
    await body();
  } finally {
    await stack.stop();
    stack = undefined;
  }
}

test('REQUESTS_PER_MINUTE=8: the 9th request of a grant in a minute gets 429 with Retry-After and is not forwarded', async () => {
  await withStack({ tokens: { a: TOKEN, b: OTHER }, vars: { REQUESTS_PER_MINUTE: '8' } }, async () => {
    // 2026-07-28 requests need no session: each is one request to the origin.
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'odoo_read' };
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
    const body = (i) => callBody(`b-${i}`, 'odoo_read', { i }, { _meta: meta });
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const r = await stack.post(body(i), { token: TOKEN, headers });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    assert.deepEqual(statuses, Array(8).fill(200));
    // Every method counts, refused ones and GET and DELETE too.
    await expectBudgetRefusal(await stack.post(body(8), { token: TOKEN, headers }), 'the 9th tools/call');
    await expectBudgetRefusal(await stack.post('not json', { token: TOKEN }), 'a bad body');
    await expectBudgetRefusal(
      await fetch(stack.url, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' } }),
      'a GET',
    );
    await expectBudgetRefusal(await fetch(stack.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } }), 'a DELETE');
    const calls = (await stack.originLog()).filter((e) => e.mcp_method === 'tools/call');
    assert.equal(calls.length, 8, 'nothing beyond the budget reached the origin');
    // The budget is per grant: another grant is not affected.
    const other = await stack.post(body(100), { token: OTHER, headers });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
  });
});

test('the [[ratelimits]] binding REQUESTS under wrangler dev: with REQUESTS_PER_MINUTE=100000 it refuses within 2×600+1 requests', async (t) => {
  await withStack({ tokens: { a: TOKEN }, vars: { REQUESTS_PER_MINUTE: '100000' } }, async () => {
    // Bodies the gateway refuses itself (400 after the budget check): nothing to forward.
    const bad = { token: TOKEN, headers: { accept: ACCEPT } };
    let admitted = 0;
    let refusedAt = null;
    for (let i = 1; i <= 2 * 600 + 1; i++) {
      const r = await stack.post('{"jsonrpc":"2.0","id":1,"method":"tools/call"}', bad);
      if (r.status === 429) {
        refusedAt = i;
        await expectBudgetRefusal(r, `request ${i}`);
        break;
      }
      assert.equal(r.status, 400, `request ${i}`);
      await r.arrayBuffer();
      admitted++;
    }
    t.diagnostic(`the binding admitted ${admitted} requests, then ${refusedAt ? `refused request ${refusedAt}` : 'never refused'}`);
    assert.ok(refusedAt, `the binding never refused in ${admitted} requests`);
    assert.ok(refusedAt > 600 && refusedAt <= 2 * 600 + 1, `refused at ${refusedAt}`);
    assert.deepEqual(await stack.originLog(), [], 'nothing was forwarded');
  });
});

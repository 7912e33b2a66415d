// Load and the coarse budget, end to end in workerd (CONTRACT §1 limits, §3 "Every
// request is bounded"):
// - 1,000 concurrent calls on one global counter with max 50: exactly 50 reach the
//   origin (counted by its tool handler), the other 950 are rate_limited;
// - REQUESTS_PER_MINUTE bounds every request of a grant, whatever its method: calls that
//   need approval and methods other than tools/call get 429 past it, and nothing of them
//   reaches the origin or the control object.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, rpcResult, sha256hex, waitFor } from './harness.mjs';

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const LOAD_GRANTS = ['l0', 'l1', 'l2', 'l3'];
const TOKENS = {
  ...Object.fromEntries(LOAD_GRANTS.map((g) => [g, `tg-e2e-load-${g}-0f3d`])),
  approvals: 'tg-e2e-load-approvals-77e1',
  methods: 'tg-e2e-load-methods-3a90',
};
const ADMIN = 'tg-e2e-load-admin-5c2b';
const BUDGET = 20; // REQUESTS_PER_MINUTE of the second stack

const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    odoo_search_count: { limits: [{ counter: 'everyone', window: 'hour', max: 50, scope: 'global' }] },
    ai_invoice_pipeline_run: { approval: { ttl: '1h' } },
    odoo_read: {},
  },
};

let load; // the load stack: REQUESTS_PER_MINUTE above what 250 calls of a grant need
let budget; // REQUESTS_PER_MINUTE = 20
before(async () => {
  // Straight into workerd through Miniflare: see startMiniflareGateway for why `wrangler
  // dev`'s proxy loses a POST now and then under this load.
  load = await startStack({ policy: POLICY, tokens: TOKENS, vars: { REQUESTS_PER_MINUTE: '600' }, runtime: 'miniflare' });
  budget = await startStack({
    policy: POLICY,
    tokens: TOKENS,
    vars: { REQUESTS_PER_MINUTE: String(BUDGET), ADMINS: JSON.stringify({ ops: sha256hex(ADMIN) }) },
    prime: false,
  });
});
after(async () => {
  await Promise.allSettled([load?.stop(), budget?.stop()]);
});

/** A 2026-07-28 request (no session): { status, headers, answer }. */
async function request(stack, grant, id, method, params = {}, name) {
  const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  if (name) headers['mcp-name'] = name;
  const response = await stack.post(JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: META } }), {
    token: TOKENS[grant],
    headers,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

const decisionOf = (answer) => answer?.result?._meta?.['toolgate/decision'];

test('1,000 calls at once on a global counter with max 50: exactly 50 reach the origin, 950 are rate_limited', async () => {
  await load.originReset();
  const N = 1000;
  // All 1,000 are issued at once, over 50 connections (node's fetch pools them).
  const CONNECTIONS = 50;
  const started = performance.now();
  let next = 0;
  const answers = [];
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < N) {
        const i = next++;
        const grant = LOAD_GRANTS[i % LOAD_GRANTS.length];
        const r = await request(load, grant, `load-${i}`, 'tools/call', { name: 'odoo_search_count', arguments: { model: 'res.partner', i } }, 'odoo_search_count');
        assert.equal(r.status, 200, `call ${i}: ${r.text.slice(0, 300)}`);
        answers.push({ i, answer: await rpcResult(new Response(r.text, { headers: { 'content-type': r.headers.get('content-type') } }), `load-${i}`) });
      }
    }),
  );
  const ms = Math.round(performance.now() - started);
  const admitted = answers.filter(({ answer }) => answer.result && !answer.result.isError);
  const limited = answers.filter(({ answer }) => decisionOf(answer)?.decision === 'rate_limited');
  const executions = (await load.executions()).filter((e) => e.tool === 'odoo_search_count');
  console.log(`1,000 calls, ${CONNECTIONS} at a time, on one counter: ${admitted.length} admitted, ${limited.length} rate_limited, in ${ms} ms`);
  assert.equal(executions.length, 50, 'exactly 50 ran at the origin');
  assert.equal(admitted.length, 50);
  assert.equal(limited.length, 950);
  assert.deepEqual(
    new Set(admitted.map(({ i }) => i)),
    new Set(executions.map((e) => e.arguments.i)),
    'the admitted calls are the ones the origin ran',
  );
  for (const { answer } of limited) {
    assert.equal(decisionOf(answer).rule, '/tools/odoo_search_count/limits/0');
    assert.ok(decisionOf(answer).retry_after_ms > 0);
  }
});

test('REQUESTS_PER_MINUTE bounds calls that need approval: 429 past it, and no approval is made', async () => {
  const answers = [];
  for (let i = 0; i < BUDGET + 5; i++) {
    answers.push(await request(budget, 'approvals', `ap-${i}`, 'tools/call', { name: 'ai_invoice_pipeline_run', arguments: { invoice: i } }, 'ai_invoice_pipeline_run'));
  }
  // The first call also reads the origin's catalogue (the gateway's own requests, not the grant's).
  const held = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(held.length, BUDGET);
  assert.equal(refused.length, 5);
  for (const a of held) assert.equal(decisionOf(JSON.parse(a.text))?.decision, 'approval_required');
  for (const a of refused) {
    assert.equal(a.headers.get('retry-after'), '60');
    assert.match(JSON.parse(a.text).error.message, /request budget is used up/);
  }
  assert.deepEqual(answers.map((a) => a.status), [...Array(BUDGET).fill(200), ...Array(5).fill(429)], 'the first 20 pass');
  const list = await fetch(`${budget.base}/admin/approvals?status=pending&limit=100`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const pending = (await list.json()).approvals.filter((a) => a.grant === 'approvals');
  assert.equal(pending.length, BUDGET, 'the 429s never reached the control object');
  // The audit log has a record for each of the 20, none for the 429s.
  const records = await waitFor(
    async () => {
      const audit = await fetch(`${budget.base}/admin/audit?grant=approvals&limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const list = (await audit.json()).records;
      return list.length >= BUDGET ? list : null;
    },
    { timeoutMs: 20_000, what: `${BUDGET} audit records` },
  );
  assert.equal(records.length, BUDGET);
  assert.ok(records.every((r) => r.decision === 'approval_required'));
});

test('REQUESTS_PER_MINUTE bounds every other method too: 429 past it, nothing forwarded', async () => {
  await budget.originReset();
  const methods = ['tools/list', 'server/discover', 'ping', 'resources/list', 'prompts/list'];
  const statuses = [];
  for (let i = 0; i < BUDGET + 10; i++) {
    const r = await request(budget, 'methods', `m-${i}`, methods[i % methods.length]);
    statuses.push(r.status);
  }
  assert.equal(statuses.filter((s) => s === 429).length, 10, JSON.stringify(statuses));
  assert.deepEqual(statuses.slice(BUDGET), Array(10).fill(429));
  const log = (await budget.originLog()).filter((e) => e.body.includes('"m-'));
  assert.equal(log.length, BUDGET, 'only the requests within the budget reached the origin');
});

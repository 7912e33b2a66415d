// Injected storage faults (`TOOLGATE_FAULTS`, a test-only var: the named Durable Object
// answers every request with 500), one object at a time, end to end in workerd. Each
// must fail closed with a clear message, leave nothing half-written, and never change an
// agent's answer for a reason the agent cannot see (the audit object failing).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, rpcResult, sha256hex, waitFor } from './harness.mjs';

const TOKEN = 'tg-e2e-faults-agent-2d7c';
const ADMIN = 'tg-e2e-faults-admin-8e1f';
const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    odoo_read: {},
    odoo_search_count: { limits: [{ counter: 'counted', window: 'hour', max: 5, scope: 'grant' }] },
    ai_invoice_pipeline_run: { approval: { ttl: '1h' } },
    odoo_create: { approval: { ttl: '1h' }, limits: [{ counter: 'created', window: 'hour', max: 5, scope: 'grant' }] },
  },
};

const stacks = {};
async function stackWith(fault, ready = 401) {
  stacks[fault] ??= await startStack({
    policy: POLICY,
    tokens: { agent: TOKEN },
    vars: { TOOLGATE_FAULTS: fault, ADMINS: JSON.stringify({ ops: sha256hex(ADMIN) }) },
    ready,
  });
  return stacks[fault];
}
after(async () => {
  await Promise.allSettled(Object.values(stacks).map((s) => s.stop()));
});

async function call(stack, id, name, args) {
  const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name };
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const response = await stack.post(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: meta } }), {
    token: TOKEN,
    headers,
  });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}
async function admin(stack, method, p, body) {
  const r = await fetch(`${stack.base}${p}`, { method, headers: { authorization: `Bearer ${ADMIN}` }, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, text, body: JSON.parse(text) };
}
const decisionOf = (body) => body?.result?._meta?.['toolgate/decision'];
const ran = async (stack, tool) => (await stack.executions()).filter((e) => e.tool === tool).length;

test('counter store failing: a call with a limit is denied, not forwarded; other calls and approvals go on', async () => {
  const stack = await stackWith('counter');
  await stack.originReset();
  const limited = await call(stack, 'c1', 'odoo_search_count', { model: 'res.partner' });
  assert.equal(limited.status, 200);
  const d = decisionOf(limited.body);
  assert.equal(d?.decision, 'deny');
  assert.equal(d.rule, '/tools/odoo_search_count/limits/0');
  assert.equal(d.message, 'toolgate could not reach the rate-limit store for `counted`, so the call was not forwarded; try again shortly');
  assert.equal(await ran(stack, 'odoo_search_count'), 0);
  // A call without a limit is not affected.
  const plain = await call(stack, 'c2', 'odoo_read', { model: 'res.partner', ids: [1] });
  assert.equal(plain.body.result?.isError, false, plain.text);
  assert.equal(await ran(stack, 'odoo_read'), 1);
  // An approval is made as usual (the control object works).
  const held = decisionOf((await call(stack, 'c3', 'ai_invoice_pipeline_run', { invoice: 1 })).body);
  assert.equal(held?.decision, 'approval_required');
});

test('counter store failing after an approval: the approved call is denied, and its approval is not used up', async () => {
  const stack = await stackWith('counter');
  await stack.originReset();
  const held = decisionOf((await call(stack, 'a1', 'odoo_create', { model: 'res.partner', values: { name: 'x' } })).body);
  assert.equal(held?.decision, 'approval_required');
  assert.equal((await admin(stack, 'POST', `/admin/approvals/${held.approval_id}/approve`, {})).status, 200);
  const refused = decisionOf((await call(stack, 'a2', 'odoo_create', { model: 'res.partner', values: { name: 'x' } })).body);
  assert.equal(refused?.decision, 'deny');
  assert.match(refused.message, /could not reach the rate-limit store for `created`/);
  assert.equal(await ran(stack, 'odoo_create'), 0);
  const after = await admin(stack, 'GET', `/admin/approvals/${held.approval_id}`);
  assert.equal(after.body.approval.status, 'approved', 'the call never ran, so the approval still stands');
});

test('control store failing: every /mcp request is refused with 503 before anything is forwarded; the admin API says why', async () => {
  const stack = await stackWith('control', 503);
  for (const [id, name, args] of [
    ['k1', 'odoo_read', { model: 'res.partner', ids: [1] }],
    ['k2', 'odoo_search_count', {}],
    ['k3', 'ai_invoice_pipeline_run', { invoice: 2 }],
  ]) {
    const r = await call(stack, id, name, args);
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error.message, 'toolgate cannot confirm its policy right now, so nothing was forwarded; try again shortly');
  }
  assert.equal((await stack.originLog()).length, 0, 'nothing reached the origin');
  const list = await admin(stack, 'GET', '/admin/approvals?status=pending');
  assert.equal(list.status, 500);
  assert.equal(list.body.error, 'control storage failed (injected fault)');
});

test('audit store failing: the agent gets the same answers; every record is still on the Worker log, with the failure', async () => {
  const stack = await stackWith('audit');
  await stack.originReset();
  const plain = await call(stack, 'u1', 'odoo_read', { model: 'res.partner', ids: [1] });
  assert.equal(plain.status, 200);
  assert.equal(plain.body.result?.isError, false, plain.text);
  const counted = await call(stack, 'u2', 'odoo_search_count', { model: 'res.partner' });
  assert.equal(counted.body.result?.isError, false, counted.text);
  const held = decisionOf((await call(stack, 'u3', 'ai_invoice_pipeline_run', { invoice: 3 })).body);
  assert.equal(held?.decision, 'approval_required');
  assert.equal(await ran(stack, 'odoo_read'), 1);
  // Not lost silently: each record is printed, and so is each failed write (records are
  // written in batches; each failure says how many records it lost).
  const lost = (out) =>
    [...out.matchAll(/toolgate: audit write failed: status 500: .*injected fault.*; (\d+) records not stored/g)]
      .reduce((sum, m) => sum + Number(m[1]), 0);
  await waitFor(
    () => {
      const out = stack.gateway.output();
      const lines = ['"request_id":"\\"u1\\""', '"request_id":"\\"u2\\""', '"request_id":"\\"u3\\""'];
      return lines.every((l) => out.includes(l)) && lost(out) >= 3;
    },
    { timeoutMs: 15_000, what: 'the three records and their failed writes on the Worker log', detail: () => stack.gateway.output().slice(-3000) },
  );
  const audit = await admin(stack, 'GET', '/admin/audit');
  assert.equal(audit.status, 500);
  assert.equal(audit.body.error, 'audit storage failed (injected fault)');
});

test('catalogue store failing: tools/list still filtered; a call is refused with 502 since toolgate cannot tell which tools exist', async () => {
  const stack = await stackWith('catalogue');
  await stack.originReset();
  const r = await call(stack, 'g1', 'odoo_read', { model: 'res.partner', ids: [1] });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.body.id, 'g1');
  assert.match(r.body.error.message, /^toolgate could not read the origin's list of tools, so it cannot tell which tools exist; the call was not forwarded/);
  assert.equal(await ran(stack, 'odoo_read'), 0);
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  const list = await stack.post(JSON.stringify({ jsonrpc: '2.0', id: 'l1', method: 'tools/list', params: { _meta: meta } }), {
    token: TOKEN,
    headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
  });
  assert.equal(list.status, 200);
  const tools = (await rpcResult(list, 'l1')).result.tools.map((t) => t.name).sort();
  assert.deepEqual(tools, Object.keys(POLICY.tools).sort(), 'only the listed tools');
});

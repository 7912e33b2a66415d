// Durable Object state outlives the isolate: a counter, a pending approval and a stored
// policy survive a restart of the whole runtime on the same storage (the local stand-in
// for an eviction). Nothing here is kept in memory only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startOrigin, startGateway, callBody, rpcResult, sha256hex } from './harness.mjs';

const TOKEN = 'tg-e2e-persist-agent-77aa';
const ADMIN = 'tg-e2e-persist-admin-19cd';
const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    odoo_read: { limits: [{ counter: 'reads', window: 'hour', max: 2, scope: 'grant' }] },
    ai_invoice_pipeline_run: { approval: { ttl: '1h' } },
  },
};

let origin;
let storage;
before(async () => {
  origin = await startOrigin();
  storage = mkdtempSync(path.join(os.tmpdir(), 'toolgate-persist-'));
});
after(async () => {
  await origin?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

function gateway() {
  return startGateway({
    originUrl: origin.url,
    policy: POLICY,
    grants: { p: sha256hex(TOKEN) },
    vars: { ADMINS: JSON.stringify({ ops: sha256hex(ADMIN) }) },
    persistTo: storage,
  });
}

async function call(gw, id, name, args) {
  const response = await fetch(gw.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': name,
    },
    body: callBody(id, name, args, {
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
      },
    }),
  });
  return rpcResult(response, id);
}

const decisionOf = (answer) => answer.result?._meta?.['toolgate/decision'];

test('counters, approvals and stored policies survive a restart on the same storage', async () => {
  let gw = await gateway();
  let approvalId;
  try {
    for (const id of ['r1', 'r2']) {
      const answer = await call(gw, id, 'odoo_read', { model: 'res.partner', ids: [1] });
      assert.notEqual(answer.result?.isError, true, JSON.stringify(answer));
    }
    assert.equal(decisionOf(await call(gw, 'r3', 'odoo_read', { model: 'res.partner', ids: [1] }))?.decision, 'rate_limited');
    approvalId = decisionOf(await call(gw, 'a1', 'ai_invoice_pipeline_run', { invoice: 7 }))?.approval_id;
    assert.ok(approvalId);
    const put = await fetch(`${gw.base}/admin/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ ...POLICY, tools: { ...POLICY.tools, odoo_search_read: {} } }),
    });
    assert.equal(put.status, 200, await put.text());
  } finally {
    await gw.stop();
  }

  gw = await gateway();
  try {
    const limited = decisionOf(await call(gw, 'r4', 'odoo_read', { model: 'res.partner', ids: [1] }));
    assert.equal(limited?.decision, 'rate_limited', 'the counter kept its two calls');
    assert.ok(limited.retry_after_ms > 0);
    const pending = await (
      await fetch(`${gw.base}/admin/approvals?status=pending`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json();
    const kept = pending.approvals.find((a) => a.id === approvalId);
    assert.deepEqual(kept?.arguments, { invoice: 7 }, 'the pending approval and its (sealed) arguments are still there');
    // An approval is bound to the policy version: under version 1 the same call needs a new one.
    const held = decisionOf(await call(gw, 'a2', 'ai_invoice_pipeline_run', { invoice: 7 }));
    assert.equal(held?.decision, 'approval_required');
    assert.notEqual(held.approval_id, approvalId);
    const policy = await (await fetch(`${gw.base}/admin/policy`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
    assert.equal(policy.version, 1, 'the stored policy still supersedes POLICY');
    const answer = await call(gw, 's1', 'odoo_search_read', { model: 'res.partner' });
    assert.notEqual(answer.result?.isError, true, JSON.stringify(answer));
  } finally {
    await gw.stop();
  }
});

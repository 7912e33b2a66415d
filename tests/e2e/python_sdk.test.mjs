// A second SDK: the official MCP Python SDK client (the stack the Odoo server itself is
// built on) through the gateway, in both protocol generations: the legacy handshake with
// sessions (2025-11-25) and the stateless 2026-07-28 envelope it negotiates by default.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack, run, ROOT } from './harness.mjs';

const TOKEN = 'tg-e2e-python-sdk-3f9a';
const POLICY = {
  version: '1',
  default: 'deny',
  hide: ['ssh_execute'],
  tools: {
    odoo_search_read: {},
    odoo_read: {},
    odoo_unlink: { action: 'deny', on_deny: 'deleting records is not allowed' },
  },
};

let stack;
before(async () => {
  stack = await startStack({ policy: POLICY, tokens: { py: TOKEN } });
});
after(async () => {
  await stack?.stop();
});

test('the MCP Python SDK client sees the policy in both protocol generations', async () => {
  const client = await run('python3', [path.join(ROOT, 'tests', 'e2e', 'python_sdk_client.py'), stack.url, TOKEN]);
  assert.equal(client.status, 0, client.stderr);
  const seen = client.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(
    seen.map((s) => [s.mode, s.protocol_version]),
    [
      ['legacy', '2025-11-25'],
      ['auto', '2026-07-28'],
    ],
  );
  for (const s of seen) {
    assert.deepEqual([...s.tools].sort(), ['odoo_read', 'odoo_search_read', 'odoo_unlink'], s.mode);
    assert.deepEqual(s.allowed, { is_error: false, structured: { tool: 'odoo_search_read', arguments: { model: 'res.partner' } } }, s.mode);
    assert.equal(s.denied.is_error, true, s.mode);
    assert.equal(s.denied.text, 'deleting records is not allowed', s.mode);
    assert.equal(s.denied.decision?.rule, '/tools/odoo_unlink/action', s.mode);
    assert.deepEqual(s.hidden, { code: -32602, message: 'Unknown tool: ssh_execute' }, s.mode);
  }
  const calls = (await stack.originLog()).filter((e) => e.mcp_method === 'tools/call').map((e) => e.tool);
  assert.deepEqual(calls, ['odoo_search_read', 'odoo_search_read'], 'only the allowed calls reached the origin');
});

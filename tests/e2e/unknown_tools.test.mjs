// A hidden tool and a tool the origin does not have get the same answer (CONTRACT §3, "A
// way to tell a hidden tool from a missing one"): same status, content type, header names
// and body but for the name, in every protocol revision, under `default` allow and deny.
// The origin answers unknown tools as the real Odoo server does (`--odoo-unknown-tools`:
// a normal result "Error: Connection 'default' not found"), so any call that reached it
// would show.
//
// Finding 3.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, rpcMessages, callBody, sha256hex, ORIGIN_TOOLS } from './harness.mjs';

const TOKEN = 'tg-e2e-unknown-3c9e';
const ADMIN_TOKEN = 'tg-e2e-unknown-admin-77f0';

const PARAM_SCHEMA = {
  type: 'object',
  properties: { region: { type: 'string', 'x-mcp-header': 'Region' } },
};

const ALLOW = { version: '1', default: 'allow', hide: ['ssh_execute', 'zz_hidden_param'] };
const DENY = {
  version: '1',
  default: 'deny',
  hide: ['ssh_execute', 'zz_hidden_param'],
  tools: { odoo_read: {}, zz_visible_param: {}, zz_listed_but_missing: {}, 'zz_pattern_*': {} },
};

/** Per policy: the names to compare, and what each is. */
const NAMES = {
  allow: {
    ssh_execute: 'hidden by `hide`, the origin has it',
    zz_hidden_param: 'hidden by `hide`, declares an Mcp-Param header',
    zz_missing_tool: 'the origin does not have it',
  },
  deny: {
    ssh_execute: 'hidden by `hide`, the origin has it',
    zz_hidden_param: 'hidden by `hide`, declares an Mcp-Param header',
    odoo_unlink: 'hidden by `default: deny`, the origin has it',
    zz_listed_but_missing: 'listed by a key, the origin does not have it',
    zz_pattern_x: 'listed by a pattern, the origin does not have it',
    zz_missing_tool: 'unlisted, the origin does not have it',
  },
};

const META_2026 = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};
const REVISIONS = ['2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'];

let stack;

async function admin(method, p, body) {
  const r = await fetch(`${stack.base}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.text() };
}

before(async () => {
  stack = await startStack({
    policy: ALLOW,
    tokens: { agent: TOKEN },
    originArgs: ['--odoo-unknown-tools'],
    vars: { ADMINS: JSON.stringify({ ops: sha256hex(ADMIN_TOKEN) }) },
  });
});

after(async () => {
  await stack?.stop();
});

/** A session (or, for 2026-07-28, none) and a function that sends one message in it. */
async function caller(revision) {
  if (revision === '2026-07-28') {
    const post = (message, extra = {}) =>
      stack.post(JSON.stringify({ jsonrpc: '2.0', ...message, params: { ...message.params, _meta: META_2026 } }), {
        token: TOKEN,
        headers: {
          'mcp-protocol-version': revision,
          'mcp-method': message.method,
          ...(message.method === 'tools/call' ? { 'mcp-name': message.params.name } : {}),
          ...extra,
        },
      });
    return {
      post,
      call: (id, name, args, extra) => post({ id, method: 'tools/call', params: { name, arguments: args } }, extra),
    };
  }
  const session = await stack.rawSession({ token: TOKEN, version: revision });
  assert.equal(session.negotiated, revision);
  const post = (message, extra = {}) =>
    stack.post(JSON.stringify({ jsonrpc: '2.0', ...message }), { token: TOKEN, headers: { ...session.headers, ...extra } });
  return { post, call: (id, name, args, extra) => post({ id, method: 'tools/call', params: { name, arguments: args } }, extra) };
}

/** What an agent can compare of two answers. */
async function shape(response, name) {
  const body = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    headers: [...response.headers.keys()].sort(),
    body: body.replaceAll(name, 'NAME'),
  };
}

/**
 * Calls every name of `names` in every revision, each with an `Mcp-Param-Region` header
 * that disagrees with the body, and compares the answers with the first name's.
 */
async function compareAll(policyName, names) {
  const differences = [];
  const reached = [];
  for (const revision of REVISIONS) {
    const { call } = await caller(revision);
    // Not a reset: that would also restore the origin's catalogue.
    const seen = (await stack.originLog()).length;
    const shapes = [];
    for (const [name, what] of Object.entries(names)) {
      const r = await call(`u-${revision}`, name, { region: 'eu' }, { 'mcp-param-region': 'us' });
      shapes.push([name, what, await shape(r, name)]);
    }
    const [first, , expected] = shapes[0];
    assert.equal(expected.status, 200, `${policyName} ${revision} ${first}: ${JSON.stringify(expected)}`);
    assert.deepEqual(JSON.parse(expected.body), {
      jsonrpc: '2.0',
      id: `u-${revision}`,
      error: { code: -32602, message: 'Unknown tool: NAME' },
    });
    for (const [name, what, got] of shapes.slice(1)) {
      try {
        assert.deepEqual(got, expected);
      } catch {
        differences.push(
          `${policyName}, ${revision}: ${name} (${what}) got ${JSON.stringify(got).slice(0, 400)}; ${first} got ${JSON.stringify(expected).slice(0, 400)}`,
        );
      }
    }
    const calls = (await stack.originLog()).slice(seen).filter((e) => e.mcp_method === 'tools/call');
    reached.push(...calls.map((e) => `${revision}: ${e.tool}`));
  }
  assert.deepEqual(differences, [], 'an agent can tell these answers apart');
  assert.deepEqual(reached, [], `${policyName}: no call to a hidden or missing tool reaches the origin`);
}

const { zz_hidden_param: _param, ...PLAIN_ALLOW } = NAMES.allow;

test('default allow: a hidden tool and a missing one get the same answer in every revision', async () => {
  assert.ok(!ORIGIN_TOOLS.includes('zz_missing_tool'));
  await compareAll('allow', PLAIN_ALLOW);
});

test('a hidden tool whose schema declares an Mcp-Param header is answered as a missing one, whatever the header', async () => {
  // Two tools that declare an Mcp-Param header, one visible and one hidden. The gateway
  // learns them from a tools/list through it (its view of the catalogue follows within
  // seconds); a mismatching header on the visible one is then refused, 400 -32020.
  await stack.origin.tools({
    set: [
      { name: 'zz_visible_param', description: 'probe', inputSchema: PARAM_SCHEMA },
      { name: 'zz_hidden_param', description: 'probe', inputSchema: PARAM_SCHEMA },
    ],
  });
  const { post, call } = await caller('2025-06-18');
  const list = await post({ id: 'learn', method: 'tools/list' });
  await list.arrayBuffer();
  const seen = (await stack.originLog()).length;
  await waitFor(
    async () => {
      const r = await call('probe', 'zz_visible_param', { region: 'eu' }, { 'mcp-param-region': 'us' });
      const [m] = await rpcMessages(r);
      return r.status === 400 && m?.error?.code === -32020;
    },
    { timeoutMs: 15_000, intervalMs: 500, what: 'a mismatching Mcp-Param-Region on zz_visible_param to be refused' },
  );
  assert.deepEqual(
    (await stack.originLog()).slice(seen).filter((e) => e.mcp_method === 'tools/call').map((e) => JSON.parse(e.body).params.arguments),
    [],
    'a refused Mcp-Param header is not forwarded',
  );
  await compareAll('allow', NAMES.allow);
});

test('default deny: hidden, unlisted and listed-but-missing tools get the same answer in every revision', async () => {
  const put = await admin('PUT', '/admin/policy', DENY);
  assert.equal(put.status, 200, put.body);
  await waitFor(
    async () => {
      const r = await stack.post(callBody('switch', 'odoo_unlink', {}), { token: TOKEN });
      const [m] = await rpcMessages(r);
      return m?.error?.code === -32602;
    },
    { timeoutMs: 10_000, what: 'the default-deny policy in force' },
  );
  await compareAll('deny', NAMES.deny);
});

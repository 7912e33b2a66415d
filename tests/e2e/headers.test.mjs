// What reaches the origin (CONTRACT §3): the method, the original body bytes, Content-Type,
// Accept, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, the origin's own session id,
// Last-Event-ID on GET, Mcp-Param-* only where the tool's input schema declares it and it
// matches the body, and ORIGIN_HEADERS. No other header of the agent's, read from the
// origin's own log of every header it received.
//
// Finding 6.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, rpcResult, rpcMessages, callBody, ACCEPT } from './harness.mjs';

const TOKEN = 'tg-e2e-headers-5a0d';
const ORIGIN_SECRET = 'origin-secret-headers-d41c';
const POLICY = { version: '1', default: 'allow', hide: ['ssh_execute'] };

/** What the runtime itself puts on a request it sends (never a value of the agent's). */
const TRANSPORT = new Set(['host', 'content-length', 'connection', 'accept-encoding', 'transfer-encoding', 'cf-worker']);
const ALLOWED = new Set([
  'content-type',
  'accept',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'mcp-session-id',
  'last-event-id',
  'authorization', // ORIGIN_HEADERS
  'x-origin-tenant', // ORIGIN_HEADERS
]);

/** Headers an agent sends that must never reach the origin, each with a value to look for. */
const HOSTILE = {
  'mcp-grant': 'admin',
  'mcp-session-owner': 'hostile-owner-1',
  'mcp-anything': 'hostile-mcp-2',
  'mcp-param-region': 'hostile-param-3',
  'user-agent': 'hostile-agent-ua/4',
  'accept-language': 'xx-HOSTILE5',
  'x-forwarded-for': '203.0.113.66',
  'x-forwarded-host': 'hostile-host-7.example',
  'x-real-ip': '203.0.113.77',
  forwarded: 'for=203.0.113.88;host=hostile-9.example',
  cookie: 'sid=hostile-cookie-10',
  referer: 'https://hostile-11.example/',
  origin: 'http://127.0.0.1:1',
  'x-custom': 'hostile-custom-12',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'cf-connecting-ip': '203.0.113.99',
  'x-http-method-override': 'DELETE',
};

let stack;

before(async () => {
  stack = await startStack({
    policy: POLICY,
    tokens: { agent: TOKEN },
    originHeaders: { Authorization: `Bearer ${ORIGIN_SECRET}`, 'X-Origin-Tenant': 'headers-e2e' },
  });
});

after(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.originReset();
});

/** Every header of every logged request that the gateway should not have sent. */
function unexpected(log, extraAllowed = []) {
  const problems = [];
  const values = Object.values(HOSTILE);
  for (const entry of log) {
    for (const [name, value] of Object.entries(entry.headers)) {
      const where = `${entry.method} ${entry.mcp_method ?? ''}: ${name}: ${value}`;
      if (!ALLOWED.has(name) && !TRANSPORT.has(name) && !extraAllowed.includes(name)) problems.push(`not allowed: ${where}`);
      if (values.some((v) => value.includes(v))) problems.push(`an agent's value: ${where}`);
    }
    if (entry.headers.authorization !== `Bearer ${ORIGIN_SECRET}`) problems.push(`${entry.method}: authorization is not ORIGIN_HEADERS'`);
    if (entry.headers['x-origin-tenant'] !== 'headers-e2e') problems.push(`${entry.method}: X-Origin-Tenant missing`);
  }
  return problems;
}

test('on POST, GET and DELETE only the allowlisted headers of the agent reach the origin', async () => {
  const session = await stack.rawSession({ token: TOKEN });
  await stack.originReset();
  const headers = { ...HOSTILE, ...session.headers, authorization: `Bearer ${TOKEN}` };
  const post = (body) => fetch(stack.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept: ACCEPT }, body });
  for (const body of [
    callBody('h-1', 'odoo_read', { model: 'res.partner' }),
    '{"jsonrpc":"2.0","id":"h-2","method":"tools/list"}',
    '{"jsonrpc":"2.0","id":"h-3","method":"ping"}',
    '{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}',
  ]) {
    const r = await post(body);
    assert.ok(r.status < 300, `${body}: ${r.status}`);
    await r.arrayBuffer();
  }
  for (const extra of [{}, { 'last-event-id': 'e-not-hostile' }]) {
    // The second is answered 500 by this origin (it keeps no events); its headers are what counts.
    const controller = new AbortController();
    const get = await fetch(stack.url, { method: 'GET', headers: { ...headers, accept: 'text/event-stream', ...extra }, signal: controller.signal });
    if (!extra['last-event-id']) assert.equal(get.status, 200);
    controller.abort();
    await get.body?.cancel().catch(() => {});
  }
  await waitFor(async () => (await stack.originLog()).filter((e) => e.method === 'GET').length === 2, { what: 'the GETs at the origin' });
  const del = await fetch(stack.url, { method: 'DELETE', headers });
  assert.equal(del.status, 200);
  await del.arrayBuffer();

  const log = await stack.originLog();
  assert.deepEqual(
    log.map((e) => [e.method, e.mcp_method]),
    [
      ['POST', 'tools/call'],
      ['POST', 'tools/list'],
      ['POST', 'ping'],
      ['POST', 'notifications/roots/list_changed'],
      ['GET', null],
      ['GET', null],
      ['DELETE', null],
    ],
  );
  assert.deepEqual(unexpected(log), []);
  const gets = log.filter((e) => e.method === 'GET');
  assert.equal(gets[0].headers['last-event-id'], undefined);
  assert.equal(gets[1].headers['last-event-id'], 'e-not-hostile', 'Last-Event-ID goes on with a GET');
  for (const e of log.filter((e) => e.method === 'POST')) assert.equal(e.headers['last-event-id'], undefined, 'Last-Event-ID only on GET');
});

const PARAM_TOOL = {
  name: 'zz_regional_report',
  description: 'A report for one region.',
  inputSchema: {
    type: 'object',
    properties: {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      year: { type: 'integer', 'x-mcp-header': 'Year' },
      note: { type: 'string' },
    },
  },
};

test('Mcp-Param-* go on only where the tool declares them and they match the body; a mismatch is 400 -32020', async () => {
  await stack.origin.tools({ set: [PARAM_TOOL] });
  const session = await stack.rawSession({ token: TOKEN });
  const list = await stack.post('{"jsonrpc":"2.0","id":"learn","method":"tools/list"}', { token: TOKEN, headers: session.headers });
  assert.ok((await rpcResult(list, 'learn')).result.tools.some((t) => t.name === PARAM_TOOL.name));
  const call = (id, name, args, extra) => stack.post(callBody(id, name, args), { token: TOKEN, headers: { ...session.headers, ...extra } });

  // The gateway's view of the catalogue follows the tools/list within seconds.
  await waitFor(
    async () => {
      const r = await call('probe', PARAM_TOOL.name, { region: 'eu' }, { 'mcp-param-region': 'us' });
      const [m] = await rpcMessages(r);
      return r.status === 400 && m?.error?.code === -32020;
    },
    { timeoutMs: 15_000, intervalMs: 500, what: 'the declaration of Mcp-Param-Region to be known' },
  );
  // Not a reset, which would also restore the origin's catalogue.
  const seen = (await stack.originLog()).length;

  const refused = [
    ['Region disagrees', { region: 'eu' }, { 'mcp-param-region': 'us' }],
    ['Region sent, argument absent', { note: 'x' }, { 'mcp-param-region': 'eu' }],
    ['Year disagrees', { region: 'eu', year: 2024 }, { 'mcp-param-region': 'eu', 'mcp-param-year': '2025' }],
    ['Region in base64, disagreeing', { region: 'eu' }, { 'mcp-param-region': `=?base64?${Buffer.from('us').toString('base64')}?=` }],
  ];
  for (const [what, args, extra] of refused) {
    const r = await call(`bad-${what}`, PARAM_TOOL.name, args, extra);
    const text = await r.text();
    assert.equal(r.status, 400, `${what}: ${text.slice(0, 200)}`);
    const answer = JSON.parse(text);
    assert.equal(answer.error.code, -32020, what);
    assert.equal(answer.id, `bad-${what}`, what);
  }
  assert.deepEqual((await stack.originLog()).slice(seen), [], 'a refused header is not forwarded');

  const ok = await call('good', PARAM_TOOL.name, { region: 'eu', year: 2024, note: 'n' }, {
    'mcp-param-region': 'eu',
    'mcp-param-year': '2024',
    'mcp-param-note': 'undeclared-1',
    'mcp-param-other': 'undeclared-2',
  });
  const okAnswer = await rpcResult(ok, 'good');
  assert.equal(okAnswer.result?.isError, false, JSON.stringify(okAnswer));
  // On a tool that declares nothing, every Mcp-Param-* is dropped.
  const plain = await call('plain', 'odoo_read', { region: 'eu' }, { 'mcp-param-region': 'eu' });
  assert.equal((await rpcResult(plain, 'plain')).result.isError, false);

  const [good, other] = (await stack.originLog()).slice(seen).filter((e) => e.mcp_method === 'tools/call');
  assert.equal(good.headers['mcp-param-region'], 'eu');
  assert.equal(good.headers['mcp-param-year'], '2024');
  assert.equal(good.headers['mcp-param-note'], undefined, 'not declared: dropped');
  assert.equal(good.headers['mcp-param-other'], undefined, 'not declared: dropped');
  assert.equal(other.headers['mcp-param-region'], undefined, 'odoo_read declares no header');
  assert.deepEqual(unexpected([good], ['mcp-param-region', 'mcp-param-year']), []);
  assert.deepEqual(unexpected([other]), []);
});

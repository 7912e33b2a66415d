// Sessions are bound to grants (CONTRACT §3, "Another grant's session", and §1 on
// `scope: "session"`): a session id the gateway did not issue to this grant gets 404
// -32600 "session not found" on POST, GET and DELETE, and nothing is forwarded; the
// session's owner is unharmed; a made-up session id is no fresh budget.
//
// Finding 5.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, rpcResult, callBody, ACCEPT } from './harness.mjs';

const A = 'tg-e2e-sessions-a-19fe';
const B = 'tg-e2e-sessions-b-83c2';
const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    odoo_read: {},
    odoo_search_count: { limits: [{ counter: 'per_session', window: 'hour', max: 2, scope: 'session' }] },
  },
};

let stack;

before(async () => {
  stack = await startStack({ policy: POLICY, tokens: { a: A, b: B } });
});

after(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.originReset();
});

function send(method, token, sessionId, body) {
  const headers = { authorization: `Bearer ${token}`, accept: method === 'GET' ? 'text/event-stream' : ACCEPT, 'mcp-protocol-version': '2025-06-18' };
  if (method === 'POST') headers['content-type'] = 'application/json';
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  return fetch(stack.url, { method, headers, body: method === 'POST' ? body : undefined, signal: AbortSignal.timeout(10_000) });
}

/** Every way to send a session id that was not issued to grant B. */
function foreignIds(aSession) {
  const inner = aSession.replace(/^tg1\.[0-9a-f]{32}\./, '');
  const ids = [
    ['grant A\'s session id', aSession],
    ['a made-up id', 'made-up-session-0001'],
    ['a made-up id in the gateway\'s form', `tg1.${'0'.repeat(32)}.made-up-session-0001`],
  ];
  if (inner !== aSession) {
    ids.push(['the origin\'s id inside A\'s', inner]);
    ids.push(['A\'s origin id with another MAC', `tg1.${'f'.repeat(32)}.${inner}`]);
    ids.push(['A\'s id with one MAC digit changed', aSession.replace(/^tg1\.(.)/, (_, c) => `tg1.${c === '0' ? '1' : '0'}`)]);
  }
  return ids;
}

async function expectNotFound(response, what, id = null) {
  const text = await response.text();
  assert.equal(response.status, 404, `${what}: ${response.status} ${text.slice(0, 200)}`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, what);
  const answer = JSON.parse(text);
  assert.equal(answer.error.code, -32600, what);
  assert.match(answer.error.message, /^session not found/, what);
  assert.deepEqual(answer.id, id, what);
  assert.equal(response.headers.get('mcp-session-id'), null, what);
}

test('grant B cannot use, read or end grant A\'s session, nor any id not issued to B; A\'s session is unharmed', async () => {
  const a = await stack.rawSession({ token: A });
  await stack.originReset();
  for (const [what, id] of foreignIds(a.sessionId)) {
    await expectNotFound(await send('POST', B, id, callBody('b-1', 'odoo_read', { who: 'b' })), `POST with ${what}`, 'b-1');
    await expectNotFound(await send('POST', B, id, '{"jsonrpc":"2.0","method":"notifications/initialized"}'), `notification with ${what}`);
    await expectNotFound(await send('GET', B, id), `GET with ${what}`);
    await expectNotFound(await send('DELETE', B, id), `DELETE with ${what}`);
  }
  assert.deepEqual(await stack.originLog(), [], 'nothing was forwarded');

  // A's session still works: B's DELETE did not end it.
  const r = await send('POST', A, a.sessionId, callBody('a-1', 'odoo_read', { who: 'a' }));
  assert.equal(r.status, 200);
  const answer = await rpcResult(r, 'a-1');
  assert.deepEqual(answer.result.structuredContent, { tool: 'odoo_read', arguments: { who: 'a' } });
  const log = await stack.originLog();
  assert.equal(log.length, 1);
  assert.equal(log[0].headers['mcp-session-id'], a.sessionId.replace(/^tg1\.[0-9a-f]{32}\./, ''), 'the origin got its own id');
});

test('A\'s own made-up or altered ids are refused too, and are no fresh `scope: session` budget', async () => {
  const a = await stack.rawSession({ token: A });
  await stack.originReset();
  const results = [];
  for (let i = 0; i < 3; i++) {
    const r = await send('POST', A, a.sessionId, callBody(`s-${i}`, 'odoo_search_count', { i }));
    results.push((await rpcResult(r, `s-${i}`)).result);
  }
  assert.deepEqual(
    results.map((r) => r._meta?.['toolgate/decision']?.decision ?? 'allow'),
    ['allow', 'allow', 'rate_limited'],
    'max 2 per session',
  );
  for (const [what, id] of foreignIds(a.sessionId).slice(1)) {
    await expectNotFound(await send('POST', A, id, callBody('fresh', 'odoo_search_count', { what })), `A with ${what}`, 'fresh');
  }
  const calls = (await stack.originLog()).filter((e) => e.mcp_method === 'tools/call');
  assert.equal(calls.length, 2, 'only the two admitted calls reached the origin');
  // A new session the origin creates is a new session (and a new budget), by design.
  const fresh = await stack.rawSession({ token: A });
  assert.notEqual(fresh.sessionId, a.sessionId);
  const r = await send('POST', A, fresh.sessionId, callBody('new-1', 'odoo_search_count', {}));
  assert.equal((await rpcResult(r, 'new-1')).result.isError, false);
});

// toolgate end to end: the real Worker under `wrangler dev`, in front of the real demo
// origin, with the official MCP TypeScript SDK client and raw fetch (CONTRACT §3).
// One stack for the whole file; each test resets the origin's request log first.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import {
  startStack,
  waitFor,
  rpcResult,
  rpcMessages,
  parseSse,
  callBody,
  rawRequest,
  matches,
  originSession,
  ORIGIN_TOOLS,
  ACCEPT,
} from './harness.mjs';

const TOKEN = 'tg-e2e-agent-7c1d0b6a9e';
const OTHER_TOKEN = 'tg-e2e-other-52f8aa01';
const ORIGIN_SECRET = 'origin-secret-e2e-93b1';

const POLICY = {
  version: '1',
  default: 'deny',
  hide: ['ssh_execute', 'odoo_web_*'],
  tools: {
    odoo_search_read: {},
    odoo_read: {},
    odoo_web_login: {}, // a key lists it, but `hide` comes first
    odoo_write: {
      deny_if: [{ path: 'args.model', op: 'in', value: ['res.users', 'ir.config_parameter'] }],
      on_deny: 'writes to security models need a human',
    },
    odoo_unlink: { action: 'deny', on_deny: 'deleting records is not allowed' },
    odoo_search_count: { limits: [{ counter: 'burst', window: 'hour', max: 5, scope: 'grant' }] },
    odoo_version: { limits: [{ counter: 'refundable', window: 'hour', max: 2, scope: 'grant' }] },
    'google_calendar_*': {},
  },
};

/** What tools/list through the gateway must show: listed by a key, not hidden. */
const EXPECTED_LISTED = ORIGIN_TOOLS.filter(
  (name) => !POLICY.hide.some((p) => matches(p, name)) && Object.keys(POLICY.tools).some((k) => matches(k, name)),
);

/** The `_meta` every 2026-07-28 request carries. */
const META_2026 = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

let stack;

before(async () => {
  stack = await startStack({
    policy: POLICY,
    tokens: { agent: TOKEN, other: OTHER_TOKEN },
    originHeaders: { Authorization: `Bearer ${ORIGIN_SECRET}`, 'X-Origin-Tenant': 'e2e' },
  });
});

after(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.originReset();
});

const toolCalls = (log, tool) => log.filter((e) => e.mcp_method === 'tools/call' && (tool === undefined || e.tool === tool));
const decisionOf = (result) => result?._meta?.['toolgate/decision'];

test('tools/list through the SDK client hides `hide` and default-deny tools, keeps listed ones intact', async () => {
  // The origin's own, unfiltered list, straight from it.
  const direct = new Client({ name: 'direct', version: '0' }, { capabilities: {} });
  await direct.connect(new StreamableHTTPClientTransport(new URL(stack.origin.url)));
  const full = (await direct.listTools()).tools;
  await direct.close();
  assert.equal(full.length, 198);
  assert.deepEqual(new Set(full.map((t) => t.name)), new Set(ORIGIN_TOOLS));

  const { client } = await stack.client({ token: TOKEN });
  const listed = (await client.listTools()).tools;
  const names = listed.map((t) => t.name);
  assert.deepEqual([...names].sort(), [...EXPECTED_LISTED].sort());
  for (const hidden of ['ssh_execute', 'odoo_web_login', 'odoo_web_call', 'telegram_auth', 'odoo_connect']) {
    assert.ok(!names.includes(hidden), `${hidden} must be hidden`);
  }
  for (const visible of ['odoo_search_read', 'odoo_unlink', 'odoo_write', 'google_calendar_events']) {
    assert.ok(names.includes(visible), `${visible} must be listed`);
  }
  // Filtering removes tools; it does not rewrite the ones it keeps.
  const byName = new Map(full.map((t) => [t.name, t]));
  for (const tool of listed) assert.deepEqual(tool, byName.get(tool.name));
  await client.close();
});

test('an allowed call is answered by the origin, which receives the client\'s exact body bytes', async () => {
  const { client } = await stack.client({ token: TOKEN });
  const args = { model: 'res.partner', domain: [['is_company', '=', true]], fields: ['name'], limit: 3 };
  const result = await client.callTool({ name: 'odoo_search_read', arguments: args });
  assert.equal(result.isError, false);
  assert.deepEqual(result.structuredContent, { tool: 'odoo_search_read', arguments: args });
  assert.deepEqual(JSON.parse(result.content[0].text), { tool: 'odoo_search_read', arguments: args });
  await client.close();

  // Raw bytes: odd whitespace, key order, escapes, non-ASCII, an exponent.
  const session = await stack.rawSession({ token: TOKEN });
  await stack.originReset();
  const body =
    '  {"params" : {\n\t"arguments" : {"zeta":1, "alpha" : "\u00fc\\u00fc\u{1F600}", "n": 1.50e1,' +
    ' "nested": {"b": [1, 2 ,3], "a": null}},  "name":"odoo_search_read"},\r\n "method":"tools/call",' +
    ' "id":"raw-odd-1" ,"jsonrpc":"2.0"}  \n';
  const response = await stack.post(body, { token: TOKEN, headers: session.headers });
  assert.equal(response.status, 200);
  const answer = await rpcResult(response, 'raw-odd-1');
  assert.deepEqual(answer.result.structuredContent, {
    tool: 'odoo_search_read',
    arguments: { zeta: 1, alpha: '\u00fc\u00fc\u{1F600}', n: 15, nested: { b: [1, 2, 3], a: null } },
  });
  const calls = toolCalls(await stack.originLog());
  assert.equal(calls.length, 1);
  assert.equal(calls[0].body, body, 'the origin must receive the body byte for byte');
});

test('action deny and deny_if answer isError with the decision in _meta; the origin never sees them', async () => {
  const { client } = await stack.client({ token: TOKEN });
  const unlink = await client.callTool({ name: 'odoo_unlink', arguments: { model: 'res.partner', ids: [7] } });
  assert.equal(unlink.isError, true);
  assert.deepEqual(unlink.content, [{ type: 'text', text: 'deleting records is not allowed' }]);
  const d1 = decisionOf(unlink);
  assert.equal(d1.decision, 'deny');
  assert.equal(d1.method, 'tools/call');
  assert.equal(d1.tool, 'odoo_unlink');
  assert.equal(d1.rule, '/tools/odoo_unlink/action');
  assert.equal(d1.message, 'deleting records is not allowed');

  const write = await client.callTool({
    name: 'odoo_write',
    arguments: { model: 'res.users', ids: [2], values: { login: 'x' } },
  });
  assert.equal(write.isError, true);
  assert.deepEqual(write.content, [{ type: 'text', text: 'writes to security models need a human' }]);
  const d2 = decisionOf(write);
  assert.equal(d2.decision, 'deny');
  assert.equal(d2.tool, 'odoo_write');
  assert.equal(d2.rule, '/tools/odoo_write/deny_if/0');
  assert.equal(d2.message, 'writes to security models need a human');

  // The same tool with a model outside deny_if goes through: it is the condition that denied.
  const fine = await client.callTool({ name: 'odoo_write', arguments: { model: 'res.partner', ids: [2], values: {} } });
  assert.equal(fine.isError, false);
  await client.close();

  const calls = toolCalls(await stack.originLog());
  assert.deepEqual(
    calls.map((c) => [c.tool, JSON.parse(c.body).params.arguments.model]),
    [['odoo_write', 'res.partner']],
  );
});

test('a hidden tool is -32602 "Unknown tool: NAME" (SDK McpError and raw) and never reaches the origin', async () => {
  const { client } = await stack.client({ token: TOKEN });
  for (const name of ['ssh_execute', 'odoo_web_login', 'telegram_auth']) {
    await assert.rejects(
      client.callTool({ name, arguments: {} }),
      (err) => {
        assert.ok(err instanceof McpError, `expected McpError, got ${err}`);
        assert.equal(err.code, -32602);
        assert.match(err.message, new RegExp(`Unknown tool: ${name}$`));
        return true;
      },
      name,
    );
  }
  await client.close();

  const response = await stack.post(callBody('hidden-raw', 'ssh_execute', { command: 'id' }), { token: TOKEN });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, 'hidden-raw');
  assert.equal(body.error.code, -32602);
  assert.equal(body.error.message, 'Unknown tool: ssh_execute');
  assert.equal(body.result, undefined);

  assert.deepEqual(toolCalls(await stack.originLog()), []);
});

test('20 concurrent calls on a counter with max 5: exactly 5 reach the origin, 15 are rate_limited', async () => {
  const { client } = await stack.client({ token: TOKEN });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'odoo_search_count', arguments: { model: 'res.partner', i } })),
  );
  await client.close();
  const admitted = results.filter((r) => !r.isError);
  const limited = results.filter((r) => r.isError);
  const atOrigin = toolCalls(await stack.originLog(), 'odoo_search_count');
  assert.equal(atOrigin.length, 5, 'exactly max calls reach the origin');
  assert.equal(admitted.length, 5);
  assert.equal(limited.length, 15);
  // The admitted ones are the ones the origin saw.
  assert.deepEqual(
    new Set(admitted.map((r) => r.structuredContent.arguments.i)),
    new Set(atOrigin.map((e) => JSON.parse(e.body).params.arguments.i)),
  );
  for (const r of limited) {
    const d = decisionOf(r);
    assert.equal(d.decision, 'rate_limited');
    assert.equal(d.rule, '/tools/odoo_search_count/limits/0');
    assert.equal(typeof d.retry_after_ms, 'number');
    assert.ok(d.retry_after_ms > 0, `retry_after_ms ${d.retry_after_ms}`);
  }
});

test('an origin 5xx gives 502 with the request id and is not refunded (it may have run); a 4xx is refunded', async () => {
  const session = await stack.rawSession({ token: TOKEN });
  await stack.originReset();
  // max 2 an hour: the 5xx call uses one (the origin may have run it)...
  const failed = await stack.post(callBody('refund-1', 'odoo_version', { _demo_status: 503 }), {
    token: TOKEN,
    headers: session.headers,
  });
  assert.equal(failed.status, 502);
  const failure = await failed.json();
  assert.equal(failure.jsonrpc, '2.0');
  assert.equal(failure.id, 'refund-1');
  assert.equal(typeof failure.error.code, 'number');
  assert.match(failure.error.message, /HTTP 503.*not refunded/);
  // ...a 4xx is answered before dispatch, so it is given back...
  const refused = await stack.post(callBody('refund-2', 'odoo_version', { _demo_status: 404 }), {
    token: TOKEN,
    headers: session.headers,
  });
  assert.equal(refused.status, 502, 'a 404 with a plain-text body cannot be checked, so it is replaced');
  await refused.arrayBuffer();
  // ...so exactly one more call is admitted, then the limit holds.
  const r = await stack.post(callBody(3, 'odoo_version', {}), { token: TOKEN, headers: session.headers });
  assert.equal(r.status, 200);
  const answer = await rpcResult(r, 3);
  assert.equal(answer.result.isError, false, `call 3 must be admitted: ${JSON.stringify(answer)}`);
  assert.equal(answer.result.structuredContent.tool, 'odoo_version');
  const r4 = await stack.post(callBody(4, 'odoo_version', {}), { token: TOKEN, headers: session.headers });
  assert.equal(r4.status, 200);
  const limited = await rpcResult(r4, 4);
  assert.equal(limited.result.isError, true);
  assert.equal(decisionOf(limited.result).decision, 'rate_limited');

  const calls = toolCalls(await stack.originLog(), 'odoo_version');
  assert.equal(calls.length, 3, 'the 5xx call, the 4xx call and the admitted one; not the limited one');
});

test('no token, a wrong token or a malformed Authorization get 401 with WWW-Authenticate: Bearer; nothing is forwarded', async () => {
  const body = callBody('auth-1', 'odoo_read', { model: 'res.partner', ids: [1] });
  const cases = [
    ['no Authorization', {}],
    ['wrong token', { authorization: 'Bearer not-a-real-token' }],
    ['the other grant\'s token with a suffix', { authorization: `Bearer ${OTHER_TOKEN}x` }],
    ['scheme only', { authorization: 'Bearer' }],
    ['scheme and blank', { authorization: 'Bearer    ' }],
    ['no scheme', { authorization: TOKEN }],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`agent:${TOKEN}`).toString('base64')}` }],
    ['Basic scheme carrying the raw token', { authorization: `Basic ${TOKEN}` }],
    ['two tokens', { authorization: `Bearer ${TOKEN} ${TOKEN}` }],
    ['token in a cookie only', { cookie: `token=${TOKEN}` }],
  ];
  for (const [what, headers] of cases) {
    for (const method of ['POST', 'GET', 'DELETE']) {
      const r = await fetch(stack.url, {
        method,
        headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers },
        body: method === 'POST' ? body : undefined,
      });
      assert.equal(r.status, 401, `${what} (${method})`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/i, `${what} (${method})`);
      const answer = await r.json();
      assert.equal(answer.jsonrpc, '2.0', what);
      assert.equal(typeof answer.error?.code, 'number', what);
      assert.equal(typeof answer.error?.message, 'string', what);
      assert.equal(answer.result, undefined, what);
    }
  }
  assert.deepEqual(await stack.originLog(), []);
});

test('the agent\'s token and cookie never reach the origin; ORIGIN_HEADERS does, and never comes back', async () => {
  const seen = []; // every header and body the client gets
  const keep = async (response) => {
    const text = await response.clone().text();
    seen.push(JSON.stringify([...response.headers]), text);
    return response;
  };
  const cookie = { cookie: `sid=${TOKEN}; theme=dark` };
  const init = await keep(
    await stack.post(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'tok', version: '0' } },
      }),
      { token: TOKEN, headers: cookie },
    ),
  );
  assert.equal(init.status, 200);
  const sessionHeaders = { 'mcp-session-id': init.headers.get('mcp-session-id'), 'mcp-protocol-version': '2025-06-18', ...cookie };
  await keep(await stack.post('{"jsonrpc":"2.0","method":"notifications/initialized"}', { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post('{"jsonrpc":"2.0","id":2,"method":"tools/list"}', { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post(callBody(3, 'odoo_read', { model: 'res.partner', ids: [1] }), { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post(callBody(4, 'odoo_unlink', { model: 'res.partner', ids: [1] }), { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post(callBody(5, 'odoo_read', { _demo_status: 500 }), { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post('not json', { token: TOKEN, headers: sessionHeaders }));
  await keep(await stack.post(callBody(6, 'odoo_read', {}), { token: 'wrong', headers: sessionHeaders }));
  const del = await fetch(stack.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, ...sessionHeaders } });
  await keep(del);

  const log = await stack.originLog();
  assert.ok(log.length >= 5, `expected the forwarded requests at the origin, got ${log.length}`);
  for (const entry of log) {
    assert.equal(entry.headers.authorization, `Bearer ${ORIGIN_SECRET}`, `${entry.method} ${entry.mcp_method}`);
    assert.equal(entry.headers['x-origin-tenant'], 'e2e');
    assert.equal(entry.headers.cookie, undefined, 'the agent\'s Cookie must not be forwarded');
  }
  assert.ok(!JSON.stringify(log).includes(TOKEN), 'the agent\'s token appears at the origin');
  for (const text of seen) assert.ok(!text.includes(ORIGIN_SECRET), `the origin's secret leaked to the client: ${text.slice(0, 300)}`);
  // The demo origin sets a session cookie on every answer: the agent never gets it.
  for (const text of seen) assert.ok(!text.includes('origin-cookie-3d1e'), `the origin's cookie reached the client: ${text.slice(0, 300)}`);
});

test('SSE: a notification the origin sends early reaches the client before the final result', async (t) => {
  // SDK client: notification and progress handlers fire before callTool resolves.
  const { client } = await stack.client({ token: TOKEN });
  const events = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    events.push(`log:${n.params.logger}`);
  });
  const result = await client.callTool({ name: 'odoo_read', arguments: { _demo_progress: 1500 } }, undefined, {
    onprogress: () => events.push('progress'),
  });
  events.push('result');
  assert.equal(result.structuredContent.arguments._demo_progress, 1500);
  assert.equal(events.at(-1), 'result');
  assert.deepEqual([...events].sort(), ['log:demo-origin', 'progress', 'result']);
  await client.close();

  // Raw fetch, reading the stream as it arrives: the notification comes in a read that
  // does not yet hold the result; buffering the origin's answer would put them together.
  const session = await stack.rawSession({ token: TOKEN });
  const response = await stack.post(callBody('sse-1', 'odoo_read', { _demo_progress: 1500 }), {
    token: TOKEN,
    headers: session.headers,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const order = [];
  let gap;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const events = text.split(/\r?\n\r?\n/);
    const messages = parseSse(events.slice(0, -1).join('\n\n')); // complete events only
    const hasNote = messages.some((m) => m.method === 'notifications/message');
    const hasResult = messages.some((m) => m.id === 'sse-1' && m.result);
    if (hasNote && !order.includes('notification')) {
      order.push(hasResult ? 'notification+result' : 'notification');
      gap = Date.now();
    }
    if (hasResult && !order.some((o) => o.includes('result'))) {
      order.push('result');
      gap = Date.now() - gap;
    }
  }
  assert.deepEqual(order, ['notification', 'result'], 'the notification must arrive on its own, before the result');
  t.diagnostic(`raw SSE: result arrived ${gap} ms after the notification`);
  const all = parseSse(text);
  assert.equal(all.at(-1).id, 'sse-1');
});

test('Streamable HTTP 2025-03-26 and 2025-11-25 SDK clients: sessions both ways, GET stream and DELETE pass through', async () => {
  for (const version of ['2025-03-26', '2025-11-25']) {
    await stack.originReset();
    const { client, transport } = await stack.client({ token: TOKEN, protocolVersion: version });
    assert.equal(transport.protocolVersion, version, 'negotiated revision');
    assert.match(transport.sessionId, /^tg1\.[0-9a-f]{32}\./, 'the client holds the session id bound to its grant');
    const sessionId = originSession(transport.sessionId);
    assert.ok(sessionId, 'the origin\'s Mcp-Session-Id reached the client, wrapped');
    const result = await client.callTool({ name: 'odoo_read', arguments: { v: version } });
    assert.equal(result.structuredContent.arguments.v, version);
    // The SDK opens its standalone GET stream after initialization; it reaches the origin.
    const log = await waitFor(
      async () => {
        const l = await stack.originLog();
        return l.some((e) => e.method === 'GET' && e.headers['mcp-session-id'] === sessionId) && l;
      },
      { timeoutMs: 10_000, what: `the ${version} client's GET /mcp at the origin` },
    );
    const get = log.find((e) => e.method === 'GET' && e.headers['mcp-session-id'] === sessionId);
    assert.match(get.headers.accept, /text\/event-stream/);
    const call = toolCalls(log, 'odoo_read')[0];
    assert.equal(call.headers['mcp-session-id'], sessionId, 'Mcp-Session-Id forwarded to the origin');
    assert.equal(call.headers['mcp-protocol-version'], version);

    await transport.terminateSession();
    const del = (await stack.originLog()).find((e) => e.method === 'DELETE' && e.headers['mcp-session-id'] === sessionId);
    assert.ok(del, 'DELETE /mcp with the session reached the origin');
    assert.equal(transport.sessionId, undefined);
    await client.close();
  }
});

test('raw 2025-06-18: Mcp-Session-Id both ways, GET /mcp opens the origin\'s SSE stream, DELETE ends the session', async () => {
  const init = await stack.post(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    }),
    { token: TOKEN },
  );
  assert.equal(init.status, 200);
  const agentSession = init.headers.get('mcp-session-id');
  assert.match(agentSession, /^tg1\.[0-9a-f]{32}\./, 'the origin\'s session id came back bound to the grant');
  const sessionId = originSession(agentSession);
  assert.equal((await rpcResult(init, 1)).result.protocolVersion, '2025-06-18');
  const headers = { 'mcp-session-id': agentSession, 'mcp-protocol-version': '2025-06-18' };
  const note = await stack.post('{"jsonrpc":"2.0","method":"notifications/initialized"}', { token: TOKEN, headers });
  assert.equal(note.status, 202);

  const controller = new AbortController();
  const get = await fetch(stack.url, {
    method: 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  assert.equal(get.status, 200);
  assert.match(get.headers.get('content-type'), /^text\/event-stream/);
  controller.abort();
  await get.body?.cancel().catch(() => {});

  const del = await fetch(stack.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  assert.equal(del.status, 200);
  await del.arrayBuffer();
  // The session is gone at the origin: its answer (404) passes through.
  const after = await stack.post(callBody(9, 'odoo_read', {}), { token: TOKEN, headers });
  assert.equal(after.status, 404);
  await after.arrayBuffer();

  const log = await stack.originLog();
  assert.deepEqual(
    log.map((e) => [e.method, e.mcp_method, e.headers['mcp-session-id'] ?? null]),
    [
      ['POST', 'initialize', null],
      ['POST', 'notifications/initialized', sessionId],
      ['GET', null, sessionId],
      ['DELETE', null, sessionId],
      ['POST', 'tools/call', sessionId],
    ],
  );
});

test('2026-07-28 without sessions: server/discover, filtered tools/list, tools/call, denied call with resultType, header checks', async () => {
  const post = (body, method, name, extra = {}) => {
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...extra };
    if (name !== undefined) headers['mcp-name'] = name;
    return stack.post(JSON.stringify(body), { token: TOKEN, headers });
  };
  const discover = await post({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: META_2026 } }, 'server/discover');
  assert.equal(discover.status, 200);
  assert.equal(discover.headers.get('mcp-session-id'), null, 'no session in 2026-07-28');
  const found = await rpcResult(discover, 1);
  assert.ok(found.result.supportedVersions.includes('2026-07-28'), JSON.stringify(found));

  const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: META_2026 } }, 'tools/list');
  assert.equal(list.status, 200);
  const tools = (await rpcResult(list, 2)).result.tools.map((t) => t.name);
  assert.deepEqual(tools.sort(), [...EXPECTED_LISTED].sort());

  const call = await post(
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'odoo_read', arguments: { gen: 2026 }, _meta: META_2026 } },
    'tools/call',
    'odoo_read',
  );
  assert.equal(call.status, 200);
  const echoed = await rpcResult(call, 3);
  assert.deepEqual(echoed.result.structuredContent, { tool: 'odoo_read', arguments: { gen: 2026 } });

  const denied = await post(
    { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'odoo_unlink', arguments: { ids: [1] }, _meta: META_2026 } },
    'tools/call',
    'odoo_unlink',
  );
  assert.equal(denied.status, 200);
  const refusal = await denied.json();
  assert.equal(refusal.id, 4);
  assert.equal(refusal.result.isError, true);
  assert.equal(refusal.result.resultType, 'complete');
  assert.equal(decisionOf(refusal.result).decision, 'deny');

  const noName = await post(
    { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'odoo_read', arguments: {}, _meta: META_2026 } },
    'tools/call',
  );
  assert.equal(noName.status, 400);
  const noNameBody = await noName.json();
  assert.equal(noNameBody.error.code, -32020);

  const noMethod = await stack.post(
    JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/list', params: { _meta: META_2026 } }),
    { token: TOKEN, headers: { 'mcp-protocol-version': '2026-07-28' } },
  );
  assert.equal(noMethod.status, 400);
  assert.equal((await noMethod.json()).error.code, -32020);

  const log = await stack.originLog();
  assert.deepEqual(
    log.map((e) => [e.mcp_method, e.tool]),
    [
      ['server/discover', null],
      ['tools/list', null],
      ['tools/call', 'odoo_read'],
    ],
  );
  for (const e of log) {
    assert.equal(e.headers['mcp-session-id'], undefined);
    assert.equal(e.headers['mcp-protocol-version'], '2026-07-28');
    assert.ok(e.headers['mcp-method'], 'Mcp-Method forwarded');
  }
  assert.equal(log[2].headers['mcp-name'], 'odoo_read');
});

async function proxiedPaths(paths) {
  const session = await stack.rawSession({ token: TOKEN });
  const body = callBody('path-1', 'odoo_read', { model: 'res.partner', ids: [1] });
  const headers = {
    authorization: `Bearer ${TOKEN}`,
    'content-type': 'application/json',
    accept: ACCEPT,
    ...session.headers,
  };
  const proxied = [];
  for (const p of paths) {
    for (const method of ['POST', 'GET', 'DELETE']) {
      await stack.originReset();
      const r = await rawRequest(stack.gateway.port, {
        method,
        path: p,
        headers,
        body: method === 'POST' ? body : '',
        headersOnly: method === 'GET',
      });
      const reached = await stack.originLog();
      if (r.status < 400 || reached.length > 0) {
        proxied.push(`${method} ${p} -> HTTP ${r.status}, origin got: ${reached.map((e) => `${e.method} ${e.path}`).join(', ') || 'nothing'}`);
      }
    }
  }
  return proxied;
}

test('only /mcp is proxied: /messages, /sse, /mcp/, /MCP and other look-alikes never reach the origin; / serves the HTML page', async () => {
  const paths = ['/messages', '/sse', '/mcp/', '/MCP', '/Mcp', '/mcp/.', '/%6dcp', '/mcp%2f', '//mcp', '/mcp/messages', '/mcp.json', '/mcp;x'];
  assert.deepEqual(await proxiedPaths(paths), [], 'these requests were proxied although their path is not /mcp');

  await stack.originReset();
  const home = await fetch(`${stack.base}/`);
  assert.equal(home.status, 200);
  assert.match(home.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await home.text(), /<html/i);
  assert.deepEqual(await stack.originLog(), []);
});

// The runtime hands the Worker a URL whose dot segments are already resolved (RFC 3986
// §5.2.4, as every HTTP client resolves them): `/mcp/../mcp` *is* `/mcp`. Such a request
// is never a way around the gateway: it meets the same authentication and policy.
test('raw request targets with dot segments are resolved first: /mcp/../mcp meets auth and policy like /mcp, /mcp/./ is not proxied', async () => {
  assert.deepEqual(await proxiedPaths(['/mcp/./', '/mcp/x/..', '/x/../mcp/']), [], 'these resolve to paths other than /mcp');
  const session = await stack.rawSession({ token: TOKEN });
  for (const p of ['/mcp/../mcp', '/x/../mcp']) {
    await stack.originReset();
    const anonymous = await rawRequest(stack.gateway.port, {
      path: p,
      headers: { 'content-type': 'application/json', accept: ACCEPT, ...session.headers },
      body: callBody('dot-1', 'odoo_read', { model: 'res.partner', ids: [1] }),
    });
    assert.equal(anonymous.status, 401, `${p} without a token`);
    const hidden = await rawRequest(stack.gateway.port, {
      path: p,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', accept: ACCEPT, ...session.headers },
      body: callBody('dot-2', 'ssh_execute', { command: 'id' }),
    });
    assert.equal(JSON.parse(hidden.body).error?.code, -32602, `${p} with a hidden tool`);
    assert.deepEqual(await stack.originLog(), [], `${p}: nothing may reach the origin`);
  }
});

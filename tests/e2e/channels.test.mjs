// Every channel from the origin to the agent passes one filter (CONTRACT §3, "What the
// agent can never receive"): the answer to a POST of any method, a GET stream, a replay
// after Last-Event-ID, JSON or SSE. The demo origin runs with its event store
// (`--event-store`) and is made to misbehave with its answer modes (`POST /_demo/mode`).
//
// Findings 1 (hidden tools through a reused request id), 2 (through a replay) and 7
// (origin answers that escape the filter).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, waitFor, parseSse, callBody, ORIGIN_TOOLS, matches } from './harness.mjs';

const TOKEN = 'tg-e2e-channels-61ad';
const POLICY = { version: '1', default: 'allow', hide: ['ssh_execute', 'odoo_web_*'] };
const HIDDEN = ORIGIN_TOOLS.filter((name) => POLICY.hide.some((p) => matches(p, name)));
const VISIBLE = ORIGIN_TOOLS.filter((name) => !HIDDEN.includes(name));

let stack;

before(async () => {
  stack = await startStack({ policy: POLICY, tokens: { agent: TOKEN }, originArgs: ['--event-store'] });
});

after(async () => {
  await stack?.stop();
});

beforeEach(async () => {
  await stack.originReset();
});

/** Hidden tool names anywhere in a text the agent received (quoted, as JSON holds them). */
function leaked(text) {
  return HIDDEN.filter((name) => text.includes(`"${name}"`));
}

/** The tool names of every `result.tools` in some messages. */
function listedNames(messages) {
  return messages.flatMap((m) => (Array.isArray(m?.result?.tools) ? m.result.tools.map((t) => t.name) : []));
}

async function session(version = '2025-11-25') {
  return stack.rawSession({ token: TOKEN, version });
}

/** An answer that never came (status 0), e.g. a stream the origin gave to another request. */
const NO_ANSWER_MS = 20_000;

/** POSTs and reads the whole answer: { status, type, text, messages }; status 0 if none came. */
async function exchange(body, headers) {
  let response;
  let text;
  try {
    response = await stack.post(body, { token: TOKEN, headers, signal: AbortSignal.timeout(NO_ANSWER_MS) });
    text = await response.text();
  } catch (err) {
    if (err.name !== 'TimeoutError' && err.name !== 'AbortError') throw err;
    return { status: 0, type: '', text: `no answer within ${NO_ANSWER_MS} ms`, messages: [], headers: new Headers() };
  }
  const type = response.headers.get('content-type') ?? '';
  let messages = [];
  if (type.startsWith('text/event-stream')) messages = parseSse(text);
  else if (text) {
    try {
      messages = [JSON.parse(text)];
    } catch {
      messages = [text];
    }
  }
  return { status: response.status, type, text, messages, headers: response.headers };
}

// ------------------------------------------------------------------ finding 1

test('a tools/call answered with the full tool list for its id (sse-list, json-list) reaches the agent filtered', async () => {
  const s = await session();
  for (const mode of ['sse-list', 'json-list']) {
    await stack.origin.mode({ 'tools/call': mode });
    const answer = await exchange(callBody(`reuse-${mode}`, 'odoo_read', { model: 'res.partner', ids: [1] }), s.headers);
    assert.equal(answer.status, 200, `${mode}: ${answer.text.slice(0, 300)}`);
    assert.deepEqual(leaked(answer.text), [], `${mode}: hidden tools reached the agent in the answer to a tools/call`);
    const names = listedNames(answer.messages);
    assert.deepEqual([...names].sort(), [...VISIBLE].sort(), `${mode}: the list in the answer is the filtered one`);
    const log = await stack.originLog();
    assert.ok(log.some((e) => e.mcp_method === 'tools/call'), `${mode}: the call went to the origin`);
    await stack.originReset();
  }
});

test('a request id in flight on a session is refused with 409 and not forwarded; the first call is unharmed', async () => {
  const s = await session();
  // ids that are one stream to the origin's SDK (it keys streams by str(id)): 7 and "7".
  for (const [first, second] of [
    ['inflight-a', 'inflight-a'],
    [7, '7'],
  ]) {
    await stack.originReset();
    const slow = exchange(callBody(first, 'odoo_read', { _demo_progress: 2000 }), s.headers);
    // The slow call is at the origin (its tool is running) before the second one is sent.
    await waitFor(async () => (await stack.executions()).some((e) => e.tool === 'odoo_read'), {
      timeoutMs: 10_000,
      what: 'the slow call at the origin',
    });
    const again = await exchange(JSON.stringify({ jsonrpc: '2.0', id: second, method: 'tools/list' }), s.headers);
    assert.equal(again.status, 409, `id ${JSON.stringify(second)} while ${JSON.stringify(first)} is in flight: ${again.text.slice(0, 300)}`);
    assert.match(again.type, /^application\/json/);
    const refusal = JSON.parse(again.text);
    assert.equal(refusal.id, second);
    assert.equal(refusal.error.code, -32600);
    assert.match(refusal.error.message, /already in flight/);
    const firstAnswer = await slow;
    const result = firstAnswer.messages.find((m) => m?.id === first && m.result);
    assert.ok(result, `the slow call got its own answer: ${firstAnswer.status} ${firstAnswer.text.slice(0, 300)}`);
    assert.equal(result.result.structuredContent.tool, 'odoo_read');
    const log = await stack.originLog();
    assert.deepEqual(
      log.filter((e) => e.mcp_method === 'tools/list'),
      [],
      'the second request with the same id never reached the origin',
    );
  }
  // Once the first answer is complete, the id is free again.
  const later = await exchange(JSON.stringify({ jsonrpc: '2.0', id: 'inflight-a', method: 'tools/list' }), s.headers);
  assert.equal(later.status, 200);
  assert.deepEqual(leaked(later.text), []);
});

test('a real race: tools/list and a slow tools/call with the same id, sent at once, never show a hidden tool', async () => {
  const s = await session();
  let refused = 0;
  for (let round = 0; round < 8; round++) {
    const id = `race-${round}`;
    const [call, list] = await Promise.all([
      exchange(callBody(id, 'odoo_read', { _demo_progress: 600, round }), s.headers),
      exchange(JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' }), s.headers),
    ]);
    for (const [what, answer] of [
      ['tools/call', call],
      ['tools/list', list],
    ]) {
      assert.deepEqual(leaked(answer.text), [], `round ${round}: hidden tools in the answer to ${what}`);
      assert.ok([200, 409].includes(answer.status), `round ${round}, ${what}: ${answer.status || 'no answer'} ${answer.text.slice(0, 200)}`);
      if (answer.status === 409) refused++;
    }
    // At most one of the two is refused, and a call that was not refused got its own answer.
    assert.ok(call.status === 200 || list.status === 200, `round ${round}: both refused`);
    if (call.status === 200) {
      const mine = call.messages.find((m) => m?.id === id && m.result);
      assert.ok(mine, `round ${round}: the call's answer`);
      if (list.status === 409) assert.equal(mine.result.structuredContent?.tool, 'odoo_read', `round ${round}: the call's own result`);
    }
  }
  assert.ok(refused > 0, 'in 8 rounds the gateway never refused the second request with an id in flight');
});

// ------------------------------------------------------------------ finding 2

/** Reads a GET stream until `done(messages)` holds or the deadline passes; then closes it. */
async function readStream(response, done, timeoutMs = 10_000) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([
        reader.read(),
        new Promise((resolve) => setTimeout(() => resolve({ timeout: true }), Math.max(1, deadline - Date.now()))),
      ]);
      if (next.timeout || next.done) break;
      text += decoder.decode(next.value, { stream: true });
      if (done(parseSse(text))) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text;
}

test('a replay after Last-Event-ID on GET /mcp reaches the agent filtered', async () => {
  const s = await session('2025-11-25');
  const list = await exchange('{"jsonrpc":"2.0","id":"replayed","method":"tools/list"}', s.headers);
  assert.equal(list.status, 200);
  assert.match(list.type, /^text\/event-stream/);
  assert.deepEqual(leaked(list.text), []);
  // The event ids passed through: the priming event's comes first.
  const ids = [...list.text.matchAll(/^id: ?(.+)$/gm)].map((m) => m[1].trim());
  assert.ok(ids.length >= 2, `event ids in the tools/list answer: ${list.text.slice(0, 200)}`);
  const get = await fetch(stack.url, {
    method: 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream', 'last-event-id': ids[0], ...s.headers },
  });
  assert.equal(get.status, 200);
  const text = await readStream(get, (messages) => listedNames(messages).length > 0);
  const replayed = parseSse(text);
  assert.deepEqual(leaked(text), [], 'the replay carried hidden tools');
  assert.deepEqual([...listedNames(replayed)].sort(), [...VISIBLE].sort(), 'the replay is the filtered list');
  const log = await stack.originLog();
  const sent = log.find((e) => e.method === 'GET');
  assert.equal(sent.headers['last-event-id'], ids[0], 'Last-Event-ID went on to the origin');
});

// ------------------------------------------------------------------ finding 7

test('origin answers that cannot be filtered safely get 502 and nothing of them passes on', async () => {
  const s = await session();
  const cases = [
    ['json-array', 'tools/list'],
    ['bom-sse', 'tools/list'],
    ['bad-event', 'tools/list'],
    ['text-plain', 'tools/list'],
    ['huge-list', 'tools/list'],
    ['json-array', 'tools/call'],
    ['bom-sse', 'tools/call'],
    ['bad-event', 'tools/call'],
    ['text-plain', 'tools/call'],
    ['huge-list', 'tools/call'],
  ];
  for (const [mode, method] of cases) {
    await stack.origin.mode({ [method]: mode });
    const id = `bad-${mode}-${method}`;
    const body = method === 'tools/list' ? JSON.stringify({ jsonrpc: '2.0', id, method }) : callBody(id, 'odoo_read', {});
    const answer = await exchange(body, s.headers);
    assert.equal(answer.status, 502, `${mode} on ${method}: ${answer.status} ${answer.type} ${answer.text.slice(0, 200)}`);
    assert.match(answer.type, /^application\/json/, `${mode} on ${method}`);
    const named = ORIGIN_TOOLS.filter((name) => answer.text.includes(name));
    assert.deepEqual(named, [], `${mode} on ${method}: nothing of the origin's answer passed on`);
    const error = JSON.parse(answer.text);
    assert.equal(error.id, id, `${mode} on ${method}: the request's id`);
    assert.equal(error.error.code, -32603);
    assert.match(error.error.message, /^bad gateway: /);
    await stack.origin.mode({ [method]: null });
  }
});

test('extra events listing tools on an SSE answer (sse-after-list) are filtered; the real result follows', async () => {
  const s = await session();
  await stack.origin.mode({ 'tools/call': 'sse-after-list' });
  const answer = await exchange(callBody('after-list', 'odoo_read', { after: true }), s.headers);
  assert.equal(answer.status, 200);
  assert.deepEqual(leaked(answer.text), [], 'hidden tools in the extra events');
  const extra = answer.messages.filter((m) => Array.isArray(m?.result?.tools));
  assert.equal(extra.length, 2, 'both extra events passed, filtered');
  for (const m of extra) assert.deepEqual(m.result.tools.map((t) => t.name).sort(), [...VISIBLE].sort());
  const result = answer.messages.find((m) => m?.id === 'after-list');
  assert.deepEqual(result.result.structuredContent, { tool: 'odoo_read', arguments: { after: true } });
  assert.equal((await stack.executions()).length, 1, 'the tool ran once');
});

// Refunds (CONTRACT §1, §3): a call admitted by a limit is given its budget back only when
// it provably did not run — the origin could not be connected to, or answered HTTP 4xx
// before dispatch. A timeout, a 5xx, or a connection that breaks after the request was
// sent keeps the budget spent, since the origin may have run the call. Each case is
// counted at the origin (`/_demo/executions`: the calls its tool handler really ran) and
// by the limit itself (max 2 an hour, one grant per case, so every case starts afresh).
// Every request here must be answered within a deadline: no case may hang.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startOrigin, callBody, rpcResult, waitFor } from './harness.mjs';

const TIMEOUT_MS = 1500; // ORIGIN_TIMEOUT_MS
/** No answer may take longer than this (the timeout plus the gateway's own work). */
const DEADLINE_MS = TIMEOUT_MS + 8000;

const CASES = ['slow', 'before', 'after', 's503', 's500', 's404', 's400', 'deleted', 'gone', 'down'];
const TOKENS = Object.fromEntries(CASES.map((c) => [c, `tg-e2e-refund-${c}-4c1a`]));

const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    odoo_version: { limits: [{ counter: 'two', window: 'hour', max: 2, scope: 'grant' }] },
    odoo_read: {},
  },
};

let stack;
before(async () => {
  stack = await startStack({ policy: POLICY, tokens: TOKENS, vars: { ORIGIN_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
after(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await stack.originReset();
});

/** A tools/call of odoo_version by `grant`; resolves { status, answer } within DEADLINE_MS. */
async function call(grant, id, args = {}, headers = {}) {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  const response = await fetch(stack.url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKENS[grant]}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: callBody(id, 'odoo_version', args),
    signal,
  });
  const text = await response.text();
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = { text };
  }
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    answer = await rpcResult(new Response(text, { headers: { 'content-type': 'text/event-stream' } }), id);
  }
  return { status: response.status, answer };
}

const decisionOf = (answer) => answer?.result?._meta?.['toolgate/decision'];

/** The budget left on `grant`'s max-2 counter, seen by calls that would run: 0, 1 or 2. */
async function budgetLeft(grant, session) {
  let admitted = 0;
  for (const id of ['probe-1', 'probe-2', 'probe-3']) {
    const { status, answer } = await call(grant, `${grant}-${id}`, {}, session);
    if (status === 200 && answer.result && !answer.result.isError) admitted++;
    else {
      assert.equal(status, 200, `${grant} ${id}: ${JSON.stringify(answer)}`);
      assert.equal(decisionOf(answer)?.decision, 'rate_limited', `${grant} ${id}: ${JSON.stringify(answer)}`);
      break;
    }
  }
  return admitted;
}

const ran = async (marker) => (await stack.executions()).filter((e) => e.arguments?.marker === marker).length;

test('a call that outlives ORIGIN_TIMEOUT_MS gets 502 and is not refunded: the origin ran it', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.slow });
  const answers = await Promise.all(
    [1, 2].map((i) => call('slow', `slow-${i}`, { marker: 'slow', _demo_delay_ms: TIMEOUT_MS * 3 }, headers)),
  );
  for (const { status, answer } of answers) {
    assert.equal(status, 502, JSON.stringify(answer));
    assert.match(answer.error.message, new RegExp(`did not answer within ${TIMEOUT_MS} ms .*not refunded`));
  }
  assert.deepEqual(answers.map((a) => a.answer.id).sort(), ['slow-1', 'slow-2']);
  assert.equal(await ran('slow'), 2, 'the origin ran both');
  // Both used the budget: a third call, even a fast one, is refused.
  const third = await call('slow', 'slow-3', { marker: 'slow' }, headers);
  assert.equal(decisionOf(third.answer)?.decision, 'rate_limited', JSON.stringify(third.answer));
  assert.equal(await ran('slow'), 2, 'the refused call never reached the origin');
});

test('a connection reset before the tool ran (`_demo_reset: before`) is not refunded: the request was sent', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.before });
  for (const i of [1, 2]) {
    const { status, answer } = await call('before', `before-${i}`, { marker: 'before', _demo_reset: 'before' }, headers);
    assert.equal(status, 502, JSON.stringify(answer));
    assert.equal(answer.id, `before-${i}`);
    assert.match(answer.error.message, /connection to the origin broke: .* not refunded/);
    console.log(`workerd's fetch error for a reset before the answer: ${answer.error.message}`);
  }
  assert.equal(await ran('before'), 0, 'the tool never ran');
  const log = (await stack.originLog()).filter((e) => e.body.includes('"before"'));
  assert.equal(log.length, 2, 'both requests reached the origin');
  assert.equal(await budgetLeft('before', headers), 0, 'neither was refunded');
});

test('a connection reset after the tool ran (`_demo_reset: after`) is not refunded', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.after });
  for (const i of [1, 2]) {
    const { status, answer } = await call('after', `after-${i}`, { marker: 'after', _demo_reset: 'after' }, headers);
    assert.equal(status, 502, JSON.stringify(answer));
    assert.match(answer.error.message, /connection to the origin broke: .* not refunded/);
    console.log(`workerd's fetch error for a reset after the call ran: ${answer.error.message}`);
  }
  assert.equal(await ran('after'), 2, 'the origin ran both');
  assert.equal(await budgetLeft('after', headers), 0, 'neither was refunded');
});

for (const code of [503, 500]) {
  test(`an origin ${code} gets 502 and is not refunded`, async () => {
    const grant = `s${code}`;
    const { headers } = await stack.rawSession({ token: TOKENS[grant] });
    for (const i of [1, 2]) {
      const { status, answer } = await call(grant, `${grant}-${i}`, { marker: grant, _demo_status: code }, headers);
      assert.equal(status, 502, JSON.stringify(answer));
      assert.match(answer.error.message, new RegExp(`HTTP ${code} .*not refunded`));
    }
    assert.equal(await budgetLeft(grant, headers), 0);
  });
}

for (const code of [404, 400]) {
  test(`an origin ${code} (refused before dispatch) is refunded`, async () => {
    const grant = `s${code}`;
    const { headers } = await stack.rawSession({ token: TOKENS[grant] });
    for (const i of [1, 2, 3]) {
      const { status, answer } = await call(grant, `${grant}-${i}`, { marker: grant, _demo_status: code }, headers);
      assert.equal(status, 502, `a plain-text ${code} cannot be checked, so it is replaced: ${JSON.stringify(answer)}`);
    }
    assert.equal(await ran(grant), 0);
    assert.equal(await budgetLeft(grant, headers), 2, 'all three were given back');
  });
}

test('a call on a session the origin no longer knows gets its 404 "Session not found" and is refunded', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.gone });
  const end = await fetch(stack.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.gone}`, ...headers } });
  await end.arrayBuffer();
  assert.equal(end.status, 200);
  for (const i of [1, 2, 3]) {
    const { status, answer } = await call('gone', `gone-${i}`, { marker: 'gone' }, headers);
    assert.equal(status, 404, JSON.stringify(answer));
    assert.match(answer.error.message, /Session not found/);
  }
  assert.equal(await ran('gone'), 0);
  const fresh = await stack.rawSession({ token: TOKENS.gone });
  assert.equal(await budgetLeft('gone', fresh.headers), 2, 'the three 404s cost nothing');
});

test('deleting its own session while its call runs gets the agent no refund', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.deleted });
  for (const i of [1, 2]) {
    const pending = call('deleted', `deleted-${i}`, { marker: 'deleted', _demo_delay_ms: 800 }, headers);
    await waitFor(async () => (await ran('deleted')) === i, { timeoutMs: DEADLINE_MS, what: `call ${i} to run at the origin` });
    const end = await fetch(stack.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.deleted}`, ...headers } });
    await end.arrayBuffer();
    const { status, answer } = await pending;
    console.log(`a call whose session was deleted while it ran: HTTP ${status} ${JSON.stringify(answer).slice(0, 300)}`);
    // Whatever the origin made of it, the call ran.
    if (i === 1) headers['mcp-session-id'] = (await stack.rawSession({ token: TOKENS.deleted })).headers['mcp-session-id'];
  }
  assert.equal(await ran('deleted'), 2);
  const fresh = await stack.rawSession({ token: TOKENS.deleted });
  assert.equal(await budgetLeft('deleted', fresh.headers), 0, 'both calls ran, so neither is refunded');
});

// Last: it stops the origin.
test('origin down: the first call may have been sent (not refunded); the next are refused at connect, never sent, and refunded', async () => {
  const { headers } = await stack.rawSession({ token: TOKENS.down });
  await stack.origin.stop();
  // The gateway's pooled connection to the origin is dead: workerd cannot tell this
  // from a reset after sending ("Network connection lost."), so this one is not refunded.
  const first = await call('down', 'down-1', { marker: 'down' }, headers);
  assert.equal(first.status, 502, JSON.stringify(first.answer));
  assert.equal(first.answer.id, 'down-1');
  assert.match(first.answer.error.message, /^bad gateway: the connection to the origin broke: Error: Network connection lost\. \(the call may have run, so its budget is not refunded\)$/);
  // From then on each call first probes the origin's port: refused, so nothing is sent.
  for (const i of [2, 3, 4]) {
    const { status, answer } = await call('down', `down-${i}`, { marker: 'down' }, headers);
    assert.equal(status, 502, JSON.stringify(answer));
    assert.equal(answer.id, `down-${i}`);
    assert.match(answer.error.message, /^bad gateway: the origin is unreachable: a connection to it was refused \(.*cannot connect to the specified address\), so the request was not sent$/);
  }
  // The origin comes back on the same port: one call used the budget, three were given back.
  const back = await startOrigin({ port: stack.origin.port });
  try {
    const fresh = await stack.rawSession({ token: TOKENS.down });
    assert.equal(await budgetLeft('down', fresh.headers), 1);
  } finally {
    await back.stop();
  }
});

// The approval webhook, and a gateway without ADMINS: a new pending approval is POSTed,
// Slack-compatible, to APPROVAL_WEBHOOK_URL with its arguments for the approver; a
// failing webhook loses nothing; and without ADMINS every /admin/* path is 404.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, callBody, rpcResult, waitFor, freePort } from './harness.mjs';

const TOKEN = 'tg-e2e-webhook-agent-51c0';
const POLICY = {
  version: '1',
  default: 'deny',
  tools: { ai_invoice_pipeline_run: { approval: { ttl: '1h' } } },
};

let stack;
let hook;
const received = [];
let failNext = 0;

before(async () => {
  const port = await freePort();
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(500).end('webhook down');
        return;
      }
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((resolve) => hook.listen(port, '127.0.0.1', resolve));
  stack = await startStack({
    policy: POLICY,
    tokens: { ops_bot: TOKEN },
    vars: {
      APPROVAL_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
      APPROVAL_KEY: 'tg-e2e-approval-key-for-webhook-tests',
    },
  });
});

after(async () => {
  await stack?.stop();
  await new Promise((resolve) => hook?.close(resolve) ?? resolve());
});

async function held(id, args) {
  const response = await stack.post(callBody(id, 'ai_invoice_pipeline_run', args), { token: TOKEN });
  const answer = await rpcResult(response, id);
  const decision = answer.result?._meta?.['toolgate/decision'];
  assert.equal(decision?.decision, 'approval_required', JSON.stringify(answer));
  return decision;
}

test('a new pending approval is POSTed to the webhook, Slack-compatible, with its arguments; a repeat is not', async () => {
  const decision = await held('w1', { invoice: 'INV-4471', amount: 90 });
  const posted = await waitFor(() => received.find((r) => r.body?.approval?.id === decision.approval_id), {
    timeoutMs: 10_000,
    what: 'the webhook POST',
  });
  assert.match(posted.headers['content-type'], /^application\/json/);
  assert.equal(typeof posted.body.text, 'string');
  assert.match(posted.body.text, /ops_bot/);
  assert.match(posted.body.text, /ai_invoice_pipeline_run/);
  assert.ok(posted.body.text.includes(decision.approval_id));
  assert.deepEqual(posted.body.approval.arguments, { invoice: 'INV-4471', amount: 90 });
  assert.equal(posted.body.approval.status, 'pending');
  assert.equal(posted.body.approval.arguments_sealed, undefined);

  // The same call again finds the same approval: no second announcement.
  const again = await held('w2', { invoice: 'INV-4471', amount: 90 });
  assert.equal(again.approval_id, decision.approval_id);
  const other = await held('w3', { invoice: 'INV-4472', amount: 90 });
  await waitFor(() => received.find((r) => r.body?.approval?.id === other.approval_id), { what: 'the second POST' });
  assert.equal(received.filter((r) => r.body?.approval?.id === decision.approval_id).length, 1);
});

test('a failing webhook loses nothing: the approval exists and the agent is answered', async () => {
  failNext = 1;
  const decision = await held('f1', { invoice: 'INV-9000' });
  // The approval was stored although its announcement failed: the identical call finds it.
  const again = await held('f2', { invoice: 'INV-9000' });
  assert.equal(again.approval_id, decision.approval_id);
  await waitFor(() => failNext === 0, { what: 'the (failing) webhook call' });
  assert.equal(received.some((r) => r.body?.approval?.id === decision.approval_id), false);
});

test('without ADMINS every /admin/* path is 404, whatever the token', async () => {
  for (const [method, path] of [
    ['GET', '/admin/approvals'],
    ['POST', '/admin/approvals/x/approve'],
    ['GET', '/admin/audit'],
    ['GET', '/admin/policy'],
    ['PUT', '/admin/policy'],
    ['GET', '/admin/policy/history'],
  ]) {
    for (const token of [undefined, TOKEN, 'anything']) {
      const response = await stack.post(method === 'GET' ? undefined : '{}', { token, path, method });
      assert.equal(response.status, 404, `${method} ${path} with ${token ?? 'no token'}`);
    }
  }
});

test('a grant with 100 approvals waiting is refused new ones, while its pending ones still answer', async () => {
  // Earlier tests left a few pending approvals for this grant; fill up to the cap.
  const first = await held('cap-0', { invoice: 'CAP-0' });
  let pending = null;
  for (let i = 1; i < 200 && pending === null; i += 1) {
    const response = await stack.post(callBody(`cap-${i}`, 'ai_invoice_pipeline_run', { invoice: `CAP-${i}` }), { token: TOKEN });
    const decision = (await rpcResult(response, `cap-${i}`)).result?._meta?.['toolgate/decision'];
    if (decision?.decision === 'deny') pending = { i, decision };
    else assert.equal(decision?.decision, 'approval_required', `call ${i}`);
  }
  assert.ok(pending, 'the cap was never reached');
  assert.equal(
    pending.decision.message,
    'grant `ops_bot` already has 100 approvals waiting; ask an operator to decide them before asking for more',
  );
  assert.equal(pending.decision.rule, '/tools/ai_invoice_pipeline_run/approval');
  // The identical call of a waiting approval still finds it.
  const again = await held('cap-again', { invoice: 'CAP-0' });
  assert.equal(again.approval_id, first.approval_id);
});

// The policy's rules and stores cannot be gamed (CONTRACT §1, §6), end to end in workerd:
// exact numbers in approval bindings, `exists` on a changed argument shape, an approval
// queue that no flood can bury, bounded approval and audit answers. Every size an agent
// can push is measured here and asserted against its bound.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, rpcResult, waitFor } from './harness.mjs';

const ADMIN = 'tg-e2e-bounds-admin-6b2e';
const GRANTS = ['exact', 'shape', 'queue_b', 'big', 'flood', 'worst', ...Array.from({ length: 11 }, (_, i) => `queue_a${i}`)];
const TOKENS = Object.fromEntries(GRANTS.map((g) => [g, `tg-e2e-bounds-${g}-91c4`]));

const POLICY = {
  version: '1',
  default: 'deny',
  tools: {
    // Approvals bound to exact numbers.
    odoo_write: {
      approval: { ttl: '1h' },
      deny_if: [{ path: 'args.values.groups_id', op: 'exists' }],
      on_deny: 'changing groups needs a human',
    },
    // A short-lived approval (the flood) and a long-lived one (the one it must not bury).
    odoo_create: { approval: { ttl: '1s' } },
    ai_invoice_pipeline_run: { approval: { ttl: '1h' } },
    odoo_unlink: { action: 'deny', on_deny: 'deleting records is not allowed' },
  },
};

/** Sizes measured in this file, printed at the end for the report. */
const measured = {};

let stack;
const sessions = {};
before(async () => {
  stack = await startStack({
    policy: POLICY,
    tokens: TOKENS,
    vars: { ADMINS: JSON.stringify({ ops: (await import('./harness.mjs')).sha256hex(ADMIN) }) },
  });
});
after(async () => {
  console.log(`measured sizes (bytes): ${JSON.stringify(measured)}`);
  await stack?.stop();
});
beforeEach(async () => {
  await stack.originReset();
});

async function session(grant) {
  sessions[grant] ??= stack.rawSession({ token: TOKENS[grant] }).then((s) => s.headers);
  return sessions[grant];
}

/** A tools/call with a raw body text of arguments (exact digits kept); { status, answer }. */
async function rawCall(grant, id, tool, argumentsText) {
  const body = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":{"name":${JSON.stringify(tool)},"arguments":${argumentsText}}}`;
  const response = await stack.post(body, { token: TOKENS[grant], headers: await session(grant) });
  assert.equal(response.status, 200, `${id}: HTTP ${response.status}`);
  return rpcResult(response, id);
}

const decisionOf = (answer) => answer?.result?._meta?.['toolgate/decision'];

/** One admin API request: { status, text, body, bytes }. */
async function admin(method, p, body) {
  const response = await fetch(`${stack.base}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, text, body: parsed, bytes: Buffer.byteLength(text) };
}

const toolCalls = async (tool) => (await stack.originLog()).filter((e) => e.mcp_method === 'tools/call' && e.tool === tool);

/** Runs `count` jobs, `width` at a time. */
async function pool(count, width, job) {
  let next = 0;
  const results = new Array(count);
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

test('an approval for partner_id 12345678901234567891 does not let 12345678901234567000 through; the admin API shows every digit', async () => {
  const approved = '{"model":"res.partner","ids":[7],"values":{"partner_id":12345678901234567891}}';
  const other = '{"model":"res.partner","ids":[7],"values":{"partner_id":12345678901234567000}}';
  const held = decisionOf(await rawCall('exact', 'x1', 'odoo_write', approved));
  assert.equal(held?.decision, 'approval_required');

  // The admin API shows the exact digits: in the raw `arguments` and in `arguments_json`.
  for (const p of [`/admin/approvals/${held.approval_id}`, '/admin/approvals?status=pending']) {
    const r = await admin('GET', p);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.text.includes('"partner_id":12345678901234567891'), `${p} has the raw digits: ${r.text.slice(0, 600)}`);
    const one = r.body.approval ?? r.body.approvals.find((a) => a.id === held.approval_id);
    assert.ok(one, `${p} lists the approval`);
    assert.ok(one.arguments_json.includes('12345678901234567891'), one.arguments_json);
    assert.ok(!r.text.includes('12345678901234567000') && !r.text.includes('1.2345678901234567e+19'));
  }
  const decided = await admin('POST', `/admin/approvals/${held.approval_id}/approve`, { note: 'exact' });
  assert.equal(decided.status, 200, decided.text);

  // The other number, equal as a double, is another call: held, with its own approval.
  const second = decisionOf(await rawCall('exact', 'x2', 'odoo_write', other));
  assert.equal(second?.decision, 'approval_required', 'a number that differs beyond 2^53 is a different call');
  assert.notEqual(second.approval_id, held.approval_id);
  assert.equal((await toolCalls('odoo_write')).length, 0, 'nothing reached the origin');

  // The approved one passes, once, and the origin receives every digit.
  const passed = await rawCall('exact', 'x3', 'odoo_write', approved);
  assert.equal(passed.result?.isError, false, JSON.stringify(passed));
  const atOrigin = await toolCalls('odoo_write');
  assert.equal(atOrigin.length, 1);
  assert.ok(atOrigin[0].body.includes('"partner_id":12345678901234567891'), atOrigin[0].body);
  assert.equal(decisionOf(await rawCall('exact', 'x4', 'odoo_write', approved))?.decision, 'approval_required', 'once only');
});

test('`deny_if args.values.groups_id exists` cannot be evaded by a changed shape: an array, a scalar, a nested object', async () => {
  const cases = [
    ['{"model":"res.users","ids":[1],"values":{"groups_id":[[4,1]]}}', 'deny'], // the plain case
    ['{"model":"res.users","ids":[1],"values":[{"groups_id":[[4,1]]}]}', 'deny'], // an array instead of an object
    ['{"model":"res.users","ids":[1],"values":"groups_id"}', 'deny'], // a scalar
    ['{"model":"res.users","ids":[1],"values":7}', 'deny'],
    ['{"model":"res.users","ids":[1],"values":null}', 'deny'],
  ];
  for (const [i, [args, want]] of cases.entries()) {
    const answer = await rawCall('shape', `s${i}`, 'odoo_write', args);
    const d = decisionOf(answer);
    assert.equal(d?.decision, want, `${args}: ${JSON.stringify(d)}`);
    assert.equal(d.rule, '/tools/odoo_write/deny_if/0', args);
  }
  // Without groups_id (the shape the rule expects) the call goes on to its approval.
  const fine = decisionOf(await rawCall('shape', 's-ok', 'odoo_write', '{"model":"res.users","ids":[1],"values":{"name":"x"}}'));
  assert.equal(fine?.decision, 'approval_required');
  assert.equal((await toolCalls('odoo_write')).length, 0);
});

test('1,100 short-lived approvals of other grants do not bury a pending one; every status pages in storage with a cursor', async () => {
  const held = decisionOf(await rawCall('queue_b', 'b1', 'ai_invoice_pipeline_run', '{"invoice":77}'));
  assert.equal(held?.decision, 'approval_required');
  // 11 grants × 100 approvals (the most one grant may have waiting), each expiring in 1 s.
  const flood = 1100;
  const started = Date.now();
  const answers = await pool(flood, 25, async (i) => {
    const grant = `queue_a${i % 11}`;
    return decisionOf(await rawCall(grant, `a${i}`, 'odoo_create', `{"model":"res.partner","values":{"n":${i}}}`))?.decision;
  });
  assert.deepEqual([...new Set(answers)], ['approval_required']);
  measured.flood_ms = Date.now() - started;
  // They expire after 1 s; wait for that on the clock the gateway uses (the list says so).
  const pending = await waitFor(
    async () => {
      const r = await admin('GET', '/admin/approvals?status=pending');
      return r.body.approvals.every((a) => !a.grant.startsWith('queue_a')) ? r : null;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'the flood to expire' },
  );
  // Other tests' pending approvals are there too, but far fewer than a page.
  assert.equal(pending.body.cursor, null);
  assert.deepEqual(
    pending.body.approvals.filter((a) => a.grant === 'queue_b').map((a) => a.id),
    [held.approval_id],
    "grant B's pending approval is on the first page of pending ones",
  );

  // The expired ones page, newest first, at most 100 a page, every one exactly once.
  const seen = new Set();
  let cursor = null;
  let pages = 0;
  let largest = 0;
  let last = Infinity;
  do {
    const r = await admin('GET', `/admin/approvals?status=expired&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.approvals.length <= 100);
    largest = Math.max(largest, r.bytes);
    for (const a of r.body.approvals) {
      assert.equal(a.status, 'expired');
      assert.ok(!seen.has(a.id), `approval ${a.id} on two pages`);
      assert.ok(a.created_at <= last, 'newest first');
      last = a.created_at;
      seen.add(a.id);
    }
    cursor = r.body.cursor;
    pages++;
  } while (cursor && pages < 50);
  assert.equal(seen.size, flood);
  assert.equal(pages, Math.ceil(flood / 100));
  measured.approvals_page_small_args = largest;
  assert.ok(!seen.has(held.approval_id));

  const tooMany = await admin('GET', '/admin/approvals?status=expired&limit=101');
  assert.equal(tooMany.body.approvals.length, 100, 'a page holds at most 100');
  for (const bad of ['status=nope', 'limit=0', 'limit=x', 'other=1']) {
    assert.equal((await admin('GET', `/admin/approvals?${bad}`)).status, 400, bad);
  }
});

test('arguments over 4 KiB are truncated in lists and whole by id; over 64 KiB the call is denied and no approval is made', async () => {
  // 100 pending approvals (the cap), each with just under 64 KiB of arguments.
  const filler = (i, bytes) => `{"invoice":${i},"note":"${'n'.repeat(bytes - 30)}"}`;
  const size = 64 * 1024 - 64;
  const ids = await pool(100, 10, async (i) => {
    const d = decisionOf(await rawCall('big', `big${i}`, 'ai_invoice_pipeline_run', filler(i, size)));
    assert.equal(d?.decision, 'approval_required', JSON.stringify(d));
    return d.approval_id;
  });
  const list = await admin('GET', '/admin/approvals?status=pending&limit=100');
  assert.equal(list.status, 200);
  const ours = list.body.approvals.filter((a) => a.grant === 'big');
  assert.equal(ours.length, 100);
  for (const a of ours) {
    assert.equal(a.arguments_truncated, true);
    assert.equal(a.arguments, undefined);
    assert.ok(a.arguments_bytes > 4096);
  }
  measured.approvals_page_100_truncated = list.bytes;
  assert.ok(list.bytes < 200 * 1024, `a page of 100 approvals with 64 KiB arguments is ${list.bytes} bytes`);

  const one = await admin('GET', `/admin/approvals/${ids[0]}`);
  assert.equal(one.status, 200);
  assert.equal(one.body.approval.arguments.note.length, size - 30, 'by id: the whole arguments');
  assert.equal(JSON.parse(one.body.approval.arguments_json).invoice, 0);
  measured.approval_by_id_64k = one.bytes;
  assert.ok(one.bytes < 2 * 64 * 1024 + 4096, `one approval is ${one.bytes} bytes`);

  // Over 64 KiB: denied with a message, and no approval made (the grant still has 100).
  const tooBig = await rawCall('big', 'big-over', 'ai_invoice_pipeline_run', filler(1000, 64 * 1024 + 100));
  const d = decisionOf(tooBig);
  assert.equal(d?.decision, 'deny');
  assert.match(d.message, /needs human approval, but its arguments are \d+ bytes, more than the 65536 an approval can hold/);
  const after = await admin('GET', '/admin/approvals?status=pending&limit=100');
  assert.equal(after.body.approvals.filter((a) => a.grant === 'big').length, 100, 'no approval was made');
  assert.equal(d.approval_id, undefined);
  assert.equal((await toolCalls('ai_invoice_pipeline_run')).length, 0);
});

test('30 denied calls with 75,000 argument keys each make 30 bounded records; the default audit page stays small', async () => {
  const keys = Array.from({ length: 75_000 }, (_, i) => `"k${i}":0`).join(',');
  const args = `{${keys}}`;
  assert.ok(args.length < 1024 * 1024 && args.length > 800_000, `${args.length} bytes`);
  await pool(30, 5, async (i) => {
    const d = decisionOf(await rawCall('flood', `f${i}`, 'odoo_unlink', args));
    assert.equal(d?.decision, 'deny');
  });
  const page = await waitFor(
    async () => {
      const r = await admin('GET', '/admin/audit?grant=flood');
      return r.body.records.length === 30 ? r : null;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: '30 audit records of grant flood' },
  );
  for (const record of page.body.records) {
    assert.equal(record.argument_key_count, 75_000);
    assert.equal(record.argument_keys.length, 64);
  }
  measured.audit_page_30_flood_records = page.bytes;
  assert.ok(page.bytes < 64 * 1024, `the audit page is ${page.bytes} bytes`);
  const whole = await admin('GET', '/admin/audit');
  measured.audit_default_page = whole.bytes;
  assert.ok(whole.bytes < 2 * 1024 * 1024 + 32 * 1024);
});

test('the worst record an agent can make is bounded, and a page of them stops at 2 MiB with a cursor', async () => {
  // Keys of 200 `"` characters: each cut to 128 bytes, each doubled by JSON escaping.
  const keys = Array.from({ length: 100 }, (_, i) => `"${'\\"'.repeat(200)}${i}":0`).join(',');
  const id = '\\u0001'.repeat(400) + 'w';
  const body = (n) =>
    `{"jsonrpc":"2.0","id":"${id}${n}","method":"tools/call","params":{"name":"odoo_unlink","arguments":{${keys}}}}`;
  const count = 130;
  await pool(count, 10, async (n) => {
    const r = await stack.post(body(n), { token: TOKENS.worst, headers: await session('worst') });
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  });
  const records = await waitFor(
    async () => {
      const all = [];
      let cursor = null;
      let largestPage = 0;
      do {
        const r = await admin('GET', `/admin/audit?grant=worst&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        largestPage = Math.max(largestPage, r.bytes);
        all.push(...r.body.records);
        cursor = r.body.cursor;
      } while (cursor);
      return all.length === count ? { all, largestPage } : null;
    },
    { timeoutMs: 30_000, intervalMs: 500, what: `${count} audit records of grant worst` },
  );
  const largestRecord = Math.max(...records.all.map((r) => Buffer.byteLength(JSON.stringify(r))));
  measured.audit_worst_record = largestRecord;
  measured.audit_worst_page = records.largestPage;
  assert.ok(largestRecord <= 21 * 1024 + 512, `a record is ${largestRecord} bytes`);
  assert.ok(records.largestPage <= 2 * 1024 * 1024 + largestRecord + 64, `a page is ${records.largestPage} bytes`);
  assert.ok(records.largestPage > 1024 * 1024, 'the page was cut by bytes, not by count');
  const first = await admin('GET', '/admin/audit?grant=worst&limit=1000');
  assert.ok(first.body.records.length < count && first.body.cursor, 'the first page is cut, with a cursor');
});

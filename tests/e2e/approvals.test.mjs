// End to end, in workerd (`wrangler dev`) in front of the real demo origin, with the MCP
// TypeScript SDK client: human approvals, the audit log, the admin API and live policy
// updates (CONTRACT §6), and the admin page in Chromium.
//
//   node --test tests/e2e/approvals.test.mjs
//
// One stack serves the whole file; the tests run in order and each one uses its own
// grant, tool or argument values, so they do not see each other's calls. Nothing here
// asserts a duration: every wait polls a condition with a bounded deadline.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, mkdirSync, mkdtempSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, callBody, rpcResult, sha256hex, waitFor, run, ROOT } from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'admin');

// ------------------------------------------------------------------ the stack

const rand = () => randomBytes(12).toString('hex');
const TOKENS = {
  alice: `tg_alice_${rand()}`,
  bob: `tg_bob_${rand()}`,
  carol: `tg_carol_${rand()}`, // the scripted audit session
  dave: `tg_dave_${rand()}`, // the 500-call burst
  erin: `tg_erin_${rand()}`, // audit records read at once
};
const ADMIN_TOKEN = `tg_admin_${rand()}`;
const OTHER_ADMIN_TOKEN = `tg_lead_${rand()}`;
const ADMINS = { ops: sha256hex(ADMIN_TOKEN), lead: sha256hex(OTHER_ADMIN_TOKEN) };

const POLICY = {
  version: '1',
  default: 'deny',
  hide: ['ssh_execute'],
  tools: {
    odoo_search_read: {},
    odoo_read: {},
    odoo_unlink: { action: 'deny', on_deny: 'deleting records is not allowed' },
    odoo_search_count: { limits: [{ counter: 'count_calls', window: 'hour', max: 1, scope: 'grant' }] },
    odoo_write: { approval: { ttl: '3s' } },
    odoo_create: { approval: { ttl: '1h' } },
  },
};

/** RFC 8785 canonical JSON, for the simple values these tests send (ASCII, integers). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
const argsSha = (args) => sha256hex(canonical(args));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Held for approval once in the expiry test and never repeated. */
const EXPIRED_ARGS = { model: 'res.partner', ids: [4103], values: { comment: 'heron-8843' } };

let stack;
let base;
const clients = {};

/** One admin API request: { status, body (parsed JSON or text), headers }. */
async function adminApi(method, p, { body, token = ADMIN_TOKEN, auth } = {}) {
  const headers = {};
  if (auth !== undefined) {
    if (auth !== null) headers.authorization = auth; // null: no Authorization header at all
  } else if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${p}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

async function approvals(status) {
  const r = await adminApi('GET', `/admin/approvals${status ? `?status=${status}` : ''}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.approvals;
}

async function decide(id, verdict, note) {
  return adminApi('POST', `/admin/approvals/${id}/${verdict}`, { body: note === undefined ? {} : { note } });
}

/** All audit records matching `query` (an object of query parameters), following cursors. */
async function auditAll(query = {}) {
  const records = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const params = new URLSearchParams({ limit: '1000', ...query });
    if (cursor) params.set('cursor', cursor);
    const r = await adminApi('GET', `/admin/audit?${params}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    records.push(...r.body.records);
    cursor = r.body.cursor;
    if (!cursor) return records;
  }
  throw new Error('more than 100 pages of audit records');
}

/** The toolgate decision of an SDK tools/call result (undefined when the origin answered). */
const decisionOf = (result) => result?._meta?.['toolgate/decision'];

/** A tools/call through the SDK client of `grant`. */
function call(grant, name, args) {
  return clients[grant].callTool({ name, arguments: args });
}

/** The origin's tools/call requests for `tool` whose body contains `marker`. */
async function originCalls(tool, marker) {
  const log = await stack.originLog();
  return log.filter((e) => e.mcp_method === 'tools/call' && e.tool === tool && e.body.includes(marker));
}

/** The persist directory of this stack's `wrangler dev`. */
function persistDir() {
  const args = stack.gateway.proc.child.spawnargs;
  const i = args.indexOf('--persist-to');
  assert.ok(i > 0, 'wrangler dev was started without --persist-to');
  return args[i + 1];
}

/** Every file under `dir`, with its bytes. */
function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push({ path: p, bytes: readFileSync(p) });
  }
  return out;
}

/** Which of `needles` occur byte-wise in which files under `dir`: [{ needle, file }]. */
function findInFiles(dir, needles) {
  const hits = [];
  for (const file of filesUnder(dir)) {
    for (const needle of needles) {
      if (file.bytes.includes(Buffer.from(needle, 'utf8'))) hits.push({ needle, file: path.relative(dir, file.path) });
    }
  }
  return hits;
}

describe('approvals, audit, admin API and admin page (wrangler dev + demo origin)', { timeout: 280_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({ policy: POLICY, tokens: TOKENS, vars: { ADMINS: JSON.stringify(ADMINS) } });
    base = stack.base;
    for (const grant of ['alice', 'bob', 'carol']) {
      clients[grant] = (await stack.client({ token: TOKENS[grant] })).client;
    }
  });

  after(async () => {
    await stack?.stop();
  });

  // ---------------------------------------------------------------- 1. the approval loop

  test('approval loop: held, approved, passes once, held again, bound to arguments and grant, deny note', async () => {
    const tool = 'odoo_create';
    const args = { model: 'res.partner', values: { name: 'Approval Loop Co', ref: 'loop-1001' } };
    const otherArgs = { model: 'res.partner', values: { name: 'Approval Loop Co', ref: 'loop-1002' } };
    await stack.originReset();

    // The call is held: an isError result with the approval's id, nothing at the origin.
    const held = await call('alice', tool, args);
    const first = decisionOf(held);
    assert.equal(held.isError, true);
    assert.equal(first?.decision, 'approval_required', JSON.stringify(held));
    assert.equal(first.tool, tool);
    assert.match(first.approval_id, /\S/);
    assert.equal(typeof first.expires_at, 'number');
    assert.ok(held.content[0].text.includes(first.approval_id), 'the message names the approval id');
    assert.deepEqual(await originCalls(tool, 'loop-1001'), []);

    // Repeating it while pending finds the same approval.
    const again = decisionOf(await call('alice', tool, args));
    assert.equal(again.decision, 'approval_required');
    assert.equal(again.approval_id, first.approval_id);

    // The operator sees it, with the full arguments.
    const pending = (await approvals('pending')).find((a) => a.id === first.approval_id);
    assert.ok(pending, 'the approval is listed as pending');
    assert.equal(pending.grant, 'alice');
    assert.equal(pending.tool, tool);
    assert.deepEqual(pending.arguments, args);
    assert.equal(pending.arguments_sha256, argsSha(args));
    assert.equal(pending.rule, '/tools/odoo_create/approval');
    assert.equal(pending.expires_at, first.expires_at);
    assert.equal(pending.expires_at - pending.created_at, 3_600_000, 'ttl 1h');

    // Approve; the identical call passes once and reaches the origin once.
    const approved = await decide(first.approval_id, 'approve', 'ok for the loop test');
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.approval.status, 'approved');
    assert.equal(approved.body.approval.decided_by, 'ops');
    assert.equal(typeof approved.body.approval.decided_at, 'number');

    const passed = await call('alice', tool, args);
    assert.notEqual(passed.isError, true, JSON.stringify(passed));
    assert.equal(decisionOf(passed), undefined);
    assert.deepEqual(JSON.parse(passed.content[0].text), { tool, arguments: args });
    assert.equal((await originCalls(tool, 'loop-1001')).length, 1);

    // A second identical call is held again, by a new approval.
    const second = decisionOf(await call('alice', tool, args));
    assert.equal(second.decision, 'approval_required');
    assert.notEqual(second.approval_id, first.approval_id);
    assert.equal((await originCalls(tool, 'loop-1001')).length, 1, 'the origin saw the approved call once');
    const used = (await approvals('used')).find((a) => a.id === first.approval_id);
    assert.ok(used, 'the first approval is listed as used');
    assert.equal(used.arguments ?? null, null, 'a used approval no longer keeps the arguments');

    // A different argument value needs its own approval.
    const other = decisionOf(await call('alice', tool, otherArgs));
    assert.equal(other.decision, 'approval_required');
    assert.ok(![first.approval_id, second.approval_id].includes(other.approval_id));

    // Another grant with the same arguments does not ride on alice's approval.
    const bobHeld = decisionOf(await call('bob', tool, args));
    assert.equal(bobHeld.decision, 'approval_required');
    assert.ok(![first.approval_id, second.approval_id, other.approval_id].includes(bobHeld.approval_id));
    assert.equal((await decide(second.approval_id, 'approve')).status, 200);
    const bobStill = decisionOf(await call('bob', tool, args));
    assert.equal(bobStill?.decision, 'approval_required', "bob's call is still held after alice's approval");
    assert.equal(bobStill.approval_id, bobHeld.approval_id);
    const alicePasses = await call('alice', tool, args);
    assert.notEqual(alicePasses.isError, true, JSON.stringify(alicePasses));
    assert.equal((await originCalls(tool, 'loop-1001')).length, 2);

    // Deny with a note: the agent reads the note, every time the identical call comes back.
    const note = 'Not this partner: use the sandbox company for tests.';
    const denied = await decide(other.approval_id, 'deny', note);
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    assert.equal(denied.body.approval.status, 'denied');
    assert.equal(denied.body.approval.note, note);
    assert.equal(denied.body.approval.decided_by, 'ops');
    for (let i = 0; i < 2; i++) {
      const refused = await call('alice', tool, otherArgs);
      assert.equal(refused.isError, true);
      assert.equal(decisionOf(refused)?.decision, 'deny', JSON.stringify(refused));
      assert.equal(decisionOf(refused).message, note);
      assert.equal(refused.content[0].text, note);
    }
    assert.deepEqual(await originCalls(tool, 'loop-1002'), []);
    assert.ok((await approvals('denied')).some((a) => a.id === other.approval_id));

    // Only pending approvals can be decided; unknown ids are 404.
    assert.equal((await decide(other.approval_id, 'approve')).status, 409);
    assert.equal((await decide(first.approval_id, 'deny', 'too late')).status, 409);
    assert.equal((await decide(second.approval_id, 'approve')).status, 409);
    assert.equal((await decide('no-such-approval', 'approve')).status, 404);
    // A second admin can decide too, and is recorded as the decider.
    const byLead = await adminApi('POST', `/admin/approvals/${bobHeld.approval_id}/deny`, {
      token: OTHER_ADMIN_TOKEN,
      body: { note: 'bob has no business creating partners' },
    });
    assert.equal(byLead.status, 200);
    assert.equal(byLead.body.approval.decided_by, 'lead');
  });

  test('approval expiry: pending and approved approvals expire after the ttl; the next call makes a new one', async () => {
    const tool = 'odoo_write';
    const argsPending = { model: 'res.partner', ids: [4101], values: { comment: 'expiry pending' } };
    const argsApproved = { model: 'res.partner', ids: [4102], values: { comment: 'expiry approved' } };
    await stack.originReset();

    const p = decisionOf(await call('alice', tool, argsPending));
    const a = decisionOf(await call('alice', tool, argsApproved));
    // Held once and never repeated: once it has expired, its arguments must be gone (checked in storage below).
    assert.equal(decisionOf(await call('alice', tool, EXPIRED_ARGS))?.decision, 'approval_required');
    assert.equal(p.decision, 'approval_required');
    assert.equal(a.decision, 'approval_required');
    const listed = (await approvals('pending')).find((x) => x.id === p.approval_id);
    assert.equal(listed.expires_at - listed.created_at, 3000, 'ttl 3s');
    assert.equal((await decide(a.approval_id, 'approve')).status, 200);

    // Wait (bounded) until both list as expired.
    const expired = await waitFor(
      async () => {
        const list = await approvals('expired');
        const ids = list.map((x) => x.id);
        return ids.includes(p.approval_id) && ids.includes(a.approval_id) ? list : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'both approvals to list as expired' },
    );
    for (const x of expired.filter((e) => [p.approval_id, a.approval_id].includes(e.id))) {
      assert.equal(x.status, 'expired');
      assert.equal(x.arguments ?? null, null, 'an expired approval no longer shows the arguments');
    }
    const pendingIds = (await approvals('pending')).map((x) => x.id);
    assert.ok(!pendingIds.includes(p.approval_id));
    assert.equal((await decide(p.approval_id, 'approve')).status, 409, 'an expired approval cannot be approved');

    // The next identical calls are held by new approvals (an approved-but-expired one does not pass).
    const p2 = decisionOf(await call('alice', tool, argsPending));
    const a2 = decisionOf(await call('alice', tool, argsApproved));
    assert.equal(p2?.decision, 'approval_required');
    assert.equal(a2?.decision, 'approval_required', 'an expired approval lets nothing through');
    assert.notEqual(p2.approval_id, p.approval_id);
    assert.notEqual(a2.approval_id, a.approval_id);
    const nowPending = (await approvals('pending')).map((x) => x.id);
    assert.ok(nowPending.includes(p2.approval_id) || (await approvals('expired')).some((x) => x.id === p2.approval_id));
    assert.deepEqual(await originCalls(tool, '"expiry'), [], 'nothing reached the origin');
  });

  // ---------------------------------------------------------------- 2. the audit log

  const VALUES = ['zebra-7781', 'x_giraffe_4417', 'okapi-5531', 'x_narwhal_9902'];
  const APPROVAL_VALUE = 'quokka-3318'; // held for approval: kept while pending, by design

  test('audit: a scripted session gives exactly the expected records, newest first; filters and cursor paging', async () => {
    const { client, transport } = await stack.client({ token: TOKENS.carol });
    const session = transport.sessionId;
    assert.ok(session, 'the origin gave a session id');
    // A few ms between steps so every record has its own timestamp (the order is by time).
    const step = () => sleep(5);

    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'odoo_search_read'));
    assert.ok(!tools.tools.some((t) => t.name === 'ssh_execute'), 'hidden tools are not listed');
    await step();
    const allowedArgs = { model: 'res.partner', domain: [['name', '=', 'zebra-7781']], limit: 5 };
    const allowed = await client.callTool({ name: 'odoo_search_read', arguments: allowedArgs });
    assert.notEqual(allowed.isError, true);
    await step();
    const deniedArgs = { model: 'x_giraffe_4417', ids: [4417] };
    const denied = await client.callTool({ name: 'odoo_unlink', arguments: deniedArgs });
    assert.equal(decisionOf(denied)?.decision, 'deny');
    await step();
    const hiddenArgs = { command: 'cat /etc/okapi-5531' };
    await assert.rejects(client.callTool({ name: 'ssh_execute', arguments: hiddenArgs }), (err) => err.code === -32602);
    await step();
    const limitedArgs = { model: 'x_narwhal_9902', domain: [] };
    const limited1 = await client.callTool({ name: 'odoo_search_count', arguments: limitedArgs });
    assert.notEqual(limited1.isError, true);
    await step();
    const limited2 = await client.callTool({ name: 'odoo_search_count', arguments: limitedArgs });
    assert.equal(decisionOf(limited2)?.decision, 'rate_limited');
    await step();
    const approvalArgs = { model: 'res.partner', values: { name: APPROVAL_VALUE } };
    const held = await client.callTool({ name: 'odoo_create', arguments: approvalArgs });
    assert.equal(decisionOf(held)?.decision, 'approval_required');

    const expected = [
      { method: 'tools/call', tool: 'odoo_create', decision: 'approval_required', rule: '/tools/odoo_create/approval', args: approvalArgs, origin: null },
      { method: 'tools/call', tool: 'odoo_search_count', decision: 'rate_limited', rule: '/tools/odoo_search_count/limits/0', args: limitedArgs, origin: null },
      { method: 'tools/call', tool: 'odoo_search_count', decision: 'allow', rule: '/tools/odoo_search_count', args: limitedArgs, origin: 200 },
      { method: 'tools/call', tool: 'ssh_execute', decision: 'hidden', rule: '/hide/0', args: hiddenArgs, origin: null },
      { method: 'tools/call', tool: 'odoo_unlink', decision: 'deny', rule: '/tools/odoo_unlink/action', args: deniedArgs, origin: null },
      { method: 'tools/call', tool: 'odoo_search_read', decision: 'allow', rule: '/tools/odoo_search_read', args: allowedArgs, origin: 200 },
      { method: 'tools/list', tool: null, decision: 'allow', rule: null, args: null, origin: 200 },
    ];

    // Records are written off the response path: poll (bounded) until all are there.
    const records = await waitFor(
      async () => {
        const list = await auditAll({ grant: 'carol' });
        return list.length >= expected.length ? list : null;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: `${expected.length} audit records for carol` },
    );
    assert.equal(records.length, expected.length, JSON.stringify(records, null, 1));
    const requestIds = new Set();
    for (const [i, want] of expected.entries()) {
      const got = records[i];
      const where = `record ${i} (${want.decision} ${want.tool ?? want.method}): ${JSON.stringify(got)}`;
      assert.equal(got.method, want.method, where);
      assert.equal(got.tool ?? null, want.tool, where);
      assert.equal(got.decision, want.decision, where);
      assert.equal(got.rule ?? null, want.rule, where);
      assert.equal(got.grant, 'carol', where);
      assert.equal(got.session, session, where);
      assert.equal(got.policy_version, 0, where);
      assert.equal(got.origin_status ?? null, want.origin, where);
      assert.deepEqual(got.argument_keys, want.args ? Object.keys(want.args).sort() : [], where);
      assert.equal(got.arguments_sha256 ?? null, want.args ? argsSha(want.args) : null, where);
      assert.equal(typeof got.at, 'number', where);
      assert.equal(typeof got.latency_ms, 'number', where);
      assert.equal(typeof got.request_id, 'string', where);
      requestIds.add(got.request_id);
      if (i > 0) assert.ok(records[i - 1].at >= got.at, `newest first at ${where}`);
    }
    assert.equal(requestIds.size, expected.length, 'each request has its own request id');
    assert.equal(records[4].message, 'deleting records is not allowed');
    assert.equal(records[3].message, 'Unknown tool: ssh_execute');

    // Filters.
    const byTool = await auditAll({ grant: 'carol', tool: 'odoo_search_count' });
    assert.deepEqual(byTool.map((r) => r.decision), ['rate_limited', 'allow']);
    const byDecision = await auditAll({ grant: 'carol', decision: 'hidden' });
    assert.deepEqual(byDecision.map((r) => r.tool), ['ssh_execute']);
    const approvalRecords = await auditAll({ grant: 'carol', decision: 'approval_required', tool: 'odoo_create' });
    assert.deepEqual(approvalRecords.map((r) => r.id), [records[0].id]);
    const window = await auditAll({ grant: 'carol', since: String(records[3].at), until: String(records[1].at) });
    assert.deepEqual(window.map((r) => r.id), records.slice(1, 4).map((r) => r.id), 'since/until are inclusive bounds');
    const otherGrant = await auditAll({ grant: 'alice' });
    assert.ok(otherGrant.length > 0 && otherGrant.every((r) => r.grant === 'alice'));
    assert.deepEqual(await auditAll({ grant: 'nobody' }), []);

    // Cursor paging, two at a time.
    const paged = [];
    let cursor = null;
    const sizes = [];
    for (let i = 0; i < 10; i++) {
      const params = new URLSearchParams({ grant: 'carol', limit: '2' });
      if (cursor) params.set('cursor', cursor);
      const r = await adminApi('GET', `/admin/audit?${params}`);
      assert.equal(r.status, 200);
      paged.push(...r.body.records);
      sizes.push(r.body.records.length);
      cursor = r.body.cursor;
      if (!cursor) break;
      assert.equal(typeof cursor, 'string');
    }
    assert.deepEqual(sizes, [2, 2, 2, 1]);
    assert.deepEqual(paged.map((r) => r.id), records.map((r) => r.id));

    // Bad queries are refused, not ignored.
    assert.equal((await adminApi('GET', '/admin/audit?limit=abc')).status, 400);
    assert.equal((await adminApi('GET', '/admin/audit?colour=red')).status, 400);
    assert.equal((await adminApi('GET', '/admin/approvals?status=maybe')).status, 400);

    // No argument value in any audit record.
    const everything = JSON.stringify(await auditAll());
    for (const value of [...VALUES, APPROVAL_VALUE, 'Approval Loop Co', 'loop-1001', 'expiry pending']) {
      assert.ok(!everything.includes(value), `the audit log holds the argument value ${value}`);
    }
    for (const secret of [...Object.values(TOKENS), ADMIN_TOKEN, OTHER_ADMIN_TOKEN]) {
      assert.ok(!everything.includes(secret), 'the audit log holds a bearer token');
    }
    await client.close();
  });

  test('audit: the record of a call is listed as soon as the call is answered (the isolate writes its batch before it reads)', async () => {
    const { client } = await stack.client({ token: TOKENS.erin });
    for (let i = 0; i < 3; i++) {
      const args = { model: 'res.partner', ids: [7713 + i] };
      const result = await client.callTool({ name: 'odoo_read', arguments: args });
      assert.notEqual(result.isError, true);
      // Read at once, no polling: records wait for their batch's write (250 ms), and
      // GET /admin/audit writes that batch first.
      const records = await auditAll({ grant: 'erin', tool: 'odoo_read' });
      assert.equal(records.length, i + 1, `after call ${i + 1}: ${JSON.stringify(records.map((r) => r.arguments_sha256))}`);
      assert.equal(records[0].arguments_sha256, argsSha(args), 'the newest record is of this call');
      assert.equal(records[0].decision, 'allow');
      assert.equal(records[0].origin_status, 200);
    }
  });

  test('no argument value of a call without approval, and no token, in wrangler log output or in the storage files', async () => {
    // The Worker prints one JSON line per audit record: wait until carol's are in the output.
    await waitFor(() => (stack.gateway.output().match(/"grant":"carol"/g) || []).length >= 7, {
      timeoutMs: 10_000,
      what: "carol's audit lines on wrangler's output",
    });
    const output = stack.gateway.output();
    assert.ok(output.includes('"decision":"approval_required"'), 'the audit lines are on the log');
    const secrets = [...Object.values(TOKENS), ADMIN_TOKEN, OTHER_ADMIN_TOKEN];
    for (const needle of [...VALUES, APPROVAL_VALUE, 'loop-1001', 'heron-8843', ...secrets]) {
      assert.ok(!output.includes(needle), `wrangler's output holds ${needle.startsWith('tg_') ? 'a bearer token' : needle}`);
    }

    // Storage: every file of the Worker's local state, byte by byte.
    const dir = persistDir();
    const files = filesUnder(dir);
    assert.ok(files.length > 0 && files.some((f) => f.bytes.length > 0), `no storage files under ${dir}`);
    const leaks = findInFiles(dir, [...VALUES, ...secrets]);
    assert.deepEqual(leaks, [], 'argument values of calls without approval, or tokens, found in storage');
  });

  test('approval arguments leave storage once the approval is used, denied or expired', async () => {
    // Used: approved, then the identical call made. Denied: refused by the operator.
    // Expired: EXPIRED_ARGS, held in the expiry test and never repeated.
    const usedArgs = { model: 'res.partner', values: { name: 'pelican-6602' } };
    const deniedArgs = { model: 'res.partner', values: { name: 'ibis-2207' } };
    const used = decisionOf(await call('alice', 'odoo_create', usedArgs));
    assert.equal((await decide(used.approval_id, 'approve')).status, 200);
    assert.notEqual((await call('alice', 'odoo_create', usedArgs)).isError, true);
    const denied = decisionOf(await call('alice', 'odoo_create', deniedArgs));
    assert.equal((await decide(denied.approval_id, 'deny', 'no')).status, 200);
    for (const [status, id] of [['used', used.approval_id], ['denied', denied.approval_id]]) {
      const listed = (await approvals(status)).find((x) => x.id === id);
      assert.equal(listed?.arguments ?? null, null, `the API still shows the arguments of a ${status} approval`);
    }

    // What the control object's SQLite database holds, row by row (read from a copy with
    // Python's sqlite3, WAL included): only live approvals may keep their (sealed)
    // arguments, and no row holds an argument value in the clear.
    const dir = persistDir();
    const db = filesUnder(dir).find((f) => /ControlStore/.test(f.path) && f.path.endsWith('.sqlite'));
    assert.ok(db, `no ControlStore database under ${dir}`);
    const copy = mkdtempSync(path.join(os.tmpdir(), 'toolgate-control-'));
    try {
      for (const suffix of ['', '-wal']) {
        if (existsSync(db.path + suffix)) copyFileSync(db.path + suffix, path.join(copy, `control.sqlite${suffix}`));
      }
      const read = await run(
        'python3',
        ['-c', 'import sqlite3,sys,json; c=sqlite3.connect(sys.argv[1]); print(json.dumps([r[0] for r in c.execute("SELECT body FROM approval")]))', path.join(copy, 'control.sqlite')],
      );
      assert.equal(read.status, 0, read.stderr);
      const now = Date.now();
      const rows = JSON.parse(read.stdout).map((b) => JSON.parse(b));
      assert.ok(rows.length > 0);
      const kept = rows
        .filter((r) => r.arguments_sealed !== null && r.arguments_sealed !== undefined)
        .filter((r) => !(['pending', 'approved'].includes(r.status) && r.expires_at > now))
        .map((r) => ({ id: r.id, stored_status: r.status, expired: r.expires_at <= now }));
      assert.ok(rows.every((r) => r.arguments === undefined), 'a stored approval holds its arguments in the clear');
      // And byte by byte, in every file (WAL and free pages included).
      const files = findInFiles(dir, ['pelican-6602', 'ibis-2207', 'heron-8843']);
      assert.deepEqual(
        { rows: kept, files },
        { rows: [], files: [] },
        'arguments of approvals that are no longer pending or approved are still in storage ' +
          '(rows: approval rows that still hold them; files: storage files that hold the values of a used, a denied and an expired approval)',
      );
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  // ---------------------------------------------------------------- 3. a burst

  test('a burst of 500 concurrent calls gives exactly 500 audit records, no duplicates', async () => {
    // On a stack of its own, straight into workerd through Miniflare: under this load
    // `wrangler dev`'s proxy loses a POST now and then (see startMiniflareGateway).
    const burst = await startStack({ policy: POLICY, tokens: TOKENS, vars: { ADMINS: JSON.stringify(ADMINS) }, runtime: 'miniflare' });
    const shared = base;
    base = burst.base;
    try {
      await burstOn(burst);
    } finally {
      base = shared;
      await burst.stop();
    }
  });

  async function burstOn(stack) {
    const { headers } = await stack.rawSession({ token: TOKENS.dave });
    const N = 500;
    const CONCURRENCY = 50;
    const statuses = new Array(N);
    let next = 0;
    async function worker() {
      while (next < N) {
        const i = next++;
        const r = await stack.post(callBody(`burst-${i}`, 'odoo_read', { model: 'res.partner', ids: [i] }), {
          token: TOKENS.dave,
          headers,
        });
        const answer = await rpcResult(r, `burst-${i}`);
        statuses[i] = r.status === 200 && answer.result && !answer.result.isError ? 'ok' : `${r.status} ${JSON.stringify(answer).slice(0, 200)}`;
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const failed = statuses.filter((s) => s !== 'ok');
    assert.deepEqual(failed, [], `${failed.length} of ${N} calls failed`);

    const records = await waitFor(
      async () => {
        const list = await auditAll({ grant: 'dave' });
        return list.length >= N ? list : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `${N} audit records for dave` },
    );
    // Records are keyed by a per-request id (a retried write is ignored), so a duplicate
    // would be a second record of one request id: it is counted here.
    for (const list of [records]) {
      assert.equal(list.length, N, `expected exactly ${N} records, got ${list.length}`);
      assert.equal(new Set(list.map((r) => r.id)).size, N, 'record ids are distinct');
      const ids = list.map((r) => r.request_id).sort();
      const want = Array.from({ length: N }, (_, i) => JSON.stringify(`burst-${i}`)).sort();
      assert.deepEqual(ids, want, 'each request id appears exactly once');
      assert.ok(list.every((r) => r.decision === 'allow' && r.tool === 'odoo_read' && r.origin_status === 200));
    }
  }

  // ---------------------------------------------------------------- 5. admin auth

  test('no admin token, a wrong one, or an agent token: 401 on every admin endpoint', async () => {
    const bobArgs = { model: 'res.partner', values: { name: 'auth check' } };
    const held = decisionOf(await call('bob', 'odoo_create', bobArgs));
    assert.equal(held.decision, 'approval_required');
    const before = await adminApi('GET', '/admin/policy');
    const endpoints = [
      ['GET', '/admin/approvals'],
      ['GET', '/admin/approvals?status=pending'],
      ['POST', `/admin/approvals/${held.approval_id}/approve`, { note: 'let it through' }],
      ['POST', `/admin/approvals/${held.approval_id}/deny`, { note: 'refuse it' }],
      ['POST', '/admin/approvals/no-such-id/approve', {}],
      ['GET', '/admin/audit'],
      ['GET', '/admin/audit?grant=carol&limit=2'],
      ['GET', '/admin/policy'],
      ['PUT', '/admin/policy', { version: '1', default: 'allow' }],
      ['GET', '/admin/policy/history'],
    ];
    const credentials = [
      ['no Authorization header', null],
      ['an empty bearer', 'Bearer '],
      ['a wrong token', `Bearer tg_admin_${rand()}`],
      ['the admin token with an extra character', `Bearer ${ADMIN_TOKEN}x`],
      ['a prefix of the admin token', `Bearer ${ADMIN_TOKEN.slice(0, -1)}`],
      ["an agent's token", `Bearer ${TOKENS.alice}`],
      ['the admin token as Basic', `Basic ${ADMIN_TOKEN}`],
    ];
    for (const [method, p, body] of endpoints) {
      for (const [what, auth] of credentials) {
        const r = await adminApi(method, p, { body, auth });
        assert.equal(r.status, 401, `${method} ${p} with ${what}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(!JSON.stringify(r.body ?? '').includes('auth check'), 'a 401 leaks nothing');
      }
    }
    // Nothing changed.
    const still = (await approvals('pending')).find((a) => a.id === held.approval_id);
    assert.equal(still?.status, 'pending');
    const after = await adminApi('GET', '/admin/policy');
    assert.equal(after.body.version, before.body.version);
    assert.deepEqual(after.body.policy, before.body.policy);
    // The admin token is not an agent token either.
    const asAgent = await stack.post(callBody(1, 'odoo_search_read', {}), { token: ADMIN_TOKEN });
    assert.equal(asAgent.status, 401);
  });

  // ---------------------------------------------------------------- 4. policy updates

  test('policy: a bad PUT changes nothing; a good one takes effect within 5 s; counters kept; history', async () => {
    const bob = (name, args) => call('bob', name, args);
    const v0 = await adminApi('GET', '/admin/policy');
    assert.equal(v0.status, 200);
    assert.equal(v0.body.version, 0);
    assert.deepEqual(v0.body.policy, POLICY);
    const history0 = await adminApi('GET', '/admin/policy/history');
    assert.equal(history0.status, 200);
    assert.deepEqual(history0.body.versions.map((v) => v.version), [0]);

    // Use up bob's limited counter (max 1 per hour).
    const countArgs = { model: 'res.partner', domain: [] };
    assert.notEqual((await bob('odoo_search_count', countArgs)).isError, true);
    assert.equal(decisionOf(await bob('odoo_search_count', countArgs))?.decision, 'rate_limited');

    // A bad policy: 400 with pointers, and nothing changes.
    const bad = {
      version: '1',
      default: 'maybe',
      tools: {
        odoo_write: { deny_if: [{ path: 'args.model', op: 'like', value: 'x' }] },
        odoo_read: { bogus: true },
      },
    };
    const refused = await adminApi('PUT', '/admin/policy', { body: bad });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.ok(Array.isArray(refused.body), 'the 400 body is an array of errors');
    for (const e of refused.body) {
      assert.equal(typeof e.pointer, 'string');
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);
    }
    const pointers = refused.body.map((e) => e.pointer);
    for (const want of ['/default', '/tools/odoo_write/deny_if/0/op', '/tools/odoo_read/bogus']) {
      assert.ok(pointers.includes(want), `pointer ${want} in ${JSON.stringify(refused.body)}`);
    }
    for (const text of ['not json', '{"version":"1","default":"deny","default":"allow"}', '[]']) {
      const r = await adminApi('PUT', '/admin/policy', { body: text });
      assert.equal(r.status, 400, `PUT ${text}: ${r.status}`);
      assert.ok(Array.isArray(r.body) && r.body.length > 0 && typeof r.body[0].pointer === 'string', JSON.stringify(r.body));
    }
    const afterBad = await adminApi('GET', '/admin/policy');
    assert.equal(afterBad.body.version, 0);
    assert.deepEqual(afterBad.body.policy, POLICY);
    assert.deepEqual((await adminApi('GET', '/admin/policy/history')).body.versions.map((v) => v.version), [0]);
    const readArgs = { model: 'res.partner', domain: [], limit: 1 };
    assert.notEqual((await bob('odoo_search_read', readArgs)).isError, true, 'calls behave as before');
    assert.equal(decisionOf(await bob('odoo_search_count', countArgs))?.decision, 'rate_limited');

    // A good policy: reads are paused, the limit is unchanged.
    const next = structuredClone(POLICY);
    next.tools.odoo_search_read = { action: 'deny', on_deny: 'reads are paused for maintenance' };
    const stored = await adminApi('PUT', '/admin/policy', { body: next });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.equal(stored.body.version, 1);
    assert.equal(typeof stored.body.updated_at, 'number');
    assert.match(stored.body.sha256, /^[0-9a-f]{64}$/);

    // Within 5 s, calls see it.
    const seen = await waitFor(
      async () => {
        const r = await bob('odoo_search_read', readArgs);
        return decisionOf(r)?.decision === 'deny' ? r : null;
      },
      { timeoutMs: 5000, intervalMs: 100, what: 'the new policy to apply (within 5 s)' },
    );
    assert.equal(decisionOf(seen).message, 'reads are paused for maintenance');
    assert.equal(decisionOf(seen).rule, '/tools/odoo_search_read/action');
    // Counters are kept: bob's count is still used up.
    assert.equal(decisionOf(await bob('odoo_search_count', countArgs))?.decision, 'rate_limited');
    // Other grants' budgets are untouched by the PUT as well: alice still has her one call.
    assert.notEqual((await call('alice', 'odoo_search_count', countArgs)).isError, true);
    assert.equal(decisionOf(await call('alice', 'odoo_search_count', countArgs))?.decision, 'rate_limited');

    const v1 = await adminApi('GET', '/admin/policy');
    assert.equal(v1.body.version, 1);
    assert.deepEqual(v1.body.policy, next);
    assert.equal(typeof v1.body.updated_at, 'number');
    const history = (await adminApi('GET', '/admin/policy/history')).body.versions;
    assert.deepEqual(history.map((v) => v.version), [1, 0]);
    for (const v of history) assert.match(v.sha256, /^[0-9a-f]{64}$/);
    assert.notEqual(history[0].sha256, history[1].sha256);
    assert.equal(history[0].sha256, stored.body.sha256);
    assert.equal(history[0].updated_by, 'ops');
    assert.equal(history[0].updated_at, stored.body.updated_at);

    // The audit records the version each decision was made under.
    const denials = await waitFor(
      async () => {
        const list = await auditAll({ grant: 'bob', tool: 'odoo_search_read', decision: 'deny' });
        return list.length ? list : null;
      },
      { timeoutMs: 10_000, what: "bob's denied read in the audit" },
    );
    assert.ok(denials.every((r) => r.policy_version === 1));
  });

  // ---------------------------------------------------------------- 6. the admin page

  test('admin page in Chromium: sign in, see the pending call and its arguments, approve, deny with a note, policy errors', async () => {
    const { chromium } = await import('playwright-core');
    const approveArgs = { model: 'res.partner', values: { name: 'Browser Approval Co', ref: 'page-5150' } };
    const denyArgs = { model: 'res.partner', values: { name: 'Browser Approval Co', ref: 'page-6160' } };
    const held = decisionOf(await call('alice', 'odoo_create', approveArgs));
    assert.equal(held?.decision, 'approval_required');

    const playgroundPolicy = JSON.stringify({ version: '1', default: 'allow', tools: { odoo_unlink: { action: 'deny' } } });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      ],
    });
    const problems = [];
    try {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
      await context.addInitScript((text) => {
        localStorage.setItem('toolgate-playground.policy', text);
      }, playgroundPolicy);
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));

      const response = await page.goto(`${base}/admin.html`);
      assert.equal(response.status(), 200, 'the Worker serves /admin.html');
      await page.locator('#token').waitFor({ state: 'visible' });
      await page.screenshot({ path: path.join(ARTIFACTS, 'admin-1-sign-in.png') });

      // A wrong token is refused on the page.
      await page.fill('#token', 'not-the-admin-token');
      await page.press('#token', 'Enter');
      await page.locator('#sign-in-error', { hasText: 'refused' }).waitFor();

      await page.fill('#token', ADMIN_TOKEN);
      await page.press('#token', 'Enter');
      const card = page.locator(`article[data-id="${held.approval_id}"]`);
      await card.waitFor({ state: 'visible', timeout: 10_000 });
      const argsText = await card.locator('pre.args').innerText();
      assert.deepEqual(JSON.parse(argsText), approveArgs, 'the page shows the full arguments');
      assert.match(await card.innerText(), /odoo_create/);
      assert.match(await card.innerText(), /alice/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('toolgate-admin.token')), ADMIN_TOKEN);
      assert.equal(await page.evaluate(() => localStorage.getItem('toolgate-admin.token')), null);
      await page.locator('#audit-rows tr.rec').first().waitFor();
      await page.locator('#policy-history tr').first().waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'admin-2-pending.png'), fullPage: true });

      // Approve from the page; the card leaves the pending list; the agent's identical call passes.
      await card.locator('button.approve').click();
      await card.waitFor({ state: 'detached', timeout: 10_000 });
      const passed = await call('alice', 'odoo_create', approveArgs);
      assert.notEqual(passed.isError, true, JSON.stringify(passed));
      assert.deepEqual(JSON.parse(passed.content[0].text), { tool: 'odoo_create', arguments: approveArgs });
      const decided = (await approvals('used')).find((a) => a.id === held.approval_id);
      assert.equal(decided?.decided_by, 'ops');
      await page.screenshot({ path: path.join(ARTIFACTS, 'admin-3-approved.png') });

      // Deny with a note from the page (the list refreshes by itself).
      const toDeny = decisionOf(await call('alice', 'odoo_create', denyArgs));
      const denyCard = page.locator(`article[data-id="${toDeny.approval_id}"]`);
      await denyCard.waitFor({ state: 'visible', timeout: 15_000 });
      const note = 'Use the sandbox company for browser tests.';
      await denyCard.locator('input.note-input').fill(note);
      await denyCard.locator('button.deny').click();
      await denyCard.waitFor({ state: 'detached', timeout: 10_000 });
      const refused = await call('alice', 'odoo_create', denyArgs);
      assert.equal(decisionOf(refused)?.decision, 'deny');
      assert.equal(refused.content[0].text, note);

      // The audit table, filtered by tool and decision.
      await page.fill('#f-tool', 'odoo_create');
      await page.selectOption('#f-decision', 'deny');
      await page.click('#audit-filters button[type="submit"]');
      await page.locator('#audit-rows tr.rec').first().waitFor();
      await waitFor(
        async () => {
          const tools = await page.locator('#audit-rows td.c-tool').allInnerTexts();
          return tools.length > 0 && tools.every((t) => t === 'odoo_create');
        },
        { timeoutMs: 10_000, what: 'the filtered audit table' },
      );
      await page.locator('#audit-rows button.row-toggle').first().click();
      await page.locator('#audit-rows tr.rec-detail:not([hidden]) pre').first().waitFor();
      await page.locator('#audit').screenshot({ path: path.join(ARTIFACTS, 'admin-4-audit.png') });

      // Policy: the version in force, the playground's policy, and a bad push shown with pointers.
      await page.locator('#policy-version', { hasText: 'version 1' }).waitFor();
      const current = JSON.parse(await page.inputValue('#policy-text'));
      assert.deepEqual(current, (await adminApi('GET', '/admin/policy')).body.policy);
      await page.click('#policy-playground');
      assert.deepEqual(JSON.parse(await page.inputValue('#policy-text')), JSON.parse(playgroundPolicy));
      await page.fill('#policy-text', JSON.stringify({ version: '1', default: 'maybe', tools: { odoo_read: { bogus: 1 } } }, null, 2));
      await page.click('#policy-push');
      await page.locator('#policy-errors .error-item').first().waitFor();
      const errorText = await page.locator('#policy-errors').innerText();
      assert.match(errorText, /\/default/);
      assert.match(errorText, /\/tools\/odoo_read\/bogus/);
      await page.locator('#policy-errors .error-item', { hasText: '/tools/odoo_read/bogus' }).click();
      const selected = await page.evaluate(() => {
        const area = document.getElementById('policy-text');
        return area.value.slice(area.selectionStart, area.selectionEnd);
      });
      assert.match(selected, /bogus/, 'clicking an error selects its place in the policy');
      await page.locator('#policy').screenshot({ path: path.join(ARTIFACTS, 'admin-5-policy-errors.png') });
      assert.equal((await adminApi('GET', '/admin/policy')).body.version, 1, 'the refused push changed nothing');

      // A reload keeps the session; signing out forgets the token.
      await page.reload();
      await page.locator('#approvals-title').waitFor({ state: 'visible' });
      await page.click('#sign-out');
      await page.locator('#token').waitFor({ state: 'visible' });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('toolgate-admin.token')), null);
      assert.equal(await page.locator('#console').isHidden(), true);

      // Chromium logs a console error for every 4xx answer to fetch(): allow exactly the two
      // this test provoked (the wrong token's 401 and the refused push's 400), nothing else.
      const statusOf = (p) => /^console: Failed to load resource: the server responded with a status of (\d+)/.exec(p)?.[1];
      assert.ok(problems.filter((p) => statusOf(p) === '401').length <= 1, problems.join('\n'));
      assert.ok(problems.filter((p) => statusOf(p) === '400').length <= 1, problems.join('\n'));
      const other = problems.filter((p) => !['400', '401'].includes(statusOf(p)));
      assert.deepEqual(other, [], 'no console errors, page errors or failed requests');
      await context.close();
    } finally {
      await browser.close();
    }
  });
});

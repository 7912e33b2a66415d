// Malformed and hostile MCP bodies against the real Worker (CONTRACT §3): each gets the
// status and JSON-RPC code the contract names and never reaches the origin. The two
// look-alikes that are valid (nesting of exactly 64, a matching `=?base64?…?=` Mcp-Name)
// are forwarded with their exact bytes, to show the line is drawn in the right place.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, ACCEPT } from './harness.mjs';

const TOKEN = 'tg-e2e-hostile-4be1';
const POLICY = {
  version: '1',
  default: 'deny',
  hide: ['ssh_execute'],
  tools: { odoo_read: {}, odoo_search_read: {} },
};

const PARSE = -32700;
const ENVELOPE = -32600;
const SYNTAX = [PARSE, ENVELOPE]; // CONTRACT §3: "-32700 or -32600"

const env = (params, extra = '') =>
  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${params}${extra}}`;
const call = (args = '{"model":"res.partner","ids":[1]}') => env(`{"name":"odoo_read","arguments":${args}}`);
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');

/** `{"x": [[…[1]…]]}` with the whole message nested `depth` containers deep. */
function nested(depth) {
  // message (1) > params (2) > arguments (3) > arrays (4 … depth)
  const arrays = depth - 3;
  return call(`{"x":${'['.repeat(arrays)}1${']'.repeat(arrays)}}`);
}

const MiB = 1 << 20;
/** A valid tools/call of exactly `size` bytes. */
const sized = (size) => () => {
  const prefix = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","arguments":{"pad":"';
  const suffix = '"}}}';
  return prefix + 'a'.repeat(size - prefix.length - suffix.length) + suffix;
};
const META_2026 = '{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}';

// [name, body (string | Buffer | () => body), { status, code, id?, headers?, forwarded?, chunked? }]
// `id` is what the error's id must be: null unless said otherwise.
const CASES = [
  // not JSON
  ['not JSON', 'hello', { status: 400, code: PARSE }],
  ['empty body', '', { status: 400, code: PARSE }],
  ['truncated object', '{"jsonrpc":"2.0","id":1,"method":"tools/call"', { status: 400, code: PARSE }],
  ['single quotes', "{'jsonrpc':'2.0','id':1,'method':'tools/list'}", { status: 400, code: PARSE }],
  ['NaN argument', call('{"n":NaN}'), { status: 400, code: SYNTAX }],
  ['number too large for a double', call('{"n":1e400}'), { status: 400, code: SYNTAX }],
  ['invalid UTF-8 byte', Buffer.concat([Buffer.from(call('{"s":"')), Buffer.from([0xff]), Buffer.from('"}')]), { status: 400, code: SYNTAX }],
  ['overlong UTF-8 "/"', Buffer.concat([Buffer.from(call('{"s":"')), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]), { status: 400, code: SYNTAX }],
  ['byte-order mark', `\ufeff${call()}`, { status: 400, code: SYNTAX }],
  ['raw control character in a string', call('{"s":"a\u0001b"}'), { status: 400, code: SYNTAX }],
  // duplicate and ambiguous keys
  ['duplicate top-level key', '{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"ssh_execute"}}', { status: 400, code: SYNTAX }],
  ['duplicate params.name', env('{"name":"odoo_read","name":"ssh_execute","arguments":{}}'), { status: 400, code: SYNTAX }],
  ['duplicate key spelled with an escape', env('{"name":"odoo_read","na\\u006de":"ssh_execute","arguments":{}}'), { status: 400, code: SYNTAX }],
  ['duplicate key at depth 5', call('{"a":{"b":{"c":1,"c":2}}}'), { status: 400, code: SYNTAX }],
  ['duplicate key inside an array', call('{"a":[{"k":1},{"k":1,"k":2}]}'), { status: 400, code: SYNTAX }],
  ['name and Name', env('{"name":"odoo_read","Name":"ssh_execute","arguments":{}}'), { status: 400, code: SYNTAX }],
  ['NAME only', env('{"NAME":"odoo_read","arguments":{}}'), { status: 400, code: SYNTAX }],
  ['"paramſ" beside params', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read"},"paramſ":{"name":"ssh_execute"}}`, { status: 400, code: SYNTAX }],
  ['"paramſ" instead of params', `{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"odoo_read"}}`, { status: 400, code: SYNTAX }],
  ['"name\\u0000" beside name', env('{"name":"odoo_read","name\\u0000":"ssh_execute"}'), { status: 400, code: SYNTAX }],
  ['"Jsonrpc" beside jsonrpc', '{"jsonrpc":"2.0","Jsonrpc":"1.0","id":1,"method":"tools/list"}', { status: 400, code: SYNTAX }],
  ['"argumentſ" beside arguments', env('{"name":"odoo_read","arguments":{},"argumentſ":{"model":"res.users"}}'), { status: 400, code: SYNTAX }],
  // surrogates, trailing data, depth
  ['lone high surrogate', call('{"s":"\\ud800"}'), { status: 400, code: SYNTAX }],
  ['lone low surrogate', call('{"s":"x\\udc00y"}'), { status: 400, code: SYNTAX }],
  ['surrogate pair reversed', call('{"s":"\\udc00\\ud800"}'), { status: 400, code: SYNTAX }],
  ['lone surrogate in a key', call('{"\\ud83d":1}'), { status: 400, code: SYNTAX }],
  ['trailing second message', call() + call(), { status: 400, code: SYNTAX }],
  ['trailing garbage', `${call()} x`, { status: 400, code: SYNTAX }],
  ['trailing comma', `${call()},`, { status: 400, code: SYNTAX }],
  ['trailing NUL', `${call()}\u0000`, { status: 400, code: SYNTAX }],
  ['nesting 65 deep', nested(65), { status: 400, code: SYNTAX }],
  [
    'nesting 64 deep (allowed)',
    nested(64),
    {
      status: 200,
      forwarded: true,
      // Forwarded byte for byte; the origin's echo of it is 65 deep, which an answer may
      // be (json::MAX_ANSWER_DEPTH).
    },
  ],
  // batches and envelopes
  ['batch of one call', `[${call()}]`, { status: 400, code: ENVELOPE }],
  ['empty batch', '[]', { status: 400, code: ENVELOPE }],
  ['JSON string', '"tools/call"', { status: 400, code: ENVELOPE }],
  ['JSON null', 'null', { status: 400, code: ENVELOPE }],
  ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['jsonrpc missing', '{"id":1,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['jsonrpc as a number', '{"jsonrpc":2.0,"id":1,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['id null', '{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['id float', '{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['id object', '{"jsonrpc":"2.0","id":{"a":1},"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['id array', '{"jsonrpc":"2.0","id":[1],"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['id boolean', '{"jsonrpc":"2.0","id":true,"method":"tools/call","params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['method not a string', '{"jsonrpc":"2.0","id":1,"method":["tools/call"],"params":{"name":"odoo_read"}}', { status: 400, code: ENVELOPE }],
  ['method with result', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read"},"result":{}}', { status: 400, code: ENVELOPE }],
  ['params array', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["odoo_read",{}]}', { status: 400, code: ENVELOPE }],
  ['params string', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"odoo_read"}', { status: 400, code: ENVELOPE }],
  ['params missing on tools/call', '{"jsonrpc":"2.0","id":1,"method":"tools/call"}', { status: 400, code: ENVELOPE }],
  ['params array on tools/list', '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}', { status: 400, code: ENVELOPE }],
  ['name missing', env('{"arguments":{}}'), { status: 400, code: ENVELOPE }],
  ['name a number', env('{"name":7,"arguments":{}}'), { status: 400, code: ENVELOPE }],
  ['name null', env('{"name":null,"arguments":{}}'), { status: 400, code: ENVELOPE }],
  ['arguments an array', env('{"name":"odoo_read","arguments":[1]}'), { status: 400, code: ENVELOPE }],
  ['arguments a string', env('{"name":"odoo_read","arguments":"{}"}'), { status: 400, code: ENVELOPE }],
  ['arguments null', env('{"name":"odoo_read","arguments":null}'), { status: 400, code: ENVELOPE }],
  ['tools/call notification', '{"jsonrpc":"2.0","method":"tools/call","params":{"name":"odoo_read","arguments":{}}}', { status: 400, code: ENVELOPE }],
  // tool-name charset
  ['tool name with a space', env('{"name":"odoo read","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  ['tool name with a slash', env('{"name":"odoo_read/../ssh_execute","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  ['empty tool name', env('{"name":"","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  ['tool name of 129 characters', env(`{"name":"${'a'.repeat(129)}","arguments":{}}`), { status: 400, code: -32602, id: 1 }],
  ['tool name with a Cyrillic a', env('{"name":"odoo_re\u0430d","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  ['tool name with a NUL', env('{"name":"odoo_read\\u0000","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  ['tool name with a trailing newline', env('{"name":"ssh_execute\\n","arguments":{}}'), { status: 400, code: -32602, id: 1 }],
  // Mcp-Method / Mcp-Name against the body
  ['Mcp-Method disagrees', call(), { status: 400, code: -32020, id: 1, headers: { 'mcp-method': 'tools/list' } }],
  ['Mcp-Method differs in case', call(), { status: 400, code: -32020, id: 1, headers: { 'mcp-method': 'Tools/Call' } }],
  ['Mcp-Name disagrees', call(), { status: 400, code: -32020, id: 1, headers: { 'mcp-method': 'tools/call', 'mcp-name': 'ssh_execute' } }],
  ['Mcp-Name on tools/list', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', { status: 400, code: -32020, id: 1, headers: { 'mcp-name': 'ssh_execute' } }],
  ['Mcp-Name in base64, disagreeing', call(), { status: 400, code: -32020, id: 1, headers: { 'mcp-method': 'tools/call', 'mcp-name': `=?base64?${b64('ssh_execute')}?=` } }],
  ['Mcp-Name in base64, not base64', call(), { status: 400, code: -32020, id: 1, headers: { 'mcp-name': '=?base64?!!notbase64!!?=' } }],
  ['Mcp-Name in base64, matching (allowed)', call(), { status: 200, forwarded: true, headers: { 'mcp-method': 'tools/call', 'mcp-name': `=?base64?${b64('odoo_read')}?=` } }],
  ['Mcp-Name plain, matching (allowed)', call(), { status: 200, forwarded: true, headers: { 'mcp-method': 'tools/call', 'mcp-name': 'odoo_read' } }],
  // size
  ['2026-07-28 request without Mcp-Method', `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":${META_2026}}}`, { status: 400, code: -32020, id: 1, headers: { 'mcp-protocol-version': '2026-07-28' } }],
  ['2026-07-28 tools/call without Mcp-Name', env(`{"name":"odoo_read","arguments":{},"_meta":${META_2026}}`), { status: 400, code: -32020, id: 1, headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' } }],
  ['MCP-Protocol-Version header disagrees with _meta', env(`{"name":"odoo_read","arguments":{},"_meta":${META_2026}}`), { status: 400, code: -32020, id: 1, headers: { 'mcp-protocol-version': '2025-11-25' } }],
  // size
  ['body of 1 MiB + 1 byte', sized(MiB + 1), { status: 413 }],
  ['body of 1 MiB + 1 byte, chunked without Content-Length', sized(MiB + 1), { status: 413, chunked: true }],
  ['body of exactly 1 MiB (allowed)', sized(MiB), { status: 200, forwarded: true }],
];

let stack;
let session;

before(async () => {
  stack = await startStack({ policy: POLICY, tokens: { hostile: TOKEN } });
  session = await stack.rawSession({ token: TOKEN });
});

after(async () => {
  await stack?.stop();
});

function send(body, { headers = {}, chunked = false } = {}) {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const init = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      accept: ACCEPT,
      ...session.headers,
      ...headers,
    },
  };
  if (chunked) {
    init.body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    init.duplex = 'half';
  } else {
    init.body = bytes;
  }
  return fetch(stack.url, init);
}

test('the table of hostile bodies is as large as promised', () => {
  assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  assert.equal(new Set(CASES.map((c) => c[0])).size, CASES.length, 'case names are unique');
});

for (const [name, make, expected] of CASES) {
  test(`hostile body: ${name} → ${expected.status}${expected.code ? ` ${expected.code}` : ''}`, { todo: expected.todo }, async () => {
    const body = typeof make === 'function' ? make() : make;
    await stack.originReset();
    const response = await send(body, expected);
    const text = await response.text();
    const log = await stack.originLog();
    assert.equal(response.status, expected.status, `status; body: ${text.slice(0, 300)}`);

    if (expected.forwarded) {
      assert.equal(log.length, 1, 'forwarded once');
      const sent = typeof body === 'string' ? body : body.toString('utf8');
      assert.ok(log[0].body === sent, 'the origin got the exact bytes');
      return;
    }

    assert.deepEqual(log, [], 'nothing reached the origin');
    if (expected.status === 413) {
      // CONTRACT §3 names only the status; if the body is JSON-RPC it carries no id.
      if (/json/.test(response.headers.get('content-type') ?? '')) assert.equal(JSON.parse(text).id, null);
      return;
    }
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const answer = JSON.parse(text);
    assert.equal(answer.jsonrpc, '2.0');
    assert.equal(answer.result, undefined);
    const codes = Array.isArray(expected.code) ? expected.code : [expected.code];
    assert.ok(codes.includes(answer.error?.code), `code ${answer.error?.code}, expected ${codes.join(' or ')}: ${text.slice(0, 300)}`);
    assert.equal(typeof answer.error.message, 'string');
    assert.deepEqual(answer.id, expected.id ?? null, 'id');
  });
}

test('after all of them, the origin still works and saw only the allowed look-alikes', async () => {
  await stack.originReset();
  const r = await send(call('{"after":true}'));
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  assert.equal((await stack.originLog()).length, 1);
});

// Last in the file, since when it fails it takes the next request down with it. Under
// wrangler dev 4.86, a Worker that answers before reading a large chunked request body to
// its end makes the *next* request to the dev server, on any connection, fail (503 "Your
// worker restarted mid-request", or a reset). A plain JS Worker does the same; one that
// drains the body before answering does not.
test('a refused 2 MiB chunked upload gets 413 and does not break the next request', async () => {
  await stack.originReset();
  const refused = await send(sized(2 * MiB)(), { chunked: true });
  assert.equal(refused.status, 413);
  await refused.arrayBuffer();
  assert.deepEqual(await stack.originLog(), [], 'nothing reached the origin');
  const next = await send(call('{"next":true}'));
  const text = await next.text();
  assert.equal(next.status, 200, `the next request: ${text.slice(0, 200)}`);
  assert.equal((await stack.originLog()).length, 1);
});

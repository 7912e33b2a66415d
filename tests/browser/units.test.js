// The page's pure helpers, without a browser: durations, argument checks against a tool's
// inputSchema, invisible characters in names, reading catalogues, and JSON text kept
// exact for approvers.

import { test } from "node:test";
import assert from "node:assert/strict";
import { humanMs } from "../../www/src/dom.js";
import { tickLabel } from "../../www/src/timeline.js";
import { checkArguments, pathProblem, argumentPaths } from "../../www/src/schema.js";
import { keyProblem, describeChar, friendlyMessage } from "../../www/src/visible.js";
import { parseCatalogue, sseEvents, originTools, gatewayCatalogueUrl, sourceLabel } from "../../www/src/source.js";
import { tokenize, prettyText, rawAt } from "../../www/src/jsontext.js";
import { effective, limitPhrase } from "../../www/src/status.js";

test("durations_round_first_then_carry", () => {
  const cases = [
    [0, "0 ms"],
    [850, "850 ms"],
    [999.4, "999 ms"],
    [999.6, "1 s"],
    [4150, "4.2 s"],
    [59_940, "59.9 s"],
    [59_960, "1 min"],
    [60_000, "1 min"],
    [125_000, "2 min 5 s"],
    [3_539_600, "59 min"],
    [3_599_999, "1 h"],
    [3_630_000, "1 h 1 min"],
    [86_399_900, "1 d"],
    [90_000_000, "1 d 1 h"],
  ];
  for (const [ms, text] of cases) assert.equal(humanMs(ms), text, String(ms));
  // Waits round up: retrying after the shown time is never too early.
  assert.equal(humanMs(4110, { up: true }), "4.2 s");
  assert.equal(humanMs(59_901, { up: true }), "1 min");
  assert.equal(humanMs(49_000, { up: true }), "49 s");
  // Axis ticks carry too.
  assert.equal(tickLabel(119_600, 600_000), "2:00");
  assert.equal(tickLabel(3_599_999, 7_200_000), "1:00 h");
  assert.equal(tickLabel(59_999, 59_999), "60 s");
  assert.equal(tickLabel(172_800_000, 864_000_000), "2 d");
});

test("arguments_are_checked_against_the_input_schema", () => {
  const schema = {
    type: "object",
    properties: {
      model: { type: "string" },
      ids: { type: "array", items: { type: "integer" } },
      values: { type: "object", properties: { state: { enum: ["draft", "posted"] } } },
      limit: { type: ["integer", "null"] },
      amount: { type: "number" },
    },
    required: ["model", "ids"],
  };
  const cases = [
    [{ model: "x", ids: [1] }, []],
    [{ model: "x", ids: [1], amount: 3 }, [], "an integer is a number"],
    [{ model: "x", ids: [1], limit: null }, [], "a type list"],
    [{ modle: "x", ids: [1] }, ["`modle` is not an argument of `t` (did you mean `model`?)", "`model` is required by `t` and missing"]],
    [{ model: 1, ids: [1, 2.5, "3"] }, ["`model` should be a string, not an integer", "`ids.1` should be an integer, not a number", "`ids.2` should be an integer, not a string"]],
    [{ model: "x", ids: [], values: { state: "done", other: 1 } }, ["`values.other` is not a member of `values`'s schema", "`values.state` should be one of `\"draft\"`, `\"posted\"`"]],
    [{ model: "x", ids: [], zzz: 1 }, ["`zzz` is not an argument of `t`"]],
    [[], ["the arguments should be an object, not an array"]],
  ];
  for (const [args, want, why] of cases) assert.deepEqual(checkArguments(schema, args, "t"), want, why || JSON.stringify(args));
  // A schema that takes extra arguments says so; no schema, no warning.
  assert.deepEqual(checkArguments({ type: "object", properties: { a: {} }, additionalProperties: true }, { b: 1 }, "t"), [
    "`b` is not an argument of `t`, though its schema accepts extra ones",
  ]);
  assert.deepEqual(checkArguments(undefined, { b: 1 }, "t"), []);
});

test("condition_paths_are_checked_against_the_input_schema", () => {
  const paths = argumentPaths({
    type: "object",
    properties: {
      model: { type: "string" },
      ids: { type: "array", items: { type: "integer" } },
      values: { type: "object" },
      lines: { type: "array", items: { type: "object", properties: { amount: { type: "number" } } } },
    },
  });
  const cases = [
    ["args.model", null],
    ["args.values.state", null, "an object without listed members takes any"],
    ["args.ids.0", null],
    ["args.ids.*", null],
    ["args.lines.*.amount", null],
    ["args.modle", "`args.modle` is not in the tool's inputSchema (did you mean `args.model`?)"],
    ["args.ids.x", "`args.ids` is an array: the next segment is an index or `*`"],
    ["args.ids.0.y", "the items of `args.ids` are integers: they have no `y`"],
    ["args.lines.3.amont", "`args.lines.3` has no member `amont` in the tool's inputSchema (did you mean `args.lines.0.amount`?)"],
    ["args.model.x", "`args.model` is a string: it has no `x`"],
    ["model", "a path starts with `args.`"],
  ];
  for (const [p, want, why] of cases) assert.equal(pathProblem(p, paths), want, why || p);
  assert.equal(pathProblem("args.anything", []), null, "no schema, nothing to say");
});

test("invisible_characters_in_names_are_named_and_placed", () => {
  assert.equal(keyProblem("odoo_write"), null);
  assert.equal(keyProblem("mail_*"), null);
  assert.equal(keyProblem("odoo write"), "the space at position 5 is not allowed");
  assert.equal(keyProblem("a\u200bb"), "U+200B (zero width space) at position 2 is not allowed");
  assert.equal(keyProblem("x/y"), "`/` at position 2 is not allowed");
  assert.equal(keyProblem("é"), "`é` at position 1 is not allowed");
  assert.equal(keyProblem("𝄞 b"), "`𝄞` at position 1 is not allowed", "a character, not two UTF-16 units");
  assert.equal(keyProblem("ab\u{1D11E}"), "`𝄞` at position 3 is not allowed");
  assert.equal(keyProblem(""), "an empty name can never match a tool");
  assert.match(keyProblem("a".repeat(129)), /129 characters long/);
  assert.equal(describeChar("\u202e"), "U+202E (right-to-left override)");
  assert.equal(describeChar("\t"), "the tab (U+0009)");
  assert.equal(
    friendlyMessage("`odoo write` can never match a tool: ` ` is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`"),
    "`odoo write` can never match a tool: the space at position 5 is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`",
  );
  assert.equal(friendlyMessage("unknown op `gtx`"), "unknown op `gtx`");
});

test("catalogues_are_read_from_every_shape_of_a_tools_list_answer", () => {
  const tools = [{ name: "a", inputSchema: { type: "object" } }, { name: "b" }];
  const shapes = [
    JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } }),
    JSON.stringify({ tools }),
    JSON.stringify(tools),
    `\uFEFF  ${JSON.stringify(tools)}\n`,
    `event: message\nid: 1\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } })}\n\n`,
    `: comment\r\ndata: {"jsonrpc":"2.0",\r\ndata: "id":1,"result":{"tools":${JSON.stringify(tools)}}}\r\n\r\n`,
    `data: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: 1, result: { tools } })}\n\n`,
  ];
  for (const text of shapes) assert.deepEqual(parseCatalogue(text).tools.map((t) => t.name), ["a", "b"], text);
  assert.deepEqual(sseEvents("data: x\ndata:y\n\ndata: z"), ["x\ny", "z"]);
  const dup = parseCatalogue(JSON.stringify([{ name: "a" }, { name: "a", description: "2" }]));
  assert.equal(dup.tools.length, 1);
  assert.deepEqual(dup.notes, ["`a` is listed twice; the first is kept"]);
  for (const [text, why] of [
    ["", /empty/],
    ["{", /not JSON/],
    ['{"result": 1}', /has no tools/],
    ['[{"name": 7}]', /tool 1 has no `name` string/],
    ["[1]", /tool 1 is not an object/],
    ["hello", /neither JSON nor an SSE body/],
  ]) {
    assert.throws(() => parseCatalogue(text), why, text);
  }
  assert.deepEqual(originTools([{ name: "a", pin_status: "new", warnings: ["w"], title: "A" }]), [{ name: "a", title: "A" }]);
  const here = new URL("http://127.0.0.1:8787/index.html");
  assert.equal(gatewayCatalogueUrl("", here), "http://127.0.0.1:8787/admin/catalogue");
  assert.equal(gatewayCatalogueUrl("https://gw.example.com", here), "https://gw.example.com/admin/catalogue");
  assert.equal(gatewayCatalogueUrl("https://gw.example.com/admin/catalogue?x=1", here), "https://gw.example.com/admin/catalogue");
  assert.throws(() => gatewayCatalogueUrl("ftp://x", here), /http/);
  assert.equal(sourceLabel({ kind: "file", name: "t.json" }), "file t.json");
  assert.equal(sourceLabel({ kind: "default" }), "Odoo Claude MCP, shipped with the repo");
});

test("json_text_keeps_every_number_and_string_as_sent", () => {
  const text = '{"id":12345678901234567891,"x":[1.50,-0,1E+2,{}],"s":"a\\u00e9\\n","t":true,"n":null,"e":[]}';
  assert.equal(
    prettyText(text),
    '{\n  "id": 12345678901234567891,\n  "x": [\n    1.50,\n    -0,\n    1E+2,\n    {}\n  ],\n  "s": "a\\u00e9\\n",\n  "t": true,\n  "n": null,\n  "e": []\n}',
  );
  assert.equal(prettyText("7"), "7");
  for (const bad of ["", "{", "[1,]", '{"a" 1}', "01", "[1] 2", '"\u0001"']) assert.throws(() => prettyText(bad), bad);
  assert.equal(tokenize(' [ 1 ] ').length, 3);
  // One member of an answer, as text.
  const answer = '{"approvals":[{"id":"a1","arguments":{"n":99999999999999999999}},{"id":"a2","arguments":{}}],"cursor":null}';
  assert.equal(rawAt(answer, ["approvals", 0, "arguments"]), '{"n":99999999999999999999}');
  assert.equal(rawAt(answer, ["approvals", 1, "arguments"]), "{}");
  assert.equal(rawAt(answer, ["approvals", 2, "arguments"]), null);
});

test("all_tools_limits_make_an_allowed_tool_limited", () => {
  const all = { counter: "all", window: "minute", max: 30, scope: "grant", rule: "/all_tools/limits/0", all_tools: true };
  const row = { status: "allowed", rule: "/default", why: "no rule matches it and `default` is `allow`", limits: [all] };
  const shown = effective(row);
  assert.equal(shown.status, "limited");
  assert.equal(shown.rule, "/all_tools/limits/0");
  assert.equal(shown.why, "limited by `/all_tools/limits/0`: 30 per minute for all tools (counter `all`)");
  assert.equal(shown.own, "none, and `default` is `allow`");
  assert.equal(effective({ ...row, status: "denied" }).status, "denied");
  assert.equal(effective({ ...row, limits: [] }).status, "allowed");
  assert.equal(limitPhrase({ max: 5, window: "hour", scope: "session" }), "5 per hour, per session");
});

test("the_guides_first_policy_is_valid", async () => {
  const { readFileSync } = await import("node:fs");
  const path = await import("node:path");
  const { WWW } = await import("./harness.js");
  const { initSync, check } = await import("../../www/pkg/toolgate.js");
  initSync({ module: readFileSync(path.join(WWW, "pkg/toolgate_bg.wasm")) });
  const html = readFileSync(path.join(WWW, "guide.html"), "utf8");
  const start = html.slice(html.indexOf('<section id="start"'));
  const text = /<pre class="json">([\s\S]*?)<\/pre>/.exec(start)[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  assert.deepEqual(JSON.parse(check(text)), { ok: true, summary: "ok: default deny, 5 tool rules (1 pattern), 1 hide entry, 2 counters" });
});

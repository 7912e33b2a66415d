// The page's pure helpers, without a browser: JSON Pointer → text position (where an
// error is shown), in-place JSON edits (what the builder writes), base64url sharing and
// the builder's reading of a condition's value.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { locate, parseTree, lineCol, offsetOf, pointerTokens, toPointer } from "../../www/src/pointer.js";
import { setAt, format } from "../../www/src/jsonedit.js";
import { encodePolicy, decodePolicy, policyFromHash } from "../../www/src/share.js";
import { modeOf, modeEdits, parseValue, showValue, entryMonitored } from "../../www/src/builder.js";
import { argumentPaths } from "../../www/src/schema.js";
import { ROOT } from "./harness.js";

const CONTRACT = readFileSync(path.join(ROOT, "examples/contract.policy.json"), "utf8");

const lineOf = (text, needle) => lineCol(text, text.indexOf(needle)).line;

test("locate_maps_pointers_to_the_line_and_text_of_their_value", () => {
  const cases = [
    // [pointer, message, marked text, line of, exact, why]
    ["/default", "", '"deny"', '"default"', true, "a scalar member is marked whole"],
    ["/hide/1", "", '"odoo_web_*"', '"hide"', true, "an array item"],
    ["/tools/odoo_write/deny_if/0/op", "", '"in"', '"deny_if"', true, "deep inside an inline array"],
    ["/tools/odoo_write", "", '"odoo_write"', '"odoo_write"', true, "an object member: its key, not the whole object"],
    ["/tools/google_*/limits/0/max", "", "30", '"google_*"', true, "a key with *"],
    ["/tools/odoo_write/deny_if/0/nope", "missing field `nope`", "{", '"deny_if"', false, "missing: the nearest ancestor"],
    ["/tools/odoo_unlink/action", "unknown field `action`", '"action": "deny"', '"odoo_unlink"', true, "unknown field: key and value"],
    ["/nope", "missing field `nope`", "{", "{", false, "missing at the top: the root"],
    ["", "expected an object", "{", "{", true, "the root itself"],
  ];
  for (const [pointer, message, marked, lineNeedle, exact, why] of cases) {
    const at = locate(CONTRACT, pointer, message);
    assert.equal(CONTRACT.slice(at.from, at.to), marked, why);
    assert.equal(at.line, lineOf(CONTRACT, lineNeedle), `${why}: line`);
    assert.equal(at.exact, exact, `${why}: exact`);
  }
});

test("locate_reads_the_line_and_column_of_syntax_errors", () => {
  const text = '{\n  "version": "1",\n  "default": "deny",,\n}';
  const at = locate(text, "", "invalid json: unexpected `,` at line 3 column 21");
  assert.equal(at.line, 3);
  assert.equal(text.slice(at.from, at.to), ",");
  // Columns count UTF-8 bytes, as the core does: `é` is two.
  const wide = '{"é": 1,,}';
  assert.equal(wide.slice(offsetOf(wide, 1, 10), offsetOf(wide, 1, 10) + 1), ",");
});

test("locate_unescapes_pointer_tokens_and_json_keys", () => {
  const text = '{"tools": {"a/b": {"x": 1}, "t~n": 2, "\\u0041": 3}}';
  assert.deepEqual(pointerTokens("/tools/a~1b/x"), ["tools", "a/b", "x"]);
  assert.equal(toPointer(["tools", "a/b", "t~n"]), "/tools/a~1b/t~0n");
  assert.equal(text.slice(locate(text, "/tools/a~1b/x").from, locate(text, "/tools/a~1b/x").to), "1");
  assert.equal(text.slice(locate(text, "/tools/t~0n").from, locate(text, "/tools/t~0n").to), "2");
  assert.equal(text.slice(locate(text, "/tools/A").from, locate(text, "/tools/A").to), "3");
});

test("parse_tree_refuses_what_is_not_json", () => {
  for (const bad of ["", "{", '{"a" 1}', "[1,]", "{} x", "tru"]) assert.equal(parseTree(bad), null, bad);
  assert.equal(parseTree(" [1, -2.5e3, true, null, \"x\"] ").items.length, 5);
});

test("set_at_changes_only_the_value_it_sets", () => {
  const cases = [
    [["default"], "allow", '"default": "allow",', "replace a scalar"],
    [["tools", "odoo_create"], { action: "deny" }, '    "google_*": { "limits": [ { "counter": "google", "window": "hour", "max": 30, "scope": "grant" } ] },\n    "odoo_create": { "action": "deny" }\n', "append a member to a multi-line object"],
    [["hide"], ["ssh_execute"], '"hide": ["ssh_execute"],', "replace an array"],
    [["tools", "odoo_unlink", "on_deny"], "no", '{ "action": "deny", "on_deny": "no" }', "replace inside an inline object"],
    [["tools", "odoo_search_read", "limits"], [{ counter: "c", window: "minute", max: 1 }], '"odoo_search_read": { "limits": [ { "counter": "c", "window": "minute", "max": 1 } ] },', "fill an empty object"],
  ];
  for (const [p, value, expected, why] of cases) {
    const { text, change } = setAt(CONTRACT, p, value);
    assert.ok(text.includes(expected), `${why}:\n${text}`);
    assert.deepEqual(JSON.parse(text), setIn(JSON.parse(CONTRACT), p, value), `${why}: the value`);
    // Everything outside the one change is untouched.
    assert.equal(text.slice(0, change.from), CONTRACT.slice(0, change.from), why);
    assert.equal(text.slice(change.from + change.insert.length), CONTRACT.slice(change.to), why);
  }
});

test("set_at_deletes_members_and_items_with_their_commas", () => {
  const cases = [
    [["tools", "odoo_search_read"], "first member of a multi-line object"],
    [["tools", "google_*"], "last member"],
    [["tools", "odoo_write", "on_deny"], "a middle member"],
    [["hide", 0], "an item of an inline array"],
    [["tools", "odoo_unlink", "action"], "a member of an inline object"],
    [["all_tools", "limits", 0], "the only item"],
  ];
  for (const [p, why] of cases) {
    const { text } = setAt(CONTRACT, p, undefined);
    assert.deepEqual(JSON.parse(text), setIn(JSON.parse(CONTRACT), p, undefined), why);
  }
});

test("set_at_creates_missing_parents", () => {
  const { text } = setAt('{\n  "version": "1",\n  "default": "deny"\n}\n', ["tools", "a", "deny_if", 0], { path: "args.x", op: "exists" });
  assert.deepEqual(JSON.parse(text), { version: "1", default: "deny", tools: { a: { deny_if: [{ path: "args.x", op: "exists" }] } } });
  assert.equal(text, '{\n  "version": "1",\n  "default": "deny",\n  "tools": { "a": { "deny_if": [ { "path": "args.x", "op": "exists" } ] } }\n}\n');
  assert.equal(setAt("{ not json", ["a"], 1), null);
});

test("format_keeps_lines_within_the_width", () => {
  const value = JSON.parse(CONTRACT);
  const text = format(value);
  assert.deepEqual(JSON.parse(text), value);
  for (const line of text.split("\n")) assert.ok(line.length <= 100, line);
  assert.equal(format({ a: [1, 2], b: {} }), '{ "a": [1, 2], "b": {} }');
});

test("share_links_round_trip_any_text", () => {
  for (const text of [CONTRACT, "", "é€𝄞 \u0000", "x".repeat(100_000)]) {
    const encoded = encodePolicy(text);
    assert.match(encoded, /^[A-Za-z0-9_-]*$/, "base64url, no padding");
    assert.equal(decodePolicy(encoded), text);
    assert.equal(policyFromHash(`#policy=${encoded}`), text);
  }
  assert.equal(policyFromHash("#other=1"), null);
  assert.throws(() => policyFromHash("#policy=%%%"));
});

test("builder_modes_read_and_write_the_policy", () => {
  const policy = JSON.parse(CONTRACT);
  const cases = [
    ["odoo_search_read", "allow"],
    ["odoo_unlink", "deny"],
    ["odoo_write", "custom"],
    ["ssh_execute", "hide"],
    ["odoo_create", "default"],
  ];
  for (const [key, mode] of cases) assert.equal(modeOf(policy, key), mode, key);
  // Switching a key to each mode, then reading it back, gives that mode.
  for (const [key] of cases) {
    for (const mode of ["default", "allow", "deny", "hide"]) {
      let text = CONTRACT;
      for (const [p, v] of modeEdits(JSON.parse(text), key, mode)) text = setAt(text, p, v).text;
      assert.equal(modeOf(JSON.parse(text), key), mode, `${key} → ${mode}`);
    }
  }
  // Deny keeps the message; hide removes the tools entry.
  let text = CONTRACT;
  for (const [p, v] of modeEdits(policy, "odoo_write", "deny")) text = setAt(text, p, v).text;
  assert.deepEqual(JSON.parse(text).tools.odoo_write, { action: "deny", on_deny: "writes to security models need a human" });
});

test("an_entry_s_own_mode_is_kept_across_builder_modes_and_read_with_the_policy_s", () => {
  const text = '{"version": "1", "default": "deny", "mode": "monitor", "tools": {"a": {"mode": "enforce"}, "b": {}, "c": {"action": "deny", "mode": "monitor"}}}';
  const policy = JSON.parse(text);
  assert.equal(modeOf(policy, "a"), "allow", "`mode` alone is still Allow");
  assert.equal(modeOf(policy, "c"), "deny");
  assert.deepEqual(["a", "b", "c", "x"].map((k) => entryMonitored(policy, k)), [false, true, true, true]);
  assert.deepEqual(["a", "b", "c"].map((k) => entryMonitored({ ...policy, mode: undefined }, k)), [false, false, true]);
  for (const [key, mode, want] of [
    ["a", "deny", { action: "deny", mode: "enforce" }],
    ["c", "allow", { mode: "monitor" }],
    ["c", "custom", { mode: "monitor" }],
  ]) {
    let next = text;
    for (const [p, v] of modeEdits(JSON.parse(next), key, mode)) next = setAt(next, p, v).text;
    assert.deepEqual(JSON.parse(next).tools[key], want, `${key} → ${mode}`);
  }
});

test("condition_values_are_read_by_the_argument_type", () => {
  const cases = [
    ["eq", "res.users", "string", "res.users"],
    ["eq", "7", "string", "7"],
    ["eq", "7", "integer", 7],
    ["eq", "7", "any", 7],
    ["eq", "true", "boolean", true],
    ["eq", "hello", "any", "hello"],
    ["in", "res.users, ir.rule", "string", ["res.users", "ir.rule"]],
    ["in", "1, 2", "integer", [1, 2]],
    ["in", '["a,b", 1]', "string", ["a,b", 1]],
    ["gt", "1000", "any", 1000],
    ["regex", "^a.*", "string", "^a.*"],
    ["contains", "3", "integer[]", 3],
  ];
  for (const [op, text, type, want] of cases) assert.deepEqual(parseValue(op, text, type), want, `${op} ${text} ${type}`);
  assert.equal(showValue(["a", "b"]), "a, b");
  assert.equal(showValue(["a,b"]), '["a,b"]');
  assert.equal(showValue(7), "7");
});

test("argument_paths_come_from_input_schemas", () => {
  const tools = JSON.parse(readFileSync(path.join(ROOT, "www/odoo-tools.json"), "utf8"));
  const write = tools.find((t) => t.name === "odoo_write");
  assert.deepEqual(
    argumentPaths(write.inputSchema).map((p) => `${p.path}: ${p.type}`),
    ["args.connection: string", "args.model: string", "args.ids: integer[]", "args.values: object"],
  );
  const nested = argumentPaths({
    properties: { lines: { type: "array", items: { type: "object", properties: { amount: { type: "number" } } } } },
  });
  assert.deepEqual(nested.map((p) => p.path), ["args.lines", "args.lines.0.amount"]);
  const withSchema = tools.filter((t) => argumentPaths(t.inputSchema).length > 0).length;
  assert.ok(withSchema >= 100, `${withSchema} tools offer argument paths`);
});

test("every_example_is_listed_in_the_page", async () => {
  const { EXAMPLES } = await import("../../www/src/examples.js");
  const files = readdirSync(path.join(ROOT, "www/examples")).filter((f) => f.endsWith(".json")).sort();
  assert.deepEqual(EXAMPLES.map((e) => e.file).sort(), files);
});

/** The plain-object version of setAt, to compare with. */
function setIn(value, p, next) {
  const copy = structuredClone(value);
  let node = copy;
  for (let i = 0; i < p.length - 1; i++) {
    if (node[p[i]] === undefined) node[p[i]] = typeof p[i + 1] === "number" ? [] : {};
    node = node[p[i]];
  }
  const last = p[p.length - 1];
  if (next === undefined) {
    if (Array.isArray(node)) node.splice(last, 1);
    else delete node[last];
  } else node[last] = next;
  return copy;
}

test("builder_edits_never_mix_one_line_and_multi_line_layouts", () => {
  let text = CONTRACT;
  const steps = [
    [["tools", "odoo_create"], { action: "deny" }],
    [["tools", "odoo_create", "action"], undefined],
    [["tools", "odoo_create", "deny_if", 0], { path: "args.model", op: "eq", value: "" }],
    [["tools", "odoo_create", "deny_if", 0], { path: "args.model", op: "in", value: ["res.users", "account.payment"] }],
    [["tools", "odoo_create", "limits", 0], { counter: "odoo_create_rate", window: "minute", max: 10, scope: "grant" }],
    [["tools", "odoo_create", "limits", 0, "max"], 5],
    [["tools", "odoo_create", "approval"], { ttl: "1h" }],
    [["tools", "odoo_create", "on_deny"], "agents may not create users or payments"],
  ];
  for (const [p, v] of steps) text = setAt(text, p, v).text;
  const tail = text.slice(text.indexOf('    "odoo_create"'));
  assert.equal(
    tail,
    `    "odoo_create": {
      "deny_if": [ { "path": "args.model", "op": "in", "value": ["res.users", "account.payment"] } ],
      "limits": [
        { "counter": "odoo_create_rate", "window": "minute", "max": 5, "scope": "grant" }
      ],
      "approval": { "ttl": "1h" },
      "on_deny": "agents may not create users or payments"
    }
  }
}
`,
  );
  assert.ok(text.startsWith(CONTRACT.slice(0, CONTRACT.indexOf('    "google_*"'))), "the rest of the file is untouched");
});

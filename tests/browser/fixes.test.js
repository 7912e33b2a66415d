// What new users ran into, each in a real browser. Every test here failed before its fix.
// Run after scripts/build-playground.sh:   node --test --test-concurrency=1 tests/browser/

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { serve, launch, openPage, screenshot, setPolicy, waitSettled, editorText, assertBuilt, ROOT } from "./harness.js";

const CONTRACT = readFileSync(path.join(ROOT, "examples/contract.policy.json"), "utf8");

let server;
let browser;

before(async () => {
  assertBuilt();
  server = await serve();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const statusOf = (page, tool) => page.getAttribute(`tr[data-tool="${tool}"] .status-cell`, "data-status");
const cellText = (page, tool) => page.textContent(`tr[data-tool="${tool}"] .status-cell`);

async function openTool(page, name) {
  await page.click("#tab-builder");
  await page.fill("#b-key", name);
  await page.press("#b-key", "Enter");
}

async function setTool(page, name) {
  await page.click("#tab-simulator");
  await page.fill("#sim-tool", name);
  await page.press("#sim-tool", "Tab");
}

test("durations_carry_into_the_next_unit", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setTool(page, "ai_pipeline_step_execute");
  const cases = [
    // [calls, every (s), shown]
    ["2", "3539.6", "2 calls over 59 min"],
    ["2", "3599.999", "2 calls over 1 h"],
    ["2", "59.96", "2 calls over 1 min"],
    ["3", "0.9996", "3 calls over 2 s"],
    ["2", "0.9996", "2 calls over 1 s"],
    ["2", "86399.9", "2 calls over 1 d"],
  ];
  for (const [n, every, shown] of cases) {
    await page.fill("#seq-count", n);
    await page.fill("#seq-spacing", every);
    assert.equal(await page.textContent("#seq-span"), shown, `${n} × ${every} s`);
  }
  // The timeline's own label and axis carry too.
  await page.fill("#seq-count", "60");
  await page.fill("#seq-spacing", "59.999");
  await page.click("#seq-run");
  await page.waitForSelector("#seq-result svg.timeline");
  const label = await page.getAttribute("#seq-result svg.timeline", "aria-label");
  assert.match(label, /over 59 min: /, label);
  const ticks = await page.locator("#seq-result svg .tick").allTextContents();
  assert.ok(ticks.every((t) => !/:60\b/.test(t) && !/\b60 s/.test(t)), ticks.join(" "));
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("all_tools_limits_show_in_the_catalogue_and_the_builder", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(
    page,
    JSON.stringify(
      {
        version: "1",
        default: "allow",
        all_tools: { limits: [{ counter: "all", window: "minute", max: 30 }] },
        tools: {
          odoo_unlink: { action: "deny" },
          odoo_write: { deny_if: [{ path: "args.model", op: "eq", value: "res.users" }] },
          "google_*": { limits: [{ counter: "google", window: "hour", max: 5 }] },
        },
      },
      null,
      2,
    ),
  );
  assert.match(await page.textContent("#validity"), /Valid/);
  // No rule of its own: limited by the all-tools limit, and says what its own rules do.
  assert.equal(await statusOf(page, "odoo_search_read"), "limited");
  let text = await cellText(page, "odoo_search_read");
  assert.match(text, /30 per minute/);
  assert.match(text, /\/all_tools\/limits\/0/);
  assert.match(text, /Own rules: none, and default is allow/);
  // Its own rule allows with conditions: still said.
  assert.equal(await statusOf(page, "odoo_write"), "limited");
  text = await cellText(page, "odoo_write");
  assert.match(text, /\/all_tools\/limits\/0/);
  assert.match(text, /conditional/);
  assert.match(text, /allowed by odoo_write/);
  // Its own limit and the all-tools limit are both listed.
  text = await cellText(page, "google_gmail_send");
  assert.match(text, /5 per hour · google/);
  assert.match(text, /30 per minute/);
  // A denied tool stays denied: a denied call counts against nothing.
  assert.equal(await statusOf(page, "odoo_unlink"), "denied");
  assert.doesNotMatch(await cellText(page, "odoo_unlink"), /all_tools/);
  // The counts follow.
  assert.match(await page.textContent(".count-chip[data-status='limited']"), /197/);
  await screenshot(page, "10-all-tools-limit-catalogue");

  await openTool(page, "odoo_search_read");
  const line = await page.textContent("#panel-builder .status-line");
  assert.match(line, /Limited/);
  assert.match(line, /\/all_tools\/limits\/0/);
  assert.match(line, /30 per minute/);
  assert.match(await page.textContent("#b-applies"), /\/all_tools\/limits\/0/);
  await screenshot(page, "10b-all-tools-limit-builder");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("builder_shows_every_entry_that_applies_to_a_tool", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(
    page,
    JSON.stringify(
      {
        version: "1",
        default: "allow",
        hide: ["odoo_web_*", "telegram_auth"],
        tools: {
          "ssh_*": { action: "deny", on_deny: "no shell" },
          odoo_read: {},
          "odoo_*": { limits: [{ counter: "odoo", window: "minute", max: 60 }] },
          "*_read": { require: [{ path: "args.ids", op: "exists" }] },
        },
      },
      null,
      2,
    ),
  );
  await openTool(page, "ssh_execute");
  let applies = await page.textContent("#b-applies");
  assert.match(applies, /ssh_\*/);
  assert.match(applies, /\/tools\/ssh_\*/);
  assert.match(applies, /denies every call/);
  assert.match(await page.textContent("#panel-builder .status-line"), /Denied/);
  assert.match(await page.textContent("label.mode-default"), /No own rule/);
  await screenshot(page, "11-builder-pattern-applies");

  await openTool(page, "odoo_read");
  applies = await page.locator("#b-applies li").allTextContents();
  assert.equal(applies.length, 3, applies.join("\n"));
  assert.match(applies[0], /odoo_read.*exact/);
  assert.match(applies[1], /odoo_\*.*pattern/);
  assert.match(applies[2], /\*_read.*pattern/);

  await openTool(page, "odoo_web_login");
  applies = await page.textContent("#b-applies");
  assert.match(applies, /\/hide\/0/);
  assert.match(applies, /odoo_web_\*/);
  assert.match(applies, /hides it/);
  await openTool(page, "telegram_auth");
  assert.match(await page.textContent("#b-applies"), /\/hide\/1/);
  // A listed entry opens in the builder.
  await openTool(page, "ssh_execute");
  await page.click("#b-applies button:has-text('ssh_*')");
  assert.match(await page.textContent("#b-rule-title"), /ssh_\*/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("an_invalid_policy_clears_every_derived_view", async () => {
  const { page, context } = await openPage(browser, server.url);
  // Results under the valid contract example.
  await setTool(page, "ai_pipeline_step_execute");
  await page.click("#sim-run");
  await page.waitForSelector("#sim-result .verdict");
  await page.fill("#seq-count", "5");
  await page.click("#seq-run");
  await page.waitForSelector("#seq-result svg.timeline");
  // Then an invalid policy.
  await setPolicy(page, CONTRACT.replace('"default": "deny"', '"default": "maybe"'));
  assert.match(await page.textContent("#validity"), /1 error/);
  assert.equal(await page.locator("#sim-result .verdict").count(), 0, "no stale verdict");
  assert.equal(await page.locator("#seq-result svg.timeline").count(), 0, "no stale timeline");
  assert.match(await page.textContent("#sim-result"), /policy has errors/);
  assert.match(await page.textContent("#seq-result"), /policy has errors/);
  await page.click("#tab-tools");
  assert.equal(await page.locator(".status-cell[data-status]").count(), 0, "no stale status");
  assert.match(await page.textContent("#panel-tools .notice"), /no status/i);
  assert.match(await page.textContent(".counts"), /—/);
  await openTool(page, "odoo_write");
  assert.equal(await page.locator("#panel-builder .status-line .badge.status").count(), 0);
  assert.match(await page.textContent("#panel-builder"), /policy has errors/);
  await screenshot(page, "12-invalid-clears-views");
  // A valid policy again: results are gone until evaluated again; statuses are back.
  await setPolicy(page, CONTRACT);
  assert.equal(await statusOf(page, "odoo_unlink"), "denied");
  // A valid change also marks a result as out of date.
  await page.click("#tab-simulator");
  await page.click("#sim-run");
  await page.waitForSelector("#sim-result .verdict");
  await setPolicy(page, CONTRACT.replace('"max": 10', '"max": 11'));
  await page.click("#tab-simulator");
  assert.match(await page.textContent("#sim-result"), /policy changed since/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("simulator_says_how_counters_are_shared_and_shows_retry_after", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setTool(page, "ai_pipeline_step_execute");
  assert.match(await page.textContent("#sim-call-note"), /fresh counters/);
  assert.match(await page.textContent("#sim-seq-note"), /share/);
  await page.fill("#seq-count", "12");
  await page.fill("#seq-spacing", "1");
  await page.click("#seq-run");
  await page.waitForSelector("#seq-result svg.timeline");
  // The 11th call is refused: the first admitted call (at 0 s) leaves the window at 60 s.
  const refusals = await page.locator("#seq-refusals li").allInnerTexts();
  assert.equal(refusals.length, 2, refusals.join("\n"));
  assert.match(refusals[0], /#11 at 10 s/);
  assert.match(refusals[0], /retry in 50 s/);
  assert.match(refusals[1], /#12 at 11 s.*retry in 49 s/);
  await page.locator("#seq-refusals").scrollIntoViewIfNeeded();
  await screenshot(page, "13-sequence-retry");
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("simulator_warns_about_arguments_the_tool_schema_does_not_take", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setTool(page, "odoo_write");
  await page.click(".seg label:has-text('Raw JSON')");
  await page.fill("#sim-args-json", JSON.stringify({ model: "res.partner", ids: "7", vals: { phone: "x" } }));
  await page.click("#sim-run");
  await page.waitForSelector("#sim-result .verdict");
  const warnings = await page.locator("#sim-warnings li").allTextContents();
  assert.deepEqual(warnings, [
    "vals is not an argument of odoo_write (did you mean values?)",
    "values is required by odoo_write and missing",
    "ids should be an array, not a string",
  ]);
  // A warning, not a block: the call was evaluated.
  assert.equal(await page.locator("#sim-result pre[aria-label='decision object']").count(), 1);
  await screenshot(page, "14-argument-warnings");
  // Right arguments: no warnings.
  await page.fill("#sim-args-json", JSON.stringify({ model: "res.partner", ids: [7], values: { phone: "x" } }));
  await page.click("#sim-run");
  await page.waitForSelector("#sim-result .verdict");
  assert.equal(await page.locator("#sim-warnings li").count(), 0);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("invalid_key_messages_show_the_offending_character", async () => {
  const { page, context } = await openPage(browser, server.url);
  await openTool(page, "odoo write");
  assert.match(await page.textContent("#b-key-problem"), /the space at position 5/);
  await openTool(page, "odoo\u200bwrite");
  assert.match(await page.textContent("#b-key-problem"), /U\+200B \(zero width space\) at position 5/);
  await screenshot(page, "15-builder-invalid-key");
  // It offers the name of the catalogue that was meant.
  await page.click("#b-key-problem button:has-text('odoo_write')");
  assert.match(await page.textContent("#b-rule-title"), /Rule for odoo_write$/);
  assert.equal(await page.locator("#b-key-problem").count(), 0);
  // The editor's error list says it too.
  await setPolicy(page, JSON.stringify({ version: "1", default: "deny", tools: { "odoo write": {}, "a\tb": {} } }));
  const items = await page.locator(".errors li .error-msg").allTextContents();
  assert.match(items[0], /the space at position 5/);
  assert.match(items[1], /the tab \(U\+0009\) at position 2/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("the_guide_is_linked_from_each_fields_hover", async () => {
  const { page, context } = await openPage(browser, server.url);
  const hoverKey = async (key) => {
    await page.locator(".cm-content span", { hasText: `"${key}"` }).first().hover();
    await page.waitForSelector(".cm-doc-tooltip a.guide-link");
    return page.getAttribute(".cm-doc-tooltip a.guide-link", "href");
  };
  const cases = [
    ["default", "guide.html#default"],
    ["hide", "guide.html#hide"],
    ["deny_if", "guide.html#deny_if"],
    ["limits", "guide.html#limits"],
    ["approval", "guide.html#approval"],
  ];
  for (const [key, href] of cases) {
    assert.equal(await hoverKey(key), href, key);
    await page.mouse.move(5, 400);
    await page.waitForSelector(".cm-doc-tooltip", { state: "detached" });
  }
  // The guide covers the whole format, every anchor the hovers link to exists.
  const guide = await context.newPage();
  await guide.goto(server.url + "guide.html");
  for (const id of ["fields", "matching", "conditions", "paths", "fail-closed", "limits", "approval", "order", "monitor", "pin", "default", "hide", "deny_if", "require", "on_deny", "mode", "version", "all_tools", "action", "tools"]) {
    assert.equal(await guide.locator(`[id="${id}"]`).count(), 1, id);
  }
  assert.match(await guide.textContent("#paths"), /\*/);
  await screenshot(guide, "16-guide");
  await context.close();
});

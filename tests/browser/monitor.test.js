// Monitor mode (CONTRACT §7) in the playground: beside the enforced decision, what the
// whole policy would have decided, visibly, for one call and for each call of a sequence
// (its list and its timeline); the catalogue, the builder and tools/list mark monitored
// rules, and the builder sets the policy's and an entry's `mode`.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serve, launch, openPage, screenshot, setPolicy, waitSettled, editorText, assertBuilt } from "./harness.js";

let browser;
let server;

before(async () => {
  assertBuilt();
  browser = await launch();
  server = await serve();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const POLICY = JSON.stringify(
  {
    version: "1",
    default: "deny",
    mode: "monitor",
    tools: {
      odoo_search_read: { limits: [{ counter: "reads", window: "minute", max: 3 }] },
      odoo_unlink: { action: "deny", mode: "enforce", on_deny: "deleting records is not allowed" },
      odoo_write: { deny_if: [{ path: "args.model", op: "in", value: ["res.users"] }] },
    },
  },
  null,
  2,
);

async function simulate(page, tool, args) {
  await page.click("#tab-simulator");
  await page.fill("#sim-tool", tool);
  await page.press("#sim-tool", "Tab");
  await page.check('input[name="args-mode"][value="json"]', { force: true });
  await page.fill("#sim-args-json", JSON.stringify(args));
  await page.click("#sim-run");
  await page.waitForSelector("#sim-result .verdict");
  return JSON.parse(await page.textContent("#sim-result pre[aria-label='decision object']"));
}

test("a_monitored_rule_shows_what_it_would_have_decided_beside_the_enforced_decision", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(page, POLICY);

  // One call: enforced allow; the monitored deny_if would have denied it.
  const d = await simulate(page, "odoo_write", { model: "res.users", ids: [1], values: {} });
  assert.equal(d.decision, "allow");
  assert.equal(d.monitor.decision, "deny");
  assert.equal(await page.getAttribute("#sim-result", "data-decision"), "allow");
  assert.equal(await page.isVisible("#sim-monitor"), true, "shown on the page, not only in a tooltip");
  assert.equal(
    (await page.innerText("#sim-monitor")).replace(/\s+/g, " ").trim(),
    "MONITOR would have been deny by /tools/odoo_write/deny_if/0: calling `odoo_write` is not allowed when `args.model in [ \"res.users\" ]`",
  );
  // The rule is a link into the editor.
  await page.click("#sim-monitor button.linklike");
  const selected = await page.evaluate(() => {
    const { state } = window.toolgate.editor.view;
    const at = state.doc.lineAt(state.selection.main.from).number;
    return state.doc.line(at + 1).text.trim();
  });
  assert.equal(selected, '"path": "args.model",', "the cursor is on the condition");
  await screenshot(page, "50-monitor-one-call");

  // An enforced entry under a monitored policy: denied, nothing to report.
  const unlink = await simulate(page, "odoo_unlink", { ids: [1] });
  assert.equal(unlink.decision, "deny");
  assert.equal(await page.isVisible("#sim-monitor"), false);

  // A sequence: the monitored limit admits every call, and would have refused the 4th on.
  await simulate(page, "odoo_search_read", { model: "res.partner" });
  await page.fill("#seq-count", "6");
  await page.fill("#seq-spacing", "2");
  await page.click("#seq-run");
  await page.waitForSelector("#seq-result svg.timeline");
  assert.match(await page.textContent("#seq-monitor"), /would have refused 3 of these 6 calls/);
  const items = await page.locator("#seq-monitor-calls li").allInnerTexts();
  assert.equal(items.length, 3);
  assert.match(items[0].replace(/\s+/g, " "), /^#4 at 6 s — allow would have been rate limited by \/tools\/odoo_search_read\/limits\/0: rate limit `reads` exceeded: at most 3 calls per minute; retry in 54\.0 s$/);
  // The timeline: an "if enforced" lane with three would-be refusals, a monitored counter lane.
  assert.equal(await page.locator("#seq-result svg text.monitor-label", { hasText: "if enforced" }).count(), 1);
  assert.equal(await page.locator("#seq-result svg path.mark-limited.would").count(), 3);
  assert.equal(await page.locator("#seq-result svg circle.mark-allow").count(), 6 + 3, "six admitted, three the same if enforced");
  assert.equal(await page.locator("#seq-result svg text.lane-sub.monitor-label", { hasText: "monitored" }).count(), 1);
  await page.locator("#seq-result").scrollIntoViewIfNeeded();
  await screenshot(page, "51-monitor-sequence");

  // Enforced, the same sequence is refused: no monitor lane, no list.
  await setPolicy(page, POLICY.replace('"mode": "monitor",', ""));
  await page.click("#seq-run");
  await page.waitForSelector("#seq-result svg.timeline");
  assert.equal(await page.locator("#seq-monitor").count(), 0);
  assert.equal(await page.locator("#seq-result svg path.mark-limited.would").count(), 0);
  assert.match(await page.textContent('#seq-result .count[data-decision="rate_limited"]'), /3/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("catalogue_builder_and_tools_list_mark_monitored_rules", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(page, POLICY);
  const cell = (tool) => page.locator(`tr[data-tool="${tool}"] .status-cell`);

  // A tool no key matches: a monitored `default: deny` counts as allow; it would be hidden.
  assert.equal(await cell("odoo_create").getAttribute("data-status"), "allowed");
  assert.equal(await cell("odoo_create").getAttribute("data-monitor"), "hidden");
  assert.match(await cell("odoo_create").innerText(), /MONITORED/);
  assert.match((await cell("odoo_create").locator(".monitor-status").innerText()).replace(/\s+/g, " "), /^Would be Hidden if enforced: no rule matches it and default is deny, so it is hidden$/);
  // A monitored condition: allowed, but conditional if enforced.
  assert.match(await cell("odoo_write").locator(".monitor-status").innerText(), /conditions deny some calls/);
  // An entry in enforce mode: denied, not monitored.
  assert.equal(await cell("odoo_unlink").getAttribute("data-status"), "denied");
  assert.equal(await cell("odoo_unlink").getAttribute("data-monitor"), null);
  assert.equal(await cell("odoo_unlink").locator(".badge.monitored").count(), 0);
  assert.match(await page.textContent("#flag-monitored"), /197 under monitor mode, 197 of them would be treated differently if enforced/);
  await page.selectOption("#flag-filter", "monitored");
  assert.equal(await page.locator("table.tools tbody tr:not([hidden])").count(), 197);
  await page.selectOption("#flag-filter", "");
  await screenshot(page, "52-monitor-catalogue");

  // tools/list: nothing is hidden under a monitored policy, and it says how many would be.
  await page.click("#tab-list");
  assert.equal(await page.textContent("#list-count"), "198");
  assert.match(await page.textContent("#list-monitor"), /would hide 195 of them/);

  // The builder: chips and the policy's mode.
  await page.click("#tab-builder");
  assert.equal(await page.isChecked('input[name="b-policy-mode"][value="monitor"]'), true);
  assert.equal(await page.getAttribute('.chip[data-focus="chip-odoo_write"]', "data-monitored"), "true");
  assert.equal(await page.getAttribute('.chip[data-focus="chip-odoo_unlink"]', "data-monitored"), null);
  await page.click('.chip[data-focus="chip-odoo_write"]');
  assert.match(await page.textContent("#b-monitor-status"), /would be Allowed if enforced: allowed by odoo_write; conditions deny some calls/);
  assert.match(await page.textContent("#b-applies"), /monitored by the policy's mode: reported, not enforced/);
  // An entry's own mode, written into the JSON.
  await page.selectOption("#b-entry-mode", "enforce");
  await waitSettled(page);
  assert.equal(JSON.parse(await editorText(page)).tools.odoo_write.mode, "enforce");
  assert.equal(await page.getAttribute('.chip[data-focus="chip-odoo_write"]', "data-monitored"), null);
  await screenshot(page, "53-monitor-builder");
  // The whole policy back to enforce: the key goes away, and the catalogue hides again.
  await page.check('input[name="b-policy-mode"][value="enforce"]');
  await waitSettled(page);
  assert.equal("mode" in JSON.parse(await editorText(page)), false);
  await page.click("#tab-tools");
  assert.equal(await cell("odoo_create").getAttribute("data-status"), "hidden");
  assert.equal(await cell("odoo_create").getAttribute("data-monitor"), null);
  assert.deepEqual(page.problems, []);
  await context.close();
});

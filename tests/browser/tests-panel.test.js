// The Tests tab: `toolgate test` cases run against the policy in the editor by the same
// wasm core, each shown passed or failed with its difference; cases written in the tab,
// added from the simulator, loaded from a file, downloaded, and kept across reloads.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync, writeFileSync, mkdirSync } from "node:fs";
import { spawnSync, execFileSync } from "node:child_process";
import path from "node:path";
import os from "node:os";
import { serve, launch, openPage, screenshot, setPolicy, waitSettled, assertBuilt, ROOT } from "./harness.js";

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
    tools: {
      odoo_search_read: { limits: [{ counter: "reads", window: "minute", max: 2 }] },
      odoo_unlink: { action: "deny", on_deny: "deleting records is not allowed" },
    },
  },
  null,
  2,
);

const call = (id, name, extra = {}) => ({ body: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } }, ...extra });
const CASES = [
  // 1: passes.
  { ...call(1, "odoo_unlink"), expect: { decision: "deny", rule: "/tools/odoo_unlink/action" } },
  // 2: fails: the tool is hidden, not allowed.
  { ...call(2, "odoo_create"), expect: { decision: "allow" } },
  // 3 and 4 share a counter: the third read in a minute is refused (line 5).
  { ...call(3, "odoo_search_read", { at_ms: 0 }), expect: { decision: "allow" } },
  { ...call(4, "odoo_search_read", { at_ms: 1000 }), expect: { decision: "allow" } },
  { ...call(5, "odoo_search_read", { at_ms: 2000 }), expect: { decision: "allow" } },
]
  .map((c) => JSON.stringify(c))
  .concat(["this is not json"])
  .join("\n");

function tempFile(name, text) {
  const dir = path.join(os.tmpdir(), `toolgate-cases-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function setCases(page, text) {
  await page.click("#tests-editor .cm-content");
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(text);
  await page.waitForTimeout(400);
}

const casesText = (page) => page.evaluate(() => window.toolgate.tests.editor.getText());
const marks = (page) =>
  page.locator("#tests-editor .cm-gutter.cm-lineNumbers .cm-gutterElement").evaluateAll((els) =>
    els.filter((e) => /case-(pass|fail)/.test(e.className)).map((e) => `${e.textContent}:${/case-pass/.test(e.className) ? "pass" : "fail"}`),
  );

test("cases_run_against_the_policy_and_show_each_difference", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(page, POLICY);
  await page.click("#tab-tests");
  assert.match(await page.textContent("#tests-empty"), /No cases yet/);
  await setCases(page, CASES);

  assert.equal(await page.textContent("#tests-passed"), "3 passed");
  assert.equal(await page.textContent("#tests-failed"), "3 failed");
  assert.equal(await page.textContent("#tests-badge"), "3 failing");
  assert.deepEqual(await marks(page), ["1:pass", "2:fail", "3:pass", "4:pass", "5:fail", "6:fail"]);

  // The hidden tool: expected allow, got hidden; the diff names the field.
  const hidden = page.locator('.case[data-line="2"]');
  assert.equal(await hidden.locator('tr[data-field="decision"] td').nth(0).textContent(), '"allow"');
  assert.equal(await hidden.locator('tr[data-field="decision"] td').nth(1).textContent(), '"hidden"');
  // Shared counters: the third read in a minute is rate limited.
  const limited = page.locator('.case[data-line="5"]');
  assert.equal(await limited.locator('tr[data-field="decision"] td').nth(1).textContent(), '"rate_limited"');
  assert.match(await limited.textContent(), /rate limit `reads` exceeded/);
  // A line that is not an eval line says why.
  assert.match(await page.textContent('.case[data-line="6"] .case-error'), /eval line 6: not a json object/);
  // Failing cases first.
  const order = await page.locator("#case-list > li").evaluateAll((lis) => lis.map((li) => li.dataset.line));
  assert.deepEqual(order, ["2", "5", "6", "1", "3", "4"]);
  await screenshot(page, "40-tests-failing");

  // The page's report is what `toolgate test` prints for the same files.
  const cli = path.join(ROOT, "target/debug/toolgate");
  if (!existsSync(cli)) execFileSync("cargo", ["build", "--bin", "toolgate"], { cwd: ROOT, stdio: "inherit" });
  const policyFile = tempFile("policy.json", POLICY);
  const casesFile = tempFile("cases.jsonl", CASES + "\n");
  const run = spawnSync(cli, ["test", policyFile, casesFile], { encoding: "utf8" });
  assert.equal(run.status, 1);
  await page.click("#tests-result details summary");
  assert.equal(await page.textContent('pre[aria-label="toolgate test output"]'), run.stdout);

  // Changing the policy reruns the cases.
  await setPolicy(page, POLICY.replace('"max": 2', '"max": 3').replace('"default": "deny"', '"default": "allow"'));
  assert.equal(await page.textContent("#tests-passed"), "5 passed");
  assert.deepEqual(await marks(page), ["1:pass", "2:pass", "3:pass", "4:pass", "5:pass", "6:fail"]);

  // "Expect what it does now" rewrites that case's expect, and only it.
  await setPolicy(page, POLICY);
  await page.click('.case[data-line="2"] button.case-accept');
  const lines = (await casesText(page)).split("\n");
  assert.deepEqual(JSON.parse(lines[1]).expect, { decision: "hidden" });
  assert.equal(lines[0], CASES.split("\n")[0], "other lines are untouched");
  assert.equal(await page.textContent("#tests-passed"), "4 passed");

  // An invalid policy runs nothing and says so.
  await setPolicy(page, '{"version": "1", "default": "maybe"}');
  assert.match(await page.textContent("#tests-policy-errors"), /policy has errors/);
  assert.deepEqual(page.problems, []);
  await context.close();
});

test("a_simulated_call_becomes_a_case_and_cases_survive_a_reload_load_and_download", async () => {
  const { page, context } = await openPage(browser, server.url);
  await setPolicy(page, POLICY);
  // Two reads in the simulator, each added as a case: the second expects what it gets
  // after the first in the file (shared counters), which the fresh simulator call is not.
  await page.click("#tab-simulator");
  await page.fill("#sim-tool", "odoo_search_read");
  await page.press("#sim-tool", "Tab");
  for (let i = 0; i < 3; i++) {
    await page.click("#sim-run");
    await page.waitForSelector("#sim-add-case");
    await page.click("#sim-add-case");
  }
  assert.match(await page.textContent("#toast"), /Added as line 3 .* expects rate_limited by \/tools\/odoo_search_read\/limits\/0: in the cases file it runs after the others/);
  const added = (await casesText(page)).split("\n").filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(added.length, 3);
  assert.equal(added[0].body.params.name, "odoo_search_read");
  assert.equal(added[0].grant, "g1");
  assert.deepEqual(added[0].expect, { decision: "allow", rule: "/tools/odoo_search_read" });
  assert.deepEqual(added[2].expect, { decision: "rate_limited", rule: "/tools/odoo_search_read/limits/0" });
  await page.click("#tab-tests");
  assert.equal(await page.textContent("#tests-passed"), "3 passed");
  assert.equal(await page.textContent("#tests-badge"), "3 ✓");

  // Download: the file is the cases as written.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#tests-export")]);
  assert.equal(download.suggestedFilename(), "cases.jsonl");
  const file = await download.path();
  assert.equal(readFileSync(file, "utf8"), await casesText(page));

  // A reload keeps them.
  const again = await openPage(browser, server.url, { context });
  await again.page.click("#tab-tests");
  assert.equal(await casesText(again.page), await casesText(page));
  assert.equal(await again.page.textContent("#tests-passed"), "3 passed");

  // Load a file: it replaces the cases, and runs.
  await again.page.setInputFiles("#tests-file", tempFile("other.jsonl", CASES));
  await waitSettled(again.page);
  assert.equal(await casesText(again.page), CASES);
  assert.equal(await again.page.textContent("#tests-failed"), "3 failed");
  await screenshot(again.page, "41-tests-loaded");
  assert.deepEqual([...page.problems, ...again.page.problems], []);
  await context.close();
});

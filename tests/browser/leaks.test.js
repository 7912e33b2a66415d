// Nothing the Worker serves without a token may name a tool of the origin (CONTRACT §3).
// The Worker serves www/ except the Odoo catalogue and the examples, which name the
// origin's tools; this test reads every other file of www/, the built dist/ and pkg/
// included, and fails on any tool name of www/odoo-tools.json. No browser.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { WWW, assertBuilt } from "./harness.js";

/** Files the Worker would serve: www/ minus odoo-tools.json and examples/. */
function servedFiles(dir = WWW) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const rel = path.relative(WWW, file);
    if (rel === "odoo-tools.json" || rel === "examples") continue;
    if (statSync(file).isDirectory()) out.push(...servedFiles(file));
    else out.push(file);
  }
  return out;
}

test("no_file_the_worker_serves_names_a_tool_of_the_origin", () => {
  assertBuilt();
  const names = JSON.parse(readFileSync(path.join(WWW, "odoo-tools.json"), "utf8")).map((t) => t.name);
  assert.ok(names.length > 100);
  const files = servedFiles();
  const rels = files.map((f) => path.relative(WWW, f));
  for (const must of ["index.html", "admin.html", "admin.js", "guide.html", "dist/main.js", "dist/main.js.map", "pkg/toolgate_bg.wasm", "pkg/toolgate.js"]) {
    assert.ok(rels.includes(must), `${must} is checked`);
  }
  // A name counts where it stands alone: not inside a longer identifier. Binary files
  // are read byte for byte (latin1), so their strings are searched too.
  const escape = (n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const patterns = names.map((n) => [n, new RegExp(`(?<![A-Za-z0-9_])${escape(n)}(?![A-Za-z0-9_])`)]);
  const hits = [];
  for (const file of files) {
    const text = readFileSync(file, "latin1");
    for (const [name, re] of patterns) {
      const m = re.exec(text);
      if (m) hits.push(`${path.relative(WWW, file)}: \`${name}\` in “${text.slice(Math.max(0, m.index - 30), m.index + name.length + 30).replace(/\s+/g, " ")}”`);
    }
  }
  assert.deepEqual(hits, []);
});

test("the_worker_is_told_not_to_serve_the_repo_only_files", () => {
  // Workers static assets skip what www/.assetsignore lists.
  const ignore = readFileSync(path.join(WWW, ".assetsignore"), "utf8").split("\n").map((l) => l.trim());
  assert.ok(ignore.includes("odoo-tools.json"), ignore.join());
  assert.ok(ignore.includes("examples/"), ignore.join());
});

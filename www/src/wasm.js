// The evaluator, compiled to wasm. Each function here is one export of
// src/playground.rs (a `json_api` or `catalogue` function): strings in, parsed JSON out.
// Nothing here makes a network call; the module is loaded once, with the page.

import init, * as core from "../pkg/toolgate.js";

export async function load() {
  await init({ module_or_path: new URL("../pkg/toolgate_bg.wasm", import.meta.url) });
}

/** `{ ok: true, summary }` or `{ ok: false, errors: [{ pointer, message }] }`. */
export const check = (policy) => JSON.parse(core.check(policy));

/** `{ ok, decision, response }` for one `toolgate eval` line, on a fresh session. */
export const simulate = (policy, line) => JSON.parse(core.simulate(policy, line));

/** Decision objects for JSON lines, counters carried from line to line. */
export function evalJsonl(policy, input) {
  const out = core.eval_jsonl(policy, input);
  if (out.startsWith('{"ok":false')) return JSON.parse(out);
  return { ok: true, decisions: out.split("\n").filter(Boolean).map((l) => JSON.parse(l)), text: out };
}

/** A `tools/list` response as the gateway filters it. */
export const listTools = (policy, tools) => JSON.parse(core.list_tools(policy, tools));

/** Every tool's risk and status under the policy. */
export const catalogue = (policy, tools) => JSON.parse(core.catalogue(policy, tools));

/** Every tool's risk, without a policy. */
export const risks = (tools) => JSON.parse(core.risks(tools));

/** The policy's JSON Schema. */
export const schema = () => JSON.parse(core.schema());

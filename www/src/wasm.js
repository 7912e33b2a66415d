// The evaluator, compiled to wasm. Each function here is one export of
// src/playground.rs (a `json_api` or `catalogue` function): strings in, parsed JSON out.
// Nothing here makes a network call; the module is loaded once, with the page.

import init, * as core from "../pkg/toolgate.js";

export async function load() {
  await init({ module_or_path: new URL("../pkg/toolgate_bg.wasm", import.meta.url) });
}

/** `{ ok: true, summary }` or `{ ok: false, errors: [{ pointer, message }] }`. */
export const check = (policy) => JSON.parse(core.check(policy));

/**
 * `{ ok, decision, response }` for one `toolgate eval` line, on a fresh session. With
 * `pins` (`{"tool": "changed" | "new" | "pinned"}`, a gateway's pin statuses as JSON
 * text), the policy's `pin` applies as the gateway applies it.
 */
export const simulate = (policy, line, pins = "") =>
  JSON.parse(pins ? core.simulate_pinned(policy, line, pins) : core.simulate(policy, line));

/** Decision objects for JSON lines, counters carried from line to line (with `pins`, as above). */
export function evalJsonl(policy, input, pins = "") {
  const out = pins ? core.eval_jsonl_pinned(policy, input, pins) : core.eval_jsonl(policy, input);
  if (out.startsWith('{"ok":false')) return JSON.parse(out);
  return { ok: true, decisions: out.split("\n").filter(Boolean).map((l) => JSON.parse(l)), text: out };
}

/**
 * `toolgate test` over a cases file: `{ ok, passed, failed, failures: [{ line, expected,
 * actual, decision }], report }`, or `{ ok: false, errors }` for an invalid policy.
 */
export const runTests = (policy, cases) => JSON.parse(core.run_tests(policy, cases));

/**
 * A `tools/list` response as the gateway filters it (with `pins`, as above; then
 * `pinned_elsewhere` names the changed tools the gateway lists with their pinned definition).
 */
export const listTools = (policy, tools, pins = "") =>
  JSON.parse(pins ? core.list_tools_pinned(policy, tools, pins) : core.list_tools(policy, tools));

/** Every tool's risk and status under the policy. */
export const catalogue = (policy, tools) => JSON.parse(core.catalogue(policy, tools));

/** Every tool's risk, without a policy. */
export const risks = (tools) => JSON.parse(core.risks(tools));

/** The policy's JSON Schema. */
export const schema = () => JSON.parse(core.schema());

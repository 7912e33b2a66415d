//! The browser playground's wasm module (feature `playground`, wasm-bindgen
//! `--target web`). Each export is a [`crate::json_api`] or [`crate::catalogue`] function
//! plus the binding attribute: strings in, strings out, the same answers as the CLI.
//! Nothing else in the crate uses wasm-bindgen, and the `worker` build never sees these.

use crate::{catalogue, json_api};
use wasm_bindgen::prelude::wasm_bindgen;

/// [`json_api::check`]: validates a policy.
#[wasm_bindgen]
pub fn check(policy: &str) -> String {
    json_api::check(policy)
}

/// [`json_api::check_tools`]: validates a policy against a catalogue, with warnings.
#[wasm_bindgen]
pub fn check_tools(policy: &str, tools: &str) -> String {
    json_api::check_tools(policy, tools)
}

/// [`json_api::simulate`]: one call's decision and what the agent receives.
#[wasm_bindgen]
pub fn simulate(policy: &str, line: &str) -> String {
    json_api::simulate(policy, line)
}

/// [`json_api::eval_jsonl`]: `toolgate eval` over JSON lines.
#[wasm_bindgen]
pub fn eval_jsonl(policy: &str, input: &str) -> String {
    json_api::eval_jsonl(policy, input)
}

/// [`json_api::run_tests`]: `toolgate test` over a cases file: `{"ok":true,"passed",
/// "failed","failures":[{"line","expected","actual","decision"}],"report"}`.
#[wasm_bindgen]
pub fn run_tests(policy: &str, cases: &str) -> String {
    json_api::run_tests_json(policy, cases)
}

/// [`json_api::list_tools`]: a `tools/list` answer as the gateway filters it.
#[wasm_bindgen]
pub fn list_tools(policy: &str, tools: &str) -> String {
    json_api::list_tools(policy, tools)
}

/// [`json_api::schema`]: the policy's JSON Schema.
#[wasm_bindgen]
pub fn schema() -> String {
    json_api::schema()
}

/// [`catalogue::catalogue`]: every tool's risk, warnings and effective status under a
/// policy (enforced, with `monitor` when monitored rules would give another), applying
/// the policy's `pin` to tools that carry a `pin_status`.
#[wasm_bindgen]
pub fn catalogue(policy: &str, tools: &str) -> String {
    catalogue::catalogue(policy, tools)
}

/// [`catalogue::risks`]: every tool's risk category.
#[wasm_bindgen]
pub fn risks(tools: &str) -> String {
    catalogue::risks(tools)
}

/// [`json_api::simulate_pinned`]: [`simulate`] for a gateway's catalogue, whose tools carry
/// a pin status (`pins`: `{"tool": "changed", ...}`).
#[wasm_bindgen]
pub fn simulate_pinned(policy: &str, line: &str, pins: &str) -> String {
    json_api::simulate_pinned(policy, line, pins)
}

/// [`json_api::eval_jsonl_pinned`]: [`eval_jsonl`] with the gateway's pin statuses.
#[wasm_bindgen]
pub fn eval_jsonl_pinned(policy: &str, input: &str, pins: &str) -> String {
    json_api::eval_jsonl_pinned(policy, input, pins)
}

/// [`json_api::list_tools_pinned`]: [`list_tools`] with the gateway's pin statuses.
#[wasm_bindgen]
pub fn list_tools_pinned(policy: &str, tools: &str, pins: &str) -> String {
    json_api::list_tools_pinned(policy, tools, pins)
}

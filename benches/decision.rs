//! The core's costs on the Odoo tool catalogue (`www/odoo-tools.json`, 198 tools), each
//! checked for the right answer before it is timed (a wrong answer exits with status 1):
//!
//! - deciding alone: an allowed `tools/call` whose entries hold a condition of every op,
//!   already parsed, through [`Session::decide_message`];
//! - loading the 198-tool policy ([`Policy::from_json`]);
//! - filtering `tools/list` answers the size of the real Odoo server's (36 KB with 48
//!   tools, 73 KB with 123), with some tools hidden ([`Filter::message`]).
//!
//! `cargo bench --bench decision` (`make bench` runs it with shorter times).

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use std::fmt::Display;
use std::hint::black_box;
use toolgate::catalogue::{Pins, View};
use toolgate::eval::{CallContext, Outcome, Session};
use toolgate::filter::{Filter, Report};
use toolgate::policy::Policy;

const CATALOGUE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/www/odoo-tools.json");

/// `hide` of the bench policy; [`hidden`] reads it independently of the evaluator.
const HIDE: [&str; 5] = [
    "ssh_execute",
    "odoo_web_*",
    "contabo__*",
    "cloudflare__cf_tunnel_*",
    "telegram_auth",
];

fn or_exit<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| fail(&format!("{what}: {e}")))
}

fn fail(why: &str) -> ! {
    eprintln!("decision bench: {why}");
    std::process::exit(1)
}

/// The catalogue's tool objects, in its order.
fn catalogue() -> Vec<Value> {
    let text = or_exit(std::fs::read_to_string(CATALOGUE), CATALOGUE);
    let tools: Vec<Value> = or_exit(serde_json::from_str(&text), CATALOGUE);
    if tools.len() != 198 {
        fail(&format!(
            "expected 198 tools in {CATALOGUE}, found {}",
            tools.len()
        ));
    }
    tools
}

fn name(tool: &Value) -> &str {
    tool.get("name").and_then(Value::as_str).unwrap_or_default()
}

/// A policy an operator of the Odoo MCP server might write: hide the dangerous and the
/// unused, guard reads and writes with conditions, rate-limit the expensive, ask a human
/// for the irreversible, and list every remaining catalogue tool by its exact name
/// (`"default": "deny"`). `odoo_search_read` has no limit and a condition of every op.
fn policy_text(tools: &[Value]) -> String {
    let mut rules = Map::new();
    let mut rule = |key: &str, value: Value| {
        rules.insert(key.to_owned(), value);
    };
    rule(
        "odoo_*",
        json!({
            "deny_if": [ { "path": "args.model", "op": "in", "value": ["res.users", "ir.config_parameter", "ir.rule", "ir.model.access"] } ],
            "on_deny": "security models are off limits"
        }),
    );
    rule(
        "odoo_search_read",
        json!({
            "deny_if": [
                { "path": "args.model", "op": "regex", "value": "^(ir|base)\\." },
                { "path": "args.model", "op": "eq", "value": "mail.message" },
                { "path": "args.limit", "op": "gt", "value": 500 },
                { "path": "args.fields", "op": "contains", "value": "password" },
                { "path": "args.order", "op": "contains", "value": ";" }
            ],
            "require": [
                { "path": "args.model", "op": "exists" },
                { "path": "args.model", "op": "neq", "value": "res.users" },
                { "path": "args.model", "op": "not_in", "value": ["hr.employee", "hr.payslip"] },
                { "path": "args.limit", "op": "gte", "value": 1 },
                { "path": "args.limit", "op": "lte", "value": 200 },
                { "path": "args.limit", "op": "lt", "value": 1000 },
                { "path": "args.offset", "op": "exists", "value": false }
            ],
            "on_deny": "reads are bounded and stay out of security models"
        }),
    );
    rule(
        "odoo_write",
        json!({
            "deny_if": [
                { "path": "args.model", "op": "regex", "value": "^(res\\.users|ir\\.|base\\.)" },
                { "path": "args.vals.company_id", "op": "exists" }
            ],
            "require": [
                { "path": "args.ids", "op": "exists" },
                { "path": "args.ids.0", "op": "gt", "value": 0 }
            ],
            "limits": [ { "counter": "odoo_writes", "window": "minute", "max": 30 } ],
            "on_deny": "writes need explicit record ids and may not touch security models"
        }),
    );
    rule(
        "odoo_create",
        json!({
            "require": [ { "path": "args.model", "op": "regex", "value": "^(res\\.partner|sale\\.order|account\\.move)$" } ],
            "limits": [ { "counter": "odoo_writes", "window": "minute", "max": 30 } ]
        }),
    );
    rule(
        "odoo_unlink",
        json!({ "action": "deny", "on_deny": "deleting records is not allowed" }),
    );
    rule(
        "odoo_execute",
        json!({
            "approval": { "if": [ { "path": "args.method", "op": "in", "value": ["action_post", "button_validate", "unlink"] } ], "ttl": "15m" }
        }),
    );
    rule(
        "google_*",
        json!({ "limits": [ { "counter": "google", "window": "hour", "max": 30 } ] }),
    );
    rule(
        "google_gmail_send",
        json!({
            "deny_if": [ { "path": "args.to", "op": "regex", "value": "@(competitor|rival)\\.(com|io)$" } ],
            "approval": { "ttl": "1h" }
        }),
    );
    rule(
        "filesystem__*",
        json!({
            "require": [ { "path": "args.path", "op": "exists" } ],
            "deny_if": [ { "path": "args.path", "op": "regex", "value": "(^/etc/|\\.\\./|/\\.ssh/|\\.env$)" } ]
        }),
    );
    for tool in [
        "filesystem__write_file",
        "filesystem__edit_file",
        "filesystem__move_file",
    ] {
        rule(
            tool,
            json!({ "limits": [ { "counter": "fs_writes", "window": "minute", "max": 20, "scope": "session" } ] }),
        );
    }
    rule(
        "backup__*",
        json!({ "require": [ { "path": "args.path", "op": "regex", "value": "^/backups/" } ] }),
    );
    for tool in [
        "backup__write_file",
        "backup__edit_file",
        "backup__move_file",
        "backup__create_directory",
    ] {
        rule(
            tool,
            json!({ "action": "deny", "on_deny": "backups are read-only" }),
        );
    }
    rule(
        "ai_*",
        json!({ "limits": [ { "counter": "ai", "window": "hour", "max": 200 } ] }),
    );
    rule(
        "ai_invoice_pipeline_run",
        json!({ "approval": { "ttl": "1h" } }),
    );
    rule(
        "ai_pipeline_step_execute",
        json!({
            "limits": [ { "counter": "ai_pipeline_step_execute_rate", "window": "minute", "max": 10, "scope": "grant" } ]
        }),
    );
    rule("*_delete*", json!({ "approval": { "ttl": "15m" } }));
    rule(
        "memory_*",
        json!({ "deny_if": [ { "path": "args.namespace", "op": "eq", "value": "system" } ] }),
    );
    for tool in tools {
        rules
            .entry(name(tool).to_owned())
            .or_insert_with(|| json!({}));
    }
    json!({ "version": "1", "default": "deny", "hide": HIDE, "tools": rules }).to_string()
}

/// Whether `hide` hides `tool` (`*` matches any run of characters), read without the
/// evaluator, to check the filter's answer.
fn hidden(tool: &str) -> bool {
    HIDE.iter().any(|pattern| match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            tool.len() >= prefix.len() + suffix.len()
                && tool.starts_with(prefix)
                && tool.ends_with(suffix)
        }
        None => tool == *pattern,
    })
}

/// A `tools/list` answer of `count` consecutive catalogue tools, in compact JSON. The real Odoo server's answers were 36 KB with 48 tools and
/// 73 KB with 123; of every run of `count` consecutive tools of the catalogue, this takes
/// the first whose answer is closest to `bytes`: tools 22–69 (36,014 bytes) and tools
/// 1–123 (72,904 bytes). `bench/gateway.mjs` serves the same 48 from the demo origin.
fn tools_list(tools: &[Value], count: usize, bytes: usize) -> String {
    let answer = |run: &[Value]| {
        json!({ "jsonrpc": "2.0", "id": 1, "result": { "tools": run } }).to_string()
    };
    let closest = tools
        .windows(count)
        .map(answer)
        .min_by_key(|text| text.len().abs_diff(bytes));
    closest.unwrap_or_else(|| fail(&format!("the catalogue has fewer than {count} tools")))
}

/// The catalogue view of a gateway that has pinned every tool of `answer` (its steady
/// state: each definition is compared with its pin on every list).
fn pinned_view(policy: &Policy, answer: &str) -> View {
    let empty = View::empty();
    let mut report = Report::default();
    or_exit(
        Filter::new(policy, &empty)
            .learning()
            .message(answer, &mut report),
        "learning the bench catalogue",
    );
    let mut pins = Pins::default();
    pins.observe(&report.seen, true);
    View::new(pins.snapshot(1))
}

/// Filters `answer` once and exits unless exactly the hidden tools are gone.
fn check_filter(policy: &Policy, view: &View, answer: &str, what: &str) {
    let listed = |text: &str| -> Vec<String> {
        let message: Value = or_exit(serde_json::from_str(text), what);
        let tools = message.pointer("/result/tools").and_then(Value::as_array);
        tools
            .into_iter()
            .flatten()
            .map(|t| name(t).to_owned())
            .collect()
    };
    let mut report = Report::default();
    let filtered = or_exit(Filter::new(policy, view).message(answer, &mut report), what);
    let expected: Vec<String> = listed(answer).into_iter().filter(|t| !hidden(t)).collect();
    let kept = listed(&filtered);
    if kept != expected || report.removed == 0 {
        fail(&format!("{what}: kept {kept:?}, expected {expected:?}"));
    }
}

fn decide(c: &mut Criterion, policy: &Policy) {
    let body = json!({
        "jsonrpc": "2.0",
        "id": 42,
        "method": "tools/call",
        "params": {
            "name": "odoo_search_read",
            "arguments": {
                "model": "res.partner",
                "domain": [["is_company", "=", true], ["country_id.code", "in", ["BE", "FR", "NL"]]],
                "fields": ["name", "email", "phone", "vat", "country_id"],
                "limit": 80,
                "order": "name asc"
            },
            "_meta": { "progressToken": "p-1" }
        }
    })
    .to_string();
    let message = or_exit(
        toolgate::mcp::parse_message(body.as_bytes()).map_err(|e| e.message),
        "the bench call",
    );
    let context = CallContext {
        grant: "g1",
        session: Some("s1"),
        at_ms: 0,
    };
    let mut session = Session::new(policy.clone());
    let decision = session.decide_message(&message, context);
    // Either matching key may be named as the rule that allowed it.
    let rule = decision.rule.as_deref().unwrap_or_default();
    if decision.decision != Outcome::Allow || !rule.starts_with("/tools/odoo_") {
        fail(&format!("the allowed call gave {decision:?}"));
    }
    c.bench_function("decide: allowed tools/call, 13 conditions, parsed", |b| {
        b.iter(|| black_box(session.decide_message(black_box(&message), black_box(context))));
    });
}

fn load(c: &mut Criterion, text: &str) {
    c.bench_function("Policy::from_json: 198-tool policy", |b| {
        // The policy is dropped outside the timing: loading is parsing, checking and
        // compiling, not freeing the one before.
        b.iter_with_large_drop(|| Policy::from_json(black_box(text)));
    });
}

fn filter(c: &mut Criterion, policy: &Policy, tools: &[Value]) {
    for (count, bytes, label) in [(48, 36_000, "36 KB"), (123, 73_000, "73 KB")] {
        let answer = tools_list(tools, count, bytes);
        let view = pinned_view(policy, &answer);
        let id = format!("filter: tools/list {label}, {count} tools");
        check_filter(policy, &view, &answer, &id);
        c.bench_function(&id, |b| {
            b.iter(|| {
                let mut report = Report::default();
                let filter = Filter::new(policy, &view);
                black_box(
                    filter
                        .message(black_box(&answer), &mut report)
                        .map(|t| t.len()),
                )
            });
        });
    }
}

fn benches(c: &mut Criterion) {
    let tools = catalogue();
    let text = policy_text(&tools);
    let policy = or_exit(Policy::from_json(&text), "the bench policy is invalid");
    decide(c, &policy);
    load(c, &text);
    filter(c, &policy, &tools);
}

criterion_group!(core, benches);
criterion_main!(core);

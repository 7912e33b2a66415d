//! The cost of one decision on a realistic policy over the Odoo tool catalogue
//! (`www/odoo-tools.json`, 198 tools): patterns, hide entries, conditions with a regex,
//! limits and an approval.
//!
//! `cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Map, Value};
use std::fmt::Display;
use std::hint::black_box;
use toolgate::eval::{CallContext, Outcome, Session};
use toolgate::policy::Policy;

fn or_exit<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| {
        eprintln!("decision bench: {what}: {e}");
        std::process::exit(1)
    })
}

/// The tool names of the Odoo catalogue, read from the repository at bench time.
fn catalogue() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/odoo-tools.json");
    let text = or_exit(std::fs::read_to_string(path), path);
    let tools: Value = or_exit(serde_json::from_str(&text), path);
    let names: Vec<String> = tools
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if names.len() != 198 {
        eprintln!(
            "decision bench: expected 198 tools in {path}, found {}",
            names.len()
        );
        std::process::exit(1);
    }
    names
}

/// A policy an operator of the Odoo MCP server might write: hide the dangerous and the
/// unused, guard writes with conditions, rate-limit the expensive, ask a human for the
/// irreversible, and list every remaining catalogue tool by its exact name.
fn policy_text(tools: &[String]) -> String {
    let hide = [
        "ssh_execute",
        "odoo_web_*",
        "contabo__*",
        "cloudflare__cf_tunnel_*",
        "telegram_auth",
    ];
    let mut rules = Map::new();
    let mut rule = |key: &str, value: Value| {
        rules.insert(key.to_owned(), value);
    };
    rule(
        "odoo_*",
        json!({
            "deny_if": [ { "path": "args.model", "op": "in", "value": ["res.users", "ir.config_parameter", "ir.rule", "ir.model.access"] } ],
            "limits": [ { "counter": "odoo_calls", "window": "hour", "max": 1000, "scope": "grant" } ],
            "on_deny": "security models are off limits"
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
        rules.entry(tool.clone()).or_insert_with(|| json!({}));
    }
    json!({
        "version": "1",
        "default": "deny",
        "hide": hide,
        "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 120, "scope": "grant" } ] },
        "tools": rules,
    })
    .to_string()
}

fn call(tool: &str, arguments: &Value) -> Vec<u8> {
    json!({
        "jsonrpc": "2.0",
        "id": 42,
        "method": "tools/call",
        "params": { "name": tool, "arguments": arguments, "_meta": { "progressToken": "p-1" } },
    })
    .to_string()
    .into_bytes()
}

fn decision(c: &mut Criterion) {
    let tools = catalogue();
    let text = policy_text(&tools);
    let policy = or_exit(Policy::from_json(&text), "the bench policy is invalid");

    // (a) A typical allowed call, counted by two limits (`all_calls`, `odoo_calls`).
    // One call every 6 s: ten a minute, 600 an hour, always within both budgets, so the
    // counters hold their steady-state size (10 and 600 runs).
    let allowed = call(
        "odoo_search_read",
        &json!({
            "model": "res.partner",
            "domain": [["is_company", "=", true], ["country_id.code", "in", ["BE", "FR", "NL"]]],
            "fields": ["name", "email", "phone", "vat", "country_id"],
            "limit": 80,
            "order": "name asc"
        }),
    );
    // (b) A call denied by a condition after passing several others (pattern `deny_if`
    // with `in`, exact `deny_if` with a regex and `exists`, then `require`).
    let denied = call(
        "odoo_write",
        &json!({ "model": "res.partner", "ids": [0], "vals": { "name": "ACME", "email": "ops@acme.example" } }),
    );

    let mut session = Session::new(policy.clone());
    let mut now = 0u64;
    let mut sanity = |body: &[u8], expected: Outcome, what: &str| {
        now += 6_000;
        let d = session.decide(
            body,
            CallContext {
                grant: "g1",
                session: Some("s1"),
                at_ms: now,
            },
        );
        if d.decision != expected {
            eprintln!("decision bench: {what} gave {d:?}");
            std::process::exit(1);
        }
    };
    sanity(&allowed, Outcome::Allow, "the allowed call");
    sanity(&denied, Outcome::Deny, "the denied call");

    c.bench_function("decide: allowed tools/call with 2 limits", |b| {
        let mut session = Session::new(policy.clone());
        let mut now = 0u64;
        b.iter(|| {
            now += 6_000;
            black_box(session.decide(
                black_box(&allowed),
                CallContext {
                    grant: "g1",
                    session: Some("s1"),
                    at_ms: now,
                },
            ))
        });
    });

    // The same call with the counters nearly empty (one call an hour): the difference to
    // the bench above is the cost of counting against a log of 600 runs.
    c.bench_function("decide: allowed tools/call, idle counters", |b| {
        let mut session = Session::new(policy.clone());
        let mut now = 0u64;
        b.iter(|| {
            now += 3_600_000;
            black_box(session.decide(
                black_box(&allowed),
                CallContext {
                    grant: "g1",
                    session: Some("s1"),
                    at_ms: now,
                },
            ))
        });
    });

    c.bench_function("decide: denied tools/call with conditions", |b| {
        let mut session = Session::new(policy.clone());
        b.iter(|| {
            black_box(session.decide(
                black_box(&denied),
                CallContext {
                    grant: "g1",
                    session: Some("s1"),
                    at_ms: 0,
                },
            ))
        });
    });

    c.bench_function("Policy::from_json (198-tool policy)", |b| {
        b.iter(|| black_box(Policy::from_json(black_box(&text)).is_ok()));
    });

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/odoo-tools.json");
    let catalogue: Value = or_exit(
        serde_json::from_str(&or_exit(std::fs::read_to_string(path), path)),
        path,
    );
    let response =
        json!({ "jsonrpc": "2.0", "id": 1, "result": { "tools": catalogue } }).to_string();
    let view = toolgate::catalogue::View::empty();
    c.bench_function("filter: tools/list of 198 tools", |b| {
        b.iter(|| {
            let mut report = toolgate::filter::Report::default();
            black_box(
                toolgate::filter::Filter::new(&policy, &view)
                    .message(black_box(&response), &mut report)
                    .map(|t| t.len()),
            )
        });
    });
}

criterion_group!(benches, decision);
criterion_main!(benches);

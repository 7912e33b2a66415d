//! The tool catalogue through its public API: risk categories, effective statuses, the
//! JSON façade the playground calls, and the shipped example policies.

// The helpers outside `#[test]` functions may panic too: this is a test crate.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{json, Value};
use toolgate::catalogue::{self, risk, status, Risk, Status};
use toolgate::policy::Policy;

const ODOO_TOOLS: &str = include_str!("../www/odoo-tools.json");

fn odoo_risks() -> Vec<(String, Risk)> {
    catalogue::tools_from_json(ODOO_TOOLS)
        .expect("the catalogue reads")
        .into_iter()
        .map(|t| {
            let r = risk(&t.name, &t.description);
            (t.name, r)
        })
        .collect()
}

#[test]
fn odoo_tools_get_the_documented_categories() {
    let risks = odoo_risks();
    assert_eq!(risks.len(), 198);
    let cases: &[(&str, Risk, &str)] = &[
        ("odoo_unlink", Risk::Destructive, "unlink deletes records"),
        (
            "odoo_stock_mo_delete_draft",
            Risk::Destructive,
            "`delete` anywhere in the name",
        ),
        (
            "cloudflare__cf_tunnel_route_remove",
            Risk::Destructive,
            "server prefix dropped, `remove`",
        ),
        ("memory_delete", Risk::Destructive, "`delete`"),
        ("ssh_execute", Risk::Execute, "`execute`"),
        (
            "odoo_execute",
            Risk::Execute,
            "execute_kw runs any model method",
        ),
        ("ai_pipeline_run", Risk::Execute, "`*_run`"),
        (
            "proxy_call",
            Risk::Execute,
            "`call` forwards arbitrary tool calls",
        ),
        ("github_api", Risk::Execute, "`api`: arbitrary REST calls"),
        ("odoo_web_request", Risk::Execute, "raw HTTP requests"),
        (
            "git_remote",
            Risk::Execute,
            "no name word; the description's lead is `Run`",
        ),
        (
            "ai_invoice_pipeline_run",
            Risk::Execute,
            "execute outranks financial",
        ),
        (
            "ai_invoice_extract",
            Risk::Financial,
            "`invoice` in the name",
        ),
        (
            "ai_usage_budget_status",
            Risk::Financial,
            "`budget` outranks the read word `status`",
        ),
        (
            "public_access_portal_invoices",
            Risk::Financial,
            "plural `invoices`",
        ),
        (
            "odoo_fp_list",
            Risk::Financial,
            "the description speaks of fiscal positions",
        ),
        (
            "ai_usage_log_query",
            Risk::Financial,
            "the description speaks of the billing ledger",
        ),
        (
            "odoo_stock_initial_opening_journal",
            Risk::Financial,
            "`journal`",
        ),
        ("odoo_create", Risk::Write, "`create`"),
        ("odoo_write", Risk::Write, "`write`"),
        ("google_gmail_send", Risk::Write, "`send`"),
        (
            "cloudflare__cf_tunnel_config_put",
            Risk::Write,
            "`put` is the last verb",
        ),
        ("odoo_message_post", Risk::Write, "`post`"),
        ("odoo_search_read", Risk::Read, "search and read"),
        ("odoo_search_count", Risk::Read, "`count`"),
        ("odoo_fields_get", Risk::Read, "`get`"),
        (
            "telegram_auth_status",
            Risk::Read,
            "the last verb, `status`, decides over `auth`",
        ),
        (
            "odoo_connections",
            Risk::Read,
            "no name word; the lead is `List`",
        ),
        (
            "odoo_record_backup",
            Risk::Read,
            "no name word; the lead is `Read`",
        ),
        ("who_am_i", Risk::Read, "no name word; the lead is `Show`"),
        (
            "contabo__contabo_account_info",
            Risk::Read,
            "`account` is not a financial word",
        ),
        ("open_connection_manager", Risk::Other, "nothing matches"),
    ];
    for (name, want, why) in cases {
        let got = risks
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is in the catalogue"))
            .1;
        assert_eq!(got, *want, "{name}: {why}");
    }
    let other = risks.iter().filter(|(_, r)| *r == Risk::Other).count();
    assert!(
        other <= 3,
        "almost every Odoo tool gets a category, {other} do not"
    );
    for category in [
        Risk::Read,
        Risk::Write,
        Risk::Execute,
        Risk::Destructive,
        Risk::Financial,
    ] {
        assert!(
            risks.iter().filter(|(_, r)| *r == category).count() >= 5,
            "{category:?} is used"
        );
    }
}

#[test]
fn risk_rule_reads_names_and_descriptions() {
    let cases: &[(&str, &str, Risk, &str)] = &[
        (
            "deleteFile",
            "",
            Risk::Destructive,
            "camelCase words are split",
        ),
        (
            "files_purge",
            "List files.",
            Risk::Destructive,
            "a name word outranks the lead",
        ),
        (
            "payments_list",
            "",
            Risk::Financial,
            "plural of a financial word",
        ),
        (
            "reports_list",
            "Export the tax summary. Invoices too.",
            Risk::Financial,
            "first sentence",
        ),
        (
            "reports_list",
            "List reports. Invoices are excluded.",
            Risk::Read,
            "only the first sentence counts",
        ),
        ("x__run", "", Risk::Execute, "server prefix dropped"),
        (
            "thing",
            "[srv] Remove a thing.",
            Risk::Destructive,
            "the `[server]` tag is skipped",
        ),
        (
            "thing",
            "Create a thing.",
            Risk::Write,
            "the lead decides when the name says nothing",
        ),
        (
            "thing",
            "Shows a thing.",
            Risk::Read,
            "a lead with a trailing s",
        ),
        ("thing", "A thing.", Risk::Other, "nothing matches"),
        ("config_get", "", Risk::Read, "last verb"),
        ("get_and_set", "", Risk::Write, "last verb"),
        ("", "", Risk::Other, "empty"),
    ];
    for (name, description, want, why) in cases {
        assert_eq!(
            risk(name, description),
            *want,
            "{name} / {description}: {why}"
        );
    }
}

const POLICY: &str = r#"{
  "version": "1",
  "default": "deny",
  "hide": ["ssh_execute", "odoo_web_*"],
  "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 120 } ] },
  "tools": {
    "odoo_search_read": {},
    "odoo_web_read": {},
    "odoo_write": {
      "deny_if": [ { "path": "args.model", "op": "eq", "value": "res.users" } ],
      "require": [ { "path": "args.ids", "op": "exists" } ]
    },
    "odoo_unlink": { "action": "deny", "deny_if": [ { "path": "args.ids", "op": "exists" } ] },
    "odoo_*": { "limits": [ { "counter": "odoo", "window": "hour", "max": 30, "scope": "session" } ] },
    "ai_invoice_pipeline_run": { "approval": { "ttl": "30m" } },
    "ai_pipeline_run": { "approval": { "if": [ { "path": "args.force", "op": "eq", "value": true } ] } },
    "ai_usage_log_query": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 120 } ] },
    "memory_write": { "deny_if": [ { "path": "args.scope", "op": "eq", "value": "shared" } ] }
  }
}"#;

#[test]
fn status_follows_the_evaluation_order() {
    let policy = Policy::from_json(POLICY).expect("valid");
    // (tool, status, conditional, rule, why)
    let cases: &[(&str, Status, bool, &str, &str)] = &[
        (
            "ssh_execute",
            Status::Hidden,
            false,
            "/hide/0",
            "exact hide item",
        ),
        (
            "odoo_web_read",
            Status::Hidden,
            false,
            "/hide/1",
            "hide wins over a tools key",
        ),
        (
            "google_auth",
            Status::Hidden,
            false,
            "/default",
            "unlisted under default deny",
        ),
        (
            "odoo_unlink",
            Status::Denied,
            false,
            "/tools/odoo_unlink/action",
            "action deny; its conditions change nothing",
        ),
        (
            "ai_invoice_pipeline_run",
            Status::NeedsApproval,
            false,
            "/tools/ai_invoice_pipeline_run/approval",
            "unconditional approval",
        ),
        (
            "ai_pipeline_run",
            Status::NeedsApproval,
            true,
            "/tools/ai_pipeline_run/approval",
            "approval with `if`",
        ),
        (
            "odoo_write",
            Status::Limited,
            true,
            "/tools/odoo_~1/limits/0",
            "pattern limit, with conditions",
        ),
        (
            "odoo_search_read",
            Status::Limited,
            false,
            "/tools/odoo_~1/limits/0",
            "exact key and pattern both apply",
        ),
        (
            "ai_usage_log_query",
            Status::Limited,
            false,
            "/tools/ai_usage_log_query/limits/0",
            "an entry naming an all_tools counter limits the tool: its own limit is the rule",
        ),
        (
            "memory_write",
            Status::Limited,
            true,
            "/all_tools/limits/0",
            "no limit of its own: the `all_tools` limit counts every call, with conditions",
        ),
    ];
    for (tool, want, conditional, rule, why) in cases {
        let got = status(&policy, tool);
        let rule = rule.replace("odoo_~1", "odoo_*");
        assert_eq!(
            (got.status, got.conditional, got.rule.as_str()),
            (*want, *conditional, rule.as_str()),
            "{tool}: {why} ({})",
            got.why
        );
    }
}

#[test]
fn an_all_tools_limit_makes_every_tool_limited_and_a_tool_limit_is_named_first() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"allow",
            "all_tools":{"limits":[{"counter":"all","window":"minute","max":5}]},
            "tools":{"a":{"limits":[{"counter":"a","window":"second","max":1,"scope":"global"}]}}}"#,
    )
    .expect("valid");
    let b = status(&policy, "b");
    assert_eq!((b.status, b.rule.as_str()), (Status::Limited, "/all_tools/limits/0"));
    assert_eq!(
        b.why,
        "limited by the `all_tools` counter `all`: 5 calls per minute, per grant"
    );
    assert_eq!(b.limits.len(), 1);
    assert!(b.limits[0].all_tools);
    let a = status(&policy, "a");
    assert_eq!(a.status, Status::Limited);
    assert_eq!(
        a.why,
        "limited by counter `a`: 1 call per second, per global"
    );
    assert_eq!(
        a.limits
            .iter()
            .map(|l| l.counter.as_str())
            .collect::<Vec<_>>(),
        ["all", "a"]
    );
}

#[test]
fn status_explains_itself_in_one_sentence() {
    let policy = Policy::from_json(POLICY).expect("valid");
    let cases: &[(&str, &str)] = &[
        ("ssh_execute", "hidden by `hide` item `ssh_execute`"),
        ("google_auth", "no rule matches it and `default` is `deny`, so it is hidden"),
        ("odoo_unlink", "every call is denied by `\"action\": \"deny\"` in `odoo_unlink`"),
        ("ai_invoice_pipeline_run", "every call needs a human's approval (ttl 30m), set in `ai_invoice_pipeline_run`"),
        ("ai_pipeline_run", "calls that meet the approval's `if` need a human's approval (ttl 1h), set in `ai_pipeline_run`"),
        ("odoo_write", "limited by counter `odoo`: 30 calls per hour, per session; conditions deny some calls"),
        ("memory_write", "limited by the `all_tools` counter `all_calls`: 120 calls per minute, per grant; conditions deny some calls"),
    ];
    for (tool, want) in cases {
        assert_eq!(status(&policy, tool).why, *want, "{tool}");
    }
}

/// Without any limit, a listed tool is allowed, by its first matching entry or by
/// `default`.
#[test]
fn a_tool_without_limits_is_allowed_and_says_by_what() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"allow","tools":{
            "memory_write":{"deny_if":[{"path":"args.scope","op":"eq","value":"shared"}]},
            "memory_*":{}}}"#,
    )
    .expect("valid");
    let cases: &[(&str, bool, &str, &str)] = &[
        (
            "memory_write",
            true,
            "/tools/memory_write",
            "allowed by `memory_write`; conditions deny some calls",
        ),
        ("memory_read", false, "/tools/memory_*", "allowed by `memory_*`"),
        (
            "other",
            false,
            "/default",
            "no rule matches it and `default` is `allow`",
        ),
    ];
    for (tool, conditional, rule, why) in cases {
        let got = status(&policy, tool);
        assert_eq!(
            (got.status, got.conditional, got.rule.as_str(), got.why.as_str()),
            (Status::Allowed, *conditional, *rule, *why),
            "{tool}"
        );
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the façade returns json")
}

#[test]
fn catalogue_json_gives_each_tool_its_risk_and_status() {
    let tools = r#"[{"name":"odoo_unlink","description":"Delete records by IDs."},{"name":"odoo_search_read"}]"#;
    let out = parse(&catalogue::catalogue(POLICY, tools));
    assert_eq!(
        out,
        json!({
            "ok": true,
            "tools": [
                {
                    "name": "odoo_unlink", "risk": "destructive", "warnings": [], "status": "denied",
                    "conditional": false, "rule": "/tools/odoo_unlink/action",
                    "why": "every call is denied by `\"action\": \"deny\"` in `odoo_unlink`",
                    "entries": ["/tools/odoo_unlink", "/tools/odoo_*"],
                    "conditions": ["/tools/odoo_unlink/deny_if/0"],
                    "limits": [
                        { "counter": "all_calls", "window": "minute", "max": 120, "scope": "grant", "rule": "/all_tools/limits/0", "all_tools": true },
                        { "counter": "odoo", "window": "hour", "max": 30, "scope": "session", "rule": "/tools/odoo_*/limits/0", "all_tools": false }
                    ]
                },
                {
                    "name": "odoo_search_read", "risk": "read", "warnings": [], "status": "limited",
                    "conditional": false, "rule": "/tools/odoo_*/limits/0",
                    "why": "limited by counter `odoo`: 30 calls per hour, per session",
                    "entries": ["/tools/odoo_search_read", "/tools/odoo_*"],
                    "conditions": [],
                    "limits": [
                        { "counter": "all_calls", "window": "minute", "max": 120, "scope": "grant", "rule": "/all_tools/limits/0", "all_tools": true },
                        { "counter": "odoo", "window": "hour", "max": 30, "scope": "session", "rule": "/tools/odoo_*/limits/0", "all_tools": false }
                    ]
                }
            ],
            "counts": { "allowed": 0, "limited": 1, "needs_approval": 0, "denied": 1, "hidden": 0 }
        })
    );
}

#[test]
fn catalogue_json_reads_tools_list_responses() {
    let policy = r#"{"version":"1","default":"allow"}"#;
    for (tools, why) in [
        (r#"[{"name":"a"}]"#, "a bare array"),
        (r#"{"tools":[{"name":"a"}]}"#, "a tools/list result"),
        (
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}"#,
            "a tools/list response",
        ),
    ] {
        let out = parse(&catalogue::catalogue(policy, tools));
        assert_eq!(out["tools"][0]["name"], "a", "{why}");
        assert_eq!(out["tools"][0]["status"], "allowed", "{why}");
    }
}

#[test]
fn catalogue_json_reports_errors_at_their_place() {
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            r#"{"version":"1","default":"maybe"}"#,
            "[]",
            json!([{ "pointer": "/default", "message": "unknown default `maybe`, expected `allow` or `deny`" }]),
            "a policy error",
        ),
        (
            r#"{"version":"1","default":"deny"}"#,
            r#"[{"name":"a"},{"description":"no name"}]"#,
            json!([{ "pointer": "tools:/1/name", "message": "a tool needs a string `name`" }]),
            "a tool without a name",
        ),
        (
            r#"{"version":"1","default":"deny"}"#,
            r#"{"nope":1}"#,
            json!([{ "pointer": "tools:", "message": "expected an array of tools, `{\"tools\": [...]}` or a tools/list response" }]),
            "not a catalogue",
        ),
    ];
    for (policy, tools, errors, why) in cases {
        let out = parse(&catalogue::catalogue(policy, tools));
        assert_eq!(out, json!({ "ok": false, "errors": errors }), "{why}");
    }
}

#[test]
fn risks_json_needs_no_policy() {
    let out = parse(&catalogue::risks(
        r#"[{"name":"odoo_unlink"},{"name":"x","description":"Send it."}]"#,
    ));
    assert_eq!(
        out,
        json!({ "ok": true, "tools": [
            { "name": "odoo_unlink", "risk": "destructive" },
            { "name": "x", "risk": "write" }
        ] })
    );
}

#[test]
fn contract_example_over_the_whole_catalogue() {
    let policy = include_str!("../examples/contract.policy.json");
    let out = parse(&catalogue::catalogue(policy, ODOO_TOOLS));
    let find = |name: &str| {
        out["tools"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let cases: &[(&str, &str)] = &[
        ("ssh_execute", "hidden"),
        ("odoo_web_login", "hidden"),
        ("odoo_create", "hidden"),
        ("odoo_search_read", "limited"),
        ("odoo_write", "limited"),
        ("odoo_unlink", "denied"),
        ("ai_invoice_pipeline_run", "needs_approval"),
        ("ai_pipeline_step_execute", "limited"),
        ("google_gmail_send", "limited"),
    ];
    for (tool, want) in cases {
        assert_eq!(find(tool)["status"], *want, "{tool}");
    }
    assert_eq!(find("odoo_write")["conditional"], true);
    assert_eq!(find("odoo_search_read")["rule"], "/all_tools/limits/0");
    assert_eq!(find("google_gmail_send")["rule"], "/tools/google_*/limits/0");
    assert_eq!(
        out["counts"],
        json!({ "allowed": 0, "limited": 14, "needs_approval": 1, "denied": 1, "hidden": 182 })
    );
}

/// Every policy shipped with the playground validates, and the playground lists exactly
/// those files.
#[test]
fn every_playground_example_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("www/examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        if let Err(errors) = Policy::from_json(&text) {
            panic!("{} does not validate:\n{errors}", path.display());
        }
        let out = parse(&catalogue::catalogue(&text, ODOO_TOOLS));
        assert_eq!(out["ok"], true, "{}", path.display());
        names.push(
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(names.len() >= 5, "a handful of examples ship: {names:?}");
    let listing = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/src/examples.js"),
    )
    .expect("www/src/examples.js lists the examples");
    for name in &names {
        assert!(
            listing.contains(&format!("\"{name}\"")),
            "www/src/examples.js lists {name}"
        );
    }
    let listed = listing.matches(".policy.json\"").count();
    assert_eq!(
        listed,
        names.len(),
        "www/src/examples.js lists only shipped files"
    );
}

#[test]
fn contract_example_is_shipped_unchanged() {
    assert_eq!(
        include_str!("../www/examples/contract.policy.json"),
        include_str!("../examples/contract.policy.json")
    );
}

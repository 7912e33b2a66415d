//! What the playground shows of a catalogue: the view of each tool under a policy with
//! the gateway's pin statuses (CONTRACT §8) and monitor mode (§7), and the pin-aware
//! simulator, sequence and tools/list of the JSON façade.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use toolgate::catalogue::view::{status_with, Rules};
use toolgate::catalogue::{self, Status};
use toolgate::eval::{PinState, ToolFacts};
use toolgate::json_api;
use toolgate::policy::Policy;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the façade returns json")
}

/// The rows of `catalogue(policy, tools)` by name.
fn rows(policy: &str, tools: &Value) -> std::collections::BTreeMap<String, Value> {
    let out = parse(&catalogue::catalogue(policy, &tools.to_string()));
    assert_eq!(out["ok"], true, "{out}");
    out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// A gateway's `/admin/catalogue` answer: the tools with their pin status and warnings.
fn gateway_tools() -> Value {
    json!({ "tools": [
        { "name": "notes_read", "description": "Read a note.", "pin_status": "pinned", "warnings": [] },
        { "name": "notes_write", "description": "Write a note.", "pin_status": "changed", "warnings": [] },
        { "name": "notes_purge", "description": "Purge notes.", "pin_status": "new", "warnings": [] },
        { "name": "notes_list", "description": "List notes." }
    ]})
}

const ALLOW_ALL: &str = r#"{"version":"1","default":"allow"}"#;

#[test]
fn pin_status_is_given_back_and_changes_nothing_without_a_pin_rule() {
    let rows = rows(ALLOW_ALL, &gateway_tools());
    for (name, pin) in [
        ("notes_read", "pinned"),
        ("notes_write", "changed"),
        ("notes_purge", "new"),
    ] {
        assert_eq!(rows[name]["pin_status"], pin, "{name}");
        assert_eq!(rows[name]["status"], "allowed", "{name}");
        assert_eq!(rows[name]["rule"], "/default", "{name}");
    }
    assert!(
        rows["notes_list"].get("pin_status").is_none(),
        "a tool without a pin status has none in its row"
    );
}

#[test]
fn a_new_tool_is_hidden_by_pin_whatever_on_change_says() {
    for on_change in ["hide", "deny"] {
        let policy =
            format!(r#"{{"version":"1","default":"allow","pin":{{"on_change":"{on_change}"}}}}"#);
        let rows = rows(&policy, &gateway_tools());
        let purge = &rows["notes_purge"];
        assert_eq!(purge["status"], "hidden", "{on_change}");
        assert_eq!(purge["rule"], "/pin", "{on_change}");
        assert_eq!(
            purge["why"],
            "new at the gateway since the catalogue was pinned, and not reviewed: hidden until an operator accepts it (`pin`)"
        );
        assert_eq!(
            rows["notes_read"]["status"], "allowed",
            "a pinned tool is untouched"
        );
        assert_eq!(
            rows["notes_list"]["status"], "allowed",
            "no pin status, no pin rule"
        );
    }
}

#[test]
fn a_changed_tool_is_hidden_under_on_change_hide() {
    let policy = r#"{"version":"1","default":"allow","pin":{"on_change":"hide"}}"#;
    let write = &rows(policy, &gateway_tools())["notes_write"];
    assert_eq!(write["status"], "hidden");
    assert_eq!(write["rule"], "/pin");
    assert_eq!(
        write["why"],
        "its definition changed at the gateway since it was reviewed: hidden until an operator accepts the change (`pin.on_change` is `hide`)"
    );
}

#[test]
fn a_changed_tool_is_denied_under_on_change_deny() {
    let policy = r#"{"version":"1","default":"deny","pin":{"on_change":"deny"},
        "tools":{"notes_*":{"limits":[{"counter":"notes","window":"minute","max":5}]}}}"#;
    let rows = rows(policy, &gateway_tools());
    let write = &rows["notes_write"];
    assert_eq!(write["status"], "denied");
    assert_eq!(write["rule"], "/pin");
    assert_eq!(write["conditional"], false);
    assert_eq!(
        write["why"],
        "its definition changed at the gateway since it was reviewed: every call is denied, and tools/list shows the reviewed definition, until an operator accepts the change (`pin.on_change` is `deny`)"
    );
    assert_eq!(rows["notes_read"]["status"], "limited");
    let out = parse(&catalogue::catalogue(policy, &gateway_tools().to_string()));
    assert_eq!(
        out["counts"],
        json!({ "allowed": 0, "limited": 2, "needs_approval": 0, "denied": 1, "hidden": 1 })
    );
}

#[test]
fn hide_and_an_entrys_deny_come_before_the_pin() {
    let policy = r#"{"version":"1","default":"allow","pin":{"on_change":"deny"},"hide":["notes_purge"],
        "tools":{"notes_write":{"action":"deny"}}}"#;
    let rows = rows(policy, &gateway_tools());
    assert_eq!(rows["notes_purge"]["rule"], "/hide/0");
    assert_eq!(rows["notes_write"]["rule"], "/tools/notes_write/action");
}

#[test]
fn unknown_pin_statuses_are_ignored() {
    let tools = json!([
        { "name": "a", "pin_status": "reviewed-yesterday" },
        { "name": "b", "pin_status": 3 },
        { "name": "c", "pin_status": "removed" }
    ]);
    let policy = r#"{"version":"1","default":"allow","pin":{"on_change":"hide"}}"#;
    let rows = rows(policy, &tools);
    assert!(rows["a"].get("pin_status").is_none());
    assert!(rows["b"].get("pin_status").is_none());
    assert_eq!(
        rows["c"]["pin_status"], "removed",
        "a removed tool counts as pinned"
    );
    for name in ["a", "b", "c"] {
        assert_eq!(rows[name]["status"], "allowed", "{name}");
    }
}

#[test]
fn a_monitored_pin_reports_what_it_would_do() {
    let policy = r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"deny"}}"#;
    let rows = rows(policy, &gateway_tools());
    let write = &rows["notes_write"];
    assert_eq!(write["status"], "allowed");
    assert_eq!(write["monitored"], true);
    assert_eq!(write["monitor"]["status"], "denied");
    assert_eq!(write["monitor"]["rule"], "/pin");
    let purge = &rows["notes_purge"];
    assert_eq!(purge["status"], "allowed");
    assert_eq!(purge["monitor"]["status"], "hidden");
    assert!(
        rows["notes_read"].get("monitor").is_none(),
        "a pinned tool would be the same"
    );
}

#[test]
fn monitored_rules_are_reported_beside_the_enforced_status() {
    let policy = r#"{"version":"1","default":"deny","mode":"monitor",
        "tools":{
            "files_read":{},
            "files_delete":{"action":"deny","mode":"enforce"},
            "files_write":{"deny_if":[{"path":"args.path","op":"regex","value":"^/etc"}]},
            "files_move":{"approval":{"ttl":"15m"}}
        }}"#;
    let tools = json!([
        {"name":"files_read"},{"name":"files_delete"},{"name":"files_write"},
        {"name":"files_move"},{"name":"shell_run"}
    ]);
    let rows = rows(policy, &tools);
    // An entry in enforce mode is enforced under a monitored policy.
    assert_eq!(rows["files_delete"]["status"], "denied");
    assert!(rows["files_delete"].get("monitor").is_none());
    assert!(rows["files_delete"].get("monitored").is_none());
    // A monitored `default: deny` counts as `allow`; the whole policy would hide.
    let shell = &rows["shell_run"];
    assert_eq!(shell["status"], "allowed");
    assert_eq!(shell["rule"], "/default");
    assert_eq!(
        shell["why"],
        "no rule matches it; `default` is `deny` but monitored, so it counts as `allow`"
    );
    assert_eq!(shell["monitored"], true);
    assert_eq!(
        shell["monitor"],
        json!({ "status": "hidden", "conditional": false, "rule": "/default",
                "why": "no rule matches it and `default` is `deny`, so it is hidden" })
    );
    // Monitored conditions and approvals.
    let write = &rows["files_write"];
    assert_eq!(
        (write["status"].as_str(), write["conditional"].as_bool()),
        (Some("allowed"), Some(false))
    );
    assert_eq!(
        write["why"],
        "listed by `files_write`, whose rules are monitored (reported, not enforced)"
    );
    assert_eq!(write["monitor"]["conditional"], true);
    assert_eq!(
        write["monitor"]["why"],
        "allowed by `files_write`; conditions deny some calls"
    );
    let moved = &rows["files_move"];
    assert_eq!(moved["status"], "allowed");
    assert_eq!(moved["monitor"]["status"], "needs_approval");
    assert_eq!(moved["monitor"]["rule"], "/tools/files_move/approval");
    // The same status either way: no `monitor`, but it is still monitored.
    assert!(rows["files_read"].get("monitor").is_none());
    assert_eq!(rows["files_read"]["monitored"], true);
}

#[test]
fn a_monitored_limit_is_not_counted_by_the_enforced_status() {
    let policy = r#"{"version":"1","default":"allow",
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":100}]},
        "tools":{"mail_send":{"mode":"monitor","limits":[{"counter":"mail","window":"hour","max":3}]}}}"#;
    let policy = Policy::from_json(policy).unwrap();
    let enforced = status_with(&policy, "mail_send", ToolFacts::default(), Rules::Enforced);
    assert_eq!(enforced.status, Status::Limited);
    assert_eq!(enforced.rule, "/all_tools/limits/0");
    assert_eq!(enforced.limits.len(), 1);
    let all = status_with(&policy, "mail_send", ToolFacts::default(), Rules::All);
    assert_eq!(all.rule, "/tools/mail_send/limits/0");
    assert_eq!(all.limits.len(), 2);
    assert!(catalogue::view::monitored(
        &policy,
        "mail_send",
        ToolFacts::default()
    ));
    assert!(!catalogue::view::monitored(
        &policy,
        "mail_read",
        ToolFacts::default()
    ));
    // The catalogue row names the limits only the monitor decision counts.
    let text = r#"{"version":"1","default":"allow",
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":100}]},
        "tools":{"mail_send":{"mode":"monitor","limits":[{"counter":"mail","window":"hour","max":3}]}}}"#;
    let rows = rows(
        text,
        &json!([{ "name": "mail_send" }, { "name": "mail_read" }]),
    );
    assert_eq!(
        rows["mail_send"]["monitor_limits"],
        json!([{ "counter": "mail", "window": "hour", "max": 3, "scope": "grant",
                 "rule": "/tools/mail_send/limits/0", "all_tools": false }])
    );
    assert!(rows["mail_read"].get("monitor_limits").is_none());
}

#[test]
fn status_is_every_rule_with_no_pin_known() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","mode":"monitor","pin":{"on_change":"hide"}}"#,
    )
    .unwrap();
    let whole = catalogue::status(&policy, "x");
    assert_eq!(
        (whole.status, whole.rule.as_str()),
        (Status::Hidden, "/default")
    );
    let new = status_with(
        &policy,
        "x",
        ToolFacts { pin: PinState::New },
        Rules::Enforced,
    );
    assert_eq!(
        (new.status, new.rule.as_str()),
        (Status::Allowed, "/default")
    );
}

// ------------------------------------------------------------ the pin-aware façade

fn call(tool: &str) -> String {
    json!({ "body": { "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": tool, "arguments": {} } } })
        .to_string()
}

const PINS: &str = r#"{"notes_write":"changed","notes_purge":"new","notes_read":"pinned"}"#;

#[test]
fn simulate_pinned_hides_new_tools_and_denies_changed_ones() {
    let policy = r#"{"version":"1","default":"allow","pin":{"on_change":"deny"}}"#;
    let out = parse(&json_api::simulate_pinned(
        policy,
        &call("notes_purge"),
        PINS,
    ));
    assert_eq!(out["decision"]["decision"], "hidden");
    assert_eq!(out["decision"]["rule"], "/pin");
    assert_eq!(out["response"]["body"]["error"]["code"], -32602);
    let out = parse(&json_api::simulate_pinned(
        policy,
        &call("notes_write"),
        PINS,
    ));
    assert_eq!(out["decision"]["decision"], "deny");
    assert_eq!(out["decision"]["rule"], "/pin");
    assert_eq!(
        out["decision"]["message"],
        "`notes_write` has changed at the origin since it was reviewed (its definition no longer matches its pin); an operator must review and accept the change before it can be called"
    );
    assert_eq!(out["response"]["body"]["result"]["isError"], true);
    let out = parse(&json_api::simulate_pinned(
        policy,
        &call("notes_read"),
        PINS,
    ));
    assert_eq!(out["decision"]["decision"], "allow");
    assert_eq!(out["response"], Value::Null);
    // No pins: exactly `simulate`.
    assert_eq!(
        json_api::simulate_pinned(policy, &call("notes_write"), ""),
        json_api::simulate(policy, &call("notes_write"))
    );
}

#[test]
fn simulate_pinned_reports_a_monitored_pin() {
    let policy = r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"hide"}}"#;
    let out = parse(&json_api::simulate_pinned(
        policy,
        &call("notes_write"),
        PINS,
    ));
    assert_eq!(out["decision"]["decision"], "allow");
    assert_eq!(out["decision"]["monitor"]["decision"], "hidden");
    assert_eq!(out["decision"]["monitor"]["rule"], "/pin");
}

#[test]
fn a_pinned_sequence_counts_nothing_for_calls_the_pin_refuses() {
    let policy = r#"{"version":"1","default":"allow","pin":{"on_change":"deny"},
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":1}]}}"#;
    let input = [
        call("notes_write"),
        call("notes_write"),
        call("notes_read"),
        call("notes_read"),
    ]
    .join("\n");
    let out = json_api::eval_jsonl_pinned(policy, &input, PINS);
    let decisions: Vec<Value> = out.lines().map(parse).collect();
    let got: Vec<(&str, &str)> = decisions
        .iter()
        .map(|d| (d["decision"].as_str().unwrap(), d["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("deny", "/pin"),
            ("deny", "/pin"),
            ("allow", "/default"),
            ("rate_limited", "/all_tools/limits/0")
        ]
    );
}

#[test]
fn list_tools_pinned_lists_what_the_gateway_would() {
    let tools = r#"[{"name":"notes_read"},{"name":"notes_write"},{"name":"notes_purge"},{"name":"notes_list"}]"#;
    let listed = |policy: &str| {
        let out = parse(&json_api::list_tools_pinned(policy, tools, PINS));
        assert_eq!(out["ok"], true, "{out}");
        let names: Vec<String> = out["response"]["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        (names, out["pinned_elsewhere"].clone())
    };
    let (names, _) = listed(ALLOW_ALL);
    assert_eq!(
        names,
        ["notes_read", "notes_write", "notes_purge", "notes_list"]
    );
    let (names, elsewhere) =
        listed(r#"{"version":"1","default":"allow","pin":{"on_change":"hide"}}"#);
    assert_eq!(names, ["notes_read", "notes_list"]);
    assert_eq!(elsewhere, json!([]));
    let (names, elsewhere) =
        listed(r#"{"version":"1","default":"allow","pin":{"on_change":"deny"}}"#);
    assert_eq!(
        names,
        ["notes_read", "notes_list"],
        "the pinned definition is the gateway's"
    );
    assert_eq!(elsewhere, json!(["notes_write"]));
    let (names, _) =
        listed(r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"hide"}}"#);
    assert_eq!(names.len(), 4, "a monitored policy hides nothing");
}

#[test]
fn bad_pins_are_errors_with_a_place() {
    let out = parse(&json_api::simulate_pinned(ALLOW_ALL, &call("a"), "[1]"));
    assert_eq!(
        out,
        json!({ "ok": false, "errors": [{ "pointer": "pins:", "message": "expected an object of tool name to pin status" }] })
    );
}

#[test]
fn a_call_only_a_monitored_pin_refuses_counts_against_no_monitored_limit() {
    let policy = r#"{"version":"1","mode":"monitor","default":"allow","pin":{"on_change":"hide"},
      "tools":{"t":{"limits":[{"counter":"c","window":"minute","max":1}]},
               "u":{"limits":[{"counter":"c","window":"minute","max":1}]}}}"#;
    let call = |tool: &str, at: u64| {
        format!(
            r#"{{"body":{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}},"at_ms":{at}}}"#
        )
    };
    let input = [call("t", 0), call("t", 1), call("u", 2), call("u", 3)].join("\n");
    let out = toolgate::json_api::eval_jsonl_pinned(policy, &input, r#"{"t":"changed"}"#);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a decision a line"))
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    for t in &lines[..2] {
        assert_eq!(t["decision"], "allow", "{t}");
        assert_eq!(t["monitor"]["decision"], "hidden", "{t}");
        assert_eq!(t["monitor"]["rule"], "/pin", "{t}");
    }
    // The two calls to `t` were refused by the monitor decision, so `c` counted neither:
    // the first call to `u` fits, the second would not have.
    assert_eq!(lines[2]["decision"], "allow");
    assert!(lines[2].get("monitor").is_none(), "{}", lines[2]);
    assert_eq!(
        lines[3]["monitor"]["decision"], "rate_limited",
        "{}",
        lines[3]
    );
}

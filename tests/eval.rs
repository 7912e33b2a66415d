//! Decisions (CONTRACT §1 matching, conditions and order; §2 decision objects): what a
//! policy decides for one message, through `Session::decide` as the CLI and the
//! playground run it.

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use toolgate::eval::{CallContext, Decision, Outcome, Session};
use toolgate::json_api;
use toolgate::policy::Policy;

fn policy(text: &str) -> Policy {
    Policy::from_json(text).unwrap_or_else(|e| panic!("invalid test policy: {e}\n{text}"))
}

fn call_body(tool: &str, arguments: &Value) -> Vec<u8> {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": { "name": tool, "arguments": arguments },
    })
    .to_string()
    .into_bytes()
}

fn at(at_ms: u64) -> CallContext<'static> {
    CallContext {
        grant: "g1",
        session: None,
        at_ms,
    }
}

fn call(session: &mut Session, tool: &str, arguments: Value) -> Decision {
    session.decide(&call_body(tool, &arguments), at(0))
}

/// Decides one call on a fresh session.
fn decide_once(policy_text: &str, tool: &str, arguments: Value) -> Decision {
    call(&mut Session::new(policy(policy_text)), tool, arguments)
}

/// What a condition gives on some arguments.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Holds,
    Fails,
    /// The path is missing: the condition cannot be evaluated.
    Missing,
    /// The value has the wrong type: the condition cannot be evaluated; the text says
    /// what was wanted.
    NotA(&'static str),
}
use Expect::{Fails, Holds, Missing, NotA};

/// Every op, with values that hold, fail, or cannot be evaluated. `condition` is written
/// as in a policy; `shown` is how messages quote it.
fn op_cases() -> Vec<(&'static str, Value, &'static str, Value, Expect)> {
    vec![
        // eq: JSON values compared exactly, numbers by value.
        (
            "eq_same_integer",
            json!({"path":"args.x","op":"eq","value":1}),
            "args.x eq 1",
            json!({"x":1}),
            Holds,
        ),
        (
            "eq_integer_equals_float",
            json!({"path":"args.x","op":"eq","value":1}),
            "args.x eq 1",
            json!({"x":1.0}),
            Holds,
        ),
        (
            "eq_float_equals_integer",
            json!({"path":"args.x","op":"eq","value":100.0}),
            "args.x eq 100.0",
            json!({"x":100}),
            Holds,
        ),
        (
            "eq_number_is_not_string",
            json!({"path":"args.x","op":"eq","value":7}),
            "args.x eq 7",
            json!({"x":"7"}),
            Fails,
        ),
        (
            "eq_string_is_not_number",
            json!({"path":"args.x","op":"eq","value":"7"}),
            "args.x eq \"7\"",
            json!({"x":7}),
            Fails,
        ),
        (
            "eq_true_is_not_one",
            json!({"path":"args.x","op":"eq","value":true}),
            "args.x eq true",
            json!({"x":1}),
            Fails,
        ),
        (
            "eq_null_present",
            json!({"path":"args.x","op":"eq","value":null}),
            "args.x eq null",
            json!({"x":null}),
            Holds,
        ),
        (
            "eq_null_missing",
            json!({"path":"args.x","op":"eq","value":null}),
            "args.x eq null",
            json!({}),
            Missing,
        ),
        (
            "eq_other_integer",
            json!({"path":"args.x","op":"eq","value":1}),
            "args.x eq 1",
            json!({"x":2}),
            Fails,
        ),
        (
            "eq_large_integers_exactly",
            json!({"path":"args.x","op":"eq","value":9_007_199_254_740_993_i64}),
            "args.x eq 9007199254740993",
            json!({"x":9_007_199_254_740_992_i64}),
            Fails,
        ),
        (
            "eq_objects_ignore_key_order",
            json!({"path":"args.x","op":"eq","value":{"a":1,"b":[2]}}),
            "args.x eq {\"a\":1,\"b\":[2]}",
            json!({"x":{"b":[2.0],"a":1}}),
            Holds,
        ),
        (
            "eq_arrays_keep_order",
            json!({"path":"args.x","op":"eq","value":[1,2]}),
            "args.x eq [1,2]",
            json!({"x":[2,1]}),
            Fails,
        ),
        (
            "eq_missing",
            json!({"path":"args.x","op":"eq","value":1}),
            "args.x eq 1",
            json!({}),
            Missing,
        ),
        // neq.
        (
            "neq_other",
            json!({"path":"args.x","op":"neq","value":1}),
            "args.x neq 1",
            json!({"x":2}),
            Holds,
        ),
        (
            "neq_same_by_value",
            json!({"path":"args.x","op":"neq","value":1}),
            "args.x neq 1",
            json!({"x":1.0}),
            Fails,
        ),
        (
            "neq_other_type",
            json!({"path":"args.x","op":"neq","value":1}),
            "args.x neq 1",
            json!({"x":"1"}),
            Holds,
        ),
        (
            "neq_missing",
            json!({"path":"args.x","op":"neq","value":1}),
            "args.x neq 1",
            json!({}),
            Missing,
        ),
        // in.
        (
            "in_member",
            json!({"path":"args.model","op":"in","value":["res.users","ir.config_parameter"]}),
            "args.model in [\"res.users\",\"ir.config_parameter\"]",
            json!({"model":"res.users"}),
            Holds,
        ),
        (
            "in_not_member",
            json!({"path":"args.model","op":"in","value":["res.users","ir.config_parameter"]}),
            "args.model in [\"res.users\",\"ir.config_parameter\"]",
            json!({"model":"res.partner"}),
            Fails,
        ),
        (
            "in_number_by_value",
            json!({"path":"args.x","op":"in","value":[1,2]}),
            "args.x in [1,2]",
            json!({"x":2.0}),
            Holds,
        ),
        (
            "in_number_is_not_string",
            json!({"path":"args.x","op":"in","value":[1,2]}),
            "args.x in [1,2]",
            json!({"x":"1"}),
            Fails,
        ),
        (
            "in_empty",
            json!({"path":"args.x","op":"in","value":[]}),
            "args.x in []",
            json!({"x":1}),
            Fails,
        ),
        (
            "in_missing",
            json!({"path":"args.x","op":"in","value":[1]}),
            "args.x in [1]",
            json!({}),
            Missing,
        ),
        // not_in.
        (
            "not_in_not_member",
            json!({"path":"args.x","op":"not_in","value":["a"]}),
            "args.x not_in [\"a\"]",
            json!({"x":"b"}),
            Holds,
        ),
        (
            "not_in_member",
            json!({"path":"args.x","op":"not_in","value":["a"]}),
            "args.x not_in [\"a\"]",
            json!({"x":"a"}),
            Fails,
        ),
        (
            "not_in_missing",
            json!({"path":"args.x","op":"not_in","value":["a"]}),
            "args.x not_in [\"a\"]",
            json!({}),
            Missing,
        ),
        // lt lte gt gte: numbers only.
        (
            "lt_less",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":4}),
            Holds,
        ),
        (
            "lt_fraction_less",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":4.999}),
            Holds,
        ),
        (
            "lt_equal",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":5}),
            Fails,
        ),
        (
            "lt_string",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":"4"}),
            NotA("a number"),
        ),
        (
            "lt_null",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":null}),
            NotA("a number"),
        ),
        (
            "lt_missing",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({}),
            Missing,
        ),
        (
            "lte_equal",
            json!({"path":"args.x","op":"lte","value":5}),
            "args.x lte 5",
            json!({"x":5.0}),
            Holds,
        ),
        (
            "lte_greater",
            json!({"path":"args.x","op":"lte","value":5}),
            "args.x lte 5",
            json!({"x":5.01}),
            Fails,
        ),
        (
            "lte_array",
            json!({"path":"args.x","op":"lte","value":5}),
            "args.x lte 5",
            json!({"x":[1]}),
            NotA("a number"),
        ),
        (
            "gt_greater",
            json!({"path":"args.x","op":"gt","value":5}),
            "args.x gt 5",
            json!({"x":6}),
            Holds,
        ),
        (
            "gt_huge",
            json!({"path":"args.x","op":"gt","value":5}),
            "args.x gt 5",
            json!({"x":u64::MAX}),
            Holds,
        ),
        (
            "gt_equal",
            json!({"path":"args.x","op":"gt","value":5}),
            "args.x gt 5",
            json!({"x":5}),
            Fails,
        ),
        (
            "gt_negative",
            json!({"path":"args.x","op":"gt","value":-1.5}),
            "args.x gt -1.5",
            json!({"x":-2}),
            Fails,
        ),
        (
            "gte_equal",
            json!({"path":"args.x","op":"gte","value":5}),
            "args.x gte 5",
            json!({"x":5}),
            Holds,
        ),
        (
            "gte_less",
            json!({"path":"args.x","op":"gte","value":5}),
            "args.x gte 5",
            json!({"x":4}),
            Fails,
        ),
        (
            "gte_boolean",
            json!({"path":"args.x","op":"gte","value":5}),
            "args.x gte 5",
            json!({"x":true}),
            NotA("a number"),
        ),
        (
            "gte_missing",
            json!({"path":"args.x","op":"gte","value":5}),
            "args.x gte 5",
            json!({}),
            Missing,
        ),
        // regex: unanchored, strings only.
        (
            "regex_anchored_match",
            json!({"path":"args.m","op":"regex","value":"^res\\.(users|groups)$"}),
            "args.m regex \"^res\\\\.(users|groups)$\"",
            json!({"m":"res.users"}),
            Holds,
        ),
        (
            "regex_anchored_no_match",
            json!({"path":"args.m","op":"regex","value":"^res\\.(users|groups)$"}),
            "args.m regex \"^res\\\\.(users|groups)$\"",
            json!({"m":"res.users.log"}),
            Fails,
        ),
        (
            "regex_is_unanchored",
            json!({"path":"args.m","op":"regex","value":"users"}),
            "args.m regex \"users\"",
            json!({"m":"res.users.log"}),
            Holds,
        ),
        (
            "regex_is_case_sensitive",
            json!({"path":"args.m","op":"regex","value":"users"}),
            "args.m regex \"users\"",
            json!({"m":"USERS"}),
            Fails,
        ),
        (
            "regex_on_a_number",
            json!({"path":"args.m","op":"regex","value":"1"}),
            "args.m regex \"1\"",
            json!({"m":1}),
            NotA("a string"),
        ),
        (
            "regex_missing",
            json!({"path":"args.m","op":"regex","value":"x"}),
            "args.m regex \"x\"",
            json!({}),
            Missing,
        ),
        // contains: substring on strings, membership on arrays.
        (
            "contains_substring",
            json!({"path":"args.x","op":"contains","value":"admin"}),
            "args.x contains \"admin\"",
            json!({"x":"sysadmin"}),
            Holds,
        ),
        (
            "contains_no_substring",
            json!({"path":"args.x","op":"contains","value":"admin"}),
            "args.x contains \"admin\"",
            json!({"x":"user"}),
            Fails,
        ),
        (
            "contains_array_member",
            json!({"path":"args.x","op":"contains","value":"admin"}),
            "args.x contains \"admin\"",
            json!({"x":["user","admin"]}),
            Holds,
        ),
        (
            "contains_array_is_not_substring",
            json!({"path":"args.x","op":"contains","value":"admin"}),
            "args.x contains \"admin\"",
            json!({"x":["administrator"]}),
            Fails,
        ),
        (
            "contains_array_number_by_value",
            json!({"path":"args.x","op":"contains","value":3}),
            "args.x contains 3",
            json!({"x":[1,3.0]}),
            Holds,
        ),
        (
            "contains_on_a_number",
            json!({"path":"args.x","op":"contains","value":"1"}),
            "args.x contains \"1\"",
            json!({"x":1}),
            NotA("a string or an array"),
        ),
        (
            "contains_on_an_object",
            json!({"path":"args.x","op":"contains","value":"a"}),
            "args.x contains \"a\"",
            json!({"x":{"a":1}}),
            NotA("a string or an array"),
        ),
        (
            "contains_number_in_a_string",
            json!({"path":"args.x","op":"contains","value":3}),
            "args.x contains 3",
            json!({"x":"123"}),
            NotA("an array"),
        ),
        (
            "contains_missing",
            json!({"path":"args.x","op":"contains","value":"a"}),
            "args.x contains \"a\"",
            json!({}),
            Missing,
        ),
        // exists: never fails to evaluate.
        (
            "exists_present",
            json!({"path":"args.x","op":"exists"}),
            "args.x exists",
            json!({"x":0}),
            Holds,
        ),
        (
            "exists_present_null",
            json!({"path":"args.x","op":"exists"}),
            "args.x exists",
            json!({"x":null}),
            Holds,
        ),
        (
            "exists_absent",
            json!({"path":"args.x","op":"exists"}),
            "args.x exists",
            json!({}),
            Fails,
        ),
        (
            "exists_parent_not_an_object",
            json!({"path":"args.x.y","op":"exists"}),
            "args.x.y exists",
            json!({"x":5}),
            Fails,
        ),
        (
            "exists_true_present",
            json!({"path":"args.x","op":"exists","value":true}),
            "args.x exists true",
            json!({"x":1}),
            Holds,
        ),
        (
            "exists_true_absent",
            json!({"path":"args.x","op":"exists","value":true}),
            "args.x exists true",
            json!({}),
            Fails,
        ),
        (
            "exists_false_absent",
            json!({"path":"args.x","op":"exists","value":false}),
            "args.x exists false",
            json!({"y":1}),
            Holds,
        ),
        (
            "exists_false_present",
            json!({"path":"args.x","op":"exists","value":false}),
            "args.x exists false",
            json!({"x":false}),
            Fails,
        ),
        // Array index paths.
        (
            "index_path_holds",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":[{"amount":150}]}),
            Holds,
        ),
        (
            "index_path_fails",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":[{"amount":50},{"amount":500}]}),
            Fails,
        ),
        (
            "index_path_second_item",
            json!({"path":"args.lines.1.amount","op":"gt","value":100}),
            "args.lines.1.amount gt 100",
            json!({"lines":[{"amount":50},{"amount":500}]}),
            Holds,
        ),
        (
            "index_path_out_of_range",
            json!({"path":"args.lines.1.amount","op":"gt","value":100}),
            "args.lines.1.amount gt 100",
            json!({"lines":[{"amount":500}]}),
            Missing,
        ),
        (
            "index_path_empty_array",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":[]}),
            Missing,
        ),
        (
            "index_path_on_object_key",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":{"0":{"amount":150}}}),
            Holds,
        ),
        (
            "index_path_leading_zero_is_no_index",
            json!({"path":"args.lines.00.amount","op":"gt","value":100}),
            "args.lines.00.amount gt 100",
            json!({"lines":[{"amount":150}]}),
            Missing,
        ),
        (
            "index_path_negative_is_no_index",
            json!({"path":"args.lines.-1.amount","op":"gt","value":100}),
            "args.lines.-1.amount gt 100",
            json!({"lines":[{"amount":150}]}),
            Missing,
        ),
        (
            "index_path_into_a_string",
            json!({"path":"args.lines.0","op":"eq","value":"a"}),
            "args.lines.0 eq \"a\"",
            json!({"lines":"abc"}),
            Missing,
        ),
        (
            "index_path_whole_item",
            json!({"path":"args.tags.1","op":"eq","value":"b"}),
            "args.tags.1 eq \"b\"",
            json!({"tags":["a","b"]}),
            Holds,
        ),
    ]
}

#[test]
fn require_allows_only_when_every_condition_holds() {
    for (name, condition, shown, arguments, expect) in op_cases() {
        let text = json!({"version":"1","default":"deny","tools":{"t":{"require":[condition]}}})
            .to_string();
        let d = decide_once(&text, "t", arguments.clone());
        let (outcome, message) = match expect {
            Holds => (Outcome::Allow, None),
            Fails => (
                Outcome::Deny,
                Some(format!("calling `t` requires `{shown}`")),
            ),
            Missing => (Outcome::Deny, Some(missing_message(shown))),
            NotA(what) => (Outcome::Deny, Some(wrong_type_message(shown, what))),
        };
        assert_eq!(d.decision, outcome, "case {name}: {arguments}");
        assert_eq!(d.message, message, "case {name}");
        let rule = if outcome == Outcome::Allow {
            "/tools/t"
        } else {
            "/tools/t/require/0"
        };
        assert_eq!(d.rule.as_deref(), Some(rule), "case {name}");
    }
}

#[test]
fn deny_if_denies_when_any_condition_holds_or_cannot_be_evaluated() {
    for (name, condition, shown, arguments, expect) in op_cases() {
        let text = json!({"version":"1","default":"deny","tools":{"t":{"deny_if":[condition]}}})
            .to_string();
        let d = decide_once(&text, "t", arguments.clone());
        let (outcome, message) = match expect {
            Holds => (
                Outcome::Deny,
                Some(format!("calling `t` is not allowed when `{shown}`")),
            ),
            Fails => (Outcome::Allow, None),
            Missing => (Outcome::Deny, Some(missing_message(shown))),
            NotA(what) => (Outcome::Deny, Some(wrong_type_message(shown, what))),
        };
        assert_eq!(d.decision, outcome, "case {name}: {arguments}");
        assert_eq!(d.message, message, "case {name}");
        let rule = if outcome == Outcome::Allow {
            "/tools/t"
        } else {
            "/tools/t/deny_if/0"
        };
        assert_eq!(d.rule.as_deref(), Some(rule), "case {name}");
    }
}

fn path_of(shown: &str) -> &str {
    shown.split(' ').next().unwrap()
}

fn missing_message(shown: &str) -> String {
    format!("cannot evaluate `{shown}`: `{}` is missing", path_of(shown))
}

fn wrong_type_message(shown: &str, what: &str) -> String {
    format!(
        "cannot evaluate `{shown}`: `{}` is not {what}",
        path_of(shown)
    )
}

#[test]
fn exists_never_fails_closed() {
    // A missing path is an answer for `exists`, not an error, in every list.
    let cases = [
        (
            "deny_if_exists_absent",
            r#"{"deny_if":[{"path":"args.force","op":"exists"}]}"#,
            json!({}),
            Outcome::Allow,
        ),
        (
            "deny_if_exists_false_absent",
            r#"{"deny_if":[{"path":"args.force","op":"exists","value":false}]}"#,
            json!({}),
            Outcome::Deny,
        ),
        (
            "require_exists_false_absent",
            r#"{"require":[{"path":"args.force","op":"exists","value":false}]}"#,
            json!({}),
            Outcome::Allow,
        ),
        (
            "require_exists_deep_absent",
            r#"{"require":[{"path":"args.a.b.c","op":"exists","value":false}]}"#,
            json!({"a":[]}),
            Outcome::Allow,
        ),
    ];
    for (name, rule, arguments, outcome) in cases {
        let text = format!(r#"{{"version":"1","default":"deny","tools":{{"t":{rule}}}}}"#);
        assert_eq!(
            decide_once(&text, "t", arguments).decision,
            outcome,
            "case {name}"
        );
    }
}

#[test]
fn a_call_without_arguments_has_empty_arguments() {
    let text = r#"{"version":"1","default":"deny","tools":{"t":{"require":[{"path":"args.x","op":"exists","value":false}]},
        "u":{"require":[{"path":"args.x","op":"eq","value":1}]}}}"#;
    let mut session = Session::new(policy(text));
    let bare = |tool: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#)
    };
    assert_eq!(
        session.decide(bare("t").as_bytes(), at(0)).decision,
        Outcome::Allow
    );
    let d = session.decide(bare("u").as_bytes(), at(0));
    assert_eq!(d.decision, Outcome::Deny);
    assert_eq!(
        d.message.as_deref(),
        Some("cannot evaluate `args.x eq 1`: `args.x` is missing")
    );
}

const RULES: &str = r#"{
  "version": "1",
  "default": "deny",
  "hide": ["ssh_execute", "odoo_web_*"],
  "all_tools": { "limits": [ { "counter": "all_calls", "window": "minute", "max": 12 } ] },
  "tools": {
    "odoo_search_read": {},
    "odoo_unlink": { "action": "deny", "on_deny": "deleting records is not allowed" },
    "odoo_write": {
      "deny_if": [
        { "path": "args.model", "op": "in", "value": ["res.users", "ir.config_parameter"] },
        { "path": "args.force", "op": "exists" }
      ],
      "require": [
        { "path": "args.ids", "op": "exists" },
        { "path": "args.ids.0", "op": "gt", "value": 0 }
      ],
      "on_deny": "writes to security models need a human"
    },
    "odoo_create": { "require": [ { "path": "args.model", "op": "regex", "value": "^(res\\.partner|sale\\.order)$" } ] },
    "odoo_web_login": {},
    "ai_invoice_pipeline_run": { "approval": { "ttl": "1h" } },
    "google_*": { "limits": [ { "counter": "google", "window": "hour", "max": 1 } ] }
  }
}"#;

#[test]
fn names_the_deciding_rule() {
    let mut session = Session::new(policy(RULES));
    // (case, tool, arguments, outcome, rule, message)
    type Case<'a> = (&'a str, &'a str, Value, Outcome, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("hidden_exact", "ssh_execute", json!({}), Outcome::Hidden, "/hide/0", Some("Unknown tool: ssh_execute")),
        ("hidden_pattern_wins_over_a_rule", "odoo_web_login", json!({}), Outcome::Hidden, "/hide/1", Some("Unknown tool: odoo_web_login")),
        ("unlisted_under_default_deny", "telegram_send_message", json!({}), Outcome::Hidden, "/default", Some("Unknown tool: telegram_send_message")),
        ("allowed_by_exact_key", "odoo_search_read", json!({"model":"res.partner"}), Outcome::Allow, "/tools/odoo_search_read", None),
        ("action_deny", "odoo_unlink", json!({"ids":[1]}), Outcome::Deny, "/tools/odoo_unlink/action", Some("deleting records is not allowed")),
        ("deny_if_first", "odoo_write", json!({"model":"res.users","ids":[1]}), Outcome::Deny, "/tools/odoo_write/deny_if/0", Some("writes to security models need a human")),
        ("deny_if_second", "odoo_write", json!({"model":"res.partner","ids":[1],"force":false}), Outcome::Deny, "/tools/odoo_write/deny_if/1", Some("writes to security models need a human")),
        ("deny_if_before_require", "odoo_write", json!({"model":"res.users"}), Outcome::Deny, "/tools/odoo_write/deny_if/0", Some("writes to security models need a human")),
        ("require_first", "odoo_write", json!({"model":"res.partner"}), Outcome::Deny, "/tools/odoo_write/require/0", Some("writes to security models need a human")),
        ("require_second", "odoo_write", json!({"model":"res.partner","ids":[0]}), Outcome::Deny, "/tools/odoo_write/require/1", Some("writes to security models need a human")),
        ("require_unevaluable_with_on_deny", "odoo_write", json!({"model":"res.partner","ids":["x"]}), Outcome::Deny, "/tools/odoo_write/require/1", Some("writes to security models need a human")),
        ("write_allowed", "odoo_write", json!({"model":"res.partner","ids":[7],"vals":{"active":true}}), Outcome::Allow, "/tools/odoo_write", None),
        ("require_regex", "odoo_create", json!({"model":"res.users"}), Outcome::Deny, "/tools/odoo_create/require/0", Some("calling `odoo_create` requires `args.model regex \"^(res\\\\.partner|sale\\\\.order)$\"`")),
        ("require_regex_holds", "odoo_create", json!({"model":"sale.order"}), Outcome::Allow, "/tools/odoo_create", None),
        ("approval", "ai_invoice_pipeline_run", json!({}), Outcome::ApprovalRequired, "/tools/ai_invoice_pipeline_run/approval", None),
        ("allowed_by_pattern", "google_gmail_search", json!({"q":"x"}), Outcome::Allow, "/tools/google_*", None),
        ("pattern_limit", "google_gmail_send", json!({}), Outcome::RateLimited, "/tools/google_*/limits/0", Some("rate limit `google` exceeded: at most 1 call per hour; retry in 1 h 0 min")),
    ];
    for (name, tool, arguments, outcome, rule, message) in cases {
        let d = call(&mut session, tool, arguments);
        assert_eq!(d.decision, outcome, "case {name}: {d:?}");
        assert_eq!(d.rule.as_deref(), Some(rule), "case {name}");
        assert_eq!(d.tool.as_deref(), Some(tool), "case {name}");
        assert_eq!(d.method.as_deref(), Some("tools/call"), "case {name}");
        if outcome != Outcome::ApprovalRequired {
            assert_eq!(d.message.as_deref(), message, "case {name}");
        }
    }
}

#[test]
fn all_tools_limits_name_their_rule() {
    let text = r#"{"version":"1","default":"allow",
        "all_tools":{"limits":[{"counter":"all","window":"second","max":2}]}}"#;
    let mut session = Session::new(policy(text));
    for at_ms in [0, 10] {
        let d = session.decide(&call_body("anything", &json!({})), at(at_ms));
        assert_eq!(d.decision, Outcome::Allow);
        assert_eq!(d.rule.as_deref(), Some("/default"));
    }
    let d = session.decide(&call_body("other", &json!({})), at(250));
    assert_eq!(d.decision, Outcome::RateLimited);
    assert_eq!(d.rule.as_deref(), Some("/all_tools/limits/0"));
    assert_eq!(d.retry_after_ms, Some(750));
    assert_eq!(
        d.message.as_deref(),
        Some("rate limit `all` exceeded: at most 2 calls per second; retry in 750 ms")
    );
}

#[test]
fn default_messages_say_why() {
    let text = r#"{"version":"1","default":"deny","tools":{
        "odoo_unlink":{"action":"deny"},
        "odoo_write":{"deny_if":[{"path":"args.model","op":"eq","value":"res.users"}],
                      "require":[{"path":"args.ids","op":"exists"}]}}}"#;
    let cases = [
        (
            "action",
            "odoo_unlink",
            json!({}),
            "calling `odoo_unlink` is not allowed by policy",
        ),
        (
            "deny_if",
            "odoo_write",
            json!({"model":"res.users","ids":[1]}),
            "calling `odoo_write` is not allowed when `args.model eq \"res.users\"`",
        ),
        (
            "require",
            "odoo_write",
            json!({"model":"res.partner"}),
            "calling `odoo_write` requires `args.ids exists`",
        ),
        (
            "unevaluable",
            "odoo_write",
            json!({"ids":[1]}),
            "cannot evaluate `args.model eq \"res.users\"`: `args.model` is missing",
        ),
    ];
    for (name, tool, arguments, message) in cases {
        let d = decide_once(text, tool, arguments);
        assert_eq!(d.decision, Outcome::Deny, "case {name}");
        assert_eq!(d.message.as_deref(), Some(message), "case {name}");
    }
}

#[test]
fn on_deny_is_the_message_of_the_entry_that_denies() {
    let text = r#"{"version":"1","default":"deny","tools":{
        "odoo_*":{"deny_if":[{"path":"args.model","op":"eq","value":"res.users"}],"on_deny":"no security models"},
        "odoo_write":{"require":[{"path":"args.ids","op":"exists"}],"on_deny":"say which records"},
        "odoo_unlink":{"action":"deny","on_deny":"deleting records is not allowed"}}}"#;
    let cases = [
        (
            "pattern_entry",
            "odoo_write",
            json!({"model":"res.users","ids":[1]}),
            "/tools/odoo_*/deny_if/0",
            "no security models",
        ),
        (
            "exact_entry",
            "odoo_write",
            json!({"model":"res.partner"}),
            "/tools/odoo_write/require/0",
            "say which records",
        ),
        (
            "action_entry",
            "odoo_unlink",
            json!({"model":"res.partner"}),
            "/tools/odoo_unlink/action",
            "deleting records is not allowed",
        ),
        (
            "pattern_before_action",
            "odoo_unlink",
            json!({"model":"res.users"}),
            "/tools/odoo_*/deny_if/0",
            "no security models",
        ),
    ];
    for (name, tool, arguments, rule, message) in cases {
        let d = decide_once(text, tool, arguments);
        assert_eq!(d.decision, Outcome::Deny, "case {name}");
        assert_eq!(d.rule.as_deref(), Some(rule), "case {name}");
        assert_eq!(d.message.as_deref(), Some(message), "case {name}");
    }
}

#[test]
fn every_matching_entry_applies() {
    let keys = [
        (
            r#""odoo_*""#,
            r#"{"deny_if":[{"path":"args.model","op":"eq","value":"res.users"}]}"#,
        ),
        (
            r#""odoo_write""#,
            r#"{"require":[{"path":"args.ids","op":"exists"}]}"#,
        ),
        (
            r#""*_write""#,
            r#"{"limits":[{"counter":"writes","window":"minute","max":1}]}"#,
        ),
        (
            r#""*""#,
            r#"{"deny_if":[{"path":"args.sudo","op":"exists"}]}"#,
        ),
    ];
    // Every order of the keys gives the same outcomes: rules only add restrictions.
    let orders: [[usize; 4]; 4] = [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]];
    for order in orders {
        let tools: Vec<String> = order
            .iter()
            .map(|i| format!("{}:{}", keys[*i].0, keys[*i].1))
            .collect();
        let text = format!(
            r#"{{"version":"1","default":"deny","tools":{{{}}}}}"#,
            tools.join(",")
        );
        let mut session = Session::new(policy(&text));
        let cases = [
            (
                "pattern_deny_if",
                json!({"model":"res.users","ids":[1]}),
                Outcome::Deny,
                Some("/tools/odoo_*/deny_if/0"),
            ),
            (
                "exact_require",
                json!({"model":"res.partner"}),
                Outcome::Deny,
                Some("/tools/odoo_write/require/0"),
            ),
            (
                "catch_all_deny_if",
                json!({"model":"res.partner","ids":[1],"sudo":true}),
                Outcome::Deny,
                Some("/tools/*/deny_if/0"),
            ),
            (
                "all_pass",
                json!({"model":"res.partner","ids":[1]}),
                Outcome::Allow,
                None,
            ),
            (
                "pattern_limit",
                json!({"model":"res.partner","ids":[2]}),
                Outcome::RateLimited,
                Some("/tools/*_write/limits/0"),
            ),
        ];
        for (name, arguments, outcome, rule) in cases {
            let d = call(&mut session, "odoo_write", arguments);
            assert_eq!(d.decision, outcome, "order {order:?} case {name}");
            if let Some(rule) = rule {
                assert_eq!(d.rule.as_deref(), Some(rule), "order {order:?} case {name}");
            }
        }
    }
}

#[test]
fn allow_rule_is_the_first_matching_entry() {
    let text =
        r#"{"version":"1","default":"deny","tools":{"*_read":{},"odoo_*":{},"odoo_read":{}}}"#;
    let d = decide_once(text, "odoo_read", json!({}));
    assert_eq!(d.decision, Outcome::Allow);
    assert_eq!(d.rule.as_deref(), Some("/tools/*_read"));
}

#[test]
fn a_counter_named_twice_counts_once_per_call() {
    let text = r#"{"version":"1","default":"deny",
        "all_tools":{"limits":[{"counter":"c","window":"minute","max":2}]},
        "tools":{"odoo_*":{"limits":[{"counter":"c","window":"minute","max":2}]},
                 "odoo_write":{"limits":[{"counter":"c","window":"minute","max":2}]}}}"#;
    let mut session = Session::new(policy(text));
    assert_eq!(
        call(&mut session, "odoo_write", json!({})).decision,
        Outcome::Allow
    );
    assert_eq!(
        call(&mut session, "odoo_write", json!({})).decision,
        Outcome::Allow
    );
    let d = call(&mut session, "odoo_write", json!({}));
    assert_eq!(d.decision, Outcome::RateLimited);
    assert_eq!(d.rule.as_deref(), Some("/all_tools/limits/0"));
}

#[test]
fn order_is_invalid_hidden_denied_approval_limits() {
    let text = r#"{"version":"1","default":"deny",
        "hide":["secret_*"],
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":1}]},
        "tools":{
          "secret_tool":{"action":"deny"},
          "blocked":{"action":"deny","approval":{}},
          "guarded":{"deny_if":[{"path":"args.bad","op":"eq","value":true}],"approval":{}},
          "needs_ok":{"approval":{"ttl":"15m"}},
          "open":{}}}"#;
    let mut session = Session::new(policy(text));
    let cases: Vec<(&str, Vec<u8>, Outcome, Option<&str>)> = vec![
        // invalid before hidden: a bad envelope for a hidden tool.
        ("invalid_before_hidden", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret_tool","arguments":[]}}"#.to_vec(), Outcome::Invalid, None),
        ("bad_name_before_hidden", br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret tool"}}"#.to_vec(), Outcome::Invalid, None),
        // hidden before denied.
        ("hide_before_action", call_body("secret_tool", &json!({})), Outcome::Hidden, Some("/hide/0")),
        ("unlisted_hidden", call_body("unlisted", &json!({})), Outcome::Hidden, Some("/default")),
        // denied before approval.
        ("action_before_approval", call_body("blocked", &json!({})), Outcome::Deny, Some("/tools/blocked/action")),
        ("deny_if_before_approval", call_body("guarded", &json!({"bad":true})), Outcome::Deny, Some("/tools/guarded/deny_if/0")),
        ("approval_when_not_denied", call_body("guarded", &json!({"bad":false})), Outcome::ApprovalRequired, Some("/tools/guarded/approval")),
        // None of the above consumed the budget of one call a minute.
        ("first_admitted_call", call_body("open", &json!({})), Outcome::Allow, Some("/tools/open")),
        // approval before limits, with the budget exhausted.
        ("approval_before_limits", call_body("needs_ok", &json!({})), Outcome::ApprovalRequired, Some("/tools/needs_ok/approval")),
        ("limits_last", call_body("open", &json!({})), Outcome::RateLimited, Some("/all_tools/limits/0")),
        ("hidden_while_exhausted", call_body("secret_x", &json!({})), Outcome::Hidden, Some("/hide/0")),
        ("denied_while_exhausted", call_body("blocked", &json!({})), Outcome::Deny, Some("/tools/blocked/action")),
    ];
    for (name, body, outcome, rule) in cases {
        let d = session.decide(&body, at(1_000));
        assert_eq!(d.decision, outcome, "case {name}: {d:?}");
        assert_eq!(d.rule.as_deref(), rule, "case {name}");
    }
}

#[test]
fn rate_limited_calls_consume_no_budget() {
    let text = r#"{"version":"1","default":"allow","tools":{"t":{"limits":[{"counter":"c","window":"second","max":1}]}}}"#;
    let mut session = Session::new(policy(text));
    assert_eq!(
        session.decide(&call_body("t", &json!({})), at(0)).decision,
        Outcome::Allow
    );
    // Refused calls at 500 and 900 do not push the window: a call at 1000 fits.
    assert_eq!(
        session
            .decide(&call_body("t", &json!({})), at(500))
            .retry_after_ms,
        Some(500)
    );
    assert_eq!(
        session
            .decide(&call_body("t", &json!({})), at(900))
            .retry_after_ms,
        Some(100)
    );
    assert_eq!(
        session
            .decide(&call_body("t", &json!({})), at(1_000))
            .decision,
        Outcome::Allow
    );
}

#[test]
fn approvals_are_bound_to_the_call_and_never_granted() {
    let text = r#"{"version":"1","default":"deny","tools":{
        "pay":{"approval":{"if":[{"path":"args.amount","op":"gt","value":1000}],"ttl":"15m"}},
        "run":{"approval":{}}}}"#;
    let mut session = Session::new(policy(text));
    let decide =
        |session: &mut Session, tool: &str, args: Value, grant: &'static str, at_ms: u64| {
            session.decide(
                &call_body(tool, &args),
                CallContext {
                    grant,
                    session: None,
                    at_ms,
                },
            )
        };

    let first = decide(
        &mut session,
        "pay",
        json!({"amount":5000,"to":"acme"}),
        "g1",
        1_000,
    );
    assert_eq!(first.decision, Outcome::ApprovalRequired);
    assert_eq!(first.rule.as_deref(), Some("/tools/pay/approval"));
    assert_eq!(first.expires_at, Some(1_000 + 15 * 60_000));
    let id = first.approval_id.clone().unwrap();
    assert_eq!(id.len(), 32, "approval id {id}");
    assert!(
        id.bytes().all(|b| b.is_ascii_hexdigit()),
        "approval id {id}"
    );
    assert_eq!(
        first.message.as_deref(),
        Some(format!("calling `pay` needs human approval: approval `{id}` is pending. Ask an operator to approve it, then repeat the identical call").as_str())
    );

    // The identical call (keys in another order) finds the same pending approval.
    let again = decide(
        &mut session,
        "pay",
        json!({"to":"acme","amount":5000.0}),
        "g1",
        60_000,
    );
    assert_eq!(again.decision, Outcome::ApprovalRequired);
    assert_eq!(again.approval_id.as_deref(), Some(id.as_str()));
    assert_eq!(again.expires_at, first.expires_at);

    // Other arguments, another grant: another approval.
    let other_args = decide(
        &mut session,
        "pay",
        json!({"amount":5001,"to":"acme"}),
        "g1",
        60_000,
    );
    assert_ne!(other_args.approval_id.as_deref(), Some(id.as_str()));
    let other_grant = decide(
        &mut session,
        "pay",
        json!({"amount":5000,"to":"acme"}),
        "g2",
        60_000,
    );
    assert_ne!(other_grant.approval_id.as_deref(), Some(id.as_str()));

    // Expired: the next identical call creates a new one.
    let expired = decide(
        &mut session,
        "pay",
        json!({"amount":5000,"to":"acme"}),
        "g1",
        1_000 + 15 * 60_000,
    );
    assert_eq!(expired.decision, Outcome::ApprovalRequired);
    assert_ne!(expired.approval_id.as_deref(), Some(id.as_str()));
    assert_eq!(expired.expires_at, Some(1_000 + 30 * 60_000));

    // `if` does not hold: no approval needed.
    let small = decide(&mut session, "pay", json!({"amount":10}), "g1", 0);
    assert_eq!(small.decision, Outcome::Allow);
    assert_eq!(small.rule.as_deref(), Some("/tools/pay"));
    // `if` cannot be evaluated: approval needed.
    let unknown = decide(&mut session, "pay", json!({"amount":"lots"}), "g1", 0);
    assert_eq!(unknown.decision, Outcome::ApprovalRequired);
    let missing = decide(&mut session, "pay", json!({}), "g1", 0);
    assert_eq!(missing.decision, Outcome::ApprovalRequired);

    // Default ttl is one hour.
    let run = decide(&mut session, "run", json!({}), "g1", 5);
    assert_eq!(run.expires_at, Some(5 + 3_600_000));
}

#[test]
fn the_shortest_ttl_wins_among_matching_approvals() {
    let text = r#"{"version":"1","default":"deny","tools":{
        "ai_*":{"approval":{"ttl":"1d"}},
        "ai_invoice_pipeline_run":{"approval":{"ttl":"30s"}},
        "*_run":{"approval":{"ttl":"15m"}}}}"#;
    let d = decide_once(text, "ai_invoice_pipeline_run", json!({}));
    assert_eq!(d.decision, Outcome::ApprovalRequired);
    assert_eq!(
        d.rule.as_deref(),
        Some("/tools/ai_invoice_pipeline_run/approval")
    );
    assert_eq!(d.expires_at, Some(30_000));
}

#[test]
fn methods_other_than_tools_call_are_allowed() {
    let text = r#"{"version":"1","default":"deny","hide":["*"],"all_tools":{"limits":[{"counter":"c","window":"day","max":1,"scope":"global"}]}}"#;
    let mut session = Session::new(policy(text));
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "initialize",
            r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
            Some("initialize"),
        ),
        (
            "tools_list",
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            Some("tools/list"),
        ),
        (
            "tools_list_with_cursor",
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":"x"}}"#,
            Some("tools/list"),
        ),
        (
            "ping",
            r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
            Some("ping"),
        ),
        (
            "resources_read",
            r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#,
            Some("resources/read"),
        ),
        (
            "notification",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            Some("notifications/initialized"),
        ),
        (
            "cancel_notification",
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            Some("notifications/cancelled"),
        ),
        ("response", r#"{"jsonrpc":"2.0","id":4,"result":{}}"#, None),
        (
            "error_response",
            r#"{"jsonrpc":"2.0","id":5,"error":{"code":-1,"message":"no"}}"#,
            None,
        ),
    ];
    for _ in 0..2 {
        for (name, body, method) in cases {
            let d = session.decide(body.as_bytes(), at(0));
            assert_eq!(d.decision, Outcome::Allow, "case {name}: {d:?}");
            assert_eq!(d.method.as_deref(), *method, "case {name}");
            assert_eq!(d.tool, None, "case {name}");
            assert_eq!(d.agent_response(None, false), None, "case {name}");
        }
    }
}

#[test]
fn decision_objects_have_the_contract_fields() {
    let mut session = Session::new(policy(RULES));
    let cases = [
        (
            "deny",
            call_body("odoo_write", &json!({"model":"res.users","ids":[1]})),
            json!({"decision":"deny","method":"tools/call","tool":"odoo_write","rule":"/tools/odoo_write/deny_if/0","message":"writes to security models need a human"}),
        ),
        (
            "allow",
            call_body("google_calendar_list", &json!({})),
            json!({"decision":"allow","method":"tools/call","tool":"google_calendar_list","rule":"/tools/google_*"}),
        ),
        (
            "rate_limited",
            call_body("google_calendar_list", &json!({})),
            json!({"decision":"rate_limited","method":"tools/call","tool":"google_calendar_list","rule":"/tools/google_*/limits/0","message":"rate limit `google` exceeded: at most 1 call per hour; retry in 1 h 0 min","retry_after_ms":3_600_000}),
        ),
        (
            "hidden",
            call_body("ssh_execute", &json!({})),
            json!({"decision":"hidden","method":"tools/call","tool":"ssh_execute","rule":"/hide/0","message":"Unknown tool: ssh_execute","code":-32602}),
        ),
        (
            "other_method",
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec(),
            json!({"decision":"allow","method":"tools/list"}),
        ),
    ];
    for (name, body, expected) in cases {
        let d = session.decide(&body, at(0));
        assert_eq!(serde_json::to_value(&d).unwrap(), expected, "case {name}");
    }
    let d = session.decide(
        &call_body("ai_invoice_pipeline_run", &json!({"n":1})),
        at(7),
    );
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(v["decision"], "approval_required");
    assert_eq!(v["rule"], "/tools/ai_invoice_pipeline_run/approval");
    assert_eq!(v["expires_at"], 7 + 3_600_000);
    assert!(v["approval_id"].is_string());
}

fn tools_list_response(names: &[Value]) -> Value {
    let tools: Vec<Value> = names
        .iter()
        .map(|n| match n {
            Value::String(name) => json!({"name": name, "inputSchema": {"type": "object"}}),
            other => other.clone(),
        })
        .collect();
    json!({"jsonrpc":"2.0","id":1,"result":{"tools":tools,"nextCursor":"c2"}})
}

fn names(response: &Value) -> Vec<String> {
    response["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Filters a `tools/list` answer as the gateway does (no pins known); returns how many
/// tools it removed.
fn filter(policy: &Policy, response: &mut Value) -> usize {
    let view = toolgate::catalogue::View::empty();
    let mut report = toolgate::filter::Report::default();
    let text = response.to_string();
    let out = toolgate::filter::Filter::new(policy, &view)
        .message(&text, &mut report)
        .unwrap();
    *response = serde_json::from_str(&out).unwrap();
    report.removed
}

#[test]
fn filters_tools_list_by_policy() {
    let deny_policy = policy(RULES);
    let mut response = tools_list_response(&[
        json!("odoo_search_read"),
        json!("odoo_unlink"),
        json!("ssh_execute"),
        json!("odoo_web_login"),
        json!("telegram_send_message"),
        json!("google_gmail_search"),
        json!({"description":"no name"}),
        json!({"name":5}),
        json!("ai_invoice_pipeline_run"),
    ]);
    let removed = filter(&deny_policy, &mut response);
    assert_eq!(removed, 5);
    assert_eq!(
        names(&response),
        [
            "odoo_search_read",
            "odoo_unlink",
            "google_gmail_search",
            "ai_invoice_pipeline_run"
        ]
    );
    // The rest of the response is untouched.
    assert_eq!(response["result"]["nextCursor"], "c2");
    assert_eq!(
        response["result"]["tools"][0]["inputSchema"],
        json!({"type":"object"})
    );

    let allow_policy = policy(r#"{"version":"1","default":"allow","hide":["ssh_*"]}"#);
    let mut response = tools_list_response(&[json!("ssh_execute"), json!("telegram_send_message")]);
    assert_eq!(filter(&allow_policy, &mut response), 1);
    assert_eq!(names(&response), ["telegram_send_message"]);

    // Not a tools/list result: unchanged.
    for original in [
        json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}),
        json!({"jsonrpc":"2.0","id":1,"result":{"tools":"odd"}}),
        json!({"jsonrpc":"2.0","id":1,"result":{}}),
    ] {
        let mut response = original.clone();
        assert_eq!(filter(&deny_policy, &mut response), 0);
        assert_eq!(response, original);
    }
}

#[test]
fn filters_the_odoo_catalogue_with_the_contract_policy() {
    let catalogue: Value = serde_json::from_str(include_str!("../www/odoo-tools.json")).unwrap();
    let all = catalogue.as_array().unwrap().len();
    assert_eq!(all, 198);
    let mut response = json!({"jsonrpc":"2.0","id":1,"result":{"tools":catalogue}});
    let policy = policy(include_str!("../examples/contract.policy.json"));
    let removed = filter(&policy, &mut response);
    let kept = names(&response);
    assert_eq!(removed + kept.len(), all);
    assert_eq!(
        kept,
        [
            "odoo_search_read",
            "odoo_write",
            "odoo_unlink",
            "google_auth",
            "google_auth_status",
            "google_gmail_search",
            "google_gmail_read",
            "google_gmail_send",
            "google_gmail_labels",
            "google_calendar_list",
            "google_calendar_events",
            "google_calendar_create_event",
            "google_calendar_update_event",
            "google_calendar_delete_event",
            "ai_invoice_pipeline_run",
            "ai_pipeline_step_execute",
        ]
    );
}

#[test]
fn json_api_list_tools_filters_a_response_or_a_bare_array() {
    let policy_text = r#"{"version":"1","default":"deny","hide":["b"],"tools":{"a":{},"b":{}}}"#;
    let out: Value = serde_json::from_str(&json_api::list_tools(
        policy_text,
        r#"[{"name":"a"},{"name":"b"},{"name":"c"}]"#,
    ))
    .unwrap();
    assert_eq!(
        out,
        json!({"ok":true,"response":{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}})
    );
    let out: Value = serde_json::from_str(&json_api::list_tools(
        policy_text,
        r#"{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"c"},{"name":"a","title":"A"}]}}"#,
    ))
    .unwrap();
    assert_eq!(
        out,
        json!({"ok":true,"response":{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"a","title":"A"}]}}})
    );
    let out: Value = serde_json::from_str(&json_api::list_tools(
        r#"{"version":"1","default":"nope"}"#,
        "[]",
    ))
    .unwrap();
    assert_eq!(
        out,
        json!({"ok":false,"errors":[{"pointer":"/default","message":"unknown default `nope`, expected `allow` or `deny`"}]})
    );
    let out: Value = serde_json::from_str(&json_api::list_tools(
        policy_text,
        r#"[{"name":"a","name":"b"}]"#,
    ))
    .unwrap();
    assert_eq!(
        out,
        json!({"ok":false,"errors":[{"pointer":"/0/name","message":"duplicate key `name` at line 1 column 14"}]})
    );
}

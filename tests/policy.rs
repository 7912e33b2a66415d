//! The policy file (CONTRACT §1): every field valid and invalid, each error at its JSON
//! Pointer with the exact message a policy author reads.

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use toolgate::eval::{CallContext, Outcome, Session};
use toolgate::policy::spec::PolicySpec;
use toolgate::policy::{DefaultAction, Policy, Scope, Visibility, Window};

/// The errors of a policy as `toolgate check` prints them, or nothing when it is valid.
fn errors_of(text: &str) -> Vec<String> {
    match Policy::from_json(text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// A policy with one tool `x` whose rule is `rule`.
fn with_rule(rule: &str) -> String {
    format!(r#"{{"version":"1","default":"deny","tools":{{"x":{rule}}}}}"#)
}

/// A policy with one tool `x` that has one condition in `deny_if`.
fn with_condition(condition: &str) -> String {
    with_rule(&format!(r#"{{"deny_if":[{condition}]}}"#))
}

/// A policy with one tool `x` that has one limit.
fn with_limit(limit: &str) -> String {
    with_rule(&format!(r#"{{"limits":[{limit}]}}"#))
}

/// A policy with one tool `x` that has `approval`.
fn with_approval(approval: &str) -> String {
    with_rule(&format!(r#"{{"approval":{approval}}}"#))
}

const OPS: &str = "expected `eq`, `neq`, `in`, `not_in`, `lt`, `lte`, `gt`, `gte`, `regex`, `contains` or `exists`";
const CHARSET: &str = "is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`";

#[test]
fn accepts_every_valid_field() {
    let cases: &[(&str, String)] = &[
        (
            "minimal_deny",
            r#"{"version":"1","default":"deny"}"#.to_owned(),
        ),
        (
            "minimal_allow",
            r#"{"version":"1","default":"allow"}"#.to_owned(),
        ),
        (
            "empty_sections",
            r#"{"version":"1","default":"allow","hide":[],"all_tools":{},"tools":{}}"#.to_owned(),
        ),
        (
            "all_tools_empty_limits",
            r#"{"version":"1","default":"allow","all_tools":{"limits":[]}}"#.to_owned(),
        ),
        (
            "hide_names_and_patterns",
            r#"{"version":"1","default":"allow","hide":["ssh_execute","odoo_web_*","*","a*b*c","x.y-z_1"]}"#
                .to_owned(),
        ),
        ("empty_rule", with_rule("{}")),
        ("action_allow", with_rule(r#"{"action":"allow"}"#)),
        ("action_deny", with_rule(r#"{"action":"deny"}"#)),
        ("on_deny", with_rule(r#"{"on_deny":"no"}"#)),
        ("pattern_key", r#"{"version":"1","default":"deny","tools":{"google_*":{}}}"#.to_owned()),
        ("star_key", r#"{"version":"1","default":"deny","tools":{"*":{}}}"#.to_owned()),
        (
            "key_of_128_characters",
            format!(r#"{{"version":"1","default":"deny","tools":{{"{}":{{}}}}}}"#, "a".repeat(128)),
        ),
        ("op_eq_string", with_condition(r#"{"path":"args.a","op":"eq","value":"x"}"#)),
        ("op_eq_null", with_condition(r#"{"path":"args.a","op":"eq","value":null}"#)),
        ("op_eq_object", with_condition(r#"{"path":"args.a","op":"eq","value":{"b":[1]}}"#)),
        ("op_neq", with_condition(r#"{"path":"args.a","op":"neq","value":1}"#)),
        ("op_in", with_condition(r#"{"path":"args.a","op":"in","value":[1,"x",null]}"#)),
        ("op_in_empty", with_condition(r#"{"path":"args.a","op":"in","value":[]}"#)),
        ("op_not_in", with_condition(r#"{"path":"args.a","op":"not_in","value":["x"]}"#)),
        ("op_lt", with_condition(r#"{"path":"args.a","op":"lt","value":1}"#)),
        ("op_lte_float", with_condition(r#"{"path":"args.a","op":"lte","value":1.5}"#)),
        ("op_gt_negative", with_condition(r#"{"path":"args.a","op":"gt","value":-3}"#)),
        ("op_gte", with_condition(r#"{"path":"args.a","op":"gte","value":1e3}"#)),
        ("op_regex", with_condition(r#"{"path":"args.a","op":"regex","value":"^res\\.(users|groups)$"}"#)),
        ("op_contains_string", with_condition(r#"{"path":"args.a","op":"contains","value":"x"}"#)),
        ("op_contains_number", with_condition(r#"{"path":"args.a","op":"contains","value":3}"#)),
        ("op_exists", with_condition(r#"{"path":"args.a","op":"exists"}"#)),
        ("op_exists_true", with_condition(r#"{"path":"args.a","op":"exists","value":true}"#)),
        ("op_exists_false", with_condition(r#"{"path":"args.a","op":"exists","value":false}"#)),
        ("path_with_index", with_condition(r#"{"path":"args.lines.0.amount","op":"gt","value":0}"#)),
        ("path_with_odd_key", with_condition(r#"{"path":"args.a-b/c~d e","op":"exists"}"#)),
        ("require", with_rule(r#"{"require":[{"path":"args.ids","op":"exists"}]}"#)),
        ("empty_conditions", with_rule(r#"{"deny_if":[],"require":[],"limits":[]}"#)),
        ("window_second", with_limit(r#"{"counter":"c","window":"second","max":1}"#)),
        ("window_minute", with_limit(r#"{"counter":"c","window":"minute","max":1}"#)),
        ("window_hour", with_limit(r#"{"counter":"c","window":"hour","max":1}"#)),
        ("window_day", with_limit(r#"{"counter":"c","window":"day","max":1}"#)),
        ("scope_grant", with_limit(r#"{"counter":"c","window":"day","max":1,"scope":"grant"}"#)),
        ("scope_session", with_limit(r#"{"counter":"c","window":"day","max":1,"scope":"session"}"#)),
        ("scope_global", with_limit(r#"{"counter":"c","window":"day","max":1,"scope":"global"}"#)),
        ("max_1000000", with_limit(r#"{"counter":"c","window":"day","max":1000000}"#)),
        (
            "counter_of_128_characters",
            with_limit(&format!(r#"{{"counter":"{}","window":"day","max":1}}"#, "c".repeat(128))),
        ),
        ("approval_empty", with_approval("{}")),
        ("approval_ttl_30s", with_approval(r#"{"ttl":"30s"}"#)),
        ("approval_ttl_15m", with_approval(r#"{"ttl":"15m"}"#)),
        ("approval_ttl_1h", with_approval(r#"{"ttl":"1h"}"#)),
        ("approval_ttl_1d", with_approval(r#"{"ttl":"1d"}"#)),
        (
            "approval_if",
            with_approval(r#"{"if":[{"path":"args.amount","op":"gt","value":1000}],"ttl":"15m"}"#),
        ),
        (
            "same_counter_twice_agreeing",
            r#"{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"c","window":"minute","max":5}]},
                "tools":{"a":{"limits":[{"counter":"c","window":"minute","max":5,"scope":"grant"}]},
                         "b":{"limits":[{"counter":"c","window":"minute","max":5}]}}}"#
                .to_owned(),
        ),
        (
            "contract_example",
            include_str!("../examples/contract.policy.json").to_owned(),
        ),
    ];
    for (name, text) in cases {
        assert_eq!(errors_of(text), Vec::<String>::new(), "case {name}: {text}");
    }
}

#[test]
fn rejects_each_invalid_field_at_its_pointer() {
    let long = "a".repeat(129);
    let cases: Vec<(&str, String, Vec<String>)> = vec![
        // Top level.
        (
            "not_an_object",
            "[]".to_owned(),
            vec!["expected an object, found an array".to_owned()],
        ),
        (
            "missing_version_and_default",
            "{}".to_owned(),
            vec![
                "/version: missing field `version`".to_owned(),
                "/default: missing field `default`".to_owned(),
            ],
        ),
        (
            "version_2",
            r#"{"version":"2","default":"deny"}"#.to_owned(),
            vec!["/version: unsupported version `2`, expected `\"1\"`".to_owned()],
        ),
        (
            "version_as_number",
            r#"{"version":1,"default":"deny"}"#.to_owned(),
            vec!["/version: unsupported version `1`, expected `\"1\"`".to_owned()],
        ),
        (
            "default_unknown",
            r#"{"version":"1","default":"block"}"#.to_owned(),
            vec!["/default: unknown default `block`, expected `allow` or `deny`".to_owned()],
        ),
        (
            "default_not_a_string",
            r#"{"version":"1","default":false}"#.to_owned(),
            vec!["/default: expected `allow` or `deny`, found a boolean".to_owned()],
        ),
        (
            "default_wrong_case",
            r#"{"version":"1","default":"Deny"}"#.to_owned(),
            vec!["/default: unknown default `Deny`, expected `allow` or `deny`".to_owned()],
        ),
        // hide.
        (
            "hide_not_an_array",
            r#"{"version":"1","default":"deny","hide":"ssh_execute"}"#.to_owned(),
            vec!["/hide: expected an array, found a string".to_owned()],
        ),
        (
            "hide_item_not_a_string",
            r#"{"version":"1","default":"deny","hide":["a",7]}"#.to_owned(),
            vec!["/hide/1: expected a tool name or pattern, found a number".to_owned()],
        ),
        (
            "hide_item_empty",
            r#"{"version":"1","default":"deny","hide":[""]}"#.to_owned(),
            vec!["/hide/0: tool name or pattern must not be empty".to_owned()],
        ),
        (
            "hide_item_too_long",
            format!(r#"{{"version":"1","default":"deny","hide":["{long}"]}}"#),
            vec!["/hide/0: tool name or pattern is longer than 128 characters".to_owned()],
        ),
        (
            "hide_item_with_space",
            r#"{"version":"1","default":"deny","hide":["ssh execute"]}"#.to_owned(),
            vec![format!("/hide/0: `ssh execute` can never match a tool: the space at position 4 {CHARSET}")],
        ),
        (
            "hide_item_with_question_mark",
            r#"{"version":"1","default":"deny","hide":["ok","odoo_?"]}"#.to_owned(),
            vec![format!("/hide/1: `odoo_?` can never match a tool: `?` at position 6 {CHARSET}")],
        ),
        // all_tools.
        (
            "all_tools_not_an_object",
            r#"{"version":"1","default":"deny","all_tools":[]}"#.to_owned(),
            vec!["/all_tools: expected an object, found an array".to_owned()],
        ),
        (
            "all_tools_limits_not_an_array",
            r#"{"version":"1","default":"deny","all_tools":{"limits":{}}}"#.to_owned(),
            vec!["/all_tools/limits: expected an array, found an object".to_owned()],
        ),
        (
            "all_tools_limit_max_zero",
            r#"{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"c","window":"minute","max":0}]}}"#
                .to_owned(),
            vec!["/all_tools/limits/0/max: max must be at least 1".to_owned()],
        ),
        // tools.
        (
            "tools_not_an_object",
            r#"{"version":"1","default":"deny","tools":[]}"#.to_owned(),
            vec!["/tools: expected an object, found an array".to_owned()],
        ),
        (
            "rule_not_an_object",
            with_rule("true"),
            vec!["/tools/x: expected an object, found a boolean".to_owned()],
        ),
        (
            "key_empty",
            r#"{"version":"1","default":"deny","tools":{"":{}}}"#.to_owned(),
            vec!["/tools/: tool name or pattern must not be empty".to_owned()],
        ),
        (
            "key_too_long",
            format!(r#"{{"version":"1","default":"deny","tools":{{"{long}":{{}}}}}}"#),
            vec![format!("/tools/{long}: tool name or pattern is longer than 128 characters")],
        ),
        (
            "key_with_space",
            r#"{"version":"1","default":"deny","tools":{"odoo write":{}}}"#.to_owned(),
            vec![format!("/tools/odoo write: `odoo write` can never match a tool: the space at position 5 {CHARSET}")],
        ),
        (
            "key_with_slash_is_escaped_in_pointer",
            r#"{"version":"1","default":"deny","tools":{"a/b":{}}}"#.to_owned(),
            vec![format!("/tools/a~1b: `a/b` can never match a tool: `/` at position 2 {CHARSET}")],
        ),
        (
            "key_with_tilde_is_escaped_in_pointer",
            r#"{"version":"1","default":"deny","tools":{"a~b":{}}}"#.to_owned(),
            vec![format!("/tools/a~0b: `a~b` can never match a tool: `~` at position 2 {CHARSET}")],
        ),
        (
            "key_with_non_ascii_letter",
            r#"{"version":"1","default":"deny","tools":{"ödoo_*":{}}}"#.to_owned(),
            vec![format!("/tools/ödoo_*: `ödoo_*` can never match a tool: `ö` (U+00F6) at position 1 {CHARSET}")],
        ),
        (
            "action_unknown",
            with_rule(r#"{"action":"block"}"#),
            vec!["/tools/x/action: unknown action `block`, expected `allow` or `deny`".to_owned()],
        ),
        (
            "action_not_a_string",
            with_rule(r#"{"action":true}"#),
            vec!["/tools/x/action: expected `allow` or `deny`, found a boolean".to_owned()],
        ),
        (
            "on_deny_empty",
            with_rule(r#"{"on_deny":"  "}"#),
            vec!["/tools/x/on_deny: on_deny must not be empty".to_owned()],
        ),
        (
            "on_deny_not_a_string",
            with_rule(r#"{"on_deny":["no"]}"#),
            vec!["/tools/x/on_deny: expected a string, found an array".to_owned()],
        ),
        (
            "deny_if_not_an_array",
            with_rule(r#"{"deny_if":{"path":"args.a","op":"exists"}}"#),
            vec!["/tools/x/deny_if: expected an array, found an object".to_owned()],
        ),
        (
            "require_not_an_array",
            with_rule(r#"{"require":null}"#),
            vec!["/tools/x/require: expected an array, found null".to_owned()],
        ),
        (
            "limits_not_an_array",
            with_rule(r#"{"limits":"c"}"#),
            vec!["/tools/x/limits: expected an array, found a string".to_owned()],
        ),
        // Conditions.
        (
            "condition_not_an_object",
            with_condition(r#""args.a""#),
            vec!["/tools/x/deny_if/0: expected an object, found a string".to_owned()],
        ),
        (
            "condition_missing_path_and_op",
            with_condition("{}"),
            vec![
                "/tools/x/deny_if/0/path: missing field `path`".to_owned(),
                "/tools/x/deny_if/0/op: missing field `op`".to_owned(),
            ],
        ),
        (
            "op_unknown",
            with_condition(r#"{"path":"args.a","op":"gtx","value":1}"#),
            vec![format!("/tools/x/deny_if/0/op: unknown op `gtx`, {OPS}")],
        ),
        (
            "op_wrong_case",
            with_condition(r#"{"path":"args.a","op":"EQ","value":1}"#),
            vec![format!("/tools/x/deny_if/0/op: unknown op `EQ`, {OPS}")],
        ),
        (
            "op_not_a_string",
            with_condition(r#"{"path":"args.a","op":1,"value":1}"#),
            vec![format!("/tools/x/deny_if/0/op: {OPS}, found a number")],
        ),
        (
            "op_eq_without_value",
            with_condition(r#"{"path":"args.a","op":"eq"}"#),
            vec!["/tools/x/deny_if/0/value: op `eq` needs a `value`".to_owned()],
        ),
        (
            "op_in_with_a_string",
            with_condition(r#"{"path":"args.a","op":"in","value":"res.users"}"#),
            vec!["/tools/x/deny_if/0/value: op `in` needs an array value, found a string".to_owned()],
        ),
        (
            "op_not_in_with_an_object",
            with_condition(r#"{"path":"args.a","op":"not_in","value":{}}"#),
            vec!["/tools/x/deny_if/0/value: op `not_in` needs an array value, found an object".to_owned()],
        ),
        (
            "op_lt_with_a_string",
            with_condition(r#"{"path":"args.a","op":"lt","value":"5"}"#),
            vec!["/tools/x/deny_if/0/value: op `lt` needs a number value, found a string".to_owned()],
        ),
        (
            "op_gte_with_null",
            with_condition(r#"{"path":"args.a","op":"gte","value":null}"#),
            vec!["/tools/x/deny_if/0/value: op `gte` needs a number value, found null".to_owned()],
        ),
        (
            "op_regex_with_a_number",
            with_condition(r#"{"path":"args.a","op":"regex","value":5}"#),
            vec!["/tools/x/deny_if/0/value: op `regex` needs a string value, found a number".to_owned()],
        ),
        (
            "op_regex_unclosed_group",
            with_condition(r#"{"path":"args.a","op":"regex","value":"(res"}"#),
            vec!["/tools/x/deny_if/0/value: invalid regex `(res`: found open group without closing ')'".to_owned()],
        ),
        (
            "op_regex_lookahead",
            with_condition(r#"{"path":"args.a","op":"regex","value":"a(?=b)"}"#),
            vec!["/tools/x/deny_if/0/value: invalid regex `a(?=b)`: look-around is not supported".to_owned()],
        ),
        (
            "op_exists_with_a_string",
            with_condition(r#"{"path":"args.a","op":"exists","value":"yes"}"#),
            vec!["/tools/x/deny_if/0/value: op `exists` takes no value, or `true` or `false`, found a string".to_owned()],
        ),
        (
            "path_not_starting_with_args",
            with_condition(r#"{"path":"arguments.a","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `arguments.a` must start with `args.`".to_owned()],
        ),
        (
            "path_args_prefix_without_dot",
            with_condition(r#"{"path":"argsa","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `argsa` must start with `args.`".to_owned()],
        ),
        (
            "path_capitalised",
            with_condition(r#"{"path":"Args.a","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `Args.a` must start with `args.`".to_owned()],
        ),
        (
            "path_bare_key",
            with_condition(r#"{"path":"model","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `model` must start with `args.`".to_owned()],
        ),
        (
            "path_trailing_dot",
            with_condition(r#"{"path":"args.","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `args.` has an empty segment".to_owned()],
        ),
        (
            "path_double_dot",
            with_condition(r#"{"path":"args.a..b","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `args.a..b` has an empty segment".to_owned()],
        ),
        (
            "path_not_a_string",
            with_condition(r#"{"path":["args","a"],"op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: expected a path such as `args.model`, found an array".to_owned()],
        ),
        (
            "condition_in_require",
            with_rule(r#"{"require":[{"path":"args.ids","op":"exists"},{"path":"x","op":"exists"}]}"#),
            vec!["/tools/x/require/1/path: path `x` must start with `args.`".to_owned()],
        ),
        // Limits.
        (
            "limit_not_an_object",
            with_limit(r#""c""#),
            vec!["/tools/x/limits/0: expected an object, found a string".to_owned()],
        ),
        (
            "limit_missing_fields",
            with_limit("{}"),
            vec![
                "/tools/x/limits/0/counter: missing field `counter`".to_owned(),
                "/tools/x/limits/0/window: missing field `window`".to_owned(),
                "/tools/x/limits/0/max: missing field `max`".to_owned(),
            ],
        ),
        (
            "max_zero",
            with_limit(r#"{"counter":"c","window":"minute","max":0}"#),
            vec!["/tools/x/limits/0/max: max must be at least 1".to_owned()],
        ),
        (
            "max_negative",
            with_limit(r#"{"counter":"c","window":"minute","max":-5}"#),
            vec!["/tools/x/limits/0/max: max must be at least 1".to_owned()],
        ),
        (
            "max_fraction",
            with_limit(r#"{"counter":"c","window":"minute","max":1.5}"#),
            vec!["/tools/x/limits/0/max: max must be an integer, found `1.5`".to_owned()],
        ),
        (
            "max_as_string",
            with_limit(r#"{"counter":"c","window":"minute","max":"10"}"#),
            vec!["/tools/x/limits/0/max: max must be an integer, found a string".to_owned()],
        ),
        (
            "max_too_large",
            with_limit(r#"{"counter":"c","window":"minute","max":1000001}"#),
            vec!["/tools/x/limits/0/max: max must be at most 1000000".to_owned()],
        ),
        (
            "window_unknown",
            with_limit(r#"{"counter":"c","window":"week","max":1}"#),
            vec!["/tools/x/limits/0/window: unknown window `week`, expected `second`, `minute`, `hour` or `day`".to_owned()],
        ),
        (
            "window_as_milliseconds",
            with_limit(r#"{"counter":"c","window":60000,"max":1}"#),
            vec!["/tools/x/limits/0/window: expected `second`, `minute`, `hour` or `day`, found a number".to_owned()],
        ),
        (
            "scope_unknown",
            with_limit(r#"{"counter":"c","window":"minute","max":1,"scope":"tenant"}"#),
            vec!["/tools/x/limits/0/scope: unknown scope `tenant`, expected `grant`, `session` or `global`".to_owned()],
        ),
        (
            "scope_null",
            with_limit(r#"{"counter":"c","window":"minute","max":1,"scope":null}"#),
            vec!["/tools/x/limits/0/scope: expected `grant`, `session` or `global`, found null".to_owned()],
        ),
        (
            "counter_empty",
            with_limit(r#"{"counter":"","window":"minute","max":1}"#),
            vec!["/tools/x/limits/0/counter: counter must not be empty".to_owned()],
        ),
        (
            "counter_too_long",
            with_limit(&format!(r#"{{"counter":"{}","window":"minute","max":1}}"#, "c".repeat(129))),
            vec!["/tools/x/limits/0/counter: counter is longer than 128 characters".to_owned()],
        ),
        (
            "counter_not_a_string",
            with_limit(r#"{"counter":1,"window":"minute","max":1}"#),
            vec!["/tools/x/limits/0/counter: expected a counter name, found a number".to_owned()],
        ),
        (
            "counter_twice_with_different_max",
            r#"{"version":"1","default":"deny","tools":{
                "a":{"limits":[{"counter":"c","window":"minute","max":10}]},
                "b":{"limits":[{"counter":"c","window":"minute","max":11}]}}}"#
                .to_owned(),
            vec!["/tools/b/limits/0: counter `c` is already defined at /tools/a/limits/0 with window `minute`, max 10 and scope `grant`; every limit on one counter must agree".to_owned()],
        ),
        (
            "counter_twice_with_different_window",
            r#"{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"c","window":"minute","max":10,"scope":"global"}]},
                "tools":{"a":{"limits":[{"counter":"c","window":"hour","max":10,"scope":"global"}]}}}"#
                .to_owned(),
            vec!["/tools/a/limits/0: counter `c` is already defined at /all_tools/limits/0 with window `minute`, max 10 and scope `global`; every limit on one counter must agree".to_owned()],
        ),
        (
            "counter_twice_with_different_scope",
            with_rule(r#"{"limits":[{"counter":"c","window":"day","max":3},{"counter":"c","window":"day","max":3,"scope":"session"}]}"#),
            vec!["/tools/x/limits/1: counter `c` is already defined at /tools/x/limits/0 with window `day`, max 3 and scope `grant`; every limit on one counter must agree".to_owned()],
        ),
        // Approval.
        (
            "approval_not_an_object",
            with_approval("true"),
            vec!["/tools/x/approval: expected an object, found a boolean".to_owned()],
        ),
        (
            "approval_ttl_not_a_string",
            with_approval(r#"{"ttl":3600}"#),
            vec!["/tools/x/approval/ttl: expected a duration such as `15m`, found a number".to_owned()],
        ),
        (
            "approval_if_not_an_array",
            with_approval(r#"{"if":{}}"#),
            vec!["/tools/x/approval/if: expected an array, found an object".to_owned()],
        ),
        (
            "approval_if_bad_op",
            with_approval(r#"{"if":[{"path":"args.a","op":"like","value":"x"}]}"#),
            vec![format!("/tools/x/approval/if/0/op: unknown op `like`, {OPS}")],
        ),
        (
            "approval_ttl_zero",
            with_approval(r#"{"ttl":"0s"}"#),
            vec!["/tools/x/approval/ttl: ttl must be greater than zero".to_owned()],
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(errors_of(&text), expected, "case {name}: {text}");
    }
}

/// CONTRACT §1: "`path` starts with `args.`": a bare `args` names no argument.
#[test]
fn rejects_a_bare_args_path() {
    assert_eq!(
        errors_of(&with_condition(r#"{"path":"args","op":"exists"}"#)),
        ["/tools/x/deny_if/0/path: path `args` must start with `args.`"]
    );
}

#[test]
fn rejects_bad_ttls() {
    for ttl in [
        "",
        "1",
        "h",
        "1w",
        "1.5h",
        "-1h",
        "+1h",
        " 1h",
        "1h ",
        "1H",
        "1 h",
        "1hr",
        "60min",
        "1h30m",
        "99999999999999999999d",
        "١h",
    ] {
        assert_eq!(
            errors_of(&with_approval(&json!({ "ttl": ttl }).to_string())),
            vec![format!(
                "/tools/x/approval/ttl: invalid duration `{ttl}`, expected a number and a unit: `30s`, `15m`, `1h` or `1d`"
            )],
            "ttl {ttl:?}"
        );
    }
}

#[test]
fn rejects_unknown_fields_at_every_level() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "top_level",
            r#"{"version":"1","default":"deny","rules":{}}"#,
            "/rules: unknown field `rules`, expected `version`, `default`, `hide`, `all_tools`, `tools`, `mode` or `pin`",
        ),
        (
            "top_level_wrong_case",
            r#"{"version":"1","default":"deny","Tools":{}}"#,
            "/Tools: unknown field `Tools`, expected `version`, `default`, `hide`, `all_tools`, `tools`, `mode` or `pin`",
        ),
        (
            "all_tools",
            r#"{"version":"1","default":"deny","all_tools":{"limit":[]}}"#,
            "/all_tools/limit: unknown field `limit`, expected `limits`",
        ),
        (
            "all_tools_limit",
            r#"{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"c","window":"day","max":1,"burst":2}]}}"#,
            "/all_tools/limits/0/burst: unknown field `burst`, expected `counter`, `window`, `max` or `scope`",
        ),
        (
            "tool_rule",
            r#"{"version":"1","default":"deny","tools":{"x":{"deny":true}}}"#,
            "/tools/x/deny: unknown field `deny`, expected `action`, `deny_if`, `require`, `limits`, `approval`, `on_deny`, `reason`, `rate_limit` or `mode`",
        ),
        (
            "deny_if_condition",
            r#"{"version":"1","default":"deny","tools":{"x":{"deny_if":[{"path":"args.a","op":"exists","values":1}]}}}"#,
            "/tools/x/deny_if/0/values: unknown field `values`, expected `path`, `op` or `value`",
        ),
        (
            "require_condition",
            r#"{"version":"1","default":"deny","tools":{"x":{"require":[{"path":"args.a","op":"exists","note":""}]}}}"#,
            "/tools/x/require/0/note: unknown field `note`, expected `path`, `op` or `value`",
        ),
        (
            "tool_limit",
            r#"{"version":"1","default":"deny","tools":{"x":{"limits":[{"counter":"c","window":"day","max":1,"per":"ip"}]}}}"#,
            "/tools/x/limits/0/per: unknown field `per`, expected `counter`, `window`, `max` or `scope`",
        ),
        (
            "approval",
            r#"{"version":"1","default":"deny","tools":{"x":{"approval":{"ttl":"1h","approvers":[]}}}}"#,
            "/tools/x/approval/approvers: unknown field `approvers`, expected `if` or `ttl`",
        ),
        (
            "approval_condition",
            r#"{"version":"1","default":"deny","tools":{"x":{"approval":{"if":[{"path":"args.a","op":"exists","x":1}]}}}}"#,
            "/tools/x/approval/if/0/x: unknown field `x`, expected `path`, `op` or `value`",
        ),
        (
            "field_name_with_slash_is_escaped",
            r#"{"version":"1","default":"deny","a/b~c":1}"#,
            "/a~1b~0c: unknown field `a/b~c`, expected `version`, `default`, `hide`, `all_tools`, `tools`, `mode` or `pin`",
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(errors_of(text), vec![(*expected).to_owned()], "case {name}");
    }
}

#[test]
fn reports_every_error_not_just_the_first() {
    let text = r#"{
        "version": "1",
        "default": "deny",
        "hide": ["ok", "bad name"],
        "tools": {
            "odoo_write": {
                "deny_if": [ { "path": "args.model", "op": "gtx", "value": 1 } ],
                "limits": [ { "counter": "w", "window": "minute", "max": 0 } ]
            }
        }
    }"#;
    let errors = Policy::from_json(text).unwrap_err().0;
    let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/hide/1",
            "/tools/odoo_write/deny_if/0/op",
            "/tools/odoo_write/limits/0/max"
        ]
    );
    assert_eq!(
        errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        [
            "`bad name` can never match a tool: the space at position 4 is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`",
            "unknown op `gtx`, expected `eq`, `neq`, `in`, `not_in`, `lt`, `lte`, `gt`, `gte`, `regex`, `contains` or `exists`",
            "max must be at least 1",
        ]
    );
}

#[test]
fn reports_errors_across_many_tools_and_fields() {
    let text = r#"{"version":"3","default":"maybe","extra":1,
        "all_tools":{"limits":[{"counter":"c","window":"fortnight","max":1}]},
        "tools":{
            "a":{"action":"nope","on_deny":""},
            "b":{"require":[{"path":"x","op":"eq","value":1}],"approval":{"ttl":"5y"}}
        }}"#;
    assert_eq!(
        errors_of(text),
        [
            "/extra: unknown field `extra`, expected `version`, `default`, `hide`, `all_tools`, `tools`, `mode` or `pin`",
            "/version: unsupported version `3`, expected `\"1\"`",
            "/default: unknown default `maybe`, expected `allow` or `deny`",
            "/all_tools/limits/0/window: unknown window `fortnight`, expected `second`, `minute`, `hour` or `day`",
            "/tools/a/action: unknown action `nope`, expected `allow` or `deny`",
            "/tools/a/on_deny: on_deny must not be empty",
            "/tools/b/require/0/path: path `x` must start with `args.`",
            "/tools/b/approval/ttl: invalid duration `5y`, expected a number and a unit: `30s`, `15m`, `1h` or `1d`",
        ]
    );
}

#[test]
fn rejects_policy_text_that_is_not_strict_json() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "duplicate_top_level_key",
            r#"{"version":"1","default":"deny","default":"allow"}"#,
            "/default",
            "invalid json: duplicate key `default` at line 1 column 33",
        ),
        (
            "keys_differing_only_in_case",
            r#"{"version":"1","default":"deny","Default":"allow"}"#,
            "/Default",
            "invalid json: keys `default` and `Default` differ only in case or invisible characters at line 1 column 33",
        ),
        (
            "trailing_data",
            r#"{"version":"1","default":"deny"} {}"#,
            "",
            "invalid json: trailing data after the json value at line 1 column 34",
        ),
        (
            "empty_file",
            "",
            "",
            "invalid json: unexpected end of input at line 1 column 1",
        ),
        (
            "comments",
            "// policy\n{\"version\":\"1\",\"default\":\"deny\"}",
            "",
            "invalid json: unexpected `/` at line 1 column 1",
        ),
    ];
    for (name, text, pointer, message) in cases {
        let errors = Policy::from_json(text).unwrap_err().0;
        assert_eq!(errors.len(), 1, "case {name}: {errors:?}");
        assert_eq!(errors[0].pointer, *pointer, "case {name}");
        assert_eq!(errors[0].message, *message, "case {name}");
    }
}

/// A JSON error inside a nested object names the place as a pointer from the root, every
/// key on the way included (CONTRACT §1: "every error names its place as a JSON Pointer").
#[test]
fn json_errors_in_a_policy_name_the_nested_place() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "duplicate_tool_key",
            r#"{"version":"1","default":"deny","tools":{"a":{},"a":{"action":"deny"}}}"#,
            "/tools/a",
            "invalid json: duplicate key `a` at line 1 column 49",
        ),
        (
            "duplicate_key_deep_in_a_condition",
            "{\"version\":\"1\",\"default\":\"deny\",\"tools\":{\"a\":{\n\"deny_if\":[{\"path\":\"args.a\",\"op\":\"eq\",\"op\":\"neq\",\"value\":1}]}}}",
            "/tools/a/deny_if/0/op",
            "invalid json: duplicate key `op` at line 2 column 39",
        ),
        (
            "number_out_of_range_in_a_condition",
            r#"{"version":"1","default":"deny","tools":{"a":{"deny_if":[{"path":"args.a","op":"eq","value":1e400}]}}}"#,
            "/tools/a/deny_if/0/value",
            "invalid json: number out of range at line 1 column 93",
        ),
    ];
    for (name, text, pointer, message) in cases {
        let errors = Policy::from_json(text).unwrap_err().0;
        assert_eq!(errors.len(), 1, "case {name}: {errors:?}");
        assert_eq!(errors[0].pointer, *pointer, "case {name}");
        assert_eq!(errors[0].message, *message, "case {name}");
    }
}

/// An error between members (a trailing comma) is in the object itself, not in the member
/// before it.
#[test]
fn a_json_error_between_members_names_the_object() {
    let errors = Policy::from_json(r#"{"version":"1","default":"deny",}"#)
        .unwrap_err()
        .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].pointer, "");
    assert_eq!(
        errors[0].message,
        "invalid json: unexpected `}` at line 1 column 33"
    );
}

#[test]
fn policylayer_seed_policy_validates_and_means_what_it_says() {
    let seed = r#"{"version":"1","default":"deny","tools":{"ai_pipeline_step_execute":{"limits":[{"counter":"ai_pipeline_step_execute_rate","window":"minute","max":10,"scope":"grant"}]}}}"#;
    let policy = Policy::from_json(seed).unwrap();
    assert_eq!(policy.default_action(), DefaultAction::Deny);
    assert_eq!(policy.limits().len(), 1);
    let limit = &policy.limits()[0];
    assert_eq!(limit.counter, "ai_pipeline_step_execute_rate");
    assert_eq!(limit.window, Window::Minute);
    assert_eq!(limit.max, 10);
    assert_eq!(limit.scope, Scope::Grant);
    assert_eq!(&*limit.pointer, "/tools/ai_pipeline_step_execute/limits/0");
    assert_eq!(
        policy.visibility("ai_pipeline_step_execute"),
        (
            Visibility::Listed,
            "/tools/ai_pipeline_step_execute".to_owned()
        )
    );
    assert_eq!(
        policy.visibility("odoo_unlink"),
        (Visibility::Hidden, "/default".to_owned())
    );
    assert_eq!(
        policy.summary(),
        "ok: default deny, 1 tool rule (0 patterns), 0 hide entries, 1 counter"
    );

    let mut session = Session::new(policy);
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ai_pipeline_step_execute","arguments":{"step":"ocr"}}}"#;
    let at = |grant, at_ms| CallContext {
        grant,
        session: None,
        at_ms,
    };
    // Ten calls a minute per grant, spread over the minute.
    for i in 0..10 {
        let d = session.decide(call, at("g1", i * 5_000));
        assert_eq!(d.decision, Outcome::Allow, "call {i}");
        assert_eq!(d.rule.as_deref(), Some("/tools/ai_pipeline_step_execute"));
    }
    let d = session.decide(call, at("g1", 50_000));
    assert_eq!(d.decision, Outcome::RateLimited);
    assert_eq!(
        d.rule.as_deref(),
        Some("/tools/ai_pipeline_step_execute/limits/0")
    );
    assert_eq!(d.retry_after_ms, Some(10_000));
    assert_eq!(
        d.message.as_deref(),
        Some("rate limit `ai_pipeline_step_execute_rate` exceeded: at most 10 calls per minute; retry in 10.0 s")
    );
    // Another grant has its own budget.
    assert_eq!(
        session.decide(call, at("g2", 50_000)).decision,
        Outcome::Allow
    );
    // One minute after the first call, one more fits.
    assert_eq!(
        session.decide(call, at("g1", 60_000)).decision,
        Outcome::Allow
    );
    // Every other tool is hidden.
    let other = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"odoo_unlink","arguments":{}}}"#;
    let d = session.decide(other, at("g1", 0));
    assert_eq!(d.decision, Outcome::Hidden);
    assert_eq!(d.rule.as_deref(), Some("/default"));
    assert_eq!(d.message.as_deref(), Some("Unknown tool: odoo_unlink"));
}

#[test]
fn summarises_the_contract_example() {
    let policy = Policy::from_json(include_str!("../examples/contract.policy.json")).unwrap();
    assert_eq!(
        policy.summary(),
        "ok: default deny, 6 tool rules (1 pattern), 2 hide entries, 3 counters"
    );
}

#[test]
fn matches_exact_names_and_star_patterns() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","hide":["ssh_execute","odoo_web_*","*_secret"],
            "tools":{"odoo_*":{},"odoo_write":{},"*_read":{},"a*b*c":{}}}"#,
    )
    .unwrap();
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("odoo_write", &["/tools/odoo_*", "/tools/odoo_write"], None),
        ("odoo_read", &["/tools/odoo_*", "/tools/*_read"], None),
        ("odoo_", &["/tools/odoo_*"], None),
        ("odoo", &[], None),
        ("xodoo_write", &[], None),
        ("abc", &["/tools/a*b*c"], None),
        ("aXbYc", &["/tools/a*b*c"], None),
        ("acb", &[], None),
        ("abcb", &[], None),
        ("abcbc", &["/tools/a*b*c"], None),
        ("ssh_execute", &[], Some("/hide/0")),
        ("odoo_web_login", &["/tools/odoo_*"], Some("/hide/1")),
        ("odoo_web_", &["/tools/odoo_*"], Some("/hide/1")),
        ("odoo_secret", &["/tools/odoo_*"], Some("/hide/2")),
        ("ssh_execute2", &[], None),
    ];
    for (tool, entries, hidden) in cases {
        let matched: Vec<&str> = policy
            .matching(tool)
            .iter()
            .map(|e| &**e.pointer())
            .collect();
        assert_eq!(matched, *entries, "matching {tool}");
        assert_eq!(
            policy.hidden_by(tool).as_deref(),
            *hidden,
            "hidden_by {tool}"
        );
    }
}

#[test]
fn hide_reports_the_first_matching_item() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"allow","hide":["odoo_*","odoo_web_*","odoo_web_login"]}"#,
    )
    .unwrap();
    assert_eq!(
        policy.hidden_by("odoo_web_login").as_deref(),
        Some("/hide/0")
    );
    let policy = Policy::from_json(
        r#"{"version":"1","default":"allow","hide":["odoo_web_login","odoo_*"]}"#,
    )
    .unwrap();
    assert_eq!(
        policy.hidden_by("odoo_web_login").as_deref(),
        Some("/hide/0")
    );
    assert_eq!(policy.hidden_by("odoo_write").as_deref(), Some("/hide/1"));
}

/// The spec types (the documented format and the JSON Schema's source) accept every policy
/// the loader accepts, and refuse the unknown fields it refuses.
#[test]
fn spec_types_and_loader_agree() {
    let valid = [
        include_str!("../examples/contract.policy.json").to_owned(),
        with_condition(r#"{"path":"args.a","op":"not_in","value":[1]}"#),
        with_condition(r#"{"path":"args.a","op":"exists","value":false}"#),
        with_limit(r#"{"counter":"c","window":"second","max":1,"scope":"session"}"#),
        with_approval(r#"{"if":[{"path":"args.a","op":"regex","value":"x"}],"ttl":"30s"}"#),
        with_rule(r#"{"action":"deny","on_deny":"no"}"#),
    ];
    for text in &valid {
        assert!(Policy::from_json(text).is_ok(), "loader: {text}");
        let spec: Result<PolicySpec, _> = serde_json::from_str(text);
        assert!(spec.is_ok(), "spec: {text}: {spec:?}");
    }
    let unknown = [
        r#"{"version":"1","default":"deny","rules":{}}"#.to_owned(),
        with_rule(r#"{"deny":true}"#),
        with_condition(r#"{"path":"args.a","op":"exists","values":1}"#),
        with_limit(r#"{"counter":"c","window":"day","max":1,"burst":2}"#),
        with_approval(r#"{"approvers":[]}"#),
        r#"{"version":"1","default":"deny","all_tools":{"limit":[]}}"#.to_owned(),
    ];
    for text in &unknown {
        assert!(Policy::from_json(text).is_err(), "loader: {text}");
        let spec: Result<PolicySpec, _> = serde_json::from_str(text);
        assert!(spec.is_err(), "spec: {text}");
    }
}

#[test]
fn keeps_the_source_document() {
    let text = r#"{"version":"1","default":"allow","tools":{"b":{},"a":{}}}"#;
    let policy = Policy::from_json(text).unwrap();
    assert_eq!(policy.source_text(), text);
    let keys: Vec<&str> = policy
        .entries()
        .iter()
        .map(|e| e.pattern.as_str())
        .collect();
    assert_eq!(keys, ["b", "a"]);
}

// ------------------------------------------------------------------ v2 fields

#[test]
fn accepts_the_v2_fields() {
    let cases: &[(&str, String)] = &[
        (
            "mode_enforce",
            r#"{"version":"1","default":"deny","mode":"enforce"}"#.to_owned(),
        ),
        (
            "mode_monitor",
            r#"{"version":"1","default":"deny","mode":"monitor"}"#.to_owned(),
        ),
        (
            "entry_mode_monitor",
            with_rule(r#"{"mode":"monitor","action":"deny"}"#),
        ),
        ("entry_mode_enforce", with_rule(r#"{"mode":"enforce"}"#)),
        (
            "pin_hide",
            r#"{"version":"1","default":"deny","pin":{"on_change":"hide"}}"#.to_owned(),
        ),
        (
            "pin_deny",
            r#"{"version":"1","default":"deny","pin":{"on_change":"deny"}}"#.to_owned(),
        ),
        ("reason", with_rule(r#"{"action":"deny","reason":"no"}"#)),
        (
            "rate_limit_by_name",
            with_rule(r#"{"rate_limit":{"max":10,"window":"minute"}}"#),
        ),
        (
            "rate_limit_by_seconds",
            with_rule(r#"{"rate_limit":{"max":10,"window":3600}}"#),
        ),
        (
            "star_path",
            with_condition(r#"{"path":"args.lines.*.amount","op":"gt","value":0}"#),
        ),
        (
            "star_star_path",
            with_condition(r#"{"path":"args.*.*","op":"exists"}"#),
        ),
        (
            "leading_zero_index",
            with_condition(r#"{"path":"args.lines.007","op":"exists"}"#),
        ),
        (
            "max_written_as_10.0",
            with_limit(r#"{"counter":"c","window":"minute","max":10.0}"#),
        ),
        (
            "max_written_as_1e1",
            with_limit(r#"{"counter":"c","window":"minute","max":1e1}"#),
        ),
        (
            "exact_big_operand",
            with_condition(r#"{"path":"args.a","op":"eq","value":123456789012345678901234567890}"#),
        ),
    ];
    for (name, text) in cases {
        assert_eq!(errors_of(text), Vec::<String>::new(), "case {name}: {text}");
    }
}

#[test]
fn a_limit_max_is_read_by_its_exact_value() {
    for (written, max) in [
        ("10", 10),
        ("10.0", 10),
        ("1e1", 10),
        ("100E-1", 10),
        ("1000000.000", 1_000_000),
    ] {
        let policy = Policy::from_json(&with_limit(&format!(
            r#"{{"counter":"c","window":"minute","max":{written}}}"#
        )))
        .unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(policy.limits()[0].max, max, "{written}");
    }
    for (written, error) in [
        ("10.5", "max must be an integer, found `10.5`"),
        ("1e-1", "max must be an integer, found `1e-1`"),
        ("0.0", "max must be at least 1"),
        ("-0", "max must be at least 1"),
        ("1000000.1", "max must be an integer, found `1000000.1`"),
        ("1e7", "max must be at most 1000000"),
        ("18446744073709551616", "max must be at most 1000000"),
    ] {
        assert_eq!(
            errors_of(&with_limit(&format!(
                r#"{{"counter":"c","window":"minute","max":{written}}}"#
            ))),
            [format!("/tools/x/limits/0/max: {error}")],
            "{written}"
        );
    }
}

#[test]
fn rejects_bad_v2_fields_at_their_pointers() {
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("mode_unknown", r#"{"version":"1","default":"deny","mode":"audit"}"#.to_owned(),
            vec!["/mode: unknown mode `audit`, expected `enforce` or `monitor`"]),
        ("mode_wrong_case", r#"{"version":"1","default":"deny","mode":"Monitor"}"#.to_owned(),
            vec!["/mode: unknown mode `Monitor`, expected `enforce` or `monitor`"]),
        ("mode_not_a_string", r#"{"version":"1","default":"deny","mode":true}"#.to_owned(),
            vec!["/mode: expected `enforce` or `monitor`, found a boolean"]),
        ("entry_mode_unknown", with_rule(r#"{"mode":"dry_run"}"#),
            vec!["/tools/x/mode: unknown mode `dry_run`, expected `enforce` or `monitor`"]),
        ("entry_mode_null", with_rule(r#"{"mode":null}"#),
            vec!["/tools/x/mode: expected `enforce` or `monitor`, found null"]),
        ("pin_not_an_object", r#"{"version":"1","default":"deny","pin":"hide"}"#.to_owned(),
            vec!["/pin: expected an object, found a string"]),
        ("pin_null", r#"{"version":"1","default":"deny","pin":null}"#.to_owned(),
            vec!["/pin: expected an object, found null"]),
        ("pin_empty", r#"{"version":"1","default":"deny","pin":{}}"#.to_owned(),
            vec!["/pin/on_change: missing field `on_change`"]),
        ("pin_on_change_unknown", r#"{"version":"1","default":"deny","pin":{"on_change":"warn"}}"#.to_owned(),
            vec!["/pin/on_change: unknown on_change `warn`, expected `hide` or `deny`"]),
        ("pin_on_change_not_a_string", r#"{"version":"1","default":"deny","pin":{"on_change":false}}"#.to_owned(),
            vec!["/pin/on_change: expected `hide` or `deny`, found a boolean"]),
        ("pin_unknown_field", r#"{"version":"1","default":"deny","pin":{"on_change":"hide","notify":true}}"#.to_owned(),
            vec!["/pin/notify: unknown field `notify`, expected `on_change`"]),
        ("reason_and_on_deny", with_rule(r#"{"on_deny":"a","reason":"b"}"#),
            vec!["/tools/x/reason: `reason` is another name for `on_deny`: give one of them, not both"]),
        ("reason_empty", with_rule(r#"{"reason":" "}"#),
            vec!["/tools/x/reason: reason must not be empty"]),
        ("reason_not_a_string", with_rule(r#"{"reason":1}"#),
            vec!["/tools/x/reason: expected a string, found a number"]),
        ("star_inside_a_segment", with_condition(r#"{"path":"args.lines.*x","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `args.lines.*x`: `*` must be a whole segment (`args.lines.*.amount`), not part of `*x`"]),
        ("star_after_a_key", with_condition(r#"{"path":"args.a*","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `args.a*`: `*` must be a whole segment (`args.lines.*.amount`), not part of `a*`"]),
        ("double_star", with_condition(r#"{"path":"args.**","op":"exists"}"#),
            vec!["/tools/x/deny_if/0/path: path `args.**`: `*` must be a whole segment (`args.lines.*.amount`), not part of `**`"]),
        ("star_in_require", with_rule(r#"{"require":[{"path":"args.x.y*z","op":"exists"}]}"#),
            vec!["/tools/x/require/0/path: path `args.x.y*z`: `*` must be a whole segment (`args.lines.*.amount`), not part of `y*z`"]),
        ("star_in_approval_if", with_approval(r#"{"if":[{"path":"args.*a","op":"exists"}]}"#),
            vec!["/tools/x/approval/if/0/path: path `args.*a`: `*` must be a whole segment (`args.lines.*.amount`), not part of `*a`"]),
        ("regex_unicode_class", with_condition(r#"{"path":"args.a","op":"regex","value":"\\p{L}+"}"#),
            vec!["/tools/x/deny_if/0/value: invalid regex `\\p{L}+`: Unicode character classes are not supported"]),
        ("regex_too_big", with_condition(r#"{"path":"args.a","op":"regex","value":"x{100000}"}"#),
            vec!["/tools/x/deny_if/0/value: invalid regex `x{100000}`: compiled regex exceeded size limit"]),
    ];
    for (name, text, expected) in cases {
        assert_eq!(errors_of(&text), expected, "case {name}: {text}");
    }
}

#[test]
fn reason_is_another_name_for_on_deny() {
    let cases = [
        (
            "reason",
            r#"{"action":"deny","reason":"deleting is off"}"#,
            "deleting is off",
        ),
        (
            "on_deny",
            r#"{"action":"deny","on_deny":"deleting is off"}"#,
            "deleting is off",
        ),
        (
            "reason_for_a_condition",
            r#"{"deny_if":[{"path":"args.a","op":"exists"}],"reason":"no a"}"#,
            "no a",
        ),
        (
            "neither",
            r#"{"action":"deny"}"#,
            "calling `x` is not allowed by policy",
        ),
    ];
    for (name, rule, message) in cases {
        let policy = Policy::from_json(&with_rule(rule)).unwrap();
        assert_eq!(
            policy.entries()[0].on_deny.as_deref(),
            (name != "neither").then_some(message),
            "case {name}"
        );
        let d = Session::new(policy).decide(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":1}}}"#,
            CallContext { grant: "g", session: None, at_ms: 0 },
        );
        assert_eq!(d.decision, Outcome::Deny, "case {name}");
        assert_eq!(d.message.as_deref(), Some(message), "case {name}");
    }
}

#[test]
fn rate_limit_is_one_grant_limit_on_the_counter_key_rate() {
    let cases: &[(&str, &str, Window)] = &[
        ("second_by_name", r#""second""#, Window::Second),
        ("minute_by_name", r#""minute""#, Window::Minute),
        ("hour_by_name", r#""hour""#, Window::Hour),
        ("day_by_name", r#""day""#, Window::Day),
        ("1_second", "1", Window::Second),
        ("60_seconds", "60", Window::Minute),
        ("3600_seconds", "3600", Window::Hour),
        ("86400_seconds", "86400", Window::Day),
        ("60.0_seconds", "60.0", Window::Minute),
    ];
    for (name, window, want) in cases {
        let text = format!(
            r#"{{"version":"1","default":"deny","tools":{{"send_email":{{"rate_limit":{{"max":7,"window":{window}}}}}}}}}"#
        );
        let policy = Policy::from_json(&text).unwrap_or_else(|e| panic!("case {name}: {e}"));
        assert_eq!(policy.limits().len(), 1, "case {name}");
        let limit = &policy.limits()[0];
        assert_eq!(
            (
                &*limit.pointer,
                limit.counter.as_str(),
                limit.window,
                limit.max,
                limit.scope
            ),
            (
                "/tools/send_email/rate_limit",
                "send_email_rate",
                *want,
                7,
                Scope::Grant
            ),
            "case {name}"
        );
    }
    // A pattern key names the counter too, and it is shared by every tool it matches.
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","tools":{"google_*":{"rate_limit":{"max":1,"window":60}}}}"#,
    )
    .unwrap();
    assert_eq!(policy.limits()[0].counter, "google_*_rate");
    let mut session = Session::new(policy);
    let call = |tool: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}"}}}}"#)
    };
    let context = |at_ms| CallContext {
        grant: "g",
        session: None,
        at_ms,
    };
    assert_eq!(
        session
            .decide(call("google_a").as_bytes(), context(0))
            .decision,
        Outcome::Allow
    );
    let d = session.decide(call("google_b").as_bytes(), context(1_000));
    assert_eq!(d.decision, Outcome::RateLimited);
    assert_eq!(d.rule.as_deref(), Some("/tools/google_*/rate_limit"));
    assert_eq!(
        d.message.as_deref(),
        Some("rate limit `google_*_rate` exceeded: at most 1 call per minute; retry in 59.0 s")
    );
    assert_eq!(d.retry_after_ms, Some(59_000));
    // Another grant has its own budget.
    let other = CallContext {
        grant: "g2",
        session: None,
        at_ms: 1_000,
    };
    assert_eq!(
        session.decide(call("google_b").as_bytes(), other).decision,
        Outcome::Allow
    );
}

#[test]
fn rejects_bad_rate_limits_with_the_exact_message() {
    let seconds = "a window in seconds must be `1`, `60`, `3600` or `86400`, found";
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        ("window_0", r#"{"max":1,"window":0}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `0`")]),
        ("window_2", r#"{"max":1,"window":2}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `2`")]),
        ("window_120", r#"{"max":1,"window":120}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `120`")]),
        ("window_a_week", r#"{"max":1,"window":604800}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `604800`")]),
        ("window_fraction", r#"{"max":1,"window":60.5}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `60.5`")]),
        ("window_negative", r#"{"max":1,"window":-60}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `-60`")]),
        ("window_in_milliseconds", r#"{"max":1,"window":60000}"#, vec![format!("/tools/x/rate_limit/window: {seconds} `60000`")]),
        ("window_unknown_name", r#"{"max":1,"window":"week"}"#, vec!["/tools/x/rate_limit/window: unknown window `week`, expected `second`, `minute`, `hour` or `day`".to_owned()]),
        ("window_duration_text", r#"{"max":1,"window":"1m"}"#, vec!["/tools/x/rate_limit/window: unknown window `1m`, expected `second`, `minute`, `hour` or `day`".to_owned()]),
        ("window_boolean", r#"{"max":1,"window":true}"#, vec!["/tools/x/rate_limit/window: expected `second`, `minute`, `hour` or `day`, found a boolean".to_owned()]),
        ("max_zero", r#"{"max":0,"window":60}"#, vec!["/tools/x/rate_limit/max: max must be at least 1".to_owned()]),
        ("max_negative", r#"{"max":-3,"window":60}"#, vec!["/tools/x/rate_limit/max: max must be at least 1".to_owned()]),
        ("max_fraction", r#"{"max":2.5,"window":60}"#, vec!["/tools/x/rate_limit/max: max must be an integer, found `2.5`".to_owned()]),
        ("max_too_large", r#"{"max":1000001,"window":60}"#, vec!["/tools/x/rate_limit/max: max must be at most 1000000".to_owned()]),
        ("max_string", r#"{"max":"10","window":60}"#, vec!["/tools/x/rate_limit/max: max must be an integer, found a string".to_owned()]),
        ("missing_fields", "{}", vec!["/tools/x/rate_limit/max: missing field `max`".to_owned(), "/tools/x/rate_limit/window: missing field `window`".to_owned()]),
        ("unknown_field", r#"{"max":1,"window":60,"scope":"global"}"#, vec!["/tools/x/rate_limit/scope: unknown field `scope`, expected `max` or `window`".to_owned()]),
        ("not_an_object", "10", vec!["/tools/x/rate_limit: expected an object, found a number".to_owned()]),
    ];
    for (name, rate_limit, expected) in cases {
        let text = with_rule(&format!(r#"{{"rate_limit":{rate_limit}}}"#));
        assert_eq!(errors_of(&text), expected, "case {name}: {text}");
    }
}

#[test]
fn rate_limit_shares_its_counter_with_explicit_limits_only_when_they_agree() {
    let agreeing = with_rule(
        r#"{"limits":[{"counter":"x_rate","window":"minute","max":2}],"rate_limit":{"max":2,"window":60}}"#,
    );
    let policy = Policy::from_json(&agreeing).unwrap();
    assert_eq!(policy.counters(), 1);
    // One counter, counted once per call.
    let mut session = Session::new(policy);
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#;
    let context = |at_ms| CallContext {
        grant: "g",
        session: None,
        at_ms,
    };
    assert_eq!(session.decide(call, context(0)).decision, Outcome::Allow);
    assert_eq!(session.decide(call, context(1)).decision, Outcome::Allow);
    assert_eq!(
        session.decide(call, context(2)).decision,
        Outcome::RateLimited
    );

    let cases: &[(&str, String, &str)] = &[
        (
            "other_max_in_the_same_entry",
            with_rule(r#"{"limits":[{"counter":"x_rate","window":"minute","max":5}],"rate_limit":{"max":10,"window":"minute"}}"#),
            "/tools/x/rate_limit: counter `x_rate` is already defined at /tools/x/limits/0 with window `minute`, max 5 and scope `grant`; every limit on one counter must agree",
        ),
        (
            "other_window_in_all_tools",
            r#"{"version":"1","default":"deny","all_tools":{"limits":[{"counter":"x_rate","window":"hour","max":10}]},"tools":{"x":{"rate_limit":{"max":10,"window":60}}}}"#.to_owned(),
            "/tools/x/rate_limit: counter `x_rate` is already defined at /all_tools/limits/0 with window `hour`, max 10 and scope `grant`; every limit on one counter must agree",
        ),
        (
            "other_scope_in_another_entry",
            r#"{"version":"1","default":"deny","tools":{"y":{"limits":[{"counter":"x_rate","window":"minute","max":10,"scope":"global"}]},"x":{"rate_limit":{"max":10,"window":"minute"}}}}"#.to_owned(),
            "/tools/x/rate_limit: counter `x_rate` is already defined at /tools/y/limits/0 with window `minute`, max 10 and scope `global`; every limit on one counter must agree",
        ),
    ];
    for (name, text, error) in cases {
        assert_eq!(errors_of(text), [*error], "case {name}");
    }
}

#[test]
fn summarises_monitor_mode_and_pinning() {
    let cases = [
        (r#"{"version":"1","default":"deny","mode":"monitor"}"#, "ok: default deny, 0 tool rules (0 patterns), 0 hide entries, 0 counters, monitor mode"),
        (r#"{"version":"1","default":"deny","tools":{"a":{"mode":"monitor"},"b":{"mode":"monitor"},"c":{}}}"#, "ok: default deny, 3 tool rules (0 patterns), 0 hide entries, 0 counters, 2 monitored rules"),
        (r#"{"version":"1","default":"allow","tools":{"a":{"mode":"monitor"}},"pin":{"on_change":"hide"}}"#, "ok: default allow, 1 tool rule (0 patterns), 0 hide entries, 0 counters, 1 monitored rule, pinning (hide changes)"),
        (r#"{"version":"1","default":"allow","pin":{"on_change":"deny"}}"#, "ok: default allow, 0 tool rules (0 patterns), 0 hide entries, 0 counters, pinning (deny changes)"),
        (r#"{"version":"1","default":"allow","tools":{"a":{"rate_limit":{"max":1,"window":1}}}}"#, "ok: default allow, 1 tool rule (0 patterns), 0 hide entries, 1 counter"),
    ];
    for (text, summary) in cases {
        assert_eq!(
            Policy::from_json(text).unwrap().summary(),
            summary,
            "{text}"
        );
    }
}

#[test]
fn spec_types_accept_the_v2_fields() {
    let valid = [
        r#"{"version":"1","default":"deny","mode":"monitor","pin":{"on_change":"deny"}}"#
            .to_owned(),
        with_rule(r#"{"mode":"monitor","reason":"no","rate_limit":{"max":1,"window":60}}"#),
        with_rule(r#"{"rate_limit":{"max":1,"window":"hour"}}"#),
        with_condition(r#"{"path":"args.lines.*.amount","op":"gt","value":1}"#),
    ];
    for text in &valid {
        assert!(Policy::from_json(text).is_ok(), "loader: {text}");
        let spec: Result<PolicySpec, _> = serde_json::from_str(text);
        assert!(spec.is_ok(), "spec: {text}: {spec:?}");
    }
    let unknown = [
        r#"{"version":"1","default":"deny","pin":{"on_change":"hide","x":1}}"#.to_owned(),
        with_rule(r#"{"rate_limit":{"max":1,"window":60,"scope":"grant"}}"#),
    ];
    for text in &unknown {
        assert!(Policy::from_json(text).is_err(), "loader: {text}");
        let spec: Result<PolicySpec, _> = serde_json::from_str(text);
        assert!(spec.is_err(), "spec: {text}");
    }
}

/// PolicyLayer's own examples, as CONTRACT §1 describes its format (a v1 policy means the
/// same in toolgate): each validates and does what it says.
#[test]
fn policylayer_examples_validate_and_mean_what_they_say() {
    // (case, policy, calls: (tool, arguments, decision, rule, message))
    type Call = (
        &'static str,
        Value,
        Outcome,
        &'static str,
        Option<&'static str>,
    );
    let cases: Vec<(&str, &str, Vec<Call>)> = vec![
        (
            "hide_everything",
            r#"{"version":"1","default":"allow","hide":["*"]}"#,
            vec![
                ("odoo_search_read", json!({}), Outcome::Hidden, "/hide/0", Some("Unknown tool: odoo_search_read")),
                ("x", json!({}), Outcome::Hidden, "/hide/0", Some("Unknown tool: x")),
            ],
        ),
        (
            "hide_everything_wins_over_rules",
            r#"{"version":"1","default":"allow","hide":["*"],"tools":{"odoo_search_read":{}}}"#,
            vec![("odoo_search_read", json!({}), Outcome::Hidden, "/hide/0", Some("Unknown tool: odoo_search_read"))],
        ),
        (
            "allow_list",
            r#"{"version":"1","default":"deny","tools":{"odoo_search_read":{},"odoo_*_get":{}}}"#,
            vec![
                ("odoo_search_read", json!({}), Outcome::Allow, "/tools/odoo_search_read", None),
                ("odoo_fields_get", json!({}), Outcome::Allow, "/tools/odoo_*_get", None),
                ("odoo_unlink", json!({}), Outcome::Hidden, "/default", Some("Unknown tool: odoo_unlink")),
            ],
        ),
        (
            "block_list_with_reason",
            r#"{"version":"1","default":"allow","tools":{"*_delete":{"action":"deny","reason":"deleting is disabled"},"odoo_unlink":{"action":"deny","reason":"deleting is disabled"}}}"#,
            vec![
                ("memory_delete", json!({}), Outcome::Deny, "/tools/*_delete/action", Some("deleting is disabled")),
                ("odoo_unlink", json!({"ids":[1]}), Outcome::Deny, "/tools/odoo_unlink/action", Some("deleting is disabled")),
                ("odoo_write", json!({}), Outcome::Allow, "/default", None),
            ],
        ),
        (
            "argument_rules_with_reason",
            r#"{"version":"1","default":"allow","tools":{"odoo_write":{
                "deny_if":[{"path":"args.model","op":"in","value":["res.users","ir.config_parameter"]}],
                "require":[{"path":"args.ids","op":"exists"}],
                "reason":"writes to security models need a human"}}}"#,
            vec![
                ("odoo_write", json!({"model":"res.users","ids":[1]}), Outcome::Deny, "/tools/odoo_write/deny_if/0", Some("writes to security models need a human")),
                ("odoo_write", json!({"model":"res.partner"}), Outcome::Deny, "/tools/odoo_write/require/0", Some("writes to security models need a human")),
                ("odoo_write", json!({"model":"res.partner","ids":[1]}), Outcome::Allow, "/tools/odoo_write", None),
            ],
        ),
        (
            "rate_limit_in_seconds",
            r#"{"version":"1","default":"allow","tools":{"google_gmail_send":{"rate_limit":{"max":2,"window":3600}}}}"#,
            vec![
                ("google_gmail_send", json!({}), Outcome::Allow, "/tools/google_gmail_send", None),
                ("google_gmail_send", json!({}), Outcome::Allow, "/tools/google_gmail_send", None),
                ("google_gmail_send", json!({}), Outcome::RateLimited, "/tools/google_gmail_send/rate_limit", Some("rate limit `google_gmail_send_rate` exceeded: at most 2 calls per hour; retry in 1 h")),
            ],
        ),
        (
            "seed_policy",
            r#"{"version":"1","default":"deny","tools":{"ai_pipeline_step_execute":{"limits":[{"counter":"ai_pipeline_step_execute_rate","window":"minute","max":1,"scope":"grant"}]}}}"#,
            vec![
                ("ai_pipeline_step_execute", json!({}), Outcome::Allow, "/tools/ai_pipeline_step_execute", None),
                ("ai_pipeline_step_execute", json!({}), Outcome::RateLimited, "/tools/ai_pipeline_step_execute/limits/0", Some("rate limit `ai_pipeline_step_execute_rate` exceeded: at most 1 call per minute; retry in 1 min")),
            ],
        ),
        (
            "approval",
            r#"{"version":"1","default":"allow","tools":{"ai_invoice_pipeline_run":{"approval":{"ttl":"1h"}}}}"#,
            vec![("ai_invoice_pipeline_run", json!({}), Outcome::ApprovalRequired, "/tools/ai_invoice_pipeline_run/approval", None)],
        ),
    ];
    for (name, text, calls) in cases {
        let policy = Policy::from_json(text).unwrap_or_else(|e| panic!("case {name}: {e}"));
        let mut session = Session::new(policy);
        for (i, (tool, arguments, decision, rule, message)) in calls.into_iter().enumerate() {
            let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":tool,"arguments":arguments}}).to_string();
            let d = session.decide(
                body.as_bytes(),
                CallContext {
                    grant: "g",
                    session: None,
                    at_ms: 0,
                },
            );
            assert_eq!(d.decision, decision, "case {name} call {i}: {d:?}");
            assert_eq!(d.rule.as_deref(), Some(rule), "case {name} call {i}");
            if decision != Outcome::ApprovalRequired {
                assert_eq!(d.message.as_deref(), message, "case {name} call {i}");
            }
        }
    }
    // `"hide": ["*"]` hides every tool from `tools/list` too.
    let policy = Policy::from_json(r#"{"version":"1","default":"allow","hide":["*"]}"#).unwrap();
    for tool in ["a", "odoo_search_read", "x.y-z"] {
        assert_eq!(
            policy.visibility(tool),
            (Visibility::Hidden, "/hide/0".to_owned()),
            "{tool}"
        );
    }
}

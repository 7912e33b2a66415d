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
            vec![format!("/hide/0: `ssh execute` can never match a tool: ` ` {CHARSET}")],
        ),
        (
            "hide_item_with_question_mark",
            r#"{"version":"1","default":"deny","hide":["ok","odoo_?"]}"#.to_owned(),
            vec![format!("/hide/1: `odoo_?` can never match a tool: `?` {CHARSET}")],
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
            vec![format!("/tools/odoo write: `odoo write` can never match a tool: ` ` {CHARSET}")],
        ),
        (
            "key_with_slash_is_escaped_in_pointer",
            r#"{"version":"1","default":"deny","tools":{"a/b":{}}}"#.to_owned(),
            vec![format!("/tools/a~1b: `a/b` can never match a tool: `/` {CHARSET}")],
        ),
        (
            "key_with_tilde_is_escaped_in_pointer",
            r#"{"version":"1","default":"deny","tools":{"a~b":{}}}"#.to_owned(),
            vec![format!("/tools/a~0b: `a~b` can never match a tool: `~` {CHARSET}")],
        ),
        (
            "key_with_non_ascii_letter",
            r#"{"version":"1","default":"deny","tools":{"ödoo_*":{}}}"#.to_owned(),
            vec![format!("/tools/ödoo_*: `ödoo_*` can never match a tool: `ö` {CHARSET}")],
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
            vec!["/tools/x/deny_if/0/value: invalid regex `(res`: unclosed group".to_owned()],
        ),
        (
            "op_regex_lookahead",
            with_condition(r#"{"path":"args.a","op":"regex","value":"a(?=b)"}"#),
            vec!["/tools/x/deny_if/0/value: invalid regex `a(?=b)`: look-around, including look-ahead and look-behind, is not supported".to_owned()],
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
            "max_written_as_a_float",
            with_limit(r#"{"counter":"c","window":"minute","max":10.0}"#),
            vec!["/tools/x/limits/0/max: max must be an integer, found `10.0`".to_owned()],
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
            "/rules: unknown field `rules`, expected `version`, `default`, `hide`, `all_tools` or `tools`",
        ),
        (
            "top_level_wrong_case",
            r#"{"version":"1","default":"deny","Tools":{}}"#,
            "/Tools: unknown field `Tools`, expected `version`, `default`, `hide`, `all_tools` or `tools`",
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
            "/tools/x/deny: unknown field `deny`, expected `action`, `deny_if`, `require`, `limits`, `approval` or `on_deny`",
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
            "/a~1b~0c: unknown field `a/b~c`, expected `version`, `default`, `hide`, `all_tools` or `tools`",
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
            "`bad name` can never match a tool: ` ` is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`",
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
            "/extra: unknown field `extra`, expected `version`, `default`, `hide`, `all_tools` or `tools`",
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
            "trailing_comma",
            r#"{"version":"1","default":"deny",}"#,
            "",
            "invalid json: unexpected `}` at line 1 column 33",
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
    assert_eq!(limit.pointer, "/tools/ai_pipeline_step_execute/limits/0");
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
            .map(|e| e.pointer.as_str())
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

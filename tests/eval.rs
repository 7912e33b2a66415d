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
    /// The path `args.K` is missing: the condition cannot be evaluated.
    Missing,
    /// The value has the wrong type: the condition cannot be evaluated; the texts say
    /// what was found and what was wanted.
    NotA(&'static str, &'static str),
    /// The condition cannot be evaluated, for this reason.
    Cannot(&'static str),
}
use Expect::{Cannot, Fails, Holds, Missing, NotA};

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
            NotA("a string", "a number"),
        ),
        (
            "lt_null",
            json!({"path":"args.x","op":"lt","value":5}),
            "args.x lt 5",
            json!({"x":null}),
            NotA("null", "a number"),
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
            NotA("an array", "a number"),
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
            NotA("a boolean", "a number"),
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
            NotA("a number", "a string"),
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
            NotA("a number", "a string or an array"),
        ),
        (
            "contains_on_an_object",
            json!({"path":"args.x","op":"contains","value":"a"}),
            "args.x contains \"a\"",
            json!({"x":{"a":1}}),
            NotA("an object", "a string or an array"),
        ),
        (
            "contains_number_in_a_string",
            json!({"path":"args.x","op":"contains","value":3}),
            "args.x contains 3",
            json!({"x":"123"}),
            Cannot("`args.x` is a string, and a string contains only strings, not a number"),
        ),
        (
            "contains_missing",
            json!({"path":"args.x","op":"contains","value":"a"}),
            "args.x contains \"a\"",
            json!({}),
            Missing,
        ),
        // exists: an absent path is an answer; a step that meets the wrong kind is not.
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
            Cannot("`args.x` is a number, so `y` cannot be looked up in it"),
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
            Cannot("`args.lines.1` is missing (no key or index `1` in `args.lines`)"),
        ),
        (
            "index_path_empty_array",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":[]}),
            Cannot("`args.lines.0` is missing (no key or index `0` in `args.lines`)"),
        ),
        (
            "index_path_on_object_key",
            json!({"path":"args.lines.0.amount","op":"gt","value":100}),
            "args.lines.0.amount gt 100",
            json!({"lines":{"0":{"amount":150}}}),
            Holds,
        ),
        (
            "index_path_leading_zeros_are_still_an_index",
            json!({"path":"args.lines.00.amount","op":"gt","value":100}),
            "args.lines.00.amount gt 100",
            json!({"lines":[{"amount":150}]}),
            Holds,
        ),
        (
            "index_path_007_is_index_7",
            json!({"path":"args.tags.007","op":"eq","value":"h"}),
            "args.tags.007 eq \"h\"",
            json!({"tags":["a","b","c","d","e","f","g","h"]}),
            Holds,
        ),
        (
            "index_path_digits_on_an_object_are_a_key",
            json!({"path":"args.lines.007","op":"eq","value":1}),
            "args.lines.007 eq 1",
            json!({"lines":{"007":1}}),
            Holds,
        ),
        (
            "index_path_digits_on_an_object_are_the_key_as_written",
            json!({"path":"args.lines.007","op":"eq","value":1}),
            "args.lines.007 eq 1",
            json!({"lines":{"7":1}}),
            Cannot("`args.lines.007` is missing (no key or index `007` in `args.lines`)"),
        ),
        (
            "index_path_negative_is_a_key_and_an_array_has_no_keys",
            json!({"path":"args.lines.-1.amount","op":"gt","value":100}),
            "args.lines.-1.amount gt 100",
            json!({"lines":[{"amount":150}]}),
            Cannot("`args.lines` is an array, so the key `-1` cannot be looked up in it (an array takes an index or `*`)"),
        ),
        (
            "index_path_into_a_string",
            json!({"path":"args.lines.0","op":"eq","value":"a"}),
            "args.lines.0 eq \"a\"",
            json!({"lines":"abc"}),
            Cannot("`args.lines` is a string, so `0` cannot be looked up in it"),
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
            NotA(found, wanted) => (
                Outcome::Deny,
                Some(wrong_type_message(shown, found, wanted)),
            ),
            Cannot(why) => (
                Outcome::Deny,
                Some(format!("cannot evaluate `{shown}`: {why}")),
            ),
        };
        assert_eq!(d.decision, outcome, "case {name}: {arguments}");
        assert_eq!(d.message.as_deref(), message.as_deref(), "case {name}");
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
            NotA(found, wanted) => (
                Outcome::Deny,
                Some(wrong_type_message(shown, found, wanted)),
            ),
            Cannot(why) => (
                Outcome::Deny,
                Some(format!("cannot evaluate `{shown}`: {why}")),
            ),
        };
        assert_eq!(d.decision, outcome, "case {name}: {arguments}");
        assert_eq!(d.message.as_deref(), message.as_deref(), "case {name}");
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

/// The message for a path `args.K` that is missing.
fn missing_message(shown: &str) -> String {
    let path = path_of(shown);
    let key = path.strip_prefix("args.").unwrap();
    assert!(
        !key.contains('.'),
        "`Missing` is for `args.K` paths: {shown}"
    );
    format!("cannot evaluate `{shown}`: `{path}` is missing (no key `{key}` in `args`)")
}

fn wrong_type_message(shown: &str, found: &str, wanted: &str) -> String {
    format!(
        "cannot evaluate `{shown}`: `{}` is {found}, not {wanted}",
        path_of(shown)
    )
}

#[test]
fn exists_answers_for_an_absent_path_but_fails_closed_on_the_wrong_kind() {
    // A missing path is an answer for `exists`, not an error, in every list; a step that
    // meets the wrong kind of value is an error for `exists` too (CONTRACT §1, v2).
    let cases: [(&str, &str, Value, Outcome, Option<&str>); 6] = [
        (
            "deny_if_exists_absent",
            r#"{"deny_if":[{"path":"args.force","op":"exists"}]}"#,
            json!({}),
            Outcome::Allow,
            None,
        ),
        (
            "deny_if_exists_false_absent",
            r#"{"deny_if":[{"path":"args.force","op":"exists","value":false}]}"#,
            json!({}),
            Outcome::Deny,
            Some("calling `t` is not allowed when `args.force exists false`"),
        ),
        (
            "require_exists_false_absent",
            r#"{"require":[{"path":"args.force","op":"exists","value":false}]}"#,
            json!({}),
            Outcome::Allow,
            None,
        ),
        (
            "require_exists_false_deep_absent",
            r#"{"require":[{"path":"args.a.b.c","op":"exists","value":false}]}"#,
            json!({"a":{}}),
            Outcome::Allow,
            None,
        ),
        (
            "require_exists_false_key_on_an_array",
            r#"{"require":[{"path":"args.a.b.c","op":"exists","value":false}]}"#,
            json!({"a":[]}),
            Outcome::Deny,
            Some("cannot evaluate `args.a.b.c exists false`: `args.a` is an array, so the key `b` cannot be looked up in it (an array takes an index or `*`)"),
        ),
        (
            "deny_if_exists_key_on_a_string",
            r#"{"deny_if":[{"path":"args.a.b","op":"exists"}]}"#,
            json!({"a":"text"}),
            Outcome::Deny,
            Some("cannot evaluate `args.a.b exists`: `args.a` is a string, so `b` cannot be looked up in it"),
        ),
    ];
    for (name, rule, arguments, outcome, message) in cases {
        let text = format!(r#"{{"version":"1","default":"deny","tools":{{"t":{rule}}}}}"#);
        let d = decide_once(&text, "t", arguments);
        assert_eq!(d.decision, outcome, "case {name}");
        assert_eq!(d.message.as_deref(), message, "case {name}");
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
        Some("cannot evaluate `args.x eq 1`: `args.x` is missing (no key `x` in `args`)")
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
        ("pattern_limit", "google_gmail_send", json!({}), Outcome::RateLimited, "/tools/google_*/limits/0", Some("rate limit `google` exceeded: at most 1 call per hour; retry in 1 h")),
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
            "cannot evaluate `args.model eq \"res.users\"`: `args.model` is missing (no key `model` in `args`)",
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
    let id = first.approval_id.as_deref().unwrap().to_owned();
    assert_eq!(id.len(), 32, "approval id {id}");
    assert!(
        id.bytes().all(|b| b.is_ascii_hexdigit()),
        "approval id {id}"
    );
    assert_eq!(
        first.message.as_deref(),
        Some(format!("calling `pay` needs human approval: approval `{id}` is pending. An operator must approve it; then repeat the identical call").as_str())
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
            json!({"decision":"rate_limited","method":"tools/call","tool":"google_calendar_list","rule":"/tools/google_*/limits/0","message":"rate limit `google` exceeded: at most 1 call per hour; retry in 1 h","retry_after_ms":3_600_000}),
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
        json!({"ok":true,"response":{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}},"removed":2,"monitor_hidden":0})
    );
    let out: Value = serde_json::from_str(&json_api::list_tools(
        policy_text,
        r#"{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"c"},{"name":"a","title":"A"}]}}"#,
    ))
    .unwrap();
    assert_eq!(
        out,
        json!({"ok":true,"response":{"jsonrpc":"2.0","id":"x","result":{"tools":[{"name":"a","title":"A"}]}},"removed":1,"monitor_hidden":0})
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

// ------------------------------------------------------------------ v2: exact numbers

/// A `tools/call` of `tool` whose arguments are the JSON text `arguments`, byte for byte
/// (serde_json would round the numbers these tests are about).
fn raw_call(tool: &str, arguments: &str) -> Vec<u8> {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    )
    .into_bytes()
}

/// A policy whose tool `t` has one condition, written as text, in `list`.
fn one_condition(list: &str, condition: &str) -> Policy {
    policy(&format!(
        r#"{{"version":"1","default":"deny","tools":{{"t":{{"{list}":[{condition}]}}}}}}"#
    ))
}

#[test]
fn numbers_compare_by_their_exact_decimal_value_in_every_op() {
    // (case, op, operand as written, `x` as written, whether `args.x OP operand` holds)
    let cases: &[(&str, &str, &str, &str, bool)] = &[
        (
            "eq_integers_beyond_a_double",
            "eq",
            "12345678901234567000",
            "12345678901234567891",
            false,
        ),
        (
            "eq_same_big_integer",
            "eq",
            "12345678901234567891",
            "12345678901234567891",
            true,
        ),
        (
            "eq_beyond_2_53",
            "eq",
            "9007199254740992",
            "9007199254740993",
            false,
        ),
        ("eq_1_and_1.0", "eq", "1", "1.0", true),
        ("eq_1_and_1e0", "eq", "1", "1e0", true),
        ("eq_1_and_100E-2", "eq", "1", "100E-2", true),
        ("eq_1e0_and_100E-2", "eq", "1e0", "100E-2", true),
        ("eq_minus_zero_and_zero", "eq", "0", "-0", true),
        ("eq_zero_forms", "eq", "-0.0e5", "0E-3", true),
        (
            "eq_tiny_difference",
            "eq",
            "0.1",
            "0.1000000000000000000001",
            false,
        ),
        (
            "eq_inside_an_object",
            "eq",
            r#"{"a":12345678901234567000}"#,
            r#"{"a":12345678901234567891}"#,
            false,
        ),
        ("eq_inside_an_array", "eq", "[1,2]", "[1.0,2e0]", true),
        (
            "neq_integers_beyond_a_double",
            "neq",
            "12345678901234567000",
            "12345678901234567891",
            true,
        ),
        ("neq_1_and_100E-2", "neq", "1", "100E-2", false),
        ("neq_minus_zero_and_zero", "neq", "0", "-0", false),
        (
            "in_integers_beyond_a_double",
            "in",
            "[12345678901234567000]",
            "12345678901234567891",
            false,
        ),
        ("in_1e0", "in", "[1e0]", "1", true),
        ("in_minus_zero", "in", "[0]", "-0", true),
        (
            "not_in_integers_beyond_a_double",
            "not_in",
            "[12345678901234567000]",
            "12345678901234567891",
            true,
        ),
        ("not_in_100E-2", "not_in", "[100E-2]", "1.0", false),
        (
            "lt_integers_beyond_a_double",
            "lt",
            "12345678901234567891",
            "12345678901234567000",
            true,
        ),
        (
            "lt_tiny_difference",
            "lt",
            "0.1000000000000000000001",
            "0.1",
            true,
        ),
        ("lt_minus_zero", "lt", "0", "-0", false),
        (
            "lt_negative_beyond_a_double",
            "lt",
            "-12345678901234567000",
            "-12345678901234567891",
            true,
        ),
        ("lte_100E-2", "lte", "1", "100E-2", true),
        (
            "lte_integers_beyond_a_double",
            "lte",
            "12345678901234567000",
            "12345678901234567891",
            false,
        ),
        (
            "gt_tiny_difference",
            "gt",
            "0.1",
            "0.1000000000000000000001",
            true,
        ),
        ("gt_1e0", "gt", "1", "1e0", false),
        (
            "gt_integers_beyond_a_double",
            "gt",
            "12345678901234567000",
            "12345678901234567891",
            true,
        ),
        (
            "gt_exponent_forms",
            "gt",
            "1e20",
            "100000000000000000001",
            true,
        ),
        ("gte_minus_zero", "gte", "0", "-0", true),
        (
            "gte_tiny_difference",
            "gte",
            "0.1000000000000000000001",
            "0.1",
            false,
        ),
        ("gte_100E-2", "gte", "100E-2", "1", true),
        (
            "contains_integers_beyond_a_double",
            "contains",
            "12345678901234567891",
            "[12345678901234567000]",
            false,
        ),
        ("contains_1e0", "contains", "1e0", "[2,1.0]", true),
        ("contains_minus_zero", "contains", "-0", "[0]", true),
        (
            "contains_tiny_difference",
            "contains",
            "0.1000000000000000000001",
            "[0.1]",
            false,
        ),
    ];
    for (name, op, operand, x, holds) in cases {
        let condition = format!(r#"{{"path":"args.x","op":"{op}","value":{operand}}}"#);
        let shown = format!("args.x {op} {operand}");
        let body = raw_call("t", &format!(r#"{{"x":{x}}}"#));

        let d = Session::new(one_condition("deny_if", &condition)).decide(&body, at(0));
        let (outcome, message) = if *holds {
            (
                Outcome::Deny,
                Some(format!("calling `t` is not allowed when `{shown}`")),
            )
        } else {
            (Outcome::Allow, None)
        };
        assert_eq!(d.decision, outcome, "deny_if case {name}: {d:?}");
        assert_eq!(
            d.message.as_deref(),
            message.as_deref(),
            "deny_if case {name}"
        );

        let d = Session::new(one_condition("require", &condition)).decide(&body, at(0));
        let (outcome, message) = if *holds {
            (Outcome::Allow, None)
        } else {
            (
                Outcome::Deny,
                Some(format!("calling `t` requires `{shown}`")),
            )
        };
        assert_eq!(d.decision, outcome, "require case {name}: {d:?}");
        assert_eq!(
            d.message.as_deref(),
            message.as_deref(),
            "require case {name}"
        );
    }
}

#[test]
fn numbers_outside_a_double_or_with_long_exponents_are_refused() {
    let mut session = Session::new(policy(r#"{"version":"1","default":"allow"}"#));
    // In range: the largest double, a tiny number, and a six-digit exponent.
    for x in [
        "1.7976931348623157e308",
        "-1.7976931348623157e308",
        "1e-400",
        "1e000001",
        "1e-000001",
    ] {
        let d = session.decide(&raw_call("t", &format!(r#"{{"x":{x}}}"#)), at(0));
        assert_eq!(d.decision, Outcome::Allow, "{x}: {d:?}");
    }
    // Out of range, at the top level of the message (the column is the number's first byte).
    for id in [
        "1e400",
        "-1e400",
        "1.8e308",
        "1e0000001",
        "1e-0000001",
        &"9".repeat(400),
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let d = session.decide(body.as_bytes(), at(0));
        assert_eq!(d.decision, Outcome::Invalid, "{id}");
        assert_eq!(d.code, Some(-32700), "{id}");
        assert_eq!(
            d.message.as_deref(),
            Some("parse error: number out of range at /id (line 1, column 23)"),
            "{id}"
        );
    }
    // Out of range inside the arguments.
    for x in ["1e400", "1e0000001"] {
        let d = session.decide(&raw_call("t", &format!(r#"{{"x":{x}}}"#)), at(0));
        assert_eq!(d.decision, Outcome::Invalid, "{x}");
        assert_eq!(d.code, Some(-32700), "{x}");
        assert!(
            d.message
                .as_deref()
                .is_some_and(|m| m.starts_with("parse error: number out of range at ")),
            "{x}: {d:?}"
        );
    }
    // And in a policy.
    let errors = Policy::from_json(
        r#"{"version":"1","default":"deny","tools":{"t":{"deny_if":[{"path":"args.x","op":"gt","value":1e400}]}}}"#,
    )
    .unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(
        errors.0[0].message,
        "invalid json: number out of range at line 1 column 93"
    );
}

#[test]
fn the_approval_binding_keeps_numbers_exact() {
    let text = r#"{"version":"1","default":"deny","tools":{"pay":{"approval":{}}}}"#;
    let mut session = Session::new(policy(text));
    let mut id = |arguments: &str| {
        let d = session.decide(&raw_call("pay", arguments), at(0));
        assert_eq!(d.decision, Outcome::ApprovalRequired, "{arguments}");
        d.approval_id.unwrap()
    };
    // (case, arguments, other arguments, same approval)
    let cases = [
        (
            "differ_beyond_2_53",
            r#"{"n":9007199254740993}"#,
            r#"{"n":9007199254740992}"#,
            false,
        ),
        (
            "differ_beyond_a_double",
            r#"{"n":12345678901234567891}"#,
            r#"{"n":12345678901234567000}"#,
            false,
        ),
        (
            "differ_in_the_22nd_decimal",
            r#"{"n":0.1000000000000000000001}"#,
            r#"{"n":0.1}"#,
            false,
        ),
        (
            "same_value_other_forms",
            r#"{"n":1}"#,
            r#"{"n":100E-2}"#,
            true,
        ),
        ("same_value_1e0", r#"{"n":1.0}"#, r#"{"n":1e0}"#, true),
        ("minus_zero_is_zero", r#"{"n":-0}"#, r#"{"n":0}"#, true),
        (
            "key_order_does_not_matter",
            r#"{"a":1,"b":[2]}"#,
            r#"{"b":[2.0],"a":1}"#,
            true,
        ),
    ];
    for (name, a, b, same) in cases {
        let (first, second) = (id(a), id(b));
        assert_eq!(first == second, same, "case {name}: {first} {second}");
    }
}

#[test]
fn approval_required_calls_with_arguments_over_64_kib_are_denied_without_an_approval() {
    let text = r#"{"version":"1","default":"deny","tools":{
        "pay":{"approval":{"ttl":"15m"}},
        "maybe":{"approval":{"if":[{"path":"args.big","op":"eq","value":true}]}},
        "free":{}}}"#;
    let mut session = Session::new(policy(text));
    // The arguments `{"a":"xx..."}` are 8 bytes plus the string.
    let arguments = |bytes: usize| format!(r#"{{"a":"{}"}}"#, "x".repeat(bytes - 8));
    let d = session.decide(&raw_call("pay", &arguments(65_536)), at(0));
    assert_eq!(d.decision, Outcome::ApprovalRequired, "exactly 64 KiB");
    assert!(d.approval_id.is_some());

    let d = session.decide(&raw_call("pay", &arguments(65_537)), at(0));
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({
            "decision": "deny",
            "method": "tools/call",
            "tool": "pay",
            "rule": "/tools/pay/approval",
            "message": "calling `pay` needs human approval, but its arguments are 65537 bytes, more than the 65536 an approval can hold; send smaller arguments"
        })
    );

    // The cap is for calls that need approval only.
    let big = format!(r#"{{"big":false,"a":"{}"}}"#, "x".repeat(100_000));
    assert_eq!(
        session.decide(&raw_call("maybe", &big), at(0)).decision,
        Outcome::Allow
    );
    assert_eq!(
        session
            .decide(&raw_call("free", &arguments(200_000)), at(0))
            .decision,
        Outcome::Allow
    );
    let big = format!(r#"{{"big":true,"a":"{}"}}"#, "x".repeat(100_000));
    let d = session.decide(&raw_call("maybe", &big), at(0));
    assert_eq!(d.decision, Outcome::Deny);
    assert_eq!(d.rule.as_deref(), Some("/tools/maybe/approval"));
    assert_eq!(d.approval_id, None);
}

// ------------------------------------------------------------------ v2: `*` paths

#[test]
fn star_paths_hold_for_any_in_deny_if_and_every_in_require() {
    // (case, list, condition, arguments, outcome, message)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Outcome,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        ("deny_if_any_element", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":50},{"amount":150}]}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.lines.*.amount gt 100`")),
        ("deny_if_no_element", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":50},{"amount":60}]}"#, Outcome::Allow, None),
        ("deny_if_empty_array", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[]}"#, Outcome::Allow, None),
        ("deny_if_empty_object", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":{}}"#, Outcome::Allow, None),
        ("require_every_element", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":150},{"amount":200}]}"#, Outcome::Allow, None),
        ("require_one_element_fails", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":150},{"amount":50}]}"#, Outcome::Deny, Some("calling `t` requires `args.lines.*.amount gt 100`")),
        ("require_empty_array", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[]}"#, Outcome::Allow, None),
        ("require_empty_object", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":{}}"#, Outcome::Allow, None),
        // One element that cannot be evaluated makes the whole condition unevaluable,
        // even when another element already decided it.
        ("deny_if_wrong_kind_element_after_a_hit", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":150},5]}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines.*` is a number, so `amount` cannot be looked up in it")),
        ("deny_if_wrong_kind_element_before_a_hit", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[[1],{"amount":150}]}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines.*` is an array, so the key `amount` cannot be looked up in it (an array takes an index or `*`)")),
        ("require_wrong_type_element", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":150},{"amount":"x"}]}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines.*.amount` is a string, not a number")),
        ("require_absent_element", "require", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{"amount":150},{}]}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines.*.amount` is missing (no key `amount` in `args.lines.*`)")),
        ("deny_if_absent_element", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":[{}]}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines.*.amount` is missing (no key `amount` in `args.lines.*`)")),
        ("star_on_a_string", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{"lines":"none"}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines` is a string, so `*` has no elements to stand for")),
        ("star_on_null", "require", r#"{"path":"args.lines.*","op":"exists"}"#, r#"{"lines":null}"#, Outcome::Deny, Some("cannot evaluate `args.lines.* exists`: `args.lines` is null, so `*` has no elements to stand for")),
        ("star_under_an_absent_key", "deny_if", r#"{"path":"args.lines.*.amount","op":"gt","value":100}"#, r#"{}"#, Outcome::Deny, Some("cannot evaluate `args.lines.*.amount gt 100`: `args.lines` is missing (no key `lines` in `args`)")),
        // `*` on an object stands for its member values.
        ("deny_if_object_members", "deny_if", r#"{"path":"args.roles.*","op":"eq","value":"admin"}"#, r#"{"roles":{"a":"user","b":"admin"}}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.roles.* eq \"admin\"`")),
        ("deny_if_object_members_none", "deny_if", r#"{"path":"args.roles.*","op":"eq","value":"admin"}"#, r#"{"roles":{"admin":"user"}}"#, Outcome::Allow, None),
        ("require_object_members", "require", r#"{"path":"args.roles.*","op":"in","value":["user","guest"]}"#, r#"{"roles":{"a":"user","b":"guest"}}"#, Outcome::Allow, None),
        ("require_object_members_one_fails", "require", r#"{"path":"args.roles.*","op":"in","value":["user","guest"]}"#, r#"{"roles":{"a":"user","b":"root"}}"#, Outcome::Deny, Some("calling `t` requires `args.roles.* in [\"user\",\"guest\"]`")),
        // `*` right after `args`: every argument.
        ("deny_if_any_argument", "deny_if", r#"{"path":"args.*","op":"eq","value":"admin"}"#, r#"{"a":"user","b":"admin"}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.* eq \"admin\"`")),
        ("require_no_arguments", "require", r#"{"path":"args.*","op":"eq","value":"admin"}"#, r#"{}"#, Outcome::Allow, None),
        // Nested `*.*`.
        ("deny_if_nested", "deny_if", r#"{"path":"args.m.*.*","op":"eq","value":"admin"}"#, r#"{"m":[["a"],["b","admin"]]}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.m.*.* eq \"admin\"`")),
        ("require_nested", "require", r#"{"path":"args.m.*.*","op":"neq","value":"admin"}"#, r#"{"m":[["a"],[],{"x":"b"}]}"#, Outcome::Allow, None),
        ("require_nested_one_fails", "require", r#"{"path":"args.m.*.*","op":"neq","value":"admin"}"#, r#"{"m":{"x":["a"],"y":{"z":"admin"}}}"#, Outcome::Deny, Some("calling `t` requires `args.m.*.* neq \"admin\"`")),
        ("nested_inner_scalar", "deny_if", r#"{"path":"args.m.*.*","op":"eq","value":"admin"}"#, r#"{"m":[["a"],"b"]}"#, Outcome::Deny, Some("cannot evaluate `args.m.*.* eq \"admin\"`: `args.m.*` is a string, so `*` has no elements to stand for")),
        ("star_then_index", "deny_if", r#"{"path":"args.m.*.1","op":"eq","value":"admin"}"#, r#"{"m":[["a","admin"]]}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.m.*.1 eq \"admin\"`")),
        // `exists` with `*`.
        ("deny_if_exists_any", "deny_if", r#"{"path":"args.lines.*.discount","op":"exists"}"#, r#"{"lines":[{"amount":1},{"discount":5}]}"#, Outcome::Deny, Some("calling `t` is not allowed when `args.lines.*.discount exists`")),
        ("deny_if_exists_none", "deny_if", r#"{"path":"args.lines.*.discount","op":"exists"}"#, r#"{"lines":[{"amount":1},{"amount":2}]}"#, Outcome::Allow, None),
        ("require_exists_every", "require", r#"{"path":"args.lines.*.sku","op":"exists"}"#, r#"{"lines":[{"sku":"a"},{}]}"#, Outcome::Deny, Some("calling `t` requires `args.lines.*.sku exists`")),
        ("require_exists_false_every", "require", r#"{"path":"args.lines.*.discount","op":"exists","value":false}"#, r#"{"lines":[{"a":1},{"a":2}]}"#, Outcome::Allow, None),
        ("require_exists_false_one_present", "require", r#"{"path":"args.lines.*.discount","op":"exists","value":false}"#, r#"{"lines":[{"a":1},{"discount":0}]}"#, Outcome::Deny, Some("calling `t` requires `args.lines.*.discount exists false`")),
    ];
    for (name, list, condition, arguments, outcome, message) in cases {
        let d =
            Session::new(one_condition(list, condition)).decide(&raw_call("t", arguments), at(0));
        assert_eq!(d.decision, *outcome, "case {name}: {d:?}");
        assert_eq!(d.message.as_deref(), *message, "case {name}");
        let rule = match outcome {
            Outcome::Allow => "/tools/t".to_owned(),
            _ => format!("/tools/t/{list}/0"),
        };
        assert_eq!(d.rule.as_deref(), Some(rule.as_str()), "case {name}");
    }
}

#[test]
fn a_star_in_approval_if_needs_every_element() {
    let text = r#"{"version":"1","default":"deny","tools":{"pay":{"approval":{"if":[{"path":"args.lines.*.amount","op":"gt","value":1000}]}}}}"#;
    let cases = [
        (
            "every_element_holds",
            r#"{"lines":[{"amount":2000},{"amount":3000}]}"#,
            Outcome::ApprovalRequired,
        ),
        (
            "one_element_does_not",
            r#"{"lines":[{"amount":2000},{"amount":10}]}"#,
            Outcome::Allow,
        ),
        ("no_element", r#"{"lines":[]}"#, Outcome::ApprovalRequired),
        (
            "an_element_cannot_be_evaluated",
            r#"{"lines":[{"amount":10},{"amount":"x"}]}"#,
            Outcome::ApprovalRequired,
        ),
    ];
    for (name, arguments, outcome) in cases {
        let d = Session::new(policy(text)).decide(&raw_call("pay", arguments), at(0));
        assert_eq!(d.decision, outcome, "case {name}: {d:?}");
    }
}

/// The issue that started v2: `args.values.groups_id` meets an array. Every op, `exists`
/// included, cannot evaluate it, so the call is denied in `deny_if` and `require` alike.
#[test]
fn a_step_that_meets_the_wrong_kind_cannot_be_evaluated_for_every_op() {
    let array = "`args.values` is an array, so the key `groups_id` cannot be looked up in it (an array takes an index or `*`)";
    // (op and value as written, shown)
    let ops = [
        (r#""op":"eq","value":1"#, "eq 1"),
        (r#""op":"neq","value":1"#, "neq 1"),
        (r#""op":"in","value":[1]"#, "in [1]"),
        (r#""op":"not_in","value":[1]"#, "not_in [1]"),
        (r#""op":"lt","value":1"#, "lt 1"),
        (r#""op":"lte","value":1"#, "lte 1"),
        (r#""op":"gt","value":1"#, "gt 1"),
        (r#""op":"gte","value":1"#, "gte 1"),
        (r#""op":"regex","value":"1""#, "regex \"1\""),
        (r#""op":"contains","value":1"#, "contains 1"),
        (r#""op":"exists""#, "exists"),
        (r#""op":"exists","value":true"#, "exists true"),
        (r#""op":"exists","value":false"#, "exists false"),
    ];
    // (values as written, why)
    let shapes = [
        (r#"[{"groups_id":1}]"#, array.to_owned()),
        ("[]", array.to_owned()),
        (
            r#""1""#,
            "`args.values` is a string, so `groups_id` cannot be looked up in it".to_owned(),
        ),
        (
            "1",
            "`args.values` is a number, so `groups_id` cannot be looked up in it".to_owned(),
        ),
        (
            "true",
            "`args.values` is a boolean, so `groups_id` cannot be looked up in it".to_owned(),
        ),
        (
            "null",
            "`args.values` is null, so `groups_id` cannot be looked up in it".to_owned(),
        ),
    ];
    for (op, shown) in ops {
        for (values, why) in &shapes {
            for list in ["deny_if", "require"] {
                let condition = format!(r#"{{"path":"args.values.groups_id",{op}}}"#);
                let d = Session::new(one_condition(list, &condition))
                    .decide(&raw_call("t", &format!(r#"{{"values":{values}}}"#)), at(0));
                let case = format!("{list} `{shown}` on {values}");
                assert_eq!(d.decision, Outcome::Deny, "{case}");
                assert_eq!(
                    d.rule.as_deref(),
                    Some(format!("/tools/t/{list}/0").as_str()),
                    "{case}"
                );
                assert_eq!(
                    d.message.as_deref(),
                    Some(
                        format!("cannot evaluate `args.values.groups_id {shown}`: {why}").as_str()
                    ),
                    "{case}"
                );
            }
        }
    }
    // The message names the step that met the wrong kind, however deep.
    let d = Session::new(one_condition(
        "deny_if",
        r#"{"path":"args.a.b.c.d","op":"exists"}"#,
    ))
    .decide(&raw_call("t", r#"{"a":{"b":3}}"#), at(0));
    assert_eq!(
        d.message.as_deref(),
        Some("cannot evaluate `args.a.b.c.d exists`: `args.a.b` is a number, so `c` cannot be looked up in it")
    );
    // The right shape for an array of records is `*`.
    let d = Session::new(one_condition(
        "deny_if",
        r#"{"path":"args.values.*.groups_id","op":"exists"}"#,
    ))
    .decide(&raw_call("t", r#"{"values":[{"groups_id":1}]}"#), at(0));
    assert_eq!(
        d.message.as_deref(),
        Some("calling `t` is not allowed when `args.values.*.groups_id exists`")
    );
}

// ------------------------------------------------------------------ v2: monitor mode

/// The decision object as JSON, as `eval` prints it.
fn decision_json(d: &Decision) -> Value {
    serde_json::to_value(d).unwrap()
}

#[test]
fn a_monitored_policy_allows_and_reports_what_it_would_have_done() {
    let text = r#"{"version":"1","default":"deny","mode":"monitor","hide":["ssh_*"],"tools":{
        "odoo_unlink":{"action":"deny","on_deny":"no deletes"},
        "odoo_write":{"deny_if":[{"path":"args.model","op":"eq","value":"res.users"}],
                      "require":[{"path":"args.ids","op":"exists"}]},
        "pay":{"approval":{}},
        "odoo_read":{}}}"#;
    let cases = [
        (
            "hidden_by_hide",
            "ssh_execute",
            json!({}),
            json!({"decision":"allow","method":"tools/call","tool":"ssh_execute","rule":"/default",
                   "monitor":{"decision":"hidden","rule":"/hide/0","message":"Unknown tool: ssh_execute"}}),
        ),
        (
            "hidden_under_default_deny",
            "telegram_send",
            json!({}),
            json!({"decision":"allow","method":"tools/call","tool":"telegram_send","rule":"/default",
                   "monitor":{"decision":"hidden","rule":"/default","message":"Unknown tool: telegram_send"}}),
        ),
        (
            "action_deny",
            "odoo_unlink",
            json!({}),
            json!({"decision":"allow","method":"tools/call","tool":"odoo_unlink","rule":"/tools/odoo_unlink",
                   "monitor":{"decision":"deny","rule":"/tools/odoo_unlink/action","message":"no deletes"}}),
        ),
        (
            "deny_if",
            "odoo_write",
            json!({"model":"res.users","ids":[1]}),
            json!({"decision":"allow","method":"tools/call","tool":"odoo_write","rule":"/tools/odoo_write",
                   "monitor":{"decision":"deny","rule":"/tools/odoo_write/deny_if/0","message":"calling `odoo_write` is not allowed when `args.model eq \"res.users\"`"}}),
        ),
        (
            "unevaluable",
            "odoo_write",
            json!({"ids":[1]}),
            json!({"decision":"allow","method":"tools/call","tool":"odoo_write","rule":"/tools/odoo_write",
                   "monitor":{"decision":"deny","rule":"/tools/odoo_write/deny_if/0","message":"cannot evaluate `args.model eq \"res.users\"`: `args.model` is missing (no key `model` in `args`)"}}),
        ),
        (
            "approval_is_reported_never_created",
            "pay",
            json!({"amount":1}),
            json!({"decision":"allow","method":"tools/call","tool":"pay","rule":"/tools/pay",
                   "monitor":{"decision":"approval_required","rule":"/tools/pay/approval","message":"calling `pay` would need human approval"}}),
        ),
        (
            "both_agree_no_monitor_field",
            "odoo_read",
            json!({}),
            json!({"decision":"allow","method":"tools/call","tool":"odoo_read","rule":"/tools/odoo_read"}),
        ),
        (
            "write_that_passes_every_rule",
            "odoo_write",
            json!({"model":"res.partner","ids":[1]}),
            json!({"decision":"allow","method":"tools/call","tool":"odoo_write","rule":"/tools/odoo_write"}),
        ),
    ];
    for (name, tool, arguments, expected) in cases {
        let d = decide_once(text, tool, arguments);
        assert_eq!(decision_json(&d), expected, "case {name}");
    }
}

#[test]
fn an_entrys_mode_overrides_the_policys() {
    // (case, policy, tool, arguments, decision and rule, monitor decision and rule)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Value,
        (&'static str, &'static str),
        Option<(&'static str, &'static str)>,
    );
    let enforced_top = r#"{"version":"1","default":"deny","tools":{
        "odoo_write":{"mode":"monitor","deny_if":[{"path":"args.model","op":"eq","value":"res.users"}]},
        "odoo_unlink":{"action":"deny"},
        "odoo_*":{"mode":"monitor","require":[{"path":"args.ids","op":"exists"}]}}}"#;
    let monitored_top = r#"{"version":"1","default":"deny","mode":"monitor","hide":["odoo_secret"],"tools":{
        "odoo_write":{"deny_if":[{"path":"args.model","op":"eq","value":"res.users"}]},
        "odoo_unlink":{"mode":"enforce","action":"deny"},
        "odoo_secret":{"mode":"enforce","action":"deny"}}}"#;
    let cases: Vec<Case> = vec![
        (
            "monitored_entry_under_enforce",
            enforced_top,
            "odoo_write",
            json!({"model":"res.users","ids":[1]}),
            ("allow", "/tools/odoo_write"),
            Some(("deny", "/tools/odoo_write/deny_if/0")),
        ),
        (
            "monitored_pattern_under_enforce",
            enforced_top,
            "odoo_write",
            json!({"model":"res.partner"}),
            ("allow", "/tools/odoo_write"),
            Some(("deny", "/tools/odoo_*/require/0")),
        ),
        (
            "enforced_entry_under_enforce",
            enforced_top,
            "odoo_unlink",
            json!({"ids":[1]}),
            ("deny", "/tools/odoo_unlink/action"),
            None,
        ),
        (
            "enforced_entry_after_a_monitored_one",
            enforced_top,
            "odoo_unlink",
            json!({}),
            ("deny", "/tools/odoo_unlink/action"),
            None,
        ),
        (
            "default_deny_is_enforced",
            enforced_top,
            "other",
            json!({}),
            ("hidden", "/default"),
            None,
        ),
        (
            "inherited_monitor",
            monitored_top,
            "odoo_write",
            json!({"model":"res.users"}),
            ("allow", "/tools/odoo_write"),
            Some(("deny", "/tools/odoo_write/deny_if/0")),
        ),
        (
            "enforced_entry_under_monitor",
            monitored_top,
            "odoo_unlink",
            json!({}),
            ("deny", "/tools/odoo_unlink/action"),
            None,
        ),
        (
            "enforced_entry_behind_a_monitored_hide",
            monitored_top,
            "odoo_secret",
            json!({}),
            ("deny", "/tools/odoo_secret/action"),
            Some(("hidden", "/hide/0")),
        ),
        (
            "monitored_default",
            monitored_top,
            "other",
            json!({}),
            ("allow", "/default"),
            Some(("hidden", "/default")),
        ),
    ];
    for (name, text, tool, arguments, (decision, rule), monitor) in cases {
        let d = decision_json(&decide_once(text, tool, arguments));
        assert_eq!(
            (d["decision"].as_str(), d["rule"].as_str()),
            (Some(decision), Some(rule)),
            "case {name}: {d}"
        );
        let got = d
            .get("monitor")
            .map(|m| (m["decision"].as_str().unwrap(), m["rule"].as_str().unwrap()));
        assert_eq!(got, monitor, "case {name}: {d}");
    }
}

#[test]
fn a_monitored_limit_counts_only_the_calls_the_monitor_decision_admits() {
    let text = r#"{"version":"1","default":"deny","tools":{"t":{"mode":"monitor",
        "deny_if":[{"path":"args.bad","op":"eq","value":true}],
        "limits":[{"counter":"c","window":"second","max":2}]}}}"#;
    let mut session = Session::new(policy(text));
    // (at_ms, bad, monitor decision and retry_after_ms; none when it agrees)
    type Step = (u64, bool, Option<(&'static str, Option<u64>)>);
    let steps: [Step; 8] = [
        (0, false, None),
        // Denied by the monitored rule: not counted.
        (10, true, Some(("deny", None))),
        (20, false, None),
        // Over the monitored limit: not counted either.
        (30, false, Some(("rate_limited", Some(970)))),
        (40, true, Some(("deny", None))),
        // The call at 0 has left the window (0, 1000]: one slot.
        (1_000, false, None),
        (1_015, false, Some(("rate_limited", Some(5)))),
        // Had the call at 30 been counted, (21, 1021] would be full.
        (1_021, false, None),
    ];
    for (at_ms, bad, monitor) in steps {
        let d = session.decide(&call_body("t", &json!({"bad": bad})), at(at_ms));
        assert_eq!(d.decision, Outcome::Allow, "at {at_ms}");
        assert_eq!(d.rule.as_deref(), Some("/tools/t"), "at {at_ms}");
        let got = d
            .monitor
            .as_ref()
            .map(|m| (m.decision.name(), m.retry_after_ms));
        assert_eq!(got, monitor, "at {at_ms}: {d:?}");
    }
    let d = session.decide(&call_body("t", &json!({"bad": false})), at(1_500));
    assert_eq!(
        decision_json(&d),
        json!({"decision":"allow","method":"tools/call","tool":"t","rule":"/tools/t",
               "monitor":{"decision":"rate_limited","rule":"/tools/t/limits/0","message":"rate limit `c` exceeded: at most 2 calls per second; retry in 500 ms","retry_after_ms":500}})
    );
}

#[test]
fn a_monitored_all_tools_limit_reports_and_never_refuses() {
    let text = r#"{"version":"1","default":"allow","mode":"monitor",
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":1}]}}"#;
    let mut session = Session::new(policy(text));
    let steps: [(u64, Option<u64>); 4] = [
        (0, None),
        (1_000, Some(59_000)),
        (59_999, Some(1)),
        (60_000, None),
    ];
    for (at_ms, retry) in steps {
        let d = session.decide(&call_body("x", &json!({})), at(at_ms));
        assert_eq!(d.decision, Outcome::Allow, "at {at_ms}");
        assert_eq!(
            d.monitor.as_ref().and_then(|m| m.retry_after_ms),
            retry,
            "at {at_ms}"
        );
        assert_eq!(
            d.monitor.as_ref().and_then(|m| m.rule.as_deref()),
            retry.map(|_| "/all_tools/limits/0"),
            "at {at_ms}"
        );
    }
    // An enforced limit beside it still refuses, whatever the monitor says.
    let text = r#"{"version":"1","default":"allow",
        "all_tools":{"limits":[{"counter":"all","window":"minute","max":1}]},
        "tools":{"t":{"mode":"monitor","limits":[{"counter":"t","window":"minute","max":5}]}}}"#;
    let mut session = Session::new(policy(text));
    assert_eq!(call(&mut session, "t", json!({})).decision, Outcome::Allow);
    let d = call(&mut session, "t", json!({}));
    assert_eq!(d.decision, Outcome::RateLimited);
    assert_eq!(d.rule.as_deref(), Some("/all_tools/limits/0"));
    assert_eq!(d.monitor, None);
}

// ------------------------------------------------------------------ v2: pins

use toolgate::eval::{PinState, Stage, ToolFacts};

/// What a verdict's stage says, as (decision, rule, message).
fn stage_summary(stage: &Stage<'_>) -> (Outcome, String, Option<String>) {
    match stage {
        Stage::Decided(d) => (
            d.decision,
            d.rule.as_deref().unwrap_or_default().to_owned(),
            d.message.as_deref().map(str::to_owned),
        ),
        Stage::Approval { approval, .. } => (
            Outcome::ApprovalRequired,
            approval.pointer.to_string(),
            None,
        ),
        Stage::Limits { allow_rule, .. } => (Outcome::Allow, allow_rule.to_string(), None),
    }
}

#[test]
fn pins_hide_or_deny_unreviewed_tools_through_the_verdict() {
    const CHANGED: &str = "`t` has changed at the origin since it was reviewed (its definition no longer matches its pin); an operator must review and accept the change before it can be called";
    let hide = r#"{"version":"1","default":"allow","pin":{"on_change":"hide"}}"#;
    let deny = r#"{"version":"1","default":"allow","pin":{"on_change":"deny"}}"#;
    let off = r#"{"version":"1","default":"allow"}"#;
    let hide_then_rules = r#"{"version":"1","default":"allow","pin":{"on_change":"hide"},"tools":{"t":{"action":"deny"}}}"#;
    let deny_after_rules = r#"{"version":"1","default":"allow","pin":{"on_change":"deny"},"tools":{"t":{"action":"deny"}}}"#;
    let hidden_first =
        r#"{"version":"1","default":"allow","hide":["t"],"pin":{"on_change":"deny"}}"#;
    let monitored_hide =
        r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"hide"}}"#;
    let monitored_deny =
        r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"deny"}}"#;
    let unknown = "Unknown tool: t";
    // (case, policy, pin state, enforced (decision, rule, message), monitor (decision, rule))
    type Case = (
        &'static str,
        &'static str,
        PinState,
        (Outcome, &'static str, Option<&'static str>),
        Option<(Outcome, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "hide_pinned",
            hide,
            PinState::Pinned,
            (Outcome::Allow, "/default", None),
            None,
        ),
        (
            "hide_unknown",
            hide,
            PinState::Unknown,
            (Outcome::Allow, "/default", None),
            None,
        ),
        (
            "hide_changed",
            hide,
            PinState::Changed,
            (Outcome::Hidden, "/pin", Some(unknown)),
            None,
        ),
        (
            "hide_new",
            hide,
            PinState::New,
            (Outcome::Hidden, "/pin", Some(unknown)),
            None,
        ),
        (
            "deny_pinned",
            deny,
            PinState::Pinned,
            (Outcome::Allow, "/default", None),
            None,
        ),
        (
            "deny_changed",
            deny,
            PinState::Changed,
            (Outcome::Deny, "/pin", Some(CHANGED)),
            None,
        ),
        (
            "deny_new_is_hidden",
            deny,
            PinState::New,
            (Outcome::Hidden, "/pin", Some(unknown)),
            None,
        ),
        (
            "off_changed",
            off,
            PinState::Changed,
            (Outcome::Allow, "/default", None),
            None,
        ),
        (
            "off_new",
            off,
            PinState::New,
            (Outcome::Allow, "/default", None),
            None,
        ),
        (
            "hide_comes_before_denials",
            hide_then_rules,
            PinState::Changed,
            (Outcome::Hidden, "/pin", Some(unknown)),
            None,
        ),
        (
            "deny_comes_after_denials",
            deny_after_rules,
            PinState::Changed,
            (
                Outcome::Deny,
                "/tools/t/action",
                Some("calling `t` is not allowed by policy"),
            ),
            None,
        ),
        (
            "policy_hide_comes_first",
            hidden_first,
            PinState::New,
            (Outcome::Hidden, "/hide/0", Some(unknown)),
            None,
        ),
        (
            "monitored_hide",
            monitored_hide,
            PinState::Changed,
            (Outcome::Allow, "/default", None),
            Some((Outcome::Hidden, "/pin")),
        ),
        (
            "monitored_new",
            monitored_deny,
            PinState::New,
            (Outcome::Allow, "/default", None),
            Some((Outcome::Hidden, "/pin")),
        ),
        (
            "monitored_deny",
            monitored_deny,
            PinState::Changed,
            (Outcome::Allow, "/default", None),
            Some((Outcome::Deny, "/pin")),
        ),
    ];
    let body = raw_call("t", "{}");
    let message = toolgate::mcp::parse_message(&body).unwrap();
    for (name, text, pin, (decision, rule, text_read), monitor) in cases {
        let policy = policy(text);
        let verdict = policy.verdict(&message, ToolFacts { pin });
        let (got, got_rule, got_message) = stage_summary(&verdict.enforced);
        assert_eq!(
            (got, got_rule.as_str(), got_message.as_deref()),
            (decision, rule, text_read),
            "case {name}"
        );
        let got_monitor = verdict.monitor.as_ref().map(stage_summary);
        assert_eq!(
            got_monitor.as_ref().map(|(d, r, _)| (*d, r.as_str())),
            monitor,
            "case {name}"
        );
    }
}

#[test]
fn pins_decide_what_tools_list_shows() {
    let hide = policy(r#"{"version":"1","default":"allow","pin":{"on_change":"hide"}}"#);
    let deny = policy(r#"{"version":"1","default":"allow","pin":{"on_change":"deny"}}"#);
    let monitored =
        policy(r#"{"version":"1","default":"allow","mode":"monitor","pin":{"on_change":"hide"}}"#);
    let pin = "/pin".to_owned();
    // (case, policy, pin state, with every rule enforced, listed and rule)
    let cases = [
        (
            "hide_changed",
            &hide,
            PinState::Changed,
            false,
            (false, Some(pin.clone())),
        ),
        (
            "hide_new",
            &hide,
            PinState::New,
            false,
            (false, Some(pin.clone())),
        ),
        ("hide_pinned", &hide, PinState::Pinned, false, (true, None)),
        (
            "deny_changed_is_listed",
            &deny,
            PinState::Changed,
            false,
            (true, None),
        ),
        (
            "deny_new",
            &deny,
            PinState::New,
            false,
            (false, Some(pin.clone())),
        ),
        (
            "monitored_lists_it",
            &monitored,
            PinState::Changed,
            false,
            (true, None),
        ),
        (
            "monitored_would_hide_it",
            &monitored,
            PinState::Changed,
            true,
            (false, Some(pin.clone())),
        ),
    ];
    for (name, policy, pin, monitor, listed) in cases {
        assert_eq!(
            policy.listed("t", ToolFacts { pin }, monitor),
            listed,
            "case {name}"
        );
    }
}

// ------------------------------------------------------------------ v2: durations

#[test]
fn waits_are_shown_rounded_up_and_carried() {
    let cases: &[(u64, &str)] = &[
        (0, "0 ms"),
        (850, "850 ms"),
        (999, "999 ms"),
        (1_000, "1.0 s"),
        (1_001, "1.1 s"),
        (4_200, "4.2 s"),
        (58_000, "58.0 s"),
        (59_900, "59.9 s"),
        (59_950, "1 min"),
        (59_999, "1 min"),
        (60_000, "1 min"),
        (60_001, "1 min 1 s"),
        (185_000, "3 min 5 s"),
        (3_599_000, "59 min 59 s"),
        (3_599_001, "1 h"),
        (3_600_000, "1 h"),
        (10_800_000, "3 h"),
        (10_800_001, "3 h 1 min"),
        (86_400_000, "24 h"),
    ];
    for (ms, shown) in cases {
        assert_eq!(toolgate::eval::human_ms(*ms), *shown, "{ms} ms");
    }
}

/// Rounded up to a tenth, 59.901 s is 60.0 s, which carries to a minute like 59.95 s does.
#[test]
fn a_wait_that_rounds_up_to_sixty_seconds_is_shown_as_a_minute() {
    for ms in [59_901, 59_925, 59_949] {
        assert_eq!(toolgate::eval::human_ms(ms), "1 min", "{ms} ms");
    }
}

// ------------------------------------------------------------------ v2: regex-lite

#[test]
fn regex_classes_and_case_folding_are_ascii_only() {
    // (pattern, argument, whether it matches)
    let cases: &[(&str, &str, bool)] = &[
        (r"^\d+$", "2024", true),
        (r"^\d$", "٣", false),
        (r"^\w+$", "res_users", true),
        (r"^\w$", "é", false),
        (r"^\s$", "\t", true),
        (r"^\s$", "\u{a0}", false),
        ("(?i)^users$", "USERS", true),
        ("(?i)^é$", "É", false),
        ("(?i)^straße$", "STRASSE", false),
        ("(?i)k", "\u{212a}", false),
        ("^.$", "é", true),
        ("^[a-z]+$", "é", false),
        (r"\bdrop\b", "DROP table; drop table", true),
    ];
    for (pattern, argument, matches) in cases {
        let condition = json!({"path":"args.x","op":"regex","value":pattern}).to_string();
        let d = Session::new(one_condition("deny_if", &condition))
            .decide(&call_body("t", &json!({"x": argument})), at(0));
        let want = if *matches {
            Outcome::Deny
        } else {
            Outcome::Allow
        };
        assert_eq!(d.decision, want, "`{pattern}` on {argument:?}: {d:?}");
    }
}

// ------------------------------------------------------------------ v2: what the agent reads

#[test]
fn agent_response_answers_in_place_of_the_origin() {
    let text = r#"{"version":"1","default":"deny","hide":["h"],"tools":{"d":{"action":"deny","on_deny":"no"},"a":{}}}"#;
    let mut session = Session::new(policy(text));
    let id = "12345678901234567891";
    let decide = |session: &mut Session, tool: &str| {
        session.decide(
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}"}}}}"#).as_bytes(),
            at(0),
        )
    };
    let denied = decide(&mut session, "d");
    assert_eq!(
        denied.agent_response(Some(id), false),
        Some((
            200,
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"no"}}],"isError":true,"_meta":{{"toolgate/decision":{{"decision":"deny","method":"tools/call","tool":"d","rule":"/tools/d/action","message":"no"}}}}}}}}"#
            )
        ))
    );
    assert_eq!(
        denied.agent_response(Some(id), true),
        Some((
            200,
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":"no"}}],"isError":true,"_meta":{{"toolgate/decision":{{"decision":"deny","method":"tools/call","tool":"d","rule":"/tools/d/action","message":"no"}}}},"resultType":"complete"}}}}"#
            )
        ))
    );
    let hidden = decide(&mut session, "h");
    let missing = decide(&mut session, "nope");
    for (d, tool) in [(&hidden, "h"), (&missing, "nope")] {
        assert_eq!(
            d.agent_response(Some(id), false),
            Some((
                200,
                format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32602,"message":"Unknown tool: {tool}"}}}}"#
                )
            ))
        );
    }
    assert_eq!(
        decide(&mut session, "a").agent_response(Some(id), false),
        None
    );
    let invalid = session.decide(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":[]}}"#,
        at(0),
    );
    assert_eq!(
        invalid.agent_response(None, false),
        Some((400, r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: `params.arguments` must be an object"}}"#.to_owned()))
    );
    // A monitored decision tells the agent nothing more than the enforced one.
    let monitored = Session::new(policy(
        r#"{"version":"1","default":"deny","mode":"monitor"}"#,
    ))
    .decide(&call_body("x", &json!({})), at(0));
    assert!(monitored.monitor.is_some());
    assert_eq!(monitored.agent_response(Some("1"), false), None);
}

#[test]
fn the_json_facade_writes_objects_with_sorted_keys() {
    assert_eq!(
        json_api::check(r#"{"version":"1","default":"deny"}"#),
        r#"{"ok":true,"summary":"ok: default deny, 0 tool rules (0 patterns), 0 hide entries, 0 counters"}"#
    );
    assert_eq!(
        json_api::check(r#"{"version":"1","default":"x"}"#),
        r#"{"errors":[{"message":"unknown default `x`, expected `allow` or `deny`","pointer":"/default"}],"ok":false}"#
    );
    assert_eq!(
        json_api::list_tools(
            r#"{"version":"1","default":"deny","mode":"monitor","tools":{"a":{}}}"#,
            r#"[{"name":"a"},{"name":"b"}]"#
        ),
        r#"{"ok":true,"response":{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b"}]}},"removed":0,"monitor_hidden":1}"#
    );
}

#[test]
fn a_name_matched_by_many_keys_is_checked_against_every_one_in_document_order() {
    // Five keys match `abcd_x` (four patterns and the exact name), more than a plan keeps
    // in place: each one's `deny_if` must still apply, and the first one that denies in
    // document order is named.
    let text = r#"{
        "version": "1", "default": "deny",
        "tools": {
            "a*":     { "deny_if": [ { "path": "args.k", "op": "eq", "value": 1 } ] },
            "ab*":    { "deny_if": [ { "path": "args.k", "op": "eq", "value": 2 } ] },
            "abc*":   { "deny_if": [ { "path": "args.k", "op": "eq", "value": 3 } ] },
            "abcd_x": { "deny_if": [ { "path": "args.k", "op": "eq", "value": 4 } ] },
            "*_x":    { "deny_if": [ { "path": "args.k", "op": "gte", "value": 4 } ] }
        }
    }"#;
    let mut session = Session::new(policy(text));
    let rules = [
        (1, Outcome::Deny, "/tools/a*/deny_if/0"),
        (2, Outcome::Deny, "/tools/ab*/deny_if/0"),
        (3, Outcome::Deny, "/tools/abc*/deny_if/0"),
        (4, Outcome::Deny, "/tools/abcd_x/deny_if/0"),
        (5, Outcome::Deny, "/tools/*_x/deny_if/0"),
        (0, Outcome::Allow, ""),
    ];
    for (k, outcome, rule) in rules {
        let decision = call(&mut session, "abcd_x", json!({ "k": k }));
        assert_eq!(decision.decision, outcome, "k = {k}: {decision:?}");
        if outcome == Outcome::Deny {
            assert_eq!(decision.rule.as_deref(), Some(rule), "k = {k}");
        }
    }
    // A name that only some of the patterns match is checked against those alone.
    let decision = call(&mut session, "ab_y", json!({ "k": 3 }));
    assert_eq!(decision.decision, Outcome::Allow, "{decision:?}");
    let decision = call(&mut session, "ab_y", json!({ "k": 2 }));
    assert_eq!(decision.rule.as_deref(), Some("/tools/ab*/deny_if/0"));
}

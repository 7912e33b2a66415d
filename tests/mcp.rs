//! Hostile bodies (CONTRACT §3): everything a parser differential could hide a call in is
//! refused with the exact JSON-RPC code, before any policy is read; and the answers
//! toolgate gives in place of the origin have the contract's shape.

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};
use toolgate::eval::{CallContext, Outcome, Session};
use toolgate::mcp::{self, Kind, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR};
use toolgate::policy::Policy;

/// The agent's answer for a decision, parsed.
fn answer_of(d: &toolgate::eval::Decision, id: Option<&str>) -> (u16, Value) {
    let (status, body) = d.agent_response(id, false).unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","arguments":{"ids":[1]}}}"#;

/// A `tools/call` whose arguments hold `value` under `a`: the value sits at nesting depth
/// 3 (message, params, arguments) plus its own.
fn call_with(value: &str) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"t","arguments":{{"a":{value}}}}}}}"#)
        .into_bytes()
}

/// A `tools/call` whose whole message is nested `depth` deep.
fn nested_call(depth: usize) -> Vec<u8> {
    let arrays = depth - 3;
    call_with(&format!("{}{}", "[".repeat(arrays), "]".repeat(arrays)))
}

fn bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn hostile_bodies() -> Vec<(&'static str, Vec<u8>, i64)> {
    let long_name = "a".repeat(129);
    vec![
        // Not JSON.
        ("empty", bytes(""), PARSE_ERROR),
        ("whitespace_only", bytes(" \n"), PARSE_ERROR),
        ("plain_text", bytes("tools/call odoo_unlink"), PARSE_ERROR),
        ("truncated", bytes(&CALL[..CALL.len() - 1]), PARSE_ERROR),
        ("single_quotes", bytes("{'jsonrpc':'2.0','id':1,'method':'ping'}"), PARSE_ERROR),
        ("trailing_comma", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping",}"#), PARSE_ERROR),
        ("comment", bytes("/**/{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"), PARSE_ERROR),
        ("unquoted_key", bytes(r#"{jsonrpc:"2.0","id":1,"method":"ping"}"#), PARSE_ERROR),
        ("raw_control_character_in_string", bytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\tng\"}"), PARSE_ERROR),
        ("bad_escape", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"\x70ing"}"#), PARSE_ERROR),
        ("leading_zero", bytes(r#"{"jsonrpc":"2.0","id":01,"method":"ping"}"#), PARSE_ERROR),
        ("plus_sign", bytes(r#"{"jsonrpc":"2.0","id":+1,"method":"ping"}"#), PARSE_ERROR),
        ("hex_number", bytes(r#"{"jsonrpc":"2.0","id":0x1,"method":"ping"}"#), PARSE_ERROR),
        // Duplicate keys, at any depth.
        ("duplicate_top_level_key", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#), PARSE_ERROR),
        ("duplicate_id", bytes(r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#), PARSE_ERROR),
        ("duplicate_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","name":"odoo_unlink"}}"#), PARSE_ERROR),
        ("duplicate_arguments", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{},"arguments":{"x":1}}}"#), PARSE_ERROR),
        ("duplicate_argument", call_with(r#"{"model":"res.partner","model":"res.users"}"#), PARSE_ERROR),
        ("duplicate_key_in_array", call_with(r#"[{"ok":1},{"b":1,"b":2}]"#), PARSE_ERROR),
        ("duplicate_key_deep", call_with(r#"{"x":{"y":{"z":{"k":1,"k":1}}}}"#), PARSE_ERROR),
        ("duplicate_key_by_escape", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","\u006eame":"odoo_unlink"}}"#), PARSE_ERROR),
        ("duplicate_key_in_meta", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"a":1,"a":2}}}"#), PARSE_ERROR),
        // Keys that differ only by case, `ſ`/`K` folding or NUL (CVE-2026-27896,
        // GHSA-q382-vc8q-7jhj): Go-style parsers read them as one key.
        ("case_variant_of_method", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}"#), PARSE_ERROR),
        ("case_variant_of_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","NAME":"odoo_unlink"}}"#), PARSE_ERROR),
        ("case_variant_in_arguments", call_with(r#"{"model":"res.partner","Model":"res.users"}"#), PARSE_ERROR),
        ("long_s_variant_of_params", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read"},"paramſ":{"name":"odoo_unlink"}}"#), PARSE_ERROR),
        ("escaped_long_s_variant_of_params", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read"},"param\u017f":{"name":"odoo_unlink"}}"#), PARSE_ERROR),
        ("kelvin_sign_variant", bytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"tas\u{212a}\":{},\"task\":{}}}"), PARSE_ERROR),
        ("kelvin_sign_in_arguments", call_with("{\"kind\":\"a\",\"\\u212aind\":\"b\"}"), PARSE_ERROR),
        ("nul_variant_of_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","name\u0000":"odoo_unlink"}}"#), PARSE_ERROR),
        ("nul_variant_in_arguments", call_with(r#"{"model":"a","\u0000model":"b"}"#), PARSE_ERROR),
        // Alone, a variant of a member the envelope reads is a bad envelope.
        ("case_variant_alone", bytes(r#"{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"odoo_unlink"}}"#), INVALID_REQUEST),
        ("long_s_variant_alone", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","param\u017f":{"name":"odoo_unlink"}}"#), INVALID_REQUEST),
        ("nul_variant_alone", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name\u0000":"odoo_unlink"}}"#), INVALID_REQUEST),
        ("kelvin_variant_of_task_alone", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","tas\u212a":{}}}"#), INVALID_REQUEST),
        ("case_variant_of_arguments_alone", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","Arguments":{"model":"res.users"}}}"#), INVALID_REQUEST),
        ("case_variant_of_jsonrpc_alone", bytes(r#"{"JSONRPC":"2.0","id":1,"method":"ping"}"#), INVALID_REQUEST),
        // Trailing data.
        ("trailing_text", bytes(&format!("{CALL}x")), PARSE_ERROR),
        ("two_messages", bytes(&format!("{CALL}{CALL}")), PARSE_ERROR),
        ("two_messages_on_two_lines", bytes(&format!("{CALL}\n{CALL}")), PARSE_ERROR),
        ("trailing_nul", [CALL.as_bytes(), b"\0"].concat(), PARSE_ERROR),
        // Lone surrogates.
        ("lone_high_surrogate", call_with(r#""\ud800""#), PARSE_ERROR),
        ("lone_low_surrogate", call_with(r#""\udc00""#), PARSE_ERROR),
        ("high_surrogate_then_letter", call_with(r#""\ud800\u0041""#), PARSE_ERROR),
        ("swapped_surrogates", call_with(r#""\ude00\ud83d""#), PARSE_ERROR),
        ("lone_surrogate_in_key", call_with(r#"{"\ud83d":1}"#), PARSE_ERROR),
        ("lone_surrogate_in_tool_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read\udfff"}}"#), PARSE_ERROR),
        // Invalid UTF-8, BOM, numbers outside a double.
        ("invalid_utf8_byte", [&call_with(r#""x"#)[..], b"\xff\"}}}"].concat(), PARSE_ERROR),
        ("overlong_utf8_slash", [br#"{"jsonrpc":"2.0","id":1,"method":"tools"#.as_slice(), b"\xc0\xaf", br#"call"}"#].concat(), PARSE_ERROR),
        ("utf8_encoded_surrogate", [br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":""#.as_slice(), b"\xed\xa0\x80", br#""}}"#].concat(), PARSE_ERROR),
        ("latin1_body", b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"a\":\"caf\xe9\"}}".to_vec(), PARSE_ERROR),
        ("utf8_bom", [b"\xef\xbb\xbf".as_slice(), CALL.as_bytes()].concat(), PARSE_ERROR),
        ("utf16_body", CALL.encode_utf16().flat_map(u16::to_le_bytes).collect(), PARSE_ERROR),
        ("nan", call_with("NaN"), PARSE_ERROR),
        ("infinity", call_with("Infinity"), PARSE_ERROR),
        ("negative_infinity", call_with("-Infinity"), PARSE_ERROR),
        ("number_1e400", call_with("1e400"), PARSE_ERROR),
        ("number_minus_1e400", call_with("-1e400"), PARSE_ERROR),
        ("id_1e400", bytes(r#"{"jsonrpc":"2.0","id":1e400,"method":"ping"}"#), PARSE_ERROR),
        // Nesting.
        ("nesting_65", nested_call(65), PARSE_ERROR),
        ("nesting_1000", nested_call(1000), PARSE_ERROR),
        ("nesting_65_objects", call_with(&format!("{}1{}", r#"{"a":"#.repeat(62), "}".repeat(62))), PARSE_ERROR),
        // Batches.
        ("batch_of_one", bytes(&format!("[{CALL}]")), INVALID_REQUEST),
        ("batch_of_two", bytes(&format!("[{CALL},{CALL}]")), INVALID_REQUEST),
        ("empty_batch", bytes("[]"), INVALID_REQUEST),
        // Not an object.
        ("string_message", bytes(r#""tools/call""#), INVALID_REQUEST),
        ("null_message", bytes("null"), INVALID_REQUEST),
        ("number_message", bytes("1"), INVALID_REQUEST),
        // jsonrpc.
        ("jsonrpc_missing", bytes(r#"{"id":1,"method":"ping"}"#), INVALID_REQUEST),
        ("jsonrpc_1_0", bytes(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), INVALID_REQUEST),
        ("jsonrpc_number", bytes(r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#), INVALID_REQUEST),
        ("jsonrpc_2_0_with_space", bytes(r#"{"jsonrpc":"2.0 ","id":1,"method":"ping"}"#), INVALID_REQUEST),
        // id.
        ("id_null", bytes(r#"{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"t"}}"#), INVALID_REQUEST),
        ("id_float", bytes(r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"t"}}"#), INVALID_REQUEST),
        ("id_float_with_integer_value", bytes(r#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#), INVALID_REQUEST),
        ("id_exponent", bytes(r#"{"jsonrpc":"2.0","id":1e2,"method":"ping"}"#), INVALID_REQUEST),
        ("id_true", bytes(r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#), INVALID_REQUEST),
        ("id_false", bytes(r#"{"jsonrpc":"2.0","id":false,"method":"ping"}"#), INVALID_REQUEST),
        ("id_object", bytes(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#), INVALID_REQUEST),
        ("id_array", bytes(r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#), INVALID_REQUEST),
        // method.
        ("method_missing", bytes(r#"{"jsonrpc":"2.0","id":1,"params":{}}"#), INVALID_REQUEST),
        ("method_number", bytes(r#"{"jsonrpc":"2.0","id":1,"method":1}"#), INVALID_REQUEST),
        ("method_null", bytes(r#"{"jsonrpc":"2.0","id":1,"method":null}"#), INVALID_REQUEST),
        ("request_with_result", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#), INVALID_REQUEST),
        ("response_with_result_and_error", bytes(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":""}}"#), INVALID_REQUEST),
        ("response_without_id", bytes(r#"{"jsonrpc":"2.0","result":{}}"#), INVALID_REQUEST),
        // params.
        ("params_array", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["odoo_unlink",{}]}"#), INVALID_REQUEST),
        ("params_string", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}"#), INVALID_REQUEST),
        ("params_null", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":null}"#), INVALID_REQUEST),
        // tools/call.
        ("tools_call_without_params", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#), INVALID_REQUEST),
        ("tools_call_without_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#), INVALID_REQUEST),
        ("tools_call_name_number", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#), INVALID_REQUEST),
        ("tools_call_name_null", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":null}}"#), INVALID_REQUEST),
        ("tools_call_name_array", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["odoo_unlink"]}}"#), INVALID_REQUEST),
        ("tools_call_arguments_array", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#), INVALID_REQUEST),
        ("tools_call_arguments_string", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"{}"}}"#), INVALID_REQUEST),
        ("tools_call_arguments_null", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}}"#), INVALID_REQUEST),
        ("tools_call_notification", bytes(r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"odoo_unlink","arguments":{}}}"#), INVALID_REQUEST),
        // Tool names outside `[A-Za-z0-9_.-]{1,128}`.
        ("tool_name_empty", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""}}"#), INVALID_PARAMS),
        ("tool_name_space", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo unlink"}}"#), INVALID_PARAMS),
        ("tool_name_star", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_*"}}"#), INVALID_PARAMS),
        ("tool_name_slash", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a/b"}}"#), INVALID_PARAMS),
        ("tool_name_non_ascii", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_ünlink"}}"#), INVALID_PARAMS),
        ("tool_name_long_s", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ſsh_execute"}}"#), INVALID_PARAMS),
        ("tool_name_nul", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ssh_execute\u0000"}}"#), INVALID_PARAMS),
        ("tool_name_newline", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ssh_execute\n"}}"#), INVALID_PARAMS),
        ("tool_name_129", bytes(&format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{long_name}"}}}}"#)), INVALID_PARAMS),
    ]
}

#[test]
fn refuses_hostile_bodies_with_the_exact_code() {
    for (name, body, code) in hostile_bodies() {
        let invalid = mcp::parse_message(&body).expect_err(name);
        assert_eq!(invalid.code, code, "case {name}: {}", invalid.message);
        if code != INVALID_PARAMS {
            assert_eq!(invalid.id, None, "case {name}: the answer's id is null");
        }
    }
}

#[test]
fn hostile_bodies_are_invalid_decisions_answered_with_400() {
    // Whatever the policy says: even `default: allow` and no rules.
    let mut session =
        Session::new(Policy::from_json(r#"{"version":"1","default":"allow"}"#).unwrap());
    for (name, body, code) in hostile_bodies() {
        let d = session.decide(
            &body,
            CallContext {
                grant: "g",
                session: None,
                at_ms: 0,
            },
        );
        assert_eq!(d.decision, Outcome::Invalid, "case {name}");
        assert_eq!(d.code, Some(code), "case {name}");
        let (status, answer) = answer_of(&d, None);
        assert_eq!(status, 400, "case {name}");
        assert_eq!(answer["jsonrpc"], "2.0", "case {name}");
        assert_eq!(answer["id"], Value::Null, "case {name}");
        assert_eq!(answer["error"]["code"], code, "case {name}");
        assert_eq!(
            answer["error"]["message"].as_str(),
            d.message.as_deref(),
            "case {name}"
        );
    }
}

#[test]
fn accepts_what_is_strict_and_valid() {
    let long_name = "a".repeat(128);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("plain_call", bytes(CALL), Some("odoo_read")),
        ("nesting_64", nested_call(64), Some("t")),
        (
            "nesting_64_objects",
            call_with(&format!("{}1{}", r#"{"a":"#.repeat(61), "}".repeat(61))),
            Some("t"),
        ),
        ("surrogate_pair", call_with(r#""\ud83d\ude00""#), Some("t")),
        ("raw_emoji", call_with("\"😀\""), Some("t")),
        (
            "escaped_key_alone",
            bytes(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"\u006eame":"odoo_read"}}"#,
            ),
            Some("odoo_read"),
        ),
        (
            "leading_and_trailing_whitespace",
            bytes(&format!(" \r\n\t{CALL}\n ")),
            Some("odoo_read"),
        ),
        (
            "string_id",
            bytes(r#"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"t"}}"#),
            Some("t"),
        ),
        (
            "negative_id",
            bytes(r#"{"jsonrpc":"2.0","id":-7,"method":"tools/call","params":{"name":"t"}}"#),
            Some("t"),
        ),
        (
            "u64_id",
            bytes(
                r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/call","params":{"name":"t"}}"#,
            ),
            Some("t"),
        ),
        (
            "no_arguments",
            bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#),
            Some("t"),
        ),
        (
            "meta_and_task_pass_through",
            bytes(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{},"_meta":{"progressToken":1},"task":{"ttl":1}}}"#,
            ),
            Some("t"),
        ),
        (
            "unknown_members_pass_through",
            bytes(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","extra":1},"extension":true}"#,
            ),
            Some("t"),
        ),
        (
            "different_keys_in_arguments",
            call_with(r#"{"model":"a","models":"b","mode_l":"c"}"#),
            Some("t"),
        ),
        (
            "same_key_in_sibling_objects",
            call_with(r#"[{"k":1},{"k":2}]"#),
            Some("t"),
        ),
        (
            "same_key_at_two_depths",
            call_with(r#"{"a":{"a":{"a":1}}}"#),
            Some("t"),
        ),
        (
            "big_but_finite_number",
            call_with("1.7976931348623157e308"),
            Some("t"),
        ),
        ("tiny_number", call_with("1e-400"), Some("t")),
        (
            "huge_integer",
            call_with("123456789012345678901234567890"),
            Some("t"),
        ),
        (
            "tool_name_128",
            bytes(&format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{long_name}"}}}}"#
            )),
            Some(long_name.as_str()),
        ),
        (
            "tool_name_all_classes",
            bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"Az09_.-"}}"#),
            Some("Az09_.-"),
        ),
        (
            "notification",
            bytes(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None,
        ),
        (
            "response",
            bytes(r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#),
            None,
        ),
        (
            "tools_list_without_params",
            bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
            None,
        ),
    ];
    for (name, body, tool) in cases {
        let message = mcp::parse_message(&body).unwrap_or_else(|e| panic!("case {name}: {e:?}"));
        assert_eq!(message.tool(), tool, "case {name}");
    }
}

#[test]
fn classifies_messages() {
    // (case, body, (kind, tool), method, id)
    type Case<'a> = (
        &'a str,
        &'a str,
        (Kind, Option<&'a str>),
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "call",
            CALL,
            (Kind::ToolCall, Some("odoo_read")),
            Some("tools/call"),
            Some("1"),
        ),
        (
            "call_without_arguments",
            r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"t"}}"#,
            (Kind::ToolCall, Some("t")),
            Some("tools/call"),
            Some(r#""x""#),
        ),
        (
            "list",
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            (Kind::ToolsList, None),
            Some("tools/list"),
            Some("2"),
        ),
        (
            "other",
            r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"p"}}"#,
            (Kind::Other, None),
            Some("prompts/get"),
            Some("3"),
        ),
        (
            "notification",
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            (Kind::Other, None),
            Some("notifications/progress"),
            None,
        ),
        (
            "response",
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":1,"message":"m"}}"#,
            (Kind::Response, None),
            None,
            Some("4"),
        ),
    ];
    for (name, body, (kind, tool), method, id) in cases {
        let message = mcp::parse_message(body.as_bytes()).unwrap();
        assert_eq!(message.kind, kind, "case {name}");
        assert_eq!(message.tool(), tool, "case {name}");
        assert_eq!(message.method.as_deref(), method, "case {name}");
        assert_eq!(message.id(), id, "case {name}");
    }
}

#[test]
fn error_messages_say_what_is_wrong() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not_json", bytes("hello"), "parse error: unexpected `h` (line 1, column 1)"),
        ("empty", bytes(""), "parse error: unexpected end of input (line 1, column 1)"),
        (
            "case_variant",
            bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call"}"#),
            "parse error: keys `method` and `Method` differ only in case or invisible characters at /Method (line 1, column 41)",
        ),
        ("trailing", bytes(&format!("{CALL} {{}}")), "parse error: trailing data after the json value (line 1, column 102)"),
        ("invalid_utf8", b"{\"a\":\"\xff\"}".to_vec(), "parse error: invalid utf-8 (line 1, column 7)"),
        ("bom", [b"\xef\xbb\xbf".as_slice(), b"{}"].concat(), "parse error: unexpected `\u{feff}` (line 1, column 1)"),
        ("batch", bytes(&format!("[{CALL}]")), "invalid request: batches (json arrays) are not supported"),
        ("not_an_object", bytes("42"), "invalid request: a message must be a json object"),
        ("jsonrpc", bytes(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#), "invalid request: `jsonrpc` must be \"2.0\""),
        ("id", bytes(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#), "invalid request: `id` must be a string or an integer"),
        ("params", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}"#), "invalid request: `params` must be an object"),
        ("no_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#), "invalid request: `tools/call` needs `params.name`"),
        ("name_type", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}"#), "invalid request: `params.name` must be a string"),
        ("arguments_type", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[]}}"#), "invalid request: `params.arguments` must be an object"),
        ("notification", bytes(r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#), "invalid request: `tools/call` must be a request with an `id`, not a notification"),
        ("tool_name", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a b"}}"#), "invalid params: a tool name is 1 to 128 of `A-Z a-z 0-9 _ . -`"),
        ("nul_variant", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name\u0000":"t"}}"#), "invalid request: params member `name\\0` is not `name`"),
        ("long_s_variant", bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","param\u017f":{}}"#), "invalid request: message member `paramſ` is not `params`"),
    ];
    for (name, body, message) in cases {
        let invalid = mcp::parse_message(&body).unwrap_err();
        assert_eq!(invalid.message, message, "case {name}");
    }
}

/// A parse error names its place as a JSON Pointer from the message's root, every key on
/// the way included.
#[test]
fn parse_errors_name_their_nested_place() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "duplicate_name",
            bytes(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","name":"odoo_unlink"}}"#),
            "parse error: duplicate key `name` at /params/name (line 1, column 76)",
        ),
        ("lone_surrogate", call_with(r#""\ud800""#), "parse error: lone surrogate `\\ud800` at /params/arguments/a (line 1, column 92)"),
        ("too_deep", nested_call(65), "parse error: nesting deeper than 64 at /params/arguments/a/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0 (line 1, column 146)"),
        ("nan", call_with("NaN"), "parse error: unexpected `N` at /params/arguments/a (line 1, column 85)"),
        ("huge", call_with("1e400"), "parse error: number out of range at /params/arguments/a (line 1, column 85)"),
    ];
    for (name, body, message) in cases {
        let invalid = mcp::parse_message(&body).unwrap_err();
        assert_eq!(invalid.message, message, "case {name}");
    }
}

#[test]
fn a_bad_tool_name_keeps_the_request_id() {
    let invalid = mcp::parse_message(
        br#"{"jsonrpc":"2.0","id":"r7","method":"tools/call","params":{"name":"a b"}}"#,
    )
    .unwrap_err();
    assert_eq!(invalid.code, INVALID_PARAMS);
    assert_eq!(invalid.id.as_deref(), Some(r#""r7""#));
    assert_eq!(invalid.tool.as_deref(), Some("a b"));
    assert_eq!(invalid.method.as_deref(), Some("tools/call"));
}

#[test]
fn answers_in_place_of_the_origin_have_the_contract_shape() {
    let policy = Policy::from_json(include_str!("../examples/contract.policy.json")).unwrap();
    let mut session = Session::new(policy);
    let context = CallContext {
        grant: "g",
        session: None,
        at_ms: 0,
    };

    // Denied: HTTP 200, an isError result carrying the decision, with the request's id.
    let body = br#"{"jsonrpc":"2.0","id":"req-9","method":"tools/call","params":{"name":"odoo_unlink","arguments":{"ids":[1]}}}"#;
    let d = session.decide(body, context);
    let (status, answer) = answer_of(&d, Some(r#""req-9""#));
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!({
            "jsonrpc": "2.0",
            "id": "req-9",
            "result": {
                "content": [{"type": "text", "text": "deleting records is not allowed"}],
                "isError": true,
                "_meta": {"toolgate/decision": {
                    "decision": "deny",
                    "method": "tools/call",
                    "tool": "odoo_unlink",
                    "rule": "/tools/odoo_unlink/action",
                    "message": "deleting records is not allowed",
                }},
            },
        })
    );

    // Approval required: the same shape, the decision carrying the approval.
    let body = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ai_invoice_pipeline_run","arguments":{}}}"#;
    let d = session.decide(body, context);
    let (status, answer) = answer_of(&d, Some("3"));
    assert_eq!(status, 200);
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(
        answer["result"]["content"][0]["text"].as_str(),
        d.message.as_deref()
    );
    assert_eq!(
        answer["result"]["_meta"]["toolgate/decision"]["decision"],
        "approval_required"
    );
    assert_eq!(
        answer["result"]["_meta"]["toolgate/decision"]["approval_id"].as_str(),
        d.approval_id.as_deref()
    );

    // Hidden: HTTP 200, JSON-RPC error -32602 `Unknown tool: NAME`.
    let body = br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ssh_execute","arguments":{"cmd":"id"}}}"#;
    let d = session.decide(body, context);
    assert_eq!(
        answer_of(&d, Some("4")),
        (
            200,
            json!({"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Unknown tool: ssh_execute"}})
        )
    );

    // Allowed: nothing in place of the origin.
    let body = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"odoo_search_read","arguments":{}}}"#;
    assert_eq!(
        session
            .decide(body, context)
            .agent_response(Some("5"), false),
        None
    );
}

#[test]
fn error_and_refusal_bodies() {
    assert_eq!(
        mcp::error_response(None, PARSE_ERROR, "parse error: x"),
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: x"}}"#
    );
    assert_eq!(
        mcp::refusal_response(Some("9"), "no", r#"{"decision":"deny"}"#, false),
        r#"{"jsonrpc":"2.0","id":9,"result":{"content":[{"type":"text","text":"no"}],"isError":true,"_meta":{"toolgate/decision":{"decision":"deny"}}}}"#
    );
    assert_eq!(
        mcp::refusal_response(Some(r#""a""#), "no", "{}", true),
        r#"{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text","text":"no"}],"isError":true,"_meta":{"toolgate/decision":{}},"resultType":"complete"}}"#
    );
    // An id keeps its exact digits, even past 2^64.
    assert_eq!(
        mcp::error_response(Some("123456789012345678901234567890"), -1, "m"),
        r#"{"jsonrpc":"2.0","id":123456789012345678901234567890,"error":{"code":-1,"message":"m"}}"#
    );
}

//! One MCP message through the strict envelope, the header checks and the evaluator.
//!
//! The input is the message's bytes, then optionally, each after a 0xFF byte (which can
//! never occur in UTF-8, so never in a valid message): the `Mcp-Method`, `Mcp-Name` and
//! `MCP-Protocol-Version` header values, then any number of `name:value` headers for
//! `param_headers`.
//!
//! Properties: a parsed message's fields are consistent (a `tools/call` has a valid tool
//! name and an id, its arguments are an object; an id is a string or an integer; a
//! response has exactly one of `result` and `error`); headers that mirror the body
//! faithfully always pass; the evaluator decides every message under a policy that uses
//! every op, `*` paths, limits and approvals, an unparsable message as `invalid` with the
//! same code, a message other than a `tools/call` as `allow`, and every rule it names is
//! a pointer into the policy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use toolgate::eval::{CallContext, Decision, Outcome, Session};
use toolgate::json::{Document, Kind as JsonKind};
use toolgate::mcp::{self, check_headers, param_headers, Kind, McpHeaders};
use toolgate::policy::{is_valid_tool_name, Policy};

const SCHEMA: &str = r#"{"type":"object","properties":{
  "region":{"type":"string","x-mcp-header":"Region"},
  "count":{"type":"integer","x-mcp-header":"Count"},
  "nested":{"type":"object","properties":{"flag":{"type":"boolean","x-mcp-header":"Flag"}}}}}"#;

/// The fixed policy, loaded once. A policy is not `Sync` (it caches plans), and a
/// fuzz target runs on one thread: one per thread, kept for the process.
fn policy() -> &'static Policy {
    thread_local! {
        static POLICY: &'static Policy = match Policy::from_json(toolgate_fuzz::EVAL_POLICY) {
            Ok(p) => Box::leak(Box::new(p)),
            Err(e) => panic!("the fixed policy is invalid: {e}"),
        };
    }
    POLICY.with(|p| *p)
}

fn schema() -> &'static Document<'static> {
    static SCHEMA_DOC: OnceLock<Document<'static>> = OnceLock::new();
    SCHEMA_DOC.get_or_init(|| Document::parse_owned(SCHEMA.to_owned()).expect("fixed schema"))
}

/// A value as a client mirrors it into a header: plain when it is visible ASCII without
/// surrounding spaces, else `=?base64?…?=`.
fn mirror(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value.trim() == value
        && !value.starts_with("=?base64?");
    if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", base64(value.as_bytes()))
    }
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn header_safe(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value
}

fn check_rule(decision: &Decision, policy_doc: toolgate::json::Node<'_>) {
    let rules = std::iter::once(decision.rule.as_deref()).chain(std::iter::once(
        decision.monitor.as_ref().and_then(|m| m.rule.as_deref()),
    ));
    for rule in rules.flatten() {
        assert!(
            toolgate_fuzz::pointer_is_valid(rule),
            "rule {rule:?} is not a JSON Pointer"
        );
        let tokens = toolgate_fuzz::pointer_tokens(rule);
        assert!(
            toolgate_fuzz::resolve(policy_doc, &tokens).is_some(),
            "rule {rule:?} names nothing in the policy"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0xFF);
    let body = parts.next().unwrap_or_default();
    let method_h = parts.next().map(String::from_utf8_lossy);
    let name_h = parts.next().map(String::from_utf8_lossy);
    let version_h = parts.next().map(String::from_utf8_lossy);
    let extra: Vec<(String, String)> = parts
        .map(|p| {
            let text = String::from_utf8_lossy(p);
            let (n, v) = text.split_once(':').unwrap_or((&text, ""));
            (
                format!("mcp-param-{}", n.trim().to_ascii_lowercase()),
                v.to_owned(),
            )
        })
        .collect();

    let parsed = mcp::parse_message(body);
    let policy = policy();
    let mut session = Session::new(policy.clone());
    let context = |at_ms| CallContext {
        grant: "g1",
        session: Some("s1"),
        at_ms,
    };
    let first = session.decide(body, context(0));
    check_rule(&first, policy.source());

    let message = match parsed {
        Ok(m) => m,
        Err(invalid) => {
            assert_eq!(
                first.decision,
                Outcome::Invalid,
                "an unparsable message decided {first:?}"
            );
            assert_eq!(first.code, Some(invalid.code));
            assert!(!invalid.message.is_empty());
            if let Some(tool) = &invalid.tool {
                assert_eq!(invalid.method.as_deref(), Some("tools/call"));
                let _ = tool;
            }
            return;
        }
    };

    // The envelope.
    let root = message.root();
    assert_eq!(root.kind(), JsonKind::Object);
    assert!(root.get("jsonrpc").is_some_and(|v| v.str_eq("2.0")));
    if let Some(id) = message.id() {
        let doc = Document::parse(id.as_bytes()).expect("an id's text is json");
        let id_node = doc.root();
        let ok = match id_node.kind() {
            JsonKind::String => true,
            JsonKind::Number => {
                let n = id_node.as_number().expect("number");
                !n.as_str().contains(['.', 'e', 'E']) && n.is_integer()
            }
            _ => false,
        };
        assert!(ok, "id {id:?} is neither a string nor an integer");
        assert_eq!(root.get("id").map(|i| i.raw()), Some(id));
    } else {
        assert!(root.get("id").is_none());
    }
    match &message.kind {
        Kind::ToolCall => {
            let name = message.tool().expect("a tools/call has a tool name");
            assert!(is_valid_tool_name(name), "tool name {name:?} is not valid");
            assert!(name.len() <= 128 && !name.is_empty());
            assert!(message.id().is_some(), "a tools/call without an id");
            assert_eq!(message.method.as_deref(), Some("tools/call"));
            assert_eq!(message.header_name(), Some(name));
            let params = root.get("params").expect("a tools/call has params");
            assert!(params.get("name").is_some_and(|n| n.str_eq(name)));
            assert_eq!(message.arguments().kind(), JsonKind::Object);
            if let Some(args) = params.get("arguments") {
                assert_eq!(args.raw(), message.arguments().raw());
            } else {
                assert_eq!(message.arguments().raw(), "{}");
            }
        }
        Kind::ToolsList => assert_eq!(message.method.as_deref(), Some("tools/list")),
        Kind::Other => {
            let m = message.method.as_deref().expect("a request has a method");
            assert!(m != "tools/call" && m != "tools/list");
        }
        Kind::Response => {
            assert!(message.method.is_none() && message.id().is_some());
            assert!(root.get("result").is_some() != root.get("error").is_some());
        }
    }
    if message.kind != Kind::ToolCall {
        assert!(message.tool().is_none());
        assert_eq!(message.arguments().raw(), "{}");
    }

    // Headers from the input: no panic, and an error is a header mismatch.
    let headers = McpHeaders {
        method: method_h.as_deref(),
        name: name_h.as_deref(),
        protocol_version: version_h.as_deref(),
    };
    if let Err(e) = check_headers(&message, &headers) {
        assert_eq!(e.code, mcp::HEADER_MISMATCH);
    }
    // Headers that mirror the body faithfully pass.
    let method_ok = message.method.as_deref().is_none_or(header_safe);
    let version_ok = message
        .meta_protocol_version
        .as_deref()
        .is_none_or(header_safe);
    if method_ok && version_ok {
        let name = message.header_name().map(mirror);
        for version in [
            message.meta_protocol_version.clone(),
            Some("2026-07-28".to_owned()),
        ] {
            if message.meta_protocol_version.is_some() && version != message.meta_protocol_version {
                continue;
            }
            let faithful = McpHeaders {
                method: message.method.as_deref(),
                name: name.as_deref(),
                protocol_version: version.as_deref(),
            };
            if let Err(e) = check_headers(&message, &faithful) {
                panic!("faithful headers {faithful:?} refused: {}", e.message);
            }
        }
    }
    let _ = mcp::decode_header_value(name_h.as_deref().unwrap_or_default());

    // Mcp-Param-* headers against a fixed schema.
    let pairs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let schema_root = schema().root();
    if let Ok(forward) = param_headers(&message, Some(schema_root), &pairs) {
        for (n, _) in &forward {
            assert!(pairs.iter().any(|(m, _)| m == n));
        }
    }
    let _ = param_headers(&message, None, &pairs);
    if message.tool().is_some() {
        let args = message.arguments();
        let mut faithful: Vec<(String, String)> = Vec::new();
        let region = args.get("region");
        if let Some(s) = region.and_then(|r| r.as_str()) {
            faithful.push(("mcp-param-region".into(), mirror(&s)));
        }
        if let Some(n) = args.get("count").filter(|c| c.kind() == JsonKind::Number) {
            faithful.push(("mcp-param-count".into(), n.raw().to_owned()));
        }
        if let Some(b) = args
            .get("nested")
            .and_then(|n| n.get("flag"))
            .and_then(|f| f.as_bool())
        {
            faithful.push(("mcp-param-flag".into(), b.to_string()));
        }
        let pairs: Vec<(&str, &str)> = faithful
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        if let Err(e) = param_headers(&message, Some(schema_root), &pairs) {
            panic!("faithful param headers {pairs:?} refused: {}", e.message);
        }
    }

    // The evaluator.
    assert_ne!(
        first.decision,
        Outcome::Invalid,
        "a parsed message decided invalid: {first:?}"
    );
    assert_eq!(first.tool.as_deref(), message.tool());
    assert_eq!(first.method, message.method);
    if message.tool().is_none() {
        assert_eq!(
            first.decision,
            Outcome::Allow,
            "a message that is no call decided {first:?}"
        );
    }
    // The same message, again and again, on the same session (counters and approvals
    // persist): the limits fill and windows roll, and it never panics.
    for at in [0, 1, 999, 1_000, 60_000, 3_600_000, 86_400_000, u64::MAX] {
        let decision = session.decide(body, context(at));
        check_rule(&decision, policy.source());
        assert_eq!(decision.tool.as_deref(), message.tool());
        if decision.decision == Outcome::RateLimited {
            assert!(decision.retry_after_ms.is_some());
        }
        let _ = serde_json::to_string(&decision).expect("a decision serializes");
    }
    // Another grant and no session.
    let other = session.decide(
        body,
        CallContext {
            grant: "",
            session: None,
            at_ms: 5,
        },
    );
    check_rule(&other, policy.source());
    // A fresh session decides the first call the same way.
    let again = Session::new(policy.clone()).decide(body, context(0));
    assert_eq!(again, first, "a fresh session decided differently");
});

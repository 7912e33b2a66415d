//! The pure parts the gateway is built on: configuration and authentication, the
//! 2026-07-28 header checks, approvals as a state machine, and audit records.

use serde_json::{json, Value};
use toolgate::approval::{self, Approval, OnCall, Status};
use toolgate::audit::{self, Query, Record};
use toolgate::config::{Config, ConfigError, Vars};
use toolgate::eval::Session;
use toolgate::json::sha256_hex;
use toolgate::mcp::{self, check_headers, parse_message, McpHeaders};
use toolgate::policy::Policy;

const POLICY: &str = r#"{"version":"1","default":"allow"}"#;

fn grants(token: &str) -> String {
    json!({ "g1": sha256_hex(token.as_bytes()) }).to_string()
}

fn config(vars: Vars<'_>) -> Result<Config, Vec<ConfigError>> {
    Config::from_vars(&vars)
}

#[test]
fn config_reads_every_variable_and_authenticates_by_digest() {
    let grants = grants("agent-secret");
    let admins = json!({ "ops": sha256_hex(b"admin-secret") }).to_string();
    let config = config(Vars {
        origin_url: Some("https://odoo-mcp.example.com/mcp"),
        policy: Some(POLICY),
        grants: Some(&grants),
        origin_headers: Some(r#"{"Authorization":"Bearer origin"}"#),
        admins: Some(&admins),
        max_body_bytes: Some("2048"),
        origin_timeout_ms: None,
        approval_webhook_url: Some("https://hooks.example.com/x"),
        audit_retention_days: Some("7"),
        approval_key: None,
        requests_per_minute: None,
    })
    .unwrap();
    assert_eq!(config.approval_key, Some(approval::sealing_key(&admins)));
    assert_eq!(config.grant_for("agent-secret"), Some("g1"));
    assert_eq!(config.grant_for("agent-secret "), None);
    assert_eq!(config.grant_for("admin-secret"), None);
    assert_eq!(config.admin_for("admin-secret"), Some("ops"));
    assert_eq!(config.admin_for("agent-secret"), None);
    assert!(config.has_admins());
    assert_eq!(
        config.origin_headers,
        vec![("Authorization".to_owned(), "Bearer origin".to_owned())]
    );
    assert_eq!(config.max_body_bytes, 2048);
    assert_eq!(config.origin_timeout_ms, 30_000);
    assert_eq!(config.audit_retention_days, 7);
}

#[test]
fn bad_config_reports_every_problem_without_echoing_secrets() {
    let errors = config(Vars {
        origin_url: Some("ftp://x"),
        policy: Some(r#"{"version":"2","default":"allow"}"#),
        grants: Some(r#"{"g1":"SECRET-NOT-HEX"}"#),
        origin_headers: Some(r#"{"Bad Header":"x"}"#),
        admins: None,
        max_body_bytes: Some("-1"),
        origin_timeout_ms: None,
        approval_webhook_url: None,
        audit_retention_days: None,
        approval_key: None,
        requests_per_minute: None,
    })
    .unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "`ORIGIN_URL` must be an absolute http or https url",
            "`POLICY` is invalid:\n/version: unsupported version `2`, expected `\"1\"`",
            "`GRANTS` must be a json object of id to lowercase hex sha-256 of the token: the value for `g1` is not 64 lowercase hex digits",
            "`ORIGIN_HEADERS` must be a json object of header name to string value: `Bad Header` is not a valid header name",
            "`MAX_BODY_BYTES` must be a positive integer",
        ]
    );
    assert!(!text.join("").contains("SECRET-NOT-HEX"));
    let missing = config(Vars::default()).unwrap_err();
    assert_eq!(
        missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "`ORIGIN_URL` is not set",
            "`POLICY` is not set",
            "`GRANTS` is not set"
        ]
    );
}

fn headers<'a>(
    method: Option<&'a str>,
    name: Option<&'a str>,
    version: Option<&'a str>,
) -> McpHeaders<'a> {
    McpHeaders {
        method,
        name,
        protocol_version: version,
    }
}

#[test]
fn mirrored_headers_must_match_the_body() {
    let call = parse_message(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"odoo_read","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
    )
    .unwrap();
    let cases: &[(&str, McpHeaders<'_>, Option<&str>)] = &[
        ("no headers on an old revision", headers(None, None, None), None),
        ("matching headers", headers(Some("tools/call"), Some("odoo_read"), Some("2026-07-28")), None),
        ("whitespace is trimmed", headers(Some(" tools/call "), Some(" odoo_read"), Some("2026-07-28")), None),
        ("base64 sentinel", headers(Some("tools/call"), Some("=?base64?b2Rvb19yZWFk?="), Some("2026-07-28")), None),
        (
            "method mismatch",
            headers(Some("tools/list"), Some("odoo_read"), None),
            Some("header mismatch: Mcp-Method header `tools/list` does not match body `tools/call`"),
        ),
        (
            "name mismatch",
            headers(Some("tools/call"), Some("odoo_unlink"), None),
            Some("header mismatch: Mcp-Name header `odoo_unlink` does not match body `odoo_read`"),
        ),
        (
            "base64 name mismatch",
            headers(Some("tools/call"), Some("=?base64?b2Rvb191bmxpbms=?="), None),
            Some("header mismatch: Mcp-Name header `odoo_unlink` does not match body `odoo_read`"),
        ),
        (
            "bad base64",
            headers(Some("tools/call"), Some("=?base64?***?="), None),
            Some("header mismatch: the Mcp-Name header is not valid"),
        ),
        (
            "2026-07-28 needs Mcp-Method",
            headers(None, Some("odoo_read"), Some("2026-07-28")),
            Some("header mismatch: the Mcp-Method header is missing"),
        ),
        (
            "2026-07-28 needs Mcp-Name on tools/call",
            headers(Some("tools/call"), None, Some("2026-07-28")),
            Some("header mismatch: the Mcp-Name header is missing"),
        ),
        (
            "protocol version header disagrees with _meta",
            headers(Some("tools/call"), Some("odoo_read"), Some("2025-11-25")),
            Some("header mismatch: MCP-Protocol-Version header `2025-11-25` does not match body `2026-07-28`"),
        ),
    ];
    for (name, h, expected) in cases {
        let got = check_headers(&call, h).err();
        assert_eq!(
            got.as_ref().map(|e| e.message.as_str()),
            *expected,
            "{name}"
        );
        if let Some(e) = got {
            assert_eq!(e.code, mcp::HEADER_MISMATCH, "{name}");
            assert_eq!(e.id.as_deref(), Some("1"), "{name}");
        }
    }
    let list = parse_message(br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).unwrap();
    assert!(check_headers(
        &list,
        &headers(Some("tools/list"), None, Some("2026-07-28"))
    )
    .is_ok());
    assert_eq!(
        check_headers(&list, &headers(Some("tools/list"), Some("x"), None))
            .unwrap_err()
            .message,
        "header mismatch: Mcp-Name header `x` does not match body ``"
    );
}

const KEY: [u8; 32] = [7; 32];

fn request(args: Value, ttl_ms: u64) -> approval::Request {
    approval::Request {
        binding: "b".to_owned(),
        grant: "g1".to_owned(),
        tool: "ai_invoice_pipeline_run".to_owned(),
        arguments_sha256: "h".to_owned(),
        policy_version: 0,
        rule: "/tools/ai_invoice_pipeline_run/approval".to_owned(),
        ttl_ms,
        arguments_sealed: Some(approval::seal(&KEY, [1; 12], &args.to_string())),
    }
}

fn stored(outcome: &OnCall) -> Option<Approval> {
    Some(outcome.approval().clone())
}

#[test]
fn approval_lifecycle_holds_passes_once_and_expires() {
    let req = request(json!({"invoice": 42}), 1_000);
    let first = approval::on_call(None, &req, 0, "a1");
    assert!(matches!(first, OnCall::Pending { created: true, .. }));
    assert_eq!(first.approval().expires_at, 1_000);
    let shown: Value =
        serde_json::from_str(&approval::for_admin(first.approval(), Some(&KEY), false)).unwrap();
    assert_eq!(shown["arguments"], json!({"invoice": 42}));
    assert_eq!(shown["arguments_json"], r#"{"invoice":42}"#);
    assert!(shown.get("arguments_sealed").is_none());
    let wrong_key: Value = serde_json::from_str(&approval::for_admin(
        first.approval(),
        Some(&[8; 32]),
        false,
    ))
    .unwrap();
    assert_eq!(wrong_key["arguments"], Value::Null);

    let again = approval::on_call(stored(&first), &req, 500, "a2");
    assert!(matches!(&again, OnCall::Pending { created: false, approval } if approval.id == "a1"));

    let approved = approval::decide(
        again.approval().clone(),
        true,
        "ops",
        Some("fine".into()),
        600,
    )
    .unwrap();
    assert_eq!(approved.status, Status::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("ops"));

    // Passing the approval step changes nothing: a call refused by a limit after it
    // keeps the approval.
    let pass = approval::on_call(Some(approved.clone()), &req, 700, "a3");
    assert_eq!(
        pass,
        OnCall::Pass {
            approval: approved.clone()
        }
    );
    assert_eq!(
        approval::on_call(stored(&pass), &req, 750, "a3"),
        OnCall::Pass {
            approval: approved.clone()
        }
    );
    // The call that goes to the origin uses it, once; its arguments are dropped.
    let used = approval::use_approved(approved.clone(), 760).unwrap();
    assert_eq!(used.status, Status::Used);
    assert!(used.arguments_sealed.is_none());
    assert_eq!(approval::use_approved(used.clone(), 770), Err(Status::Used));
    assert_eq!(
        approval::use_approved(approved, 1_000_000),
        Err(Status::Expired)
    );
    let used = OnCall::Pass { approval: used };

    let held_again = approval::on_call(stored(&used), &req, 800, "a4");
    assert!(
        matches!(&held_again, OnCall::Pending { created: true, approval } if approval.id == "a4")
    );

    let after_expiry = approval::on_call(stored(&held_again), &req, 1_800, "a5");
    assert!(
        matches!(&after_expiry, OnCall::Pending { created: true, approval } if approval.id == "a5")
    );
    assert_eq!(held_again.approval().status_at(1_800), Status::Expired);
}

#[test]
fn an_operator_deny_answers_with_its_note_until_expiry() {
    let req = request(json!({}), 10_000);
    let pending = approval::on_call(None, &req, 0, "a1");
    let denied = approval::decide(
        pending.approval().clone(),
        false,
        "ops",
        Some("not this month".into()),
        5,
    )
    .unwrap();
    assert_eq!(denied.arguments_sealed, None);
    let next = approval::on_call(Some(denied.clone()), &req, 10, "a2");
    assert!(
        matches!(&next, OnCall::Denied { approval } if approval.note.as_deref() == Some("not this month"))
    );
    assert_eq!(
        approval::decide(denied, true, "ops", None, 20)
            .unwrap_err()
            .to_string(),
        "approval `a1` is denied, not pending"
    );
    let expired = approval::on_call(stored(&next), &req, 10_000, "a3");
    assert!(matches!(expired, OnCall::Pending { created: true, .. }));
}

#[test]
fn the_agent_reads_the_approval_id_and_the_operators_note() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","tools":{"ai_invoice_pipeline_run":{"approval":{"ttl":"15m"}}}}"#,
    )
    .unwrap();
    let mut session = Session::new(policy);
    let message = parse_message(
        br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ai_invoice_pipeline_run","arguments":{"b":1,"a":2}}}"#,
    )
    .unwrap();
    let decision = session.decide_message(
        &message,
        toolgate::eval::CallContext {
            grant: "g1",
            session: None,
            at_ms: 1_000,
        },
    );
    assert_eq!(decision.expires_at, Some(1_000 + 15 * 60_000));
    let id = decision.approval_id.clone().unwrap();
    let (status, body) = decision.agent_response(Some("7"), false).unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body["result"]["content"][0]["text"],
        format!("calling `ai_invoice_pipeline_run` needs human approval: approval `{id}` is pending. An operator must approve it; then repeat the identical call")
    );
    let denied = toolgate::eval::Decision::denied_by_operator(
        &message,
        "/tools/ai_invoice_pipeline_run/approval",
        "ask finance",
    );
    assert_eq!(denied.message.as_deref(), Some("ask finance"));
}

#[test]
fn audit_records_hold_keys_and_a_hash_never_values() {
    let message = parse_message(
        br#"{"jsonrpc":"2.0","id":"r1","method":"tools/call","params":{"name":"odoo_write","arguments":{"model":"res.partner","ids":[1],"vals":{"name":"zebra-7781"}}}}"#,
    )
    .unwrap();
    let policy = Policy::from_json(POLICY).unwrap();
    let mut session = Session::new(policy);
    let decision = session.decide_message(
        &message,
        toolgate::eval::CallContext {
            grant: "g1",
            session: Some("s1"),
            at_ms: 5,
        },
    );
    let record = Record::new(
        audit::Context {
            id: "x1",
            at: 5,
            grant: "g1",
            session: Some("s1"),
            policy_version: 3,
        },
        Some(&message),
        &decision,
    );
    assert_eq!(record.argument_keys, ["ids", "model", "vals"]);
    assert_eq!(
        record.arguments_sha256.as_deref(),
        Some(
            sha256_hex(br#"{"ids":[1],"model":"res.partner","vals":{"name":"zebra-7781"}}"#)
                .as_str()
        )
    );
    assert_eq!(record.request_id.as_deref(), Some("\"r1\""));
    assert_eq!(record.decision, "allow");
    assert_eq!(record.policy_version, 3);
    let text = serde_json::to_string(&record).unwrap();
    assert!(
        !text.contains("zebra-7781") && !text.contains("res.partner"),
        "{text}"
    );
}

#[test]
fn audit_queries_parse_with_clear_errors() {
    let q = Query::from_pairs([
        ("grant", "g1"),
        ("decision", "deny"),
        ("limit", "5000"),
        ("cursor", "17.abc"),
    ])
    .unwrap();
    assert_eq!(q.grant.as_deref(), Some("g1"));
    assert_eq!(q.limit, audit::MAX_PAGE);
    assert_eq!(q.cursor, Some((17, "abc".to_owned())));
    assert_eq!(
        Query::from_pairs([("since", "yesterday")]).unwrap_err(),
        "`since` must be a non-negative integer (milliseconds)"
    );
    assert_eq!(
        Query::from_pairs([("user", "x")]).unwrap_err(),
        "unknown parameter `user`, expected `since`, `until`, `grant`, `tool`, `decision`, `monitor`, `limit` or `cursor`"
    );
}

#[test]
fn sealed_arguments_hold_no_value_in_the_clear_and_resist_tampering() {
    let args = r#"{"vals": {"name": "zebra-7781"}, "amount": 12.50, "id": 12345678901234567891}"#;
    let sealed = approval::seal(&KEY, [3; 12], args);
    assert!(!sealed.contains("zebra") && !sealed.contains(&toolgate::json::hex(b"zebra")));
    assert_eq!(
        approval::open(&KEY, &sealed).as_deref(),
        Some(args),
        "the exact text comes back"
    );
    assert_ne!(
        approval::seal(&KEY, [4; 12], args),
        sealed,
        "a new nonce, a new text"
    );
    let mut tampered = sealed.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        approval::open(&KEY, std::str::from_utf8(&tampered).unwrap()),
        None
    );
    assert_eq!(approval::open(&KEY, "zz"), None);
    assert_ne!(approval::sealing_key("a"), approval::sealing_key("b"));
}

#[test]
fn audit_retention_keeps_whole_days() {
    let day = 86_400_000;
    assert_eq!(audit::retention_cutoff(40 * day, 30), 10 * day);
    assert_eq!(
        audit::retention_cutoff(5 * day, 30),
        0,
        "nothing is older than the epoch"
    );
    assert_eq!(audit::retention_cutoff(u64::MAX, u64::MAX), 0);
}

#[test]
fn the_origin_probe_connects_to_the_urls_host_and_port() {
    use toolgate::config::host_port;
    let cases: &[(&str, Option<(&str, u16)>)] = &[
        ("http://127.0.0.1:8931/mcp", Some(("127.0.0.1", 8931))),
        (
            "https://odoo.example.com/mcp",
            Some(("odoo.example.com", 443)),
        ),
        ("http://odoo.example.com", Some(("odoo.example.com", 80))),
        ("http://user:pw@host:81/x?y#z", Some(("host", 81))),
        ("http://[::1]:9000/mcp", Some(("::1", 9000))),
        ("https://[2001:db8::1]/", Some(("2001:db8::1", 443))),
        ("http://host:99999/", None),
        ("http://host:port/", None),
        ("http:///mcp", None),
        ("ftp://host/", None),
    ];
    for (url, want) in cases {
        assert_eq!(host_port(url), *want, "{url}");
    }
}

//! The Cloudflare Worker: authenticates the agent, evaluates every MCP POST with the core,
//! counts limits in [`crate::counter::RateCounter`] Durable Objects, and proxies what is
//! allowed to the origin, streaming its answer back (CONTRACT §3).
//!
//! No policy logic lives here: the decisions are [`Policy::verdict`]'s, the answers the
//! agent reads are [`Decision::agent_response`]'s, and the `tools/list` filter is
//! [`Policy::filter_tools_list`]. This module moves bytes and calls storage.

use crate::approval;
use crate::audit::{self, Record};
use crate::config::{Config, Vars};
use crate::eval::{allowed, approval_binding, Decision, Outcome, Verdict};
use crate::json;
use crate::mcp::{self, Invalid, Kind, McpHeaders, Message};
use crate::policy::{Limit, Policy};
use crate::ratelimit::{longest_wait, CounterKey, LimitRefused};
use crate::sse::SseRewriter;
use crate::store::{AuditOp, ControlOp, AUDIT, CONTROL};
use futures_util::future::{join_all, select, Either};
use futures_util::{stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use worker::{
    console_error, console_log, event, AbortController, Context, Date, Delay, Env, Fetch, Headers,
    Method, Request, RequestInit, Response, ResponseBody,
};

pub use crate::counter::RateCounter;
pub use crate::store::{AuditStore, ControlStore};

/// The Durable Object namespace binding of the rate counters.
const COUNTERS: &str = "COUNTERS";
/// The binding of the control object (approvals, stored policies).
pub(crate) const CONTROL_BINDING: &str = "CONTROL";
/// The binding of the audit object.
const AUDIT_BINDING: &str = "AUDIT";

/// How long an isolate trusts its copy of the policy before asking the control object
/// whether a newer version was stored. Below 5 s, so every isolate applies a new policy
/// within 5 s of its `PUT`.
const POLICY_RECHECK_MS: u64 = 4_000;

/// Request headers forwarded to the origin, besides every `Mcp-*` header.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "content-type",
    "last-event-id",
    "user-agent",
];

/// Response headers never passed back from the origin.
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "set-cookie",
];

thread_local! {
    /// The configuration, read once per isolate.
    static CONFIG: RefCell<Option<Rc<Result<Config, String>>>> = const { RefCell::new(None) };
    /// The policy in force in this isolate, and when it was last confirmed.
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
}

/// A compiled policy and its version.
#[derive(Clone)]
pub(crate) struct Active {
    pub version: u64,
    pub policy: Rc<Policy>,
    checked_at: u64,
}

#[derive(serde::Deserialize)]
struct PolicyReply {
    version: u64,
    #[serde(default)]
    policy: Option<String>,
}

/// The policy in force. Costs nothing on most requests: at most once every
/// [`POLICY_RECHECK_MS`] per isolate, one round trip to the control object asks whether a
/// newer version was stored (and fetches and compiles it only if so). If that object
/// cannot be reached, the gateway fails closed.
pub(crate) async fn active_policy(env: &Env, config: &Config) -> Result<Active, String> {
    let now = Date::now().as_millis();
    let cached = ACTIVE.with(|a| a.borrow().clone());
    if let Some(active) = &cached {
        if now.saturating_sub(active.checked_at) < POLICY_RECHECK_MS {
            return Ok(active.clone());
        }
    }
    let have = cached.as_ref().map(|a| a.version);
    let reply: PolicyReply =
        object_call(env, CONTROL_BINDING, CONTROL, &ControlOp::Policy { have }).await?;
    let active = match (reply.version, reply.policy, cached) {
        // Unchanged: keep the compiled policy, only note when it was confirmed.
        (version, _, Some(cached)) if cached.version == version => Active {
            checked_at: now,
            ..cached
        },
        (0, _, _) => Active {
            version: 0,
            policy: Rc::new(config.policy.clone()),
            checked_at: now,
        },
        (version, Some(text), _) => match Policy::from_json(&text) {
            Ok(policy) => Active {
                version,
                policy: Rc::new(policy),
                checked_at: now,
            },
            Err(e) => return Err(format!("stored policy version {version} is invalid: {e}")),
        },
        (version, None, _) => return Err(format!("policy version {version} was not sent")),
    };
    set_active(active.clone());
    Ok(active)
}

/// Makes `active` the policy in force in this isolate (after a `PUT` here, at once).
pub(crate) fn set_active(active: Active) {
    ACTIVE.with(|a| *a.borrow_mut() = Some(active));
}

/// A new [`Active`] for a policy just stored.
pub(crate) fn new_active(version: u64, policy: Policy) -> Active {
    Active {
        version,
        policy: Rc::new(policy),
        checked_at: Date::now().as_millis(),
    }
}

/// 12 random bytes, a nonce for [`approval::seal`].
fn random_nonce() -> [u8; 12] {
    let mut nonce = [0u8; 12];
    if getrandom::fill(&mut nonce).is_err() {
        // Never expected on Workers; a time-based nonce is still unique per isolate.
        for (byte, time) in nonce.iter_mut().zip(Date::now().as_millis().to_le_bytes()) {
            *byte = time;
        }
    }
    nonce
}

/// A random id: 16 bytes as hex.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Never expected on Workers; fall back to something unique enough per isolate.
        for (byte, time) in bytes.iter_mut().zip(Date::now().as_millis().to_le_bytes()) {
            *byte = time;
        }
    }
    json::hex(&bytes)
}

fn read_var(env: &Env, name: &str) -> Option<String> {
    if let Ok(secret) = env.secret(name) {
        return Some(secret.to_string());
    }
    if let Ok(var) = env.var(name) {
        return Some(var.to_string());
    }
    env.object_var::<Value>(name).ok().map(|v| v.to_string())
}

pub(crate) fn config(env: &Env) -> Rc<Result<Config, String>> {
    if let Some(config) = CONFIG.with(|c| c.borrow().clone()) {
        return config;
    }
    let vars: Vec<Option<String>> = [
        "ORIGIN_URL",
        "POLICY",
        "GRANTS",
        "ORIGIN_HEADERS",
        "ADMINS",
        "MAX_BODY_BYTES",
        "ORIGIN_TIMEOUT_MS",
        "APPROVAL_WEBHOOK_URL",
        "AUDIT_RETENTION_DAYS",
        "APPROVAL_KEY",
    ]
    .iter()
    .map(|name| read_var(env, name))
    .collect();
    let get = |i: usize| vars.get(i).and_then(|v| v.as_deref());
    let loaded = Config::from_vars(&Vars {
        origin_url: get(0),
        policy: get(1),
        grants: get(2),
        origin_headers: get(3),
        admins: get(4),
        max_body_bytes: get(5),
        origin_timeout_ms: get(6),
        approval_webhook_url: get(7),
        audit_retention_days: get(8),
        approval_key: get(9),
    })
    .map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    });
    if let Err(why) = &loaded {
        console_error!("toolgate: bad configuration:\n{why}");
    }
    let loaded = Rc::new(loaded);
    CONFIG.with(|c| *c.borrow_mut() = Some(loaded.clone()));
    loaded
}

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    let answer = match path.as_str() {
        "/mcp" => mcp_endpoint(req, &env, &ctx).await,
        p if p == "/admin" || p.starts_with("/admin/") => crate::admin::handle(req, &env).await,
        _ => json_response(
            404,
            &mcp::error_response(None, -32601, "not found: the MCP endpoint is /mcp"),
        ),
    };
    Ok(answer.unwrap_or_else(|e| {
        console_error!("toolgate: internal error: {e}");
        plain(500, "internal error")
    }))
}

pub(crate) fn plain(status: u16, text: &str) -> Response {
    Response::ok(text)
        .map(|r| r.with_status(status))
        .unwrap_or_else(|_| Response::empty().unwrap_or_else(|_| unreachable_response()))
}

/// A last-resort response when even building one failed (never expected).
fn unreachable_response() -> Response {
    Response::builder().with_status(500).empty()
}

pub(crate) fn json_response(status: u16, body: &Value) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.to_string().into_bytes()))
}

fn invalid_response(invalid: &Invalid) -> worker::Result<Response> {
    json_response(
        400,
        &mcp::error_response(invalid.id.as_ref(), invalid.code, &invalid.message),
    )
}

pub(crate) fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("authorization").ok()??;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// What one `/mcp` request is, for its audit record.
struct Call<'a> {
    id: String,
    at: u64,
    grant: &'a str,
    session: Option<String>,
    policy_version: u64,
}

impl Call<'_> {
    fn record(&self, message: Option<&Message>, decision: &Decision) -> Record {
        Record::new(
            audit::Context {
                id: &self.id,
                at: self.at,
                grant: self.grant,
                session: self.session.as_deref(),
                policy_version: self.policy_version,
            },
            message,
            decision,
        )
    }
}

/// Writes an audit record off the response path, and prints it as one JSON log line.
fn audit(
    env: &Env,
    ctx: &Context,
    config: &Config,
    mut record: Record,
    origin_status: Option<u16>,
) {
    record.origin_status = origin_status;
    record.latency_ms = Date::now().as_millis().saturating_sub(record.at);
    console_log!("{}", serde_json::to_string(&record).unwrap_or_default());
    let env = env.clone();
    let retention_days = config.audit_retention_days;
    ctx.wait_until(async move {
        let op = AuditOp::Append {
            records: vec![record],
            retention_days,
        };
        if let Err(why) = object_call::<_, Value>(&env, AUDIT_BINDING, AUDIT, &op).await {
            console_error!("toolgate: audit write failed: {why}");
        }
    });
}

async fn mcp_endpoint(mut req: Request, env: &Env, ctx: &Context) -> worker::Result<Response> {
    let config = config(env);
    let Ok(config) = config.as_ref() else {
        return json_response(
            503,
            &mcp::error_response(
                None,
                -32603,
                "toolgate is not configured correctly; the operator can read why in the Worker log",
            ),
        );
    };
    let Some(grant) = bearer(&req).and_then(|t| config.grant_for(&t).map(str::to_owned)) else {
        return unauthorized();
    };
    match req.method() {
        Method::Post => post(&mut req, env, ctx, config, &grant).await,
        Method::Get | Method::Delete => {
            let method = req.method();
            match forward(config, req.headers(), method, None).await {
                Ok(origin) => passthrough(origin),
                Err(why) => origin_failed(None, &why),
            }
        }
        _ => {
            let mut response = plain(405, "method not allowed");
            response.headers_mut().set("allow", "GET, POST, DELETE")?;
            Ok(response)
        }
    }
}

pub(crate) fn unauthorized() -> worker::Result<Response> {
    let mut response = json_response(
        401,
        &mcp::error_response(
            None,
            -32001,
            "unauthorized: a valid bearer token is required",
        ),
    )?;
    response
        .headers_mut()
        .set("www-authenticate", "Bearer realm=\"toolgate\"")?;
    Ok(response)
}

/// Reads the request body, refusing more than `limit` bytes. A refused body is still
/// read to its end (up to [`DRAIN_LIMIT_BYTES`]) and thrown away: answering before the
/// client has finished sending breaks the connection under some runtimes, and the next
/// request with it.
async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, u16> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > limit as u64);
    let mut body = Vec::new();
    let mut seen = 0usize;
    let mut chunks = req.stream().map_err(|_| 400u16)?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| 400u16)?;
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            too_large = true;
            body = Vec::new();
        }
        if too_large {
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        return Err(413);
    }
    Ok(body)
}

/// How much of a refused body is read and thrown away before giving up on it.
const DRAIN_LIMIT_BYTES: usize = 16 << 20;

async fn post(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
    grant: &str,
) -> worker::Result<Response> {
    let at = Date::now().as_millis();
    let body = match read_body(req, config.max_body_bytes).await {
        Ok(body) => body,
        Err(413) => {
            return json_response(
                413,
                &mcp::error_response(
                    None,
                    mcp::INVALID_REQUEST,
                    &format!("request body larger than {} bytes", config.max_body_bytes),
                ),
            )
        }
        Err(status) => {
            return json_response(
                status,
                &mcp::error_response(None, mcp::PARSE_ERROR, "cannot read the request body"),
            )
        }
    };
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (method_header, name_header, version_header) = (
        header("mcp-method"),
        header("mcp-name"),
        header("mcp-protocol-version"),
    );
    let active = match active_policy(env, config).await {
        Ok(active) => active,
        Err(why) => {
            console_error!("toolgate: policy store unavailable: {why}");
            return json_response(
                503,
                &mcp::error_response(
                    None,
                    -32603,
                    "toolgate cannot confirm its policy right now, so nothing was forwarded; try again shortly",
                ),
            );
        }
    };
    let call = Call {
        id: random_id(),
        at,
        grant,
        session: header("mcp-session-id"),
        policy_version: active.version,
    };
    let message = match mcp::parse_message(&body) {
        Ok(message) => message,
        Err(invalid) => {
            audit_invalid(env, ctx, config, &call, &invalid);
            return invalid_response(&invalid);
        }
    };
    let mirrored = McpHeaders {
        method: method_header.as_deref(),
        name: name_header.as_deref(),
        protocol_version: version_header.as_deref(),
    };
    if let Err(invalid) = mcp::check_headers(&message, &mirrored) {
        audit_invalid(env, ctx, config, &call, &invalid);
        return invalid_response(&invalid);
    }
    let modern = version_header
        .as_deref()
        .is_some_and(|v| v.trim() >= mcp::HEADER_MIRRORING_VERSION);
    let refuse = |decision: &Decision| -> worker::Result<Response> {
        audit(
            env,
            ctx,
            config,
            call.record(Some(&message), decision),
            None,
        );
        refusal(decision, &message, modern)
    };

    let (limits, allow_rule) = match active.policy.verdict(&message) {
        Verdict::Final(decision) if decision.decision == Outcome::Allow => (Vec::new(), None),
        Verdict::Final(decision) => return refuse(&decision),
        Verdict::Approval {
            approval,
            arguments_sha256,
            limits,
            allow_rule,
        } => {
            let Kind::ToolCall { name, arguments } = &message.kind else {
                return refuse(&Decision::invalid(&Invalid {
                    code: mcp::INVALID_REQUEST,
                    message: "internal error".to_owned(),
                    method: None,
                    tool: None,
                    id: None,
                }));
            };
            let request = approval::Request {
                binding: approval_binding(grant, name, &arguments_sha256, active.version),
                grant: grant.to_owned(),
                tool: name.clone(),
                arguments_sha256,
                policy_version: active.version,
                rule: approval.pointer.clone(),
                ttl_ms: approval.ttl_ms,
                arguments_sealed: config
                    .approval_key
                    .as_ref()
                    .map(|key| approval::seal(key, random_nonce(), arguments)),
            };
            match approval_step(env, ctx, config, request).await {
                Ok(ApprovalStep::Pass) => (limits, Some(allow_rule)),
                Ok(ApprovalStep::Held(held)) => {
                    return refuse(&Decision::approval_required(
                        &message,
                        &approval.pointer,
                        &held.id,
                        held.expires_at,
                    ))
                }
                Ok(ApprovalStep::Denied(denied)) => {
                    return refuse(&Decision::denied_by_operator(
                        &message,
                        &approval.pointer,
                        denied.note.as_deref().unwrap_or_default(),
                    ))
                }
                Ok(ApprovalStep::Full) => {
                    return refuse(&Decision {
                        message: Some(format!(
                            "grant `{grant}` already has {} approvals waiting; ask an operator to decide them before asking for more",
                            approval::MAX_PENDING_PER_GRANT
                        )),
                        ..Decision::denied_by_operator(&message, &approval.pointer, "")
                    });
                }
                Err(why) => {
                    console_error!("toolgate: approval store unavailable: {why}");
                    return refuse(&Decision {
                        message: Some(
                            "toolgate could not reach its approval store, so the call was not forwarded; try again shortly"
                                .to_owned(),
                        ),
                        ..Decision::denied_by_operator(&message, &approval.pointer, "")
                    });
                }
            }
        }
        Verdict::Limits { limits, allow_rule } => (limits, Some(allow_rule)),
    };

    let mut taken: Vec<(CounterKey, u64)> = Vec::new();
    if !limits.is_empty() {
        match reserve(env, &limits, grant, call.session.as_deref()).await {
            Reserved::All(keys) => taken = keys,
            Reserved::Refused(refused, keys) => {
                ctx.wait_until(refund_all(env.clone(), keys));
                return refuse(&Decision::rate_limited(&message, &refused));
            }
            Reserved::Unavailable(limit, keys) => {
                ctx.wait_until(refund_all(env.clone(), keys));
                return refuse(&Decision {
                    message: Some(format!(
                        "toolgate could not reach the rate-limit store for `{}`, so the call was not forwarded; try again shortly",
                        limit.counter
                    )),
                    ..Decision::denied_by_operator(&message, &limit.pointer, "")
                });
            }
        }
    }
    let decision = match allow_rule {
        Some(rule) => allowed(&message, rule),
        None => allowed(&message, String::new()),
    };
    let audited = matches!(message.kind, Kind::ToolCall { .. } | Kind::ToolsList);
    let record = audited.then(|| {
        let mut record = call.record(Some(&message), &decision);
        if record.rule.as_deref() == Some("") {
            record.rule = None;
        }
        record
    });

    let origin = match forward(config, req.headers(), Method::Post, Some(body)).await {
        Ok(response) => response,
        Err(why) => {
            ctx.wait_until(refund_all(env.clone(), taken));
            if let Some(record) = record {
                audit(env, ctx, config, record, None);
            }
            return origin_failed(message.id.as_ref(), &why);
        }
    };
    let status = origin.status_code();
    if let Some(record) = record {
        audit(env, ctx, config, record, Some(status));
    }
    if status >= 500 {
        ctx.wait_until(refund_all(env.clone(), taken));
        return origin_failed(
            message.id.as_ref(),
            &format!("the origin answered HTTP {status}"),
        );
    }
    if message.kind == Kind::ToolsList {
        return filtered_tools_list(active.policy.clone(), origin, message.id.as_ref()).await;
    }
    passthrough(origin)
}

enum ApprovalStep {
    Pass,
    Held(approval::Approval),
    Denied(approval::Approval),
    /// The grant has [`approval::MAX_PENDING_PER_GRANT`] approvals waiting already.
    Full,
}

#[derive(serde::Deserialize)]
struct CallReply {
    outcome: String,
    created: bool,
    approval: approval::Approval,
}

/// Finds or creates the approval of a call, and announces a new one on the webhook,
/// off the response path.
async fn approval_step(
    env: &Env,
    ctx: &Context,
    config: &Config,
    request: approval::Request,
) -> Result<ApprovalStep, String> {
    let op = ControlOp::Call {
        request,
        new_id: random_id(),
    };
    let reply: CallReply = object_call(env, CONTROL_BINDING, CONTROL, &op).await?;
    if reply.created {
        if let Some(url) = config.approval_webhook_url.clone() {
            let body =
                approval::webhook_body(&reply.approval, config.approval_key.as_ref()).to_string();
            ctx.wait_until(async move {
                if let Err(why) = post_json(&url, body).await {
                    console_error!("toolgate: approval webhook failed: {why}");
                }
            });
        }
    }
    Ok(match reply.outcome.as_str() {
        "pass" => ApprovalStep::Pass,
        "denied" => ApprovalStep::Denied(reply.approval),
        "full" => ApprovalStep::Full,
        _ => ApprovalStep::Held(reply.approval),
    })
}

async fn post_json(url: &str, body: String) -> Result<(), String> {
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status_code() >= 300 {
        return Err(format!("status {}", response.status_code()));
    }
    Ok(())
}

fn refusal(decision: &Decision, message: &Message, modern: bool) -> worker::Result<Response> {
    let Some((status, mut body)) = decision.agent_response(message.id.as_ref()) else {
        return json_response(500, &mcp::error_response(None, -32603, "internal error"));
    };
    if modern {
        if let Some(result) = body.get_mut("result").and_then(Value::as_object_mut) {
            result.insert(
                "resultType".to_owned(),
                Value::String("complete".to_owned()),
            );
        }
    }
    json_response(status, &body)
}

fn audit_invalid(env: &Env, ctx: &Context, config: &Config, call: &Call<'_>, invalid: &Invalid) {
    if invalid.method.as_deref() == Some("tools/call") {
        audit(
            env,
            ctx,
            config,
            call.record(None, &Decision::invalid(invalid)),
            None,
        );
    }
}

enum Reserved<'p> {
    All(Vec<(CounterKey, u64)>),
    Refused(LimitRefused<'p>, Vec<(CounterKey, u64)>),
    Unavailable(&'p Limit, Vec<(CounterKey, u64)>),
}

/// Reserves one call on every limit, in parallel, one round trip per limit. If any limit
/// is exhausted or unreachable, the ones taken are returned for a refund.
async fn reserve<'p>(
    env: &Env,
    limits: &[&'p Limit],
    grant: &str,
    session: Option<&str>,
) -> Reserved<'p> {
    let calls = limits.iter().map(|limit| {
        let key = CounterKey::new(limit, grant, session);
        let op = crate::counter::CounterOp::Reserve {
            window_ms: limit.window.ms(),
            max: limit.max,
        };
        async move {
            let name = key.storage_name();
            let reply: Result<crate::counter::CounterReply, String> =
                object_call(env, COUNTERS, &name, &op).await;
            (*limit, key, reply)
        }
    });
    let results = join_all(calls).await;
    let mut taken = Vec::new();
    let mut refusals = Vec::new();
    let mut unavailable = None;
    for (limit, key, reply) in results {
        match reply {
            Ok(reply) if reply.ok => taken.push((key, reply.at.unwrap_or_default())),
            Ok(reply) => refusals.push(LimitRefused {
                limit,
                retry_after_ms: reply.retry_after_ms.unwrap_or_default(),
            }),
            Err(why) => {
                console_error!("toolgate: counter `{}` unavailable: {why}", limit.counter);
                unavailable.get_or_insert(limit);
            }
        }
    }
    if let Some(limit) = unavailable {
        return Reserved::Unavailable(limit, taken);
    }
    match longest_wait(refusals) {
        Some(refused) => Reserved::Refused(refused, taken),
        None => Reserved::All(taken),
    }
}

/// One JSON request to the Durable Object `name` of namespace `binding`.
pub(crate) async fn object_call<Op: Serialize, Reply: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> Result<Reply, String> {
    let namespace = env.durable_object(binding).map_err(|e| e.to_string())?;
    let stub = namespace
        .id_from_name(name)
        .and_then(|id| id.get_stub())
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_string(op).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init("https://object/", &init).map_err(|e| e.to_string())?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("status {}: {text}", response.status_code()));
    }
    response.json().await.map_err(|e| e.to_string())
}

/// Like [`object_call`], but passes the object's answer through as is (for the admin API).
pub(crate) async fn object_passthrough<Op: Serialize>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> worker::Result<Response> {
    let stub = env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?;
    let body = serde_json::to_string(op).map_err(|e| worker::Error::RustError(e.to_string()))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    stub.fetch_with_request(Request::new_with_init("https://object/", &init)?)
        .await
}

async fn refund_all(env: Env, taken: Vec<(CounterKey, u64)>) {
    let calls = taken.iter().map(|(key, at)| {
        let env = &env;
        async move {
            let op = crate::counter::CounterOp::Refund { at: *at };
            let name = key.storage_name();
            if let Err(why) =
                object_call::<_, crate::counter::CounterReply>(env, COUNTERS, &name, &op).await
            {
                console_error!("toolgate: refund on `{}` failed: {why}", key.counter);
            }
        }
    });
    join_all(calls).await;
}

/// Sends the request on to the origin with the client's MCP headers, without its
/// credentials, and with the origin's own headers. Gives up after the configured timeout.
async fn forward(
    config: &Config,
    client_headers: &Headers,
    method: Method,
    body: Option<Vec<u8>>,
) -> Result<Response, String> {
    let headers = Headers::new();
    for (name, value) in client_headers.entries() {
        let name = name.to_ascii_lowercase();
        if name.starts_with("mcp-") || FORWARDED_REQUEST_HEADERS.contains(&name.as_str()) {
            headers.append(&name, &value).map_err(|e| e.to_string())?;
        }
    }
    for (name, value) in &config.origin_headers {
        headers.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let request = Request::new_with_init(&config.origin_url, &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Delay::from(Duration::from_millis(config.origin_timeout_ms));
    let outcome = select(sending, timeout).await;
    match outcome {
        Either::Left((Ok(response), _)) => Ok(response),
        Either::Left((Err(e), _)) => Err(format!("the origin is unreachable: {e}")),
        Either::Right(_) => {
            controller.abort();
            Err(format!(
                "the origin did not answer within {} ms",
                config.origin_timeout_ms
            ))
        }
    }
}

fn origin_failed(id: Option<&Value>, why: &str) -> worker::Result<Response> {
    console_error!("toolgate: origin failed: {why}");
    json_response(
        502,
        &mcp::error_response(id, -32603, &format!("bad gateway: {why}")),
    )
}

fn response_headers(origin: &Response) -> worker::Result<Headers> {
    let headers = Headers::new();
    for (name, value) in origin.headers().entries() {
        if !DROPPED_RESPONSE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            headers.append(&name, &value)?;
        }
    }
    Ok(headers)
}

/// The origin's answer, streamed back as it arrives.
fn passthrough(origin: Response) -> worker::Result<Response> {
    let headers = response_headers(&origin)?;
    let status = origin.status_code();
    let (_, body) = origin.into_parts();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(body))
}

/// A `tools/list` answer with hidden tools removed: event by event for SSE, whole for
/// JSON.
async fn filtered_tools_list(
    policy: Rc<Policy>,
    mut origin: Response,
    id: Option<&Value>,
) -> worker::Result<Response> {
    let headers = response_headers(&origin)?;
    let status = origin.status_code();
    let content_type = origin
        .headers()
        .get("content-type")?
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("text/event-stream") {
        let rewriter = Rc::new(RefCell::new(SseRewriter::new(
            move |message: &mut Value| policy.filter_tools_list(message) > 0,
        )));
        let tail = rewriter.clone();
        let events = origin.stream()?.map(move |chunk| {
            let chunk = chunk?;
            rewriter
                .borrow_mut()
                .push(&chunk)
                .map_err(|e| worker::Error::RustError(e.to_string()))
        });
        let finish = stream::once(async move { Ok(tail.borrow_mut().finish()) });
        return Ok(Response::from_stream(events.chain(finish))?
            .with_status(status)
            .with_headers(headers));
    }
    let bytes = origin.bytes().await?;
    let Ok(mut message) = json::parse(&bytes) else {
        return origin_failed(id, "the origin's tools/list answer is not valid json");
    };
    policy.filter_tools_list(&mut message);
    headers.delete("content-length")?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(ResponseBody::Body(message.to_string().into_bytes())))
}

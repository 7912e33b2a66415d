//! The Cloudflare Worker: authenticates the agent, evaluates every MCP POST with the core,
//! counts limits in [`crate::counter::RateCounter`] Durable Objects, and proxies what is
//! allowed to the origin, streaming its answer back (CONTRACT §3).
//!
//! No policy logic lives here: the decisions are [`Policy::verdict`]'s, the answers the
//! agent reads are [`Decision::agent_response`]'s, and the `tools/list` filter is
//! [`Policy::filter_tools_list`]. This module moves bytes and calls storage.

use crate::config::{Config, Vars};
use crate::eval::{allowed, approval_binding, Decision, Verdict};
use crate::json;
use crate::mcp::{self, Invalid, Kind, McpHeaders, Message};
use crate::policy::Limit;
use crate::ratelimit::{longest_wait, CounterKey, LimitRefused};
use crate::sse::SseRewriter;
use futures_util::future::{join_all, select, Either};
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use worker::{
    console_error, console_log, event, AbortController, Context, Date, Delay, Env, Fetch, Headers,
    Method, Request, RequestInit, Response, ResponseBody,
};

pub use crate::counter::RateCounter;

/// The Durable Object namespace binding of the rate counters.
const COUNTERS: &str = "COUNTERS";

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

fn config(env: &Env) -> Rc<Result<Config, String>> {
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

fn plain(status: u16, text: &str) -> Response {
    Response::ok(text)
        .map(|r| r.with_status(status))
        .unwrap_or_else(|_| Response::empty().unwrap_or_else(|_| unreachable_response()))
}

/// A last-resort response when even building one failed (never expected).
fn unreachable_response() -> Response {
    Response::builder().with_status(500).empty()
}

fn json_response(status: u16, body: &Value) -> worker::Result<Response> {
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

fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("authorization").ok()??;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
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
        return Ok(response);
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

/// Reads the request body, refusing more than `limit` bytes.
async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, u16> {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(413);
    }
    let mut body = Vec::new();
    let mut chunks = req.stream().map_err(|_| 400u16)?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| 400u16)?;
        if body.len() + chunk.len() > limit {
            return Err(413);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn post(
    req: &mut Request,
    env: &Env,
    ctx: &Context,
    config: &Config,
    grant: &str,
) -> worker::Result<Response> {
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
    let message = match mcp::parse_message(&body) {
        Ok(message) => message,
        Err(invalid) => {
            audit_invalid(grant, &invalid);
            return invalid_response(&invalid);
        }
    };
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (method_header, name_header, version_header) = (
        header("mcp-method"),
        header("mcp-name"),
        header("mcp-protocol-version"),
    );
    let mirrored = McpHeaders {
        method: method_header.as_deref(),
        name: name_header.as_deref(),
        protocol_version: version_header.as_deref(),
    };
    if let Err(invalid) = mcp::check_headers(&message, &mirrored) {
        audit_invalid(grant, &invalid);
        return invalid_response(&invalid);
    }
    let modern = version_header
        .as_deref()
        .is_some_and(|v| v.trim() >= mcp::HEADER_MIRRORING_VERSION);
    let session = header("mcp-session-id");
    let started = Date::now().as_millis();

    let limits = match config.policy.verdict(&message) {
        Verdict::Final(decision) if decision.decision == crate::eval::Outcome::Allow => None,
        Verdict::Final(decision) => return refuse(&decision, &message, grant, modern),
        Verdict::Approval {
            approval,
            arguments_sha256,
            ..
        } => {
            let binding = approval_binding(
                grant,
                message.tool().unwrap_or_default(),
                &arguments_sha256,
                0,
            );
            let id = json::sha256_hex(binding.as_bytes());
            let decision = Decision::approval_required(
                &message,
                &approval.pointer,
                id.get(..32).unwrap_or_default(),
                started.saturating_add(approval.ttl_ms),
            );
            return refuse(&decision, &message, grant, modern);
        }
        Verdict::Limits { limits, allow_rule } => Some((limits, allow_rule)),
    };

    let mut taken: Vec<(CounterKey, u64)> = Vec::new();
    if let Some((limits, allow_rule)) = limits {
        match reserve(env, &limits, grant, session.as_deref()).await {
            Reserved::All(keys) => {
                taken = keys;
                log_decision(grant, &allowed(&message, allow_rule));
            }
            Reserved::Refused(refused, keys) => {
                ctx.wait_until(refund_all(env.clone(), keys));
                let decision = Decision::rate_limited(&message, &refused);
                return refuse(&decision, &message, grant, modern);
            }
            Reserved::Unavailable(limit, keys) => {
                ctx.wait_until(refund_all(env.clone(), keys));
                let decision = Decision {
                    rule: Some(limit.pointer.clone()),
                    message: Some(format!(
                        "toolgate could not reach the rate-limit store for `{}`, so the call was not forwarded; try again shortly",
                        limit.counter
                    )),
                    ..Decision::denied_by_operator(&message, &limit.pointer, "")
                };
                return refuse(&decision, &message, grant, modern);
            }
        }
    }

    let origin = forward(config, req.headers(), Method::Post, Some(body)).await;
    let origin = match origin {
        Ok(response) if response.status_code() < 500 => response,
        Ok(response) => {
            ctx.wait_until(refund_all(env.clone(), taken));
            return origin_failed(
                message.id.as_ref(),
                &format!("the origin answered HTTP {}", response.status_code()),
            );
        }
        Err(why) => {
            ctx.wait_until(refund_all(env.clone(), taken));
            return origin_failed(message.id.as_ref(), &why);
        }
    };
    if message.kind == Kind::ToolsList {
        log_line(&json!({
            "at": started, "grant": grant, "method": "tools/list", "decision": "allow",
        }));
        return filtered_tools_list(config, origin, message.id.as_ref()).await;
    }
    passthrough(origin)
}

fn refuse(
    decision: &Decision,
    message: &Message,
    grant: &str,
    modern: bool,
) -> worker::Result<Response> {
    log_decision(grant, decision);
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

fn log_line(record: &Value) {
    console_log!("{}", record);
}

fn log_decision(grant: &str, decision: &Decision) {
    let mut record = serde_json::to_value(decision).unwrap_or(Value::Null);
    if let Some(map) = record.as_object_mut() {
        map.insert("at".to_owned(), json!(Date::now().as_millis()));
        map.insert("grant".to_owned(), json!(grant));
    }
    log_line(&record);
}

fn audit_invalid(grant: &str, invalid: &Invalid) {
    log_decision(grant, &Decision::invalid(invalid));
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
            let reply = counter_call(env, &key, &op).await;
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

async fn counter_call(
    env: &Env,
    key: &CounterKey,
    op: &crate::counter::CounterOp,
) -> Result<crate::counter::CounterReply, String> {
    let namespace = env.durable_object(COUNTERS).map_err(|e| e.to_string())?;
    let stub = namespace
        .id_from_name(&key.storage_name())
        .and_then(|id| id.get_stub())
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_string(op).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init("https://counter/", &init).map_err(|e| e.to_string())?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        return Err(format!("status {}", response.status_code()));
    }
    response.json().await.map_err(|e| e.to_string())
}

async fn refund_all(env: Env, taken: Vec<(CounterKey, u64)>) {
    let calls = taken.iter().map(|(key, at)| {
        let env = &env;
        async move {
            let op = crate::counter::CounterOp::Refund { at: *at };
            if let Err(why) = counter_call(env, key, &op).await {
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
    config: &Config,
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
    let policy = config.policy.clone();
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

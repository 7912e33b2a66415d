//! The origin: requests to it (with a timeout), its answers read within a limit or
//! streamed through the filter event by event, and the gateway's own catalogue fetch.

use super::isolate::Claim;
use crate::catalogue::{definition_sha256, Seen, View};
use crate::config::Config;
use crate::filter::{Filter, Report};
use crate::json::Document;
use crate::pipeline::{Call, Forward, Forwarded, Side, Stream, Verb};
use crate::policy::Policy;
use crate::sse::SseRewriter;
use futures_util::future::{select, Either};
use futures_util::{stream, StreamExt};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    console_error, AbortController, ByteStream, Context, Delay, Env, Fetch, Headers, Method,
    Request, RequestInit, Response,
};

/// How long the gateway waits for the first bytes of an event stream before it sends the
/// answer's headers: long enough to refuse with a 502 an answer that starts wrong (a
/// byte-order mark, a bad first event), short enough not to hold a slow tool's stream.
const FIRST_EVENT_WAIT_MS: u64 = 1_000;

/// Sends a request to the origin, giving up after the configured timeout. Returns what
/// happened and, when the origin answered, its response (its body not yet read).
///
/// A failed `fetch` never proves that the request stayed unsent: workerd throws the same
/// `Error: Network connection lost.` (with `remote` and `retryable` set, nothing else) for
/// a refused connection, a connection reset before or after the origin ran the call, and
/// a pooled connection to an origin that has died; a name that does not resolve gives
/// `internal error; reference = …`. So until an isolate has had an answer from the origin,
/// and again after any failure, each request is preceded by a TCP connect to the origin's
/// address: when that is refused, the request is not sent at all, and the call is
/// provably not run (refunded). Any other outcome of the probe sends the request as usual.
pub async fn send(config: &Config, forward: Forward) -> (Forwarded, Option<Response>) {
    let request = match request(config, &forward) {
        Ok(request) => request,
        Err(why) => return (Forwarded::Unreachable(why), None),
    };
    if !super::isolate::origin_answering() {
        if let Some(why) = refused(&config.origin_url).await {
            return (Forwarded::Unreachable(why), None);
        }
    }
    let (forwarded, response) = fetch_with_timeout(request, config.origin_timeout_ms).await;
    super::isolate::note_origin(matches!(forwarded, Forwarded::Answered { .. }));
    (forwarded, response)
}

/// What workerd's `connect()` says when nothing listens at the address.
const CONNECT_REFUSED: &str = "cannot connect to the specified address";

/// Whether a TCP connection to the origin's host and port is refused (then why).
/// `cloudflare:sockets` through its raw binding: the `worker` crate's socket wrapper
/// brings a URL parser and a JS deserializer for what this needs of it, one promise.
async fn refused(origin_url: &str) -> Option<String> {
    let (host, port) = crate::config::host_port(origin_url)?;
    let object = |pairs: &[(&str, JsValue)]| {
        let object = js_sys::Object::new();
        for (key, value) in pairs {
            js_sys::Reflect::set(&object, &JsValue::from_str(key), value).ok()?;
        }
        Some(JsValue::from(object))
    };
    let address = object(&[
        ("hostname", JsValue::from_str(host)),
        ("port", JsValue::from(port)),
    ])?;
    let options = object(&[("secureTransport", JsValue::from_str("off"))])?;
    let socket = worker::worker_sys::connect(address, options).ok()?;
    let opened = wasm_bindgen_futures::JsFuture::from(socket.opened().ok()?).await;
    match opened {
        Ok(_) => {
            if let Ok(closing) = socket.close() {
                let _ = wasm_bindgen_futures::JsFuture::from(closing).await;
            }
            None
        }
        Err(e) => {
            let text = match e.dyn_ref::<js_sys::Error>() {
                Some(error) => String::from(error.message()),
                None => e.as_string().unwrap_or_default(),
            };
            text.contains(CONNECT_REFUSED).then(|| {
                format!("a connection to it was refused ({text}), so the request was not sent")
            })
        }
    }
}

fn request(config: &Config, forward: &Forward) -> Result<Request, String> {
    let headers = Headers::new();
    for (name, value) in &forward.headers {
        headers.append(name, value).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(match forward.verb {
        Verb::Post => Method::Post,
        Verb::Get => Method::Get,
        Verb::Delete => Method::Delete,
    })
    .with_headers(headers);
    if let Some(body) = &forward.body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    Request::new_with_init(&config.origin_url, &init).map_err(|e| e.to_string())
}

async fn fetch_with_timeout(request: Request, timeout_ms: u64) -> (Forwarded, Option<Response>) {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let sending = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Delay::from(Duration::from_millis(timeout_ms));
    let outcome = select(sending, timeout).await;
    let result = match outcome {
        Either::Left((Ok(response), _)) => {
            let status = response.status_code();
            let headers = response
                .headers()
                .entries()
                .map(|(n, v)| (n.to_ascii_lowercase(), v))
                .collect();
            (Forwarded::Answered { status, headers }, Some(response))
        }
        Either::Left((Err(e), _)) => (classify_failure(&e.to_string()), None),
        Either::Right(_) => {
            controller.abort();
            (Forwarded::TimedOut, None)
        }
    };
    result
}

/// What a failed `fetch` means. Only a text that says the connection was refused or the
/// name did not resolve proves that nothing was sent; workerd gives neither (see [`send`]:
/// every failure there reads `Network connection lost.` or `internal error`), so there
/// every failed fetch may have run the call and is not refunded. A refused connection is
/// found by the probe in [`send`] instead.
fn classify_failure(why: &str) -> Forwarded {
    let lower = why.to_ascii_lowercase();
    let never_sent = [
        "connection refused",
        "econnrefused",
        "name not resolved",
        "could not resolve",
        "no such host",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if never_sent {
        Forwarded::Unreachable(why.to_owned())
    } else {
        Forwarded::Broken(why.to_owned())
    }
}

/// Reads a body of at most `limit` bytes.
pub async fn read_limited(response: &mut Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut chunks = response.stream().map_err(|e| e.to_string())?;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| format!("the origin's answer broke off: {e}"))?;
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(format!(
                "the origin's answer is larger than the {limit} bytes toolgate checks"
            ));
        }
    }
    Ok(body)
}

/// What an event stream reads: the origin's chunks, the rewriter, the filter's inputs.
struct Relay {
    body: ByteStream,
    rewriter: SseRewriter,
    policy: Rc<Policy>,
    view: Rc<View>,
    learn: bool,
    report: Report,
    cut: Option<String>,
    done: bool,
    /// Messages (events with data) the filter has checked.
    messages: usize,
}

impl Relay {
    /// Feeds one chunk; returns the bytes to send, or cuts the stream.
    fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let filter = Filter::new(&self.policy, &self.view);
        let filter = if self.learn {
            filter.learning()
        } else {
            filter
        };
        let report = &mut self.report;
        let messages = &mut self.messages;
        let result = self.rewriter.push(chunk, &mut out, &mut |data| {
            *messages += 1;
            filter.message(data, report).map(|text| match text {
                std::borrow::Cow::Borrowed(_) => None,
                std::borrow::Cow::Owned(text) => Some(text),
            })
        });
        if let Err(why) = result {
            console_error!("toolgate: cut the origin's event stream: {why}");
            self.cut = Some(why.to_string());
            self.done = true;
        }
        out
    }

    /// The next bytes to send, or `None` at the end.
    async fn next(&mut self) -> Option<Vec<u8>> {
        while !self.done {
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    let out = self.feed(&chunk);
                    if !out.is_empty() {
                        return Some(out);
                    }
                }
                Some(Err(e)) => {
                    self.cut = Some(format!("the origin's stream broke off: {e}"));
                    self.done = true;
                }
                None => {
                    self.rewriter.finish();
                    self.done = true;
                }
            }
        }
        None
    }

    /// Reads until the first message has been checked, the stream ends or is cut, or
    /// [`FIRST_EVENT_WAIT_MS`] pass; returns what to send first.
    async fn start(&mut self) -> Vec<u8> {
        let mut first = Vec::new();
        let deadline = super::isolate::now() + FIRST_EVENT_WAIT_MS;
        while !self.done && self.messages == 0 {
            let left = deadline.saturating_sub(super::isolate::now());
            if left == 0 {
                break;
            }
            let wait = Delay::from(Duration::from_millis(left));
            match select(Box::pin(self.body.next()), wait).await {
                Either::Left((Some(Ok(chunk)), _)) => first.extend(self.feed(&chunk)),
                Either::Left((Some(Err(e)), _)) => {
                    self.cut = Some(format!("the origin's stream broke off: {e}"));
                    self.done = true;
                }
                Either::Left((None, _)) => {
                    self.rewriter.finish();
                    self.done = true;
                }
                // The stream is still open and slow: its headers go out now.
                Either::Right(_) => break,
            }
        }
        first
    }
}

/// Passes the origin's event stream to the agent through the filter. The stream is read
/// until its first message has been checked (for up to [`FIRST_EVENT_WAIT_MS`]) before the
/// answer starts, so that a stream that starts wrong gets a 502 instead, and nothing of it
/// passes on; later problems cut the stream off. When the stream ends (or the agent goes
/// away), the call's record and observations are written.
#[allow(clippy::too_many_arguments)]
pub async fn stream(
    mut origin: Response,
    plan: Stream,
    policy: Rc<Policy>,
    view: Rc<View>,
    mut call: Call,
    claim: Option<Claim>,
    env: Env,
    config: Rc<Result<Config, String>>,
    ctx: &Context,
) -> worker::Result<Response> {
    let mut relay = Relay {
        body: origin.stream()?,
        rewriter: SseRewriter::new(),
        policy,
        view,
        learn: plan.learn,
        report: Report::default(),
        cut: None,
        done: false,
        messages: 0,
    };
    let first = relay.start().await;
    if let Some(why) = relay.cut.take() {
        // Refused before anything went out: a 502, the call's record says why.
        call.on_stream_end(std::mem::take(&mut relay.report), Some(why.clone()));
        perform_later(ctx, env, config, call.take_sides());
        drop(claim);
        return bad_start(&call, &why);
    }
    let (tx, rx) = futures_channel::oneshot::channel::<Vec<Side>>();
    ctx.wait_until(async move {
        if let Ok(sides) = rx.await {
            perform(&env, &config, sides).await;
        }
    });
    let tail = Tail {
        relay,
        call,
        claim,
        tx: Some(tx),
    };
    let rest = stream::unfold(tail, |mut tail| async move {
        match tail.relay.next().await {
            Some(bytes) => Some((Ok::<Vec<u8>, worker::Error>(bytes), tail)),
            None => {
                tail.end(None);
                None
            }
        }
    });
    let first = stream::iter(Some(first).into_iter().filter(|b| !b.is_empty()).map(Ok));
    let headers = Headers::new();
    for (name, value) in &plan.headers {
        headers.append(name, value)?;
    }
    Ok(Response::from_stream(first.chain(rest))?
        .with_status(plan.status)
        .with_headers(headers))
}

/// The 502 for a stream refused at its start.
fn bad_start(call: &Call, why: &str) -> worker::Result<Response> {
    let id = call.message().and_then(|m| m.id().map(str::to_owned));
    super::routing::json(
        502,
        &crate::mcp::error_response(
            id.as_deref(),
            crate::mcp::INTERNAL_ERROR,
            &format!("bad gateway: {why}"),
        ),
    )
}

/// The rest of a stream being relayed, and what its end must do.
struct Tail {
    relay: Relay,
    call: Call,
    /// The request id, claimed until the stream ends.
    claim: Option<Claim>,
    /// Where the call's records and observations go at the end.
    tx: Option<futures_channel::oneshot::Sender<Vec<Side>>>,
}

impl Tail {
    /// Ends the stream once: reports what the filter saw, releases the request id.
    fn end(&mut self, gone: Option<&str>) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let report = std::mem::take(&mut self.relay.report);
        let cut = self.relay.cut.take().or(gone.map(str::to_owned));
        self.call.on_stream_end(report, cut);
        let _ = tx.send(self.call.take_sides());
        self.claim.take();
    }
}

impl Drop for Tail {
    /// The agent went away before the stream ended: its records are still written.
    fn drop(&mut self) {
        self.end(Some("the agent closed the stream before it ended"));
    }
}

/// Performs side effects after the answer (`waitUntil`).
fn perform_later(ctx: &Context, env: Env, config: Rc<Result<Config, String>>, sides: Vec<Side>) {
    ctx.wait_until(async move { perform(&env, &config, sides).await });
}

/// Performs side effects in order, inline (inside a `waitUntil` that already keeps the
/// request alive). Observations may bring pin changes, whose records and webhooks
/// follow. The audit records go last, all at once: waiting for their batch
/// ([`super::call::record_audits`]) never holds up a refund, an observation or a webhook.
pub async fn perform(env: &Env, config: &Rc<Result<Config, String>>, sides: Vec<Side>) {
    let Ok(config) = config.as_ref() else {
        return;
    };
    let mut queue: Vec<Side> = sides.into_iter().rev().collect();
    let mut records = Vec::new();
    while let Some(side) = queue.pop() {
        match side {
            Side::Audit(record) => records.push(super::call::answered(record)),
            // The list this isolate's view already has: nothing to tell the object.
            Side::Observe { seen, complete } if super::isolate::view_agrees(&seen, complete) => {}
            Side::Observe { seen, complete } => {
                match super::catalogue_store::observe(env, seen, complete).await {
                    Ok((_, changes)) => {
                        queue.extend(super::call::changes_to_sides(changes).into_iter().rev());
                    }
                    Err(why) => console_error!("toolgate: catalogue object unavailable: {why}"),
                }
            }
            Side::Refresh => match fetch_catalogue(config).await {
                Ok((seen, complete)) => queue.push(Side::Observe { seen, complete }),
                Err(why) => console_error!("toolgate: could not read the origin's tools: {why}"),
            },
            other => super::call::perform_simple(env, config, other).await,
        }
    }
    super::call::record_audits(env, config, records).await;
}

/// POSTs a JSON body (the approval and pin webhook).
pub async fn post_json(url: &str, body: String) -> Result<(), String> {
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let (forwarded, response) = fetch_with_timeout(request, 10_000).await;
    match (forwarded, response) {
        (Forwarded::Answered { status, .. }, Some(_)) if status < 300 => Ok(()),
        (Forwarded::Answered { status, .. }, _) => Err(format!("status {status}")),
        (Forwarded::TimedOut, _) => Err("no answer within 10 s".to_owned()),
        (Forwarded::Unreachable(why) | Forwarded::Broken(why), _) => Err(why),
    }
}

// ---------------------------------------------------------------------------- catalogue

/// The protocol revision the gateway speaks to read the catalogue itself.
const CATALOGUE_PROTOCOL: &str = "2025-06-18";

/// The most pages of a `tools/list` the gateway reads.
const MAX_PAGES: usize = 50;

/// Reads the origin's whole tool list as an MCP client would: `initialize`, then
/// `tools/list` page by page, then ends the session. Returns every tool, and whether the
/// list is complete (every page was read).
pub async fn fetch_catalogue(config: &Config) -> Result<(Vec<Seen>, bool), String> {
    let init = r#"{"jsonrpc":"2.0","id":"toolgate-init","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"toolgate","version":"1"}}}"#;
    let (status, headers, body) = exchange(config, Verb::Post, None, Some(init)).await?;
    if status >= 400 {
        return fetch_catalogue_stateless(config).await;
    }
    let session = headers
        .iter()
        .find(|(n, _)| n == "mcp-session-id")
        .map(|(_, v)| v.clone());
    answer_with_id(&body, "\"toolgate-init\"")?;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    exchange(config, Verb::Post, session.as_deref(), Some(initialized)).await?;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut complete = false;
    for page in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => format!(r#"{{"cursor":{}}}"#, crate::json::quote(c)),
            None => "{}".to_owned(),
        };
        let list = format!(
            r#"{{"jsonrpc":"2.0","id":"toolgate-list-{page}","method":"tools/list","params":{params}}}"#
        );
        let (status, _, body) =
            exchange(config, Verb::Post, session.as_deref(), Some(&list)).await?;
        if status >= 400 {
            return Err(format!("the origin answered tools/list with HTTP {status}"));
        }
        let message = answer_with_id(&body, &format!("\"toolgate-list-{page}\""))?;
        cursor = read_tools(&message, &mut seen)?;
        if cursor.is_none() {
            complete = true;
            break;
        }
    }
    if let Some(session) = session {
        let _ = exchange(config, Verb::Delete, Some(&session), None).await;
    }
    Ok((seen, complete))
}

/// The same for an origin that only speaks the 2026-07-28 revision (no sessions).
async fn fetch_catalogue_stateless(config: &Config) -> Result<(Vec<Seen>, bool), String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0..MAX_PAGES {
        let mut params = String::from(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#,
        );
        if let Some(c) = &cursor {
            params.push_str(&format!(r#","cursor":{}"#, crate::json::quote(c)));
        }
        params.push('}');
        let list = format!(
            r#"{{"jsonrpc":"2.0","id":"toolgate-list-{page}","method":"tools/list","params":{params}}}"#
        );
        let (status, _, body) = exchange_modern(config, &list).await?;
        if status >= 400 {
            return Err(format!("the origin answered tools/list with HTTP {status}"));
        }
        let message = answer_with_id(&body, &format!("\"toolgate-list-{page}\""))?;
        cursor = read_tools(&message, &mut seen)?;
        if cursor.is_none() {
            return Ok((seen, true));
        }
    }
    Ok((seen, false))
}

/// Adds the tools of one `tools/list` answer; returns its next cursor.
fn read_tools(message: &str, seen: &mut Vec<Seen>) -> Result<Option<String>, String> {
    let doc = Document::parse_answer(message).map_err(|e| e.to_string())?;
    let result = doc
        .root()
        .get("result")
        .ok_or("the origin's tools/list answer has no result")?;
    for tool in result.get("tools").into_iter().flat_map(|t| t.items()) {
        if let Some(name) = tool.get("name").and_then(|n| n.as_str()) {
            seen.push(Seen {
                name: name.into_owned(),
                sha256: definition_sha256(tool),
                raw: tool.raw().to_owned(),
            });
        }
    }
    Ok(result
        .get("nextCursor")
        .and_then(|c| c.as_str())
        .map(|c| c.into_owned()))
}

/// The JSON-RPC answer with `id` (its JSON text) in a JSON or SSE body.
fn answer_with_id(body: &str, id: &str) -> Result<String, String> {
    let candidates: Vec<String> = if body.trim_start().starts_with('{') {
        vec![body.to_owned()]
    } else {
        body.split("\n\n")
            .flat_map(|b| b.split("\r\n\r\n"))
            .map(|event| {
                event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    };
    for candidate in candidates {
        if let Ok(doc) = Document::parse_answer(&candidate) {
            if doc.root().get("id").is_some_and(|i| i.raw() == id) {
                if let Some(error) = doc.root().get("error") {
                    return Err(format!(
                        "the origin answered with an error: {}",
                        error.raw()
                    ));
                }
                return Ok(candidate);
            }
        }
    }
    Err("the origin's answer holds no response to toolgate's request".to_owned())
}

async fn exchange(
    config: &Config,
    verb: Verb,
    session: Option<&str>,
    body: Option<&str>,
) -> Result<(u16, Vec<(String, String)>, String), String> {
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (
            "accept".to_owned(),
            "application/json, text/event-stream".to_owned(),
        ),
    ];
    if body.is_some_and(|b| !b.contains("\"initialize\"")) {
        headers.push((
            "mcp-protocol-version".to_owned(),
            CATALOGUE_PROTOCOL.to_owned(),
        ));
    }
    if let Some(session) = session {
        headers.push(("mcp-session-id".to_owned(), session.to_owned()));
    }
    send_own(config, verb, headers, body).await
}

async fn exchange_modern(
    config: &Config,
    body: &str,
) -> Result<(u16, Vec<(String, String)>, String), String> {
    let headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (
            "accept".to_owned(),
            "application/json, text/event-stream".to_owned(),
        ),
        ("mcp-protocol-version".to_owned(), "2026-07-28".to_owned()),
        ("mcp-method".to_owned(), "tools/list".to_owned()),
    ];
    send_own(config, Verb::Post, headers, Some(body)).await
}

async fn send_own(
    config: &Config,
    verb: Verb,
    mut headers: Vec<(String, String)>,
    body: Option<&str>,
) -> Result<(u16, Vec<(String, String)>, String), String> {
    for (name, value) in &config.origin_headers {
        headers.push((name.to_ascii_lowercase(), value.clone()));
    }
    let forward = Forward {
        verb,
        headers,
        body: body.map(|b| b.as_bytes().to_vec()),
    };
    let (forwarded, response) = send(config, forward).await;
    match (forwarded, response) {
        (Forwarded::Answered { status, headers }, Some(mut response)) => {
            let body = read_limited(&mut response, crate::filter::MAX_TOOLS_LIST_BYTES).await?;
            Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
        }
        (Forwarded::TimedOut, _) => Err("the origin did not answer in time".to_owned()),
        (Forwarded::Unreachable(why) | Forwarded::Broken(why), _) => Err(why),
        (Forwarded::Answered { status, .. }, None) => {
            Err(format!("status {status} without a body"))
        }
    }
}

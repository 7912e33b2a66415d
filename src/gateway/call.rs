//! `/mcp`: drives one [`Call`] through its steps. Each step is one thing done to the
//! outside world (the coarse budget, a claim, a Durable Object, the origin), its result
//! fed back; the call decides everything else.

use super::audit_store::AuditOp;
use super::control::{CallReply, ControlOp, UseReply};
use super::counter::{CounterOp, CounterReply};
use super::isolate::{self, Batch, Claim};
use super::objects::{self, AUDIT, AUDIT_NAME, CONTROL, CONTROL_NAME, COUNTERS};
use super::origin;
use super::routing::{json, Body};
use crate::audit::Record;
use crate::catalogue::View;
use crate::config::Config;
use crate::mcp;
use crate::pipeline::{
    self, Call, Context as CallContext, Inbound, Reserve, Reserved, Side, Step, Verb,
};
use futures_util::future::{join, join_all};
use std::rc::Rc;
use std::time::Duration;
use worker::{console_error, console_log, Context, Delay, Env, Headers, Method, Request, Response};

/// The coarse budget's binding (`[[ratelimits]]` in `wrangler.toml`).
const BUDGET_BINDING: &str = "REQUESTS";

/// Answers one request to `/mcp`.
pub async fn endpoint(
    req: &Request,
    body: Body,
    env: &Env,
    ctx: &Context,
) -> worker::Result<Response> {
    let config_rc = isolate::config(env);
    let Ok(config) = config_rc.as_ref() else {
        return json(
            503,
            &mcp::error_response(
                None,
                mcp::INTERNAL_ERROR,
                "toolgate is not configured correctly; the operator can read why in the Worker log",
            ),
        );
    };
    let (verb, body) = match accepted(req, body, config) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let (active, view) = join(isolate::active(env, config), isolate::view(env)).await;
    let active = match active {
        Ok(active) => active,
        Err(why) => {
            console_error!("toolgate: policy store unavailable: {why}");
            return json(
                503,
                &mcp::error_response(
                    None,
                    mcp::INTERNAL_ERROR,
                    "toolgate cannot confirm its policy right now, so nothing was forwarded; try again shortly",
                ),
            );
        }
    };
    let inbound = Inbound {
        verb,
        headers: req
            .headers()
            .entries()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect(),
        body,
        now_ms: isolate::now(),
        random: isolate::random(),
        admin_url: Some(format!("{}/admin.html", super::routing::origin_of(req))),
    };
    let host = Host {
        env,
        ctx,
        config,
        config_rc: config_rc.clone(),
        policy: active.policy.clone(),
        version: active.version,
        session_key: active.session_key,
        view,
    };
    host.drive(Call::new(inbound)).await
}

/// The request's method and body, or the answer to one `/mcp` does not take: another
/// method (405), a body over the limit (413), a body that broke off (400).
fn accepted(
    req: &Request,
    body: Body,
    config: &Config,
) -> Result<(Verb, Vec<u8>), worker::Result<Response>> {
    let verb = match req.method() {
        Method::Post => Verb::Post,
        Method::Get => Verb::Get,
        Method::Delete => Verb::Delete,
        _ => {
            let refusal = json(
                405,
                &mcp::error_response(
                    None,
                    mcp::INVALID_REQUEST,
                    "method not allowed: use POST, GET or DELETE",
                ),
            )
            .and_then(|mut response| {
                response.headers_mut().set("allow", "GET, POST, DELETE")?;
                Ok(response)
            });
            return Err(refusal);
        }
    };
    match body {
        Body::Read(bytes) => Ok((verb, bytes)),
        Body::TooLarge => Err(json(
            413,
            &mcp::error_response(
                None,
                mcp::INVALID_REQUEST,
                &format!("request body larger than {} bytes", config.max_body_bytes),
            ),
        )),
        Body::Broken => Err(json(
            400,
            &mcp::error_response(None, mcp::PARSE_ERROR, "the request body could not be read"),
        )),
    }
}

/// What one call runs with.
struct Host<'a> {
    env: &'a Env,
    ctx: &'a Context,
    config: &'a Config,
    config_rc: Rc<Result<Config, String>>,
    policy: Rc<crate::policy::Policy>,
    version: u64,
    session_key: [u8; 32],
    view: Rc<View>,
}

impl Host<'_> {
    fn cx(&self) -> CallContext<'_> {
        CallContext {
            config: self.config,
            policy: &self.policy,
            policy_version: self.version,
            view: &self.view,
            session_key: &self.session_key,
        }
    }

    async fn drive(mut self, mut call: Call) -> worker::Result<Response> {
        let mut claim: Option<Claim> = None;
        let mut origin: Option<Response> = None;
        loop {
            match call.poll(&self.cx()) {
                Step::Budget { grant, per_minute } => {
                    call.on_budget(self.within_budget(&grant, per_minute).await);
                }
                Step::Claim { key } => {
                    claim = Claim::take(key);
                    call.on_claim(claim.is_some());
                }
                Step::FetchCatalogue => {
                    let fetched = self.fetch_catalogue().await;
                    call.on_catalogue(fetched);
                }
                Step::Approval { request, new_id } => {
                    let op = ControlOp::Call { request, new_id };
                    let reply = objects::call::<_, CallReply>(self.env, CONTROL, CONTROL_NAME, &op)
                        .await
                        .map(CallReply::into_pipeline);
                    if let Err(why) = &reply {
                        console_error!("toolgate: approval store unavailable: {why}");
                    }
                    call.on_approval(reply, &self.cx());
                }
                Step::UseApproval { id } => {
                    let op = ControlOp::Use { id };
                    let reply = objects::call::<_, UseReply>(self.env, CONTROL, CONTROL_NAME, &op)
                        .await
                        .map(UseReply::into_pipeline);
                    if let Err(why) = &reply {
                        console_error!("toolgate: approval store unavailable: {why}");
                    }
                    call.on_approval_used(reply);
                }
                Step::Reserve(reservations) => {
                    call.on_reserved(self.reserve(reservations).await);
                }
                Step::Forward(forward) => {
                    let (forwarded, response) = origin::send(self.config, forward).await;
                    origin = response;
                    call.on_forwarded(forwarded);
                }
                Step::ReadBody { limit } => {
                    let body = match origin.as_mut() {
                        Some(response) => origin::read_limited(response, limit).await,
                        None => Err("the origin's answer is gone".to_owned()),
                    };
                    call.on_body(body, &self.cx());
                }
                Step::Respond(answer) => {
                    self.run_sides(call.take_sides());
                    drop(claim);
                    return answer_response(answer);
                }
                Step::Stream(stream) => return self.stream(call, claim, origin, stream).await,
            }
        }
    }

    /// Answers with the origin's event stream, through the filter.
    async fn stream(
        &self,
        mut call: Call,
        claim: Option<Claim>,
        origin: Option<Response>,
        stream: pipeline::Stream,
    ) -> worker::Result<Response> {
        self.run_sides(call.take_sides());
        let Some(response) = origin else {
            return json(
                502,
                &mcp::error_response(None, mcp::INTERNAL_ERROR, "bad gateway"),
            );
        };
        origin::stream(
            response,
            stream,
            self.policy.clone(),
            self.view.clone(),
            call,
            claim,
            self.env.clone(),
            self.config_rc.clone(),
            self.ctx,
        )
        .await
    }

    /// The coarse budget: this isolate's exact window, then the Rate Limiting binding.
    async fn within_budget(&self, grant: &str, per_minute: u64) -> bool {
        if !isolate::within_budget(grant, per_minute) {
            return false;
        }
        match rate_limit(self.env, grant).await {
            Ok(admitted) => admitted,
            Err(why) => {
                // The binding is approximate by design; the isolate's exact window above
                // still holds. Log and go on.
                console_error!("toolgate: the request budget binding failed: {why}");
                true
            }
        }
    }

    async fn reserve(&self, reservations: Vec<Reserve>) -> Vec<Result<Reserved, String>> {
        let env = self.env;
        let calls = reservations.into_iter().map(|r| async move {
            let op = CounterOp::Reserve {
                window_ms: r.window_ms,
                max: r.max,
            };
            let name = r.key.storage_name();
            let reply: Result<CounterReply, String> =
                objects::call(env, COUNTERS, &name, &op).await;
            match reply {
                Ok(CounterReply { ok: true, at, .. }) => Ok(Reserved::Taken {
                    at: at.unwrap_or_default(),
                }),
                Ok(CounterReply { retry_after_ms, .. }) => Ok(Reserved::Full {
                    retry_after_ms: retry_after_ms.unwrap_or_default(),
                }),
                Err(why) => {
                    console_error!("toolgate: counter `{}` unavailable: {why}", r.key.counter);
                    Err(why)
                }
            }
        });
        join_all(calls).await
    }

    /// Reads the origin's catalogue itself, and makes it this isolate's view.
    async fn fetch_catalogue(&mut self) -> bool {
        match origin::fetch_catalogue(self.config).await {
            Ok((seen, complete)) => {
                match super::catalogue_store::observe(self.env, seen, complete).await {
                    Ok((view, changes)) => {
                        self.view = view;
                        self.run_sides(changes_to_sides(changes));
                        true
                    }
                    Err(why) => {
                        console_error!("toolgate: catalogue object unavailable: {why}");
                        false
                    }
                }
            }
            Err(why) => {
                console_error!("toolgate: could not read the origin's tools: {why}");
                false
            }
        }
    }

    fn run_sides(&self, sides: Vec<Side>) {
        for side in sides {
            let env = self.env.clone();
            let config = self.config_rc.clone();
            self.ctx
                .wait_until(async move { origin::perform(&env, &config, vec![side]).await });
        }
    }
}

/// Asks the Rate Limiting binding (`limit({key})`) whether `grant` may go on. A missing
/// binding admits (the isolate's own window still applies).
async fn rate_limit(env: &Env, grant: &str) -> Result<bool, String> {
    use wasm_bindgen::{JsCast, JsValue};
    let binding = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(BUDGET_BINDING))
        .map_err(|_| "no binding".to_owned())?;
    if binding.is_undefined() {
        return Ok(true);
    }
    let limit: js_sys::Function = js_sys::Reflect::get(&binding, &JsValue::from_str("limit"))
        .map_err(|_| "no limit()".to_owned())?
        .dyn_into()
        .map_err(|_| "limit is not a function".to_owned())?;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(
        &options,
        &JsValue::from_str("key"),
        &JsValue::from_str(grant),
    )
    .map_err(|_| "bad options".to_owned())?;
    let promise: js_sys::Promise = limit
        .call1(&binding, &options)
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "limit() did not return a promise".to_owned())?;
    let outcome = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(
        js_sys::Reflect::get(&outcome, &JsValue::from_str("success"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
    )
}

/// The audit records and webhooks of pin changes.
pub fn changes_to_sides(changes: Vec<crate::catalogue::Change>) -> Vec<Side> {
    changes
        .into_iter()
        .flat_map(|change| {
            let record = Record::pin_change(&change, isolate::now(), &crate::json::hex(&isolate::random::<16>()));
            let text = format!(
                "toolgate: the origin's tool `{}` is {} ({} → {}); review it in the admin page before it can be used",
                change.tool,
                change.status.name(),
                change.pinned_sha256.as_deref().unwrap_or("none"),
                change.current_sha256.as_deref().unwrap_or("none"),
            );
            // The members in the order of their names, as this body has always been written.
            let body = crate::wire::to_string(&crate::wire::Members(|o| {
                o.field(
                    "pin",
                    &crate::wire::Members(|p| {
                        p.field("current_sha256", &change.current_sha256)
                            .field("pinned_sha256", &change.pinned_sha256)
                            .field("status", &change.status)
                            .field("tool", &change.tool);
                    }),
                )
                .field("text", &text);
            }));
            [Side::Audit(Box::new(record)), Side::Webhook(body)]
        })
        .collect()
}

/// How long an audit record waits for others to share its write. The answer never
/// waits for it (CONTRACT §6); `GET /admin/audit` writes this isolate's batch before it
/// reads.
pub const AUDIT_BATCH_MS: u64 = 250;

/// An audit record with its latency: from its call's start to now, the moment its
/// side effects begin (the answer is out).
pub fn answered(record: Box<Record>) -> Record {
    let mut record = *record;
    record.latency_ms = isolate::now().saturating_sub(record.at);
    record
}

/// Queues audit records (their latency taken, [`answered`]) for this isolate's batch
/// write. The caller that opened a batch writes it [`AUDIT_BATCH_MS`] later; the one
/// that filled it writes it at once.
pub async fn record_audits(env: &Env, config: &Config, records: Vec<Record>) {
    let mut opened = false;
    for record in records {
        match isolate::queue_audit(record) {
            Batch::Opened => opened = true,
            Batch::Full => write_audit(env, config.audit_retention_days).await,
            Batch::Joined => {}
        }
    }
    if opened {
        Delay::from(Duration::from_millis(AUDIT_BATCH_MS)).await;
        write_audit(env, config.audit_retention_days).await;
    }
}

/// Writes the audit records queued in this isolate ([`isolate::queue_audit`]): each is
/// one line on the log, and all of them one append to the audit object.
pub async fn write_audit(env: &Env, retention_days: u64) {
    let records = isolate::take_audit();
    if records.is_empty() {
        return;
    }
    for record in &records {
        console_log!("{}", crate::wire::to_string(record));
    }
    let count = records.len();
    let op = AuditOp::Append {
        records,
        retention_days,
    };
    if let Err(why) = objects::call::<_, crate::wire::Ignored>(env, AUDIT, AUDIT_NAME, &op).await {
        console_error!(
            "toolgate: audit write failed: {why}; {count} records not stored (each is on the log above)"
        );
    }
}

/// Performs a refund or a webhook, inline.
pub async fn perform_simple(env: &Env, config: &Config, side: Side) {
    match side {
        Side::Refund(taken) => {
            let refunds = taken.iter().map(|(key, at)| async move {
                let op = CounterOp::Refund { at: *at };
                let name = key.storage_name();
                if let Err(why) = objects::call::<_, CounterReply>(env, COUNTERS, &name, &op).await
                {
                    console_error!("toolgate: refund on `{}` failed: {why}", key.counter);
                }
            });
            join_all(refunds).await;
        }
        Side::Webhook(body) => {
            if let Some(url) = &config.approval_webhook_url {
                if let Err(why) = origin::post_json(url, body).await {
                    console_error!("toolgate: webhook failed: {why}");
                }
            }
        }
        // `origin::perform` handles these itself (records last, in one batch).
        Side::Audit(_) | Side::Observe { .. } | Side::Refresh => {}
    }
}

/// The agent's answer for one the gateway gives itself.
pub fn answer_response(answer: pipeline::Answer) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &answer.headers {
        headers.append(name, value)?;
    }
    Ok(Response::builder()
        .with_status(answer.status)
        .with_headers(headers)
        .fixed(answer.body.into_bytes()))
}

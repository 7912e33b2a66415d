//! One request to the gateway's `/mcp` endpoint, as a state machine with no I/O.
//!
//! The flow of a call (CONTRACT §3) is decided here, and only here:
//!
//! ```text
//! authenticate → budget → parse → headers → session → claim id → catalogue → decide
//!   → approval → reserve (enforced, then monitored) → forward → filter → refund → audit
//! ```
//!
//! [`Call::poll`] advances until it needs the outside world and returns that as a
//! [`Step`] ("reserve these counters", "forward these bytes"); the host (the Worker)
//! performs it and feeds the result back with the matching `on_*` method, then polls
//! again, until [`Step::Respond`] or [`Step::Stream`] says what the agent receives.
//! Work that must not delay the answer (audit records, refunds, catalogue observations,
//! webhooks) is queued as [`Side`] effects, taken with [`Call::take_sides`]. Every branch
//! is a native table test (`tests/pipeline.rs`); the Worker only moves bytes.
//!
//! Why the flow holds by construction:
//! - every answer of the origin goes through [`crate::filter`], whatever the method;
//! - a call to a name the origin does not list is answered exactly as a hidden one;
//! - a session id is unwrapped ([`crate::sessions`]) before anything is forwarded, and
//!   the request carries only the headers of [`FORWARDED_HEADERS`], the validated
//!   `Mcp-Param-*` and the origin's own;
//! - a request id already in flight on a session is refused ([`Step::Claim`]);
//! - a refund is given only when the call provably did not run: the origin could not be
//!   reached, or answered 4xx (a timeout or a 5xx may have run it).

use crate::approval::{self, Approval};
use crate::audit::{self, Record};
use crate::catalogue::{Seen, View};
use crate::config::Config;
use crate::eval::{
    approval_binding, arguments_too_large, Decision, Outcome, Stage, ToolFacts,
    MAX_APPROVAL_ARGUMENTS,
};
use crate::filter::{classify_body, Body, Filter, Report, MAX_MESSAGE_BYTES, MAX_TOOLS_LIST_BYTES};
use crate::json::{self, Document};
use crate::mcp::{self, Invalid, Kind, McpHeaders, Message};
use crate::policy::{Limit, Policy, Text};
use crate::ratelimit::{longest_wait, CounterKey, LimitRefused};
use crate::sessions;

/// Request headers that go on to the origin (besides the session, the validated
/// `Mcp-Param-*` and the origin's own headers).
pub const FORWARDED_HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
];

/// Origin answer headers that go on to the agent, besides the wrapped session id and the
/// content type, which is the gateway's own (`application/json` or `text/event-stream`,
/// for what it checked).
pub const ANSWER_HEADERS: &[&str] = &["cache-control", "mcp-protocol-version"];

const APPROVAL_STORE_DOWN: &str =
    "toolgate could not reach its approval store, so the call was not forwarded; try again shortly";

/// The HTTP method of a request to `/mcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Post,
    Get,
    Delete,
}

/// A request as the Worker received it (its body read whole, within the size limit).
#[derive(Debug, Clone)]
pub struct Inbound {
    pub verb: Verb,
    /// Headers, names lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub now_ms: u64,
    /// 32 random bytes: the audit record's id, and an approval's id and nonce.
    pub random: [u8; 32],
    /// The admin page of this gateway, named in approval messages.
    pub admin_url: Option<String>,
}

/// What a call reads of its isolate each time it is polled.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub policy: &'a Policy,
    pub policy_version: u64,
    pub view: &'a View,
    pub session_key: &'a [u8; 32],
}

/// One counter to reserve a call on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    pub key: CounterKey,
    pub window_ms: u64,
    pub max: u32,
}

/// A counter's answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Admitted, recorded at `at` (for a refund).
    Taken { at: u64 },
    /// Exhausted: one more call fits in `retry_after_ms`.
    Full { retry_after_ms: u64 },
}

/// What the control object says of a call that needs approval.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalReply {
    /// Approved: the call passes the approval step; approval `id` is used
    /// ([`Step::UseApproval`]) once the call has passed its limits.
    Pass { id: String },
    /// Pending; `created` when it was made by this call.
    Held { approval: Approval, created: bool },
    /// An operator denied it.
    Denied { approval: Approval },
    /// The grant has [`approval::MAX_PENDING_PER_GRANT`] approvals waiting.
    Full,
}

/// What the control object says when the call an approval let through asks to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalUse {
    /// This call used the approval: it goes to the origin.
    Used,
    /// The approval is no longer approved (`status`: used by an identical call that got
    /// there first, or expired).
    Gone { status: String },
}

/// A request to the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub verb: Verb,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// What the origin did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarded {
    /// It answered with this status and these headers (names lowercase).
    Answered {
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// It could not be connected to: the request never left.
    Unreachable(String),
    /// The connection broke after the request was sent: it may have run the call.
    Broken(String),
    /// It did not answer in time: it may have run the call.
    TimedOut,
}

/// An answer the gateway gives itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The origin's SSE answer, passed on through the filter event by event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Whether the filter collects the tools it sees (an answer to `tools/list`).
    pub learn: bool,
}

/// What the host does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Check the grant's coarse request budget; answer with [`Call::on_budget`].
    Budget { grant: String, per_minute: u64 },
    /// Refuse this key while it is in flight; answer with [`Call::on_claim`]. The host
    /// releases it when the call's answer is complete.
    Claim { key: String },
    /// Read the origin's catalogue (the gateway has none); answer with
    /// [`Call::on_catalogue`].
    FetchCatalogue,
    /// Find or create the approval; answer with [`Call::on_approval`].
    Approval {
        request: approval::Request,
        new_id: String,
    },
    /// Reserve one call on every counter, in order; answer with [`Call::on_reserved`].
    Reserve(Vec<Reserve>),
    /// Use approval `id` for this call, which has passed its limits; answer with
    /// [`Call::on_approval_used`].
    UseApproval { id: String },
    /// Send this to the origin; answer with [`Call::on_forwarded`].
    Forward(Forward),
    /// Read the origin's body, at most `limit` bytes; answer with [`Call::on_body`].
    ReadBody { limit: usize },
    /// Answer the agent; the call is done.
    Respond(Answer),
    /// Answer the agent with the origin's event stream through the filter; report its
    /// end with [`Call::on_stream_end`].
    Stream(Stream),
}

/// Work for after (or beside) the answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// Write this audit record (and print it on the log).
    Audit(Box<Record>),
    /// Give back these reservations.
    Refund(Vec<(CounterKey, u64)>),
    /// Tell the catalogue what this answer listed.
    Observe { seen: Vec<Seen>, complete: bool },
    /// POST this to the approval webhook.
    Webhook(String),
    /// Read the origin's catalogue again (it said its list changed).
    Refresh,
}

/// What the counters of one reservation said.
struct Tally<'l> {
    /// The reservations made, for a refund.
    taken: Vec<(CounterKey, u64)>,
    /// The full limit with the longest wait.
    refused: Option<LimitRefused<'l>>,
    /// The first limit whose counter could not be reached.
    unavailable: Option<&'l Limit>,
}

impl<'l> Tally<'l> {
    fn of(
        limits: &'l [Limit],
        replies: Vec<Result<Reserved, String>>,
        grant: &str,
        session: Option<&str>,
    ) -> Self {
        let mut taken = Vec::new();
        let mut refusals = Vec::new();
        let mut unavailable = None;
        // A missing answer counts as a store that could not be reached.
        let replies = replies
            .into_iter()
            .chain(std::iter::repeat_with(|| Err("no answer".to_owned())));
        for (limit, reply) in limits.iter().zip(replies) {
            match reply {
                Ok(Reserved::Taken { at }) => {
                    taken.push((CounterKey::new(limit, grant, session), at))
                }
                Ok(Reserved::Full { retry_after_ms }) => refusals.push(LimitRefused {
                    limit,
                    retry_after_ms,
                }),
                Err(_) => {
                    unavailable.get_or_insert(limit);
                }
            }
        }
        Tally {
            taken,
            refused: longest_wait(refusals),
            unavailable,
        }
    }
}

/// An origin answer whose body is being read.
#[derive(Debug, Clone, PartialEq)]
struct PendingAnswer {
    status: u16,
    /// The agent's headers.
    headers: Vec<(String, String)>,
    /// The origin's content type.
    origin_type: String,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Authenticate,
    Budget,
    Parse,
    Session,
    Claim,
    Catalogue,
    Decide,
    Reserve,
    ReserveMonitored,
    UseApproval,
    Forward,
    Answer,
    Done,
}

/// One request to `/mcp`, from its arrival to its answer.
#[derive(Debug)]
pub struct Call {
    verb: Verb,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    at: u64,
    random: [u8; 32],
    admin_url: Option<String>,
    state: State,
    grant: String,
    message: Option<Message<'static>>,
    /// The origin's session id (unwrapped), when the request carried one.
    session: Option<String>,
    agent_session: Option<String>,
    modern: bool,
    catalogue_fetched: bool,
    limits: Vec<Limit>,
    monitored: Vec<Limit>,
    allow_rule: String,
    /// The approval that let this call through (its id and rule), used once the call's
    /// limits admit it.
    approved: Option<(String, Text)>,
    decision: Option<Decision>,
    monitor: Option<Decision>,
    taken: Vec<(CounterKey, u64)>,
    params: Vec<(String, String)>,
    record: Option<Record>,
    forwarded: Option<Forwarded>,
    body_kind: Option<Body>,
    /// The origin's answer, while its body is read.
    pending_answer: Option<PendingAnswer>,
    policy_version: u64,
    sides: Vec<Side>,
    pending: Option<Step>,
}

impl Call {
    /// A call for one request.
    pub fn new(inbound: Inbound) -> Self {
        Call {
            verb: inbound.verb,
            headers: inbound.headers,
            body: Some(inbound.body),
            at: inbound.now_ms,
            random: inbound.random,
            admin_url: inbound.admin_url,
            state: State::Authenticate,
            grant: String::new(),
            message: None,
            session: None,
            agent_session: None,
            modern: false,
            catalogue_fetched: false,
            limits: Vec::new(),
            monitored: Vec::new(),
            allow_rule: String::new(),
            approved: None,
            decision: None,
            monitor: None,
            taken: Vec::new(),
            params: Vec::new(),
            record: None,
            forwarded: None,
            body_kind: None,
            pending_answer: None,
            policy_version: 0,
            sides: Vec::new(),
            pending: None,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The grant, once authenticated.
    pub fn grant(&self) -> &str {
        &self.grant
    }

    /// The parsed message, once parsed.
    pub fn message(&self) -> Option<&Message<'static>> {
        self.message.as_ref()
    }

    /// The audit record's id.
    pub fn record_id(&self) -> String {
        json::hex(self.random.get(..16).unwrap_or_default())
    }

    /// Work queued for after the answer.
    pub fn take_sides(&mut self) -> Vec<Side> {
        std::mem::take(&mut self.sides)
    }

    /// The next thing the host must do.
    pub fn poll(&mut self, cx: &Context<'_>) -> Step {
        if let Some(step) = self.pending.take() {
            return step;
        }
        loop {
            let next = match self.state {
                State::Authenticate => self.authenticate(cx),
                State::Budget => {
                    self.state = State::Parse;
                    return Step::Budget {
                        grant: self.grant.clone(),
                        per_minute: cx.config.requests_per_minute,
                    };
                }
                State::Parse => self.parse(),
                State::Session => self.session(cx),
                State::Claim => self.claim(),
                State::Catalogue => self.catalogue(cx),
                State::Decide => self.decide(cx),
                State::Reserve => self.reserve(&self.limits.clone()),
                State::ReserveMonitored => self.reserve(&self.monitored.clone()),
                State::UseApproval => self.use_approval(),
                State::Forward => self.forward(cx),
                State::Answer => self.answer(cx),
                State::Done => Some(Step::Respond(own(
                    500,
                    &mcp::error_response(None, mcp::INTERNAL_ERROR, "internal error"),
                ))),
            };
            if let Some(step) = next {
                return step;
            }
        }
    }

    // ------------------------------------------------------------------ the states

    fn authenticate(&mut self, cx: &Context<'_>) -> Option<Step> {
        self.policy_version = cx.policy_version;
        let token = self.header("authorization").and_then(bearer);
        match token.and_then(|t| cx.config.grant_for(t)) {
            Some(grant) => {
                self.grant = grant.to_owned();
                self.state = State::Budget;
                None
            }
            None => Some(self.finish(unauthorized())),
        }
    }

    /// The coarse budget's answer.
    pub fn on_budget(&mut self, allowed: bool) {
        if !allowed {
            let mut answer = own(
                429,
                &mcp::error_response(
                    None,
                    mcp::INVALID_REQUEST,
                    "too many requests: this grant's request budget is used up; retry in a minute",
                ),
            );
            answer
                .headers
                .push(("retry-after".to_owned(), "60".to_owned()));
            self.pending = Some(self.finish(answer));
        }
    }

    fn parse(&mut self) -> Option<Step> {
        self.modern = mcp::is_modern(self.header("mcp-protocol-version"));
        if self.verb != Verb::Post {
            self.state = State::Session;
            return None;
        }
        let body = self.body.take().unwrap_or_default();
        let message = match mcp::parse_message_owned(body) {
            Ok(message) => message,
            Err(invalid) => return Some(self.refuse_invalid(&invalid)),
        };
        let mirrored = McpHeaders {
            method: self.header("mcp-method"),
            name: self.header("mcp-name"),
            protocol_version: self.header("mcp-protocol-version"),
        };
        if let Err(invalid) = mcp::check_headers(&message, &mirrored) {
            self.message = Some(message);
            return Some(self.refuse_invalid(&invalid));
        }
        self.message = Some(message);
        self.state = State::Session;
        None
    }

    fn session(&mut self, cx: &Context<'_>) -> Option<Step> {
        let Some(sent) = self.header("mcp-session-id").map(str::to_owned) else {
            self.state = State::Claim;
            return None;
        };
        match sessions::unwrap(cx.session_key, &self.grant, sent.trim()) {
            Some(origin) => {
                self.session = Some(origin.to_owned());
                self.agent_session = Some(sent);
                self.state = State::Claim;
                None
            }
            None => {
                let id = self
                    .message
                    .as_ref()
                    .and_then(|m| m.id().map(str::to_owned));
                Some(self.finish(own(
                    404,
                    &mcp::error_response(
                        id.as_deref(),
                        mcp::INVALID_REQUEST,
                        "session not found: this session id was not issued to this grant (start a new session with initialize)",
                    ),
                )))
            }
        }
    }

    fn claim(&mut self) -> Option<Step> {
        self.state = State::Catalogue;
        let id = self
            .message
            .as_ref()
            .and_then(|m| m.id().map(str::to_owned))?;
        Some(Step::Claim {
            key: json::quote(&format!(
                "{}\u{0}{}\u{0}{}",
                self.grant,
                self.session.as_deref().unwrap_or_default(),
                stream_key(&id)
            )),
        })
    }

    /// Whether the request id could be claimed.
    pub fn on_claim(&mut self, claimed: bool) {
        if claimed {
            return;
        }
        let id = self
            .message
            .as_ref()
            .and_then(|m| m.id().map(str::to_owned));
        let answer = own(
            409,
            &mcp::error_response(
                id.as_deref(),
                mcp::INVALID_REQUEST,
                &format!(
                    "invalid request: request id {} is already in flight on this session; wait for its answer or use another id",
                    id.as_deref().unwrap_or("null")
                ),
            ),
        );
        let step = self.finish(answer);
        self.pending = Some(step);
    }

    fn catalogue(&mut self, cx: &Context<'_>) -> Option<Step> {
        self.state = State::Decide;
        let is_call = self
            .message
            .as_ref()
            .is_some_and(|m| matches!(m.kind, Kind::ToolCall));
        if is_call && !cx.view.is_known() && !self.catalogue_fetched {
            self.catalogue_fetched = true;
            self.state = State::Catalogue;
            return Some(Step::FetchCatalogue);
        }
        None
    }

    /// Whether the host could read the origin's catalogue (it updated its view).
    pub fn on_catalogue(&mut self, _fetched: bool) {
        self.catalogue_fetched = true;
    }

    fn decide(&mut self, cx: &Context<'_>) -> Option<Step> {
        let Some(message) = self.message.take() else {
            // GET and DELETE: nothing to decide.
            self.state = State::Forward;
            return None;
        };
        let step = self.decide_message(cx, &message);
        self.message = Some(message);
        step
    }

    /// Decides a `tools/call`, in the order of CONTRACT §1: the origin's catalogue, hidden,
    /// denied (the policy's verdict), then the `Mcp-Param-*` headers, then approval or the
    /// limits. Anything else goes on to the origin.
    fn decide_message(&mut self, cx: &Context<'_>, message: &Message<'static>) -> Option<Step> {
        let Some(name) = message.tool().map(str::to_owned) else {
            // Not a tool call: forwarded.
            self.state = State::Forward;
            return None;
        };
        if !cx.view.is_known() {
            return Some(self.catalogue_unknown(message));
        }
        if !cx.view.lists(&name) {
            // A tool the origin does not have gets exactly the answer of a hidden one.
            return Some(self.refuse(message, Decision::hidden(message, None)));
        }
        let facts = ToolFacts {
            pin: cx.view.pin_state(&name),
        };
        let verdict = cx.policy.verdict(message, facts);
        self.monitor = verdict
            .monitor
            .as_ref()
            .and_then(|stage| monitor_decision(message, stage));
        let (approval, limits, monitored, allow_rule) = match verdict.enforced {
            Stage::Decided(decision) => return Some(self.refuse(message, decision)),
            Stage::Approval {
                approval,
                limits,
                monitored,
                allow_rule,
            } => (Some(approval), limits, monitored, allow_rule),
            Stage::Limits {
                limits,
                monitored,
                allow_rule,
            } => (None, limits, monitored, allow_rule),
        };
        // Only a call that may reach the origin has its Mcp-Param-* headers checked: the
        // answer to a hidden tool never depends on its schema.
        if let Err(invalid) = self.check_params(cx, message, &name) {
            return Some(self.refuse_invalid(&invalid));
        }
        self.limits = limits.into_iter().cloned().collect();
        self.monitored = monitored.into_iter().cloned().collect();
        self.allow_rule = allow_rule.to_string();
        match approval {
            Some(approval) => Some(self.ask_approval(cx, message, &name, approval)),
            None => {
                self.decision = Some(Decision::allowed(message, allow_rule));
                self.state = State::Reserve;
                None
            }
        }
    }

    /// The answer to a call while the gateway does not know the origin's tools: it cannot
    /// tell a hidden tool from a missing one, so it forwards nothing.
    fn catalogue_unknown(&mut self, message: &Message<'_>) -> Step {
        let why = "toolgate could not read the origin's list of tools, so it cannot tell which tools exist; the call was not forwarded. Try again shortly";
        let mut decision = Decision::denied(message, "", why.to_owned());
        decision.rule = None;
        self.audit(message, &decision, None);
        self.finish(own(
            502,
            &mcp::error_response(message.id(), mcp::INTERNAL_ERROR, why),
        ))
    }

    /// The `Mcp-Param-*` headers that go on with the call: those the tool's input schema
    /// declares, each matching the body; a declared one that disagrees is refused.
    fn check_params(
        &mut self,
        cx: &Context<'_>,
        message: &Message<'_>,
        name: &str,
    ) -> Result<(), Invalid> {
        let schema_doc = cx
            .view
            .current(name)
            .and_then(|raw| Document::parse_answer(raw).ok().map(|d| d.into_owned()));
        let schema = schema_doc
            .as_ref()
            .and_then(|d| d.root().get("inputSchema"));
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let params = mcp::param_headers(message, schema, &headers)?;
        self.params = params
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        Ok(())
    }

    /// Asks the control object about a call that needs approval.
    fn ask_approval(
        &mut self,
        cx: &Context<'_>,
        message: &Message<'_>,
        name: &str,
        approval: &crate::policy::Approval,
    ) -> Step {
        let arguments = message.arguments();
        let size = arguments.raw().len();
        if size > MAX_APPROVAL_ARGUMENTS {
            let decision = arguments_too_large(message, approval, size);
            return self.refuse(message, decision);
        }
        let arguments_sha256 = json::sha256_hex(arguments.canonical().as_bytes());
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(self.random.get(16..28).unwrap_or(&[0u8; 12]));
        let request = approval::Request {
            binding: approval_binding(&self.grant, name, &arguments_sha256, cx.policy_version),
            grant: self.grant.clone(),
            tool: name.to_owned(),
            arguments_sha256,
            policy_version: cx.policy_version,
            rule: approval.pointer.to_string(),
            ttl_ms: approval.ttl_ms,
            arguments_sealed: cx
                .config
                .approval_key
                .as_ref()
                .map(|key| approval::seal(key, nonce, arguments.raw())),
        };
        self.state = State::Decide;
        // Remember the rule for the answer to come.
        self.decision = Some(Decision {
            rule: Some(approval.pointer.clone()),
            ..Decision::allowed(message, &self.allow_rule)
        });
        Step::Approval {
            request,
            new_id: self.record_id(),
        }
    }

    /// The control object's answer about the call's approval.
    pub fn on_approval(&mut self, reply: Result<ApprovalReply, String>, cx: &Context<'_>) {
        let Some(message) = self.message.take() else {
            return;
        };
        let rule = self
            .decision
            .as_ref()
            .and_then(|d| d.rule.clone())
            .unwrap_or_default();
        match self.approval_refusal(cx, &message, &rule, reply) {
            None => {
                self.decision = Some(Decision::allowed(&message, &self.allow_rule));
                self.state = State::Reserve;
            }
            Some(decision) => {
                let step = self.refuse(&message, decision);
                self.pending = Some(step);
            }
        }
        self.message = Some(message);
    }

    /// Why a call that needs approval does not go on, if it does not. A pending approval
    /// just created is announced to the webhook; a store that cannot be reached fails
    /// closed.
    fn approval_refusal(
        &mut self,
        cx: &Context<'_>,
        message: &Message<'_>,
        rule: &str,
        reply: Result<ApprovalReply, String>,
    ) -> Option<Decision> {
        match reply {
            Ok(ApprovalReply::Pass { id }) => {
                self.approved = Some((id, Text::from(rule)));
                None
            }
            Ok(ApprovalReply::Held { approval, created }) => {
                if created && cx.config.approval_webhook_url.is_some() {
                    self.sides.push(Side::Webhook(approval::webhook_body(
                        &approval,
                        cx.config.approval_key.as_ref(),
                        self.admin_url.as_deref(),
                    )));
                }
                let place = self
                    .admin_url
                    .as_ref()
                    .map(|u| format!("{u}#approval={}", approval.id));
                Some(Decision::approval_required(
                    message,
                    rule,
                    &approval.id,
                    approval.expires_at,
                    place.as_deref(),
                ))
            }
            Ok(ApprovalReply::Denied { approval }) => {
                let note = approval.note.unwrap_or_default();
                Some(Decision::denied_by_operator(message, rule, &note))
            }
            Ok(ApprovalReply::Full) => Some(Decision::denied(
                message,
                rule,
                format!(
                    "grant `{}` already has {} approvals waiting; ask an operator to decide them before asking for more",
                    self.grant,
                    approval::MAX_PENDING_PER_GRANT
                ),
            )),
            Err(_) => Some(Decision::denied(
                message,
                rule,
                APPROVAL_STORE_DOWN.to_owned(),
            )),
        }
    }

    fn reserve(&mut self, limits: &[Limit]) -> Option<Step> {
        if limits.is_empty() {
            self.state = match self.state {
                State::Reserve => State::ReserveMonitored,
                _ => State::UseApproval,
            };
            return None;
        }
        let session = self.session.clone();
        Some(Step::Reserve(
            limits
                .iter()
                .map(|limit| Reserve {
                    key: CounterKey::new(limit, &self.grant, session.as_deref()),
                    window_ms: limit.window.ms(),
                    max: limit.max,
                })
                .collect(),
        ))
    }

    /// The counters' answers, in the order of the [`Step::Reserve`].
    pub fn on_reserved(&mut self, replies: Vec<Result<Reserved, String>>) {
        let monitored = self.state == State::ReserveMonitored;
        let limits = if monitored {
            self.monitored.clone()
        } else {
            self.limits.clone()
        };
        let tally = Tally::of(&limits, replies, &self.grant, self.session.as_deref());
        let Some(message) = self.message.take() else {
            return;
        };
        if monitored {
            self.monitored_reserved(&message, tally);
        } else if let Some(step) = self.enforced_reserved(&message, tally) {
            self.pending = Some(step);
        }
        self.message = Some(message);
    }

    /// Enforced limits: a store that cannot be reached fails closed, a full counter
    /// refuses; either way what was taken is given back.
    fn enforced_reserved(&mut self, message: &Message<'_>, tally: Tally<'_>) -> Option<Step> {
        // Kept with the call's reservations: refused, they are refunded with them.
        self.taken.extend(tally.taken);
        if let Some(limit) = tally.unavailable {
            let decision = Decision::denied(
                message,
                &limit.pointer,
                format!(
                    "toolgate could not reach the rate-limit store for `{}`, so the call was not forwarded; try again shortly",
                    limit.counter
                ),
            );
            return Some(self.refuse(message, decision));
        }
        if let Some(refused) = tally.refused {
            let decision = Decision::rate_limited(message, &refused);
            return Some(self.refuse(message, decision));
        }
        self.state = State::ReserveMonitored;
        None
    }

    /// Monitored limits never refuse a call: a full one only makes the monitor decision
    /// (and gives back what the monitored limits took).
    fn monitored_reserved(&mut self, message: &Message<'_>, tally: Tally<'_>) {
        if tally.refused.is_none() && tally.unavailable.is_none() {
            self.taken.extend(tally.taken);
        } else if !tally.taken.is_empty() {
            self.sides.push(Side::Refund(tally.taken));
        }
        if let Some(refused) = tally.refused {
            self.monitor
                .get_or_insert_with(|| Decision::rate_limited(message, &refused));
        }
        self.state = State::UseApproval;
    }

    /// A call that passed its approval step and its limits uses its approval; any other
    /// call goes straight on.
    fn use_approval(&mut self) -> Option<Step> {
        self.state = State::Forward;
        self.approved
            .as_ref()
            .map(|(id, _)| Step::UseApproval { id: id.clone() })
    }

    /// The control object's answer to [`Step::UseApproval`]. An approval another identical
    /// call used first (or that expired meanwhile) lets nothing through; nor does a store
    /// that cannot be reached. Either way the reservations are given back: nothing ran.
    pub fn on_approval_used(&mut self, reply: Result<ApprovalUse, String>) {
        let Some(message) = self.message.take() else {
            return;
        };
        let (id, rule) = self.approved.take().unwrap_or_default();
        let why = match reply {
            Ok(ApprovalUse::Used) => None,
            Ok(ApprovalUse::Gone { status }) if status == "used" => Some(format!(
                "approval `{id}` was used by an identical call that got there first (an approval lets one call through); this call was not forwarded, and repeating it asks for a new approval"
            )),
            Ok(ApprovalUse::Gone { status }) => Some(format!(
                "approval `{id}` is {status} now, so the call was not forwarded; repeating it asks for a new approval"
            )),
            Err(_) => Some(APPROVAL_STORE_DOWN.to_owned()),
        };
        if let Some(why) = why {
            let step = self.refuse(&message, Decision::denied(&message, &rule, why));
            self.pending = Some(step);
        }
        self.message = Some(message);
    }

    fn forward(&mut self, cx: &Context<'_>) -> Option<Step> {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(name, _)| FORWARDED_HEADERS.contains(&name.as_str()))
            .cloned()
            .collect();
        if self.verb == Verb::Get {
            if let Some(last) = self.header("last-event-id") {
                headers.push(("last-event-id".to_owned(), last.to_owned()));
            }
        }
        if let Some(session) = &self.session {
            headers.push(("mcp-session-id".to_owned(), session.clone()));
        }
        headers.extend(self.params.iter().cloned());
        for (name, value) in &cx.config.origin_headers {
            let lower = name.to_ascii_lowercase();
            headers.retain(|(n, _)| *n != lower);
            headers.push((lower, value.clone()));
        }
        // The allowed call's record, completed when the origin answers.
        if let Some(message) = self.message.take() {
            if matches!(message.kind, Kind::ToolCall) {
                let decision = self.final_decision(&message);
                self.record = Some(self.make_record(&message, &decision));
            }
            self.message = Some(message);
        }
        self.state = State::Answer;
        let body = self.message.as_ref().map(|m| m.text().as_bytes().to_vec());
        Some(Step::Forward(Forward {
            verb: self.verb,
            headers,
            body,
        }))
    }

    /// What the origin did.
    pub fn on_forwarded(&mut self, forwarded: Forwarded) {
        self.forwarded = Some(forwarded);
    }

    fn answer(&mut self, cx: &Context<'_>) -> Option<Step> {
        let id = self
            .message
            .as_ref()
            .and_then(|m| m.id().map(str::to_owned));
        let (status, headers) = match self.forwarded.take() {
            Some(Forwarded::Answered { status, headers }) => (status, headers),
            other => return Some(self.not_answered(cx, id.as_deref(), other)),
        };
        if status >= 500 {
            return Some(self.bad_gateway(
                id.as_deref(),
                &format!("the origin answered HTTP {status} (the call may have run, so its budget is not refunded)"),
                false,
                Some(status),
            ));
        }
        if (400..500).contains(&status) {
            // Refused before dispatch: the call did not run.
            self.refund_taken();
        }
        let content_type = header_of(&headers, "content-type");
        let empty =
            header_of(&headers, "content-length").is_some_and(|l| l.trim() == "0") || status == 204;
        let kind = classify_body(content_type.as_deref(), empty).ok();
        let headers = self.answer_headers(cx, &headers, kind);
        self.body_kind = kind;
        Some(self.answer_body(status, headers, content_type.unwrap_or_default()))
    }

    /// What to do with the origin's body: stream an event stream through the filter, pass
    /// an empty one, read anything else (within the limit) to check it.
    fn answer_body(
        &mut self,
        status: u16,
        headers: Vec<(String, String)>,
        origin_type: String,
    ) -> Step {
        match self.body_kind {
            Some(Body::Sse) => {
                self.record_origin(status);
                self.state = State::Done;
                Step::Stream(Stream {
                    status,
                    headers,
                    learn: self.is_tools_list(),
                })
            }
            Some(Body::Empty) => {
                self.record_origin(status);
                self.finish(Answer {
                    status,
                    headers,
                    body: String::new(),
                })
            }
            kind => {
                let limit = match kind {
                    Some(Body::Json) if self.is_tools_list() => MAX_TOOLS_LIST_BYTES,
                    Some(Body::Json) => MAX_MESSAGE_BYTES,
                    // Neither JSON nor SSE: only an empty body may pass.
                    _ => 1 << 16,
                };
                self.pending_answer = Some(PendingAnswer {
                    status,
                    headers,
                    origin_type,
                });
                Step::ReadBody { limit }
            }
        }
    }

    /// The answer when the origin gave none: unreachable (refunded: the call never left),
    /// broken or timed out (not refunded: it may have run).
    fn not_answered(
        &mut self,
        cx: &Context<'_>,
        id: Option<&str>,
        what: Option<Forwarded>,
    ) -> Step {
        const MAY_HAVE_RUN: &str = "(the call may have run, so its budget is not refunded)";
        match what {
            Some(Forwarded::Unreachable(why)) => {
                self.bad_gateway(id, &format!("the origin is unreachable: {why}"), true, None)
            }
            Some(Forwarded::Broken(why)) => self.bad_gateway(
                id,
                &format!("the connection to the origin broke: {why} {MAY_HAVE_RUN}"),
                false,
                None,
            ),
            Some(Forwarded::TimedOut) => self.bad_gateway(
                id,
                &format!(
                    "the origin did not answer within {} ms {MAY_HAVE_RUN}",
                    cx.config.origin_timeout_ms
                ),
                false,
                None,
            ),
            Some(Forwarded::Answered { .. }) | None => {
                self.bad_gateway(id, "the origin did not answer", false, None)
            }
        }
    }

    /// The origin's body (for a JSON answer, or an answer of another type).
    pub fn on_body(&mut self, body: Result<Vec<u8>, String>, cx: &Context<'_>) {
        let id = self
            .message
            .as_ref()
            .and_then(|m| m.id().map(str::to_owned));
        let Some(PendingAnswer {
            status,
            headers,
            origin_type,
        }) = self.pending_answer.take()
        else {
            return;
        };
        let step = match (body, self.body_kind) {
            (Err(why), _) => self.bad_gateway(id.as_deref(), &why, false, Some(status)),
            // Nothing to check (a 202 to a notification).
            (Ok(bytes), _) if bytes.is_empty() => {
                self.record_origin(status);
                self.finish(Answer {
                    status,
                    headers,
                    body: String::new(),
                })
            }
            (Ok(bytes), Some(Body::Json)) => self.filter_json(cx, status, headers, &bytes),
            (Ok(_), _) => {
                let why = format!(
                    "the origin's answer is neither json nor an event stream (`{}`), so toolgate cannot check it",
                    origin_type.escape_debug()
                );
                self.bad_gateway(id.as_deref(), &why, false, Some(status))
            }
        };
        self.pending = Some(step);
    }

    /// A JSON answer, through the filter; a 502 when it cannot be filtered.
    fn filter_json(
        &mut self,
        cx: &Context<'_>,
        status: u16,
        headers: Vec<(String, String)>,
        bytes: &[u8],
    ) -> Step {
        let filter = Filter::new(cx.policy, cx.view);
        let filter = if self.is_tools_list() {
            filter.learning()
        } else {
            filter
        };
        let mut report = Report::default();
        match filter.json_body(bytes, &mut report) {
            Ok(text) => {
                let body = text.into_owned();
                self.record_origin(status);
                self.after_filter(report, None);
                self.finish(Answer {
                    status,
                    headers,
                    body,
                })
            }
            Err(why) => {
                let id = self
                    .message
                    .as_ref()
                    .and_then(|m| m.id().map(str::to_owned));
                self.bad_gateway(id.as_deref(), &why.to_string(), false, Some(status))
            }
        }
    }

    /// Queues the forwarded call's record with the origin's status.
    fn record_origin(&mut self, status: u16) {
        if let Some(mut record) = self.record.take() {
            record.origin_status = Some(status);
            self.sides.push(Side::Audit(Box::new(record)));
        }
    }

    /// The end of a streamed answer: what the filter saw, and why it was cut, if it was.
    pub fn on_stream_end(&mut self, report: Report, cut: Option<String>) {
        self.after_filter(report, cut);
    }

    // ------------------------------------------------------------------ helpers

    fn is_tools_list(&self) -> bool {
        self.message
            .as_ref()
            .is_some_and(|m| m.kind == Kind::ToolsList)
    }

    fn after_filter(&mut self, report: Report, cut: Option<String>) {
        if report.list_changed {
            self.sides.push(Side::Refresh);
        }
        let Some(message) = self.message.take() else {
            return;
        };
        if message.kind == Kind::ToolsList {
            let mut decision = Decision::allowed(&message, "");
            decision.rule = None;
            if let Some(why) = cut {
                decision.message = Some(why.into());
            }
            let mut record = self.make_record(&message, &decision);
            let status = match &self.forwarded {
                Some(Forwarded::Answered { status, .. }) => Some(*status),
                _ => None,
            };
            record.origin_status = status.or(Some(200));
            record.removed = Some(report.removed);
            if report.monitor_hidden > 0 {
                record.monitor_hidden = Some(report.monitor_hidden);
            }
            self.sides.push(Side::Audit(Box::new(record)));
            if !report.seen.is_empty() || report.lists > 0 {
                let complete = !message.has_cursor() && !report.next_cursor;
                self.sides.push(Side::Observe {
                    seen: report.seen,
                    complete,
                });
            }
        }
        self.message = Some(message);
    }

    fn refund_taken(&mut self) {
        if !self.taken.is_empty() {
            self.sides
                .push(Side::Refund(std::mem::take(&mut self.taken)));
        }
    }

    /// The agent's headers for an origin answer: the content type of what the gateway
    /// checked (never the origin's own, which a client could read differently), the
    /// origin's [`ANSWER_HEADERS`], and its session id bound to the grant.
    fn answer_headers(
        &self,
        cx: &Context<'_>,
        origin: &[(String, String)],
        kind: Option<Body>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match kind {
            Some(Body::Json) => {
                out.push(("content-type".to_owned(), "application/json".to_owned()))
            }
            Some(Body::Sse) => {
                out.push(("content-type".to_owned(), "text/event-stream".to_owned()))
            }
            Some(Body::Empty) | None => {}
        }
        out.extend(
            origin
                .iter()
                .filter(|(name, _)| ANSWER_HEADERS.contains(&name.as_str()))
                .cloned(),
        );
        if let Some(session) = header_of(origin, "mcp-session-id") {
            if sessions::is_valid_origin_id(&session) {
                out.push((
                    "mcp-session-id".to_owned(),
                    sessions::wrap(cx.session_key, &self.grant, &session),
                ));
            }
        }
        out
    }

    /// The decision of a call going to the origin, with its monitor part.
    fn final_decision(&self, message: &Message<'_>) -> Decision {
        let decision = self
            .decision
            .clone()
            .unwrap_or_else(|| Decision::allowed(message, &self.allow_rule));
        match &self.monitor {
            Some(monitor) => decision.with_monitor(monitor),
            None => decision,
        }
    }

    fn make_record(&self, message: &Message<'_>, decision: &Decision) -> Record {
        Record::new(
            audit::Context {
                id: &self.record_id(),
                at: self.at,
                grant: &self.grant,
                session: self.agent_session.as_deref(),
                policy_version: self.policy_version,
            },
            Some(message),
            decision,
        )
    }

    /// Answers a call the policy refused (or hid), with its record.
    fn refuse(&mut self, message: &Message<'_>, decision: Decision) -> Step {
        self.refund_taken();
        let decision = match &self.monitor {
            Some(monitor) => decision.with_monitor(monitor),
            None => decision,
        };
        self.audit(message, &decision, None);
        let body = refusal_body(&decision, message.id(), self.modern);
        self.finish(own(200, &body))
    }

    fn refuse_invalid(&mut self, invalid: &Invalid) -> Step {
        if invalid.method.as_deref() == Some("tools/call") {
            let decision = Decision::invalid(invalid);
            let record = Record::new(
                audit::Context {
                    id: &self.record_id(),
                    at: self.at,
                    grant: &self.grant,
                    session: self.agent_session.as_deref(),
                    policy_version: self.policy_version,
                },
                None,
                &decision,
            );
            self.sides.push(Side::Audit(Box::new(record)));
        }
        self.finish(own(
            400,
            &mcp::error_response(invalid.id.as_deref(), invalid.code, &invalid.message),
        ))
    }

    fn audit(&mut self, message: &Message<'_>, decision: &Decision, status: Option<u16>) {
        if matches!(message.kind, Kind::ToolCall | Kind::ToolsList) {
            let mut record = self.make_record(message, decision);
            record.origin_status = status;
            self.sides.push(Side::Audit(Box::new(record)));
        }
    }

    fn bad_gateway(
        &mut self,
        id: Option<&str>,
        why: &str,
        refund: bool,
        status: Option<u16>,
    ) -> Step {
        if refund {
            self.refund_taken();
        } else {
            self.taken.clear();
        }
        let record = self.record.take().or_else(|| {
            let message = self
                .message
                .as_ref()
                .filter(|m| m.kind == Kind::ToolsList)?;
            let mut decision = Decision::allowed(message, "");
            decision.rule = None;
            Some(self.make_record(message, &decision))
        });
        if let Some(mut record) = record {
            record.origin_status = status;
            record.message = Some(audit::bounded(why, audit::MAX_MESSAGE_BYTES));
            self.sides.push(Side::Audit(Box::new(record)));
        }
        self.finish(own(
            502,
            &mcp::error_response(id, mcp::INTERNAL_ERROR, &format!("bad gateway: {why}")),
        ))
    }

    fn finish(&mut self, answer: Answer) -> Step {
        self.state = State::Done;
        Step::Respond(answer)
    }
}

/// A request id (its JSON text) as an origin keys the answer streams of a session by it.
/// The MCP Python SDK keys them by `str(id)`, so `7` and `"7"` are one stream there; the
/// claim is as wide: the decoded string, or the integer's digits (`-0` is `0`).
pub fn stream_key(id: &str) -> String {
    match Document::parse(id.as_bytes()) {
        Ok(doc) => match doc.root().as_str() {
            Some(text) => text.into_owned(),
            None if id == "-0" => "0".to_owned(),
            None => id.to_owned(),
        },
        Err(_) => id.to_owned(),
    }
}

/// The monitor part of a call's decision (CONTRACT §7), from the stage the whole policy
/// would reach.
fn monitor_decision(message: &Message<'_>, stage: &Stage<'_>) -> Option<Decision> {
    match stage {
        Stage::Decided(decision) => Some(decision.clone()),
        Stage::Approval { approval, .. } => Some(Decision {
            decision: Outcome::ApprovalRequired,
            rule: Some(approval.pointer.clone()),
            message: Some(
                format!(
                    "calling `{}` would need human approval",
                    message.tool().unwrap_or_default()
                )
                .into(),
            ),
            ..Decision::denied(message, &approval.pointer, String::new())
        }),
        Stage::Limits { .. } => None,
    }
}

/// The body of toolgate's own answer to a refused (or hidden) call.
pub fn refusal_body(decision: &Decision, id: Option<&str>, modern: bool) -> String {
    decision
        .agent_response(id, modern)
        .map(|(_, body)| body)
        .unwrap_or_else(|| mcp::error_response(id, mcp::INTERNAL_ERROR, "internal error"))
}

fn own(status: u16, body: &str) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_owned(),
    }
}

/// The 401 answer.
pub fn unauthorized() -> Answer {
    let mut answer = own(
        401,
        &mcp::error_response(
            None,
            -32001,
            "unauthorized: a valid bearer token is required",
        ),
    );
    answer.headers.push((
        "www-authenticate".to_owned(),
        "Bearer realm=\"toolgate\"".to_owned(),
    ));
    answer
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

//! The one filter every message from the origin passes on its way to the agent
//! (CONTRACT §3, "What the agent can never receive").
//!
//! The gateway does not trust the channel a message comes on: the answer to a POST of any
//! method, a `GET` stream, a replay after `Last-Event-ID`, JSON or SSE, each message goes
//! through [`Filter::message`]. Any result that lists tools (`result.tools`) keeps only
//! the tools the policy and the pins let the agent see, whatever request it answers: an
//! origin that answers a `tools/call` with a tool list (a reused request id, a replay)
//! gets it filtered like any other. A message that cannot be checked (not strict JSON,
//! not one JSON object, a list over [`MAX_TOOLS_LIST_BYTES`]) is an error, and the
//! gateway passes nothing of it on.
//!
//! A message that needs no change is passed on as the origin's exact text; one that does
//! is the origin's text with the tool array rewritten, every kept tool byte for byte
//! (or, for a changed tool under `pin.on_change: "deny"`, its pinned definition).

use crate::catalogue::{definition_sha256, Seen, View};
use crate::eval::{PinState, ToolFacts};
use crate::json::{Document, JsonError, Kind, Node};
use crate::policy::{OnChange, Policy};
use std::borrow::Cow;

/// The largest `tools/list` answer the gateway filters; a larger one is refused.
pub const MAX_TOOLS_LIST_BYTES: usize = 8 << 20;

/// The largest message (JSON answer or SSE event) the gateway holds to check.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Why a message from the origin cannot be passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the origin sent a message that is not strict json: {0}")]
    NotJson(JsonError),
    #[error("the origin sent {0} where a json-rpc message (one object) belongs")]
    NotAnObject(&'static str),
    #[error("the origin sent a list of tools of {0} bytes, more than the {MAX_TOOLS_LIST_BYTES} toolgate filters")]
    ListTooLarge(usize),
    #[error("the origin sent a message of more than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("the origin's answer starts with a byte-order mark")]
    ByteOrderMark,
    #[error("the origin's answer is not utf-8")]
    NotUtf8,
    #[error("the origin's answer is neither json nor an event stream (`{0}`)")]
    ContentType(String),
}

/// What the filter saw, for the audit record and the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lists of tools seen.
    pub lists: usize,
    /// Tools removed from them.
    pub removed: usize,
    /// Tools listed only because monitored rules are not enforced (CONTRACT §7).
    pub monitor_hidden: usize,
    /// The tools of the lists seen, when the filter learns (see [`Filter::learning`]).
    pub seen: Vec<Seen>,
    /// Whether a list said there is a next page.
    pub next_cursor: bool,
    /// Whether the origin said its tool list changed.
    pub list_changed: bool,
}

/// What the agent sees of one listed tool.
enum Keep<'d> {
    /// The tool's own text, byte for byte.
    AsSent,
    /// Its pinned definition instead.
    Pinned(&'d str),
    /// Nothing: it is removed from the list.
    Drop,
}

/// The filter for one answer or stream.
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    policy: &'a Policy,
    view: &'a View,
    learn: bool,
}

impl<'a> Filter<'a> {
    /// A filter for messages under `policy`, with what the gateway knows of the pins.
    pub fn new(policy: &'a Policy, view: &'a View) -> Self {
        Filter {
            policy,
            view,
            learn: false,
        }
    }

    /// The same filter, also collecting every tool it sees (for an answer to a
    /// `tools/list` the gateway will learn the catalogue from).
    pub fn learning(self) -> Self {
        Filter {
            learn: true,
            ..self
        }
    }

    /// Checks one JSON-RPC message and returns the text to pass on.
    pub fn message<'t>(
        &self,
        text: &'t str,
        report: &mut Report,
    ) -> Result<Cow<'t, str>, FilterError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(FilterError::TooLarge);
        }
        let doc = Document::parse_answer(text).map_err(FilterError::NotJson)?;
        let root = doc.root();
        if !root.is_object() {
            return Err(FilterError::NotAnObject(root.kind().described()));
        }
        if root
            .get("method")
            .is_some_and(|m| m.str_eq("notifications/tools/list_changed"))
        {
            report.list_changed = true;
        }
        let Some(result) = root.get("result") else {
            return Ok(Cow::Borrowed(text));
        };
        let Some(tools) = result.get("tools").filter(|t| t.kind() == Kind::Array) else {
            return Ok(Cow::Borrowed(text));
        };
        let span = tools.span();
        if span.len() > MAX_TOOLS_LIST_BYTES {
            return Err(FilterError::ListTooLarge(span.len()));
        }
        report.lists += 1;
        if result.get("nextCursor").is_some_and(|c| !c.is_null()) {
            report.next_cursor = true;
        }
        let mut kept: Vec<&str> = Vec::with_capacity(tools.len());
        let mut changed = false;
        for tool in tools.items() {
            match self.keep(tool, report) {
                Keep::AsSent => kept.push(tool.raw()),
                Keep::Pinned(pinned) => {
                    kept.push(pinned);
                    changed = true;
                }
                Keep::Drop => {
                    report.removed += 1;
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        out.push_str(text.get(..span.start).unwrap_or_default());
        out.push('[');
        out.push_str(&kept.join(","));
        out.push(']');
        out.push_str(text.get(span.end..).unwrap_or_default());
        Ok(Cow::Owned(out))
    }

    /// What the agent sees of one tool of a list: the tool as the origin sent it, its
    /// pinned definition (a changed tool under `pin.on_change: "deny"`), or nothing.
    fn keep<'d>(&self, tool: Node<'d>, report: &mut Report) -> Keep<'d>
    where
        'a: 'd,
    {
        let Some(name) = tool
            .is_object()
            .then(|| tool.get("name").and_then(|n| n.as_str()))
            .flatten()
        else {
            // Not a tool whose name any rule could be checked against.
            return Keep::Drop;
        };
        let raw = tool.raw();
        let (pin, pinned) = self.view.definition_state(&name, raw, tool);
        if self.learn {
            report.seen.push(Seen {
                name: name.to_string(),
                sha256: definition_sha256(tool),
                raw: raw.to_owned(),
            });
        }
        let facts = ToolFacts { pin };
        let (listed, _) = self.policy.listed(&name, facts, false);
        if !self.policy.mode().enforced() && listed && !self.policy.listed(&name, facts, true).0 {
            report.monitor_hidden += 1;
        }
        if !listed {
            return Keep::Drop;
        }
        let deny_changes = self.policy.mode().enforced()
            && self
                .policy
                .pin()
                .is_some_and(|p| p.on_change == OnChange::Deny);
        match (pin == PinState::Changed && deny_changes, pinned) {
            (false, _) => Keep::AsSent,
            (true, Some(pinned)) => Keep::Pinned(pinned),
            (true, None) => Keep::Drop,
        }
    }

    /// Checks a whole JSON answer body.
    pub fn json_body<'t>(
        &self,
        body: &'t [u8],
        report: &mut Report,
    ) -> Result<Cow<'t, str>, FilterError> {
        if body.starts_with(b"\xEF\xBB\xBF") {
            return Err(FilterError::ByteOrderMark);
        }
        let text = std::str::from_utf8(body).map_err(|_| FilterError::NotUtf8)?;
        self.message(text, report)
    }
}

/// How the gateway reads an origin answer, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `application/json`: held whole, then filtered.
    Json,
    /// `text/event-stream`: filtered event by event.
    Sse,
    /// No body to filter (empty, e.g. `202 Accepted`).
    Empty,
}

/// What an answer with this content type and length is, or why it cannot be passed on.
pub fn classify_body(content_type: Option<&str>, empty: bool) -> Result<Body, FilterError> {
    let essence = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Body::Json),
        "text/event-stream" => Ok(Body::Sse),
        _ if empty => Ok(Body::Empty),
        other => Err(FilterError::ContentType(other.to_owned())),
    }
}

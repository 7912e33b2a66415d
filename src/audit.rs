//! Audit records (CONTRACT §6): one per `tools/call` decision and per `tools/list`.
//!
//! A record holds the argument **keys** and the SHA-256 of the arguments' canonical JSON,
//! never a value, and never a token. [`Query`] is the admin API's filter.
//!
//! **Size.** Every field an agent controls is bounded: at most [`MAX_KEYS`] argument keys,
//! each cut to [`MAX_KEY_BYTES`] bytes (with `argument_key_count` saying how many there
//! were), the request id and the session cut to [`MAX_ID_BYTES`], the method to
//! [`MAX_METHOD_BYTES`], the message to [`MAX_MESSAGE_BYTES`]. Control characters in
//! them become U+FFFD, so that escaping cannot blow them up. A record's JSON is therefore
//! at most about 21 KiB (64 keys of 128 bytes, each `"` or `\\` doubled in the worst case:
//! 16.5 KiB; the message 2 KiB; the rest under 2 KiB), and typically under 1 KiB.

use crate::eval::{Decision, MonitorDecision};
use crate::json;
use crate::mcp::{Kind, Message};
use serde::{Deserialize, Serialize};

/// The most argument keys a record keeps.
pub const MAX_KEYS: usize = 64;
/// The longest argument key a record keeps, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// The longest request id or session a record keeps, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// The longest method a record keeps, in bytes.
pub const MAX_METHOD_BYTES: usize = 128;
/// The longest message a record keeps, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 2_048;
/// The most bytes of records one audit page holds (besides [`MAX_PAGE`]).
pub const MAX_PAGE_BYTES: usize = 2 << 20;

/// `text` cut to at most `max` bytes (at a character boundary, marked with `…`), with
/// control characters replaced.
pub fn bounded(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if clean.len() <= max {
        return clean;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", clean.get(..end).unwrap_or_default())
}

/// The most records one page holds.
pub const MAX_PAGE: usize = 1_000;

const DAY_MS: u64 = 86_400_000;

/// The time before which records are deleted, `retention_days` before `now_ms`: a record
/// lives at least `retention_days` whole days.
pub fn retention_cutoff(now_ms: u64, retention_days: u64) -> u64 {
    now_ms.saturating_sub(retention_days.saturating_mul(DAY_MS))
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique per request: a retried write never duplicates a record.
    pub id: String,
    /// Milliseconds since the epoch.
    pub at: u64,
    /// The JSON-RPC id of the request, as JSON text.
    pub request_id: Option<String>,
    pub grant: String,
    pub session: Option<String>,
    pub method: Option<String>,
    pub tool: Option<String>,
    pub decision: String,
    pub rule: Option<String>,
    pub message: Option<String>,
    /// The top-level keys of the arguments, sorted, at most [`MAX_KEYS`], each bounded.
    pub argument_keys: Vec<String>,
    /// How many top-level keys the arguments had.
    #[serde(default)]
    pub argument_key_count: usize,
    pub arguments_sha256: Option<String>,
    pub policy_version: u64,
    /// The origin's HTTP status, when the request went there.
    pub origin_status: Option<u16>,
    /// Milliseconds from the request's arrival to the origin's answer (or to toolgate's
    /// own answer).
    pub latency_ms: u64,
    /// What the whole policy would have decided, when monitored rules made it differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorDecision>,
    /// For a `tools/list`: the tools removed from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<usize>,
    /// For a `tools/list` under monitored rules: the tools that would have been hidden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_hidden: Option<usize>,
    /// For a change of a tool's definition (CONTRACT §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<crate::catalogue::Change>,
}

crate::json_struct!(Record {
    id: req,
    at: req,
    request_id: req,
    grant: req,
    session: req,
    method: req,
    tool: req,
    decision: req,
    rule: req,
    message: req,
    argument_keys: req,
    argument_key_count: default,
    arguments_sha256: req,
    policy_version: req,
    origin_status: req,
    latency_ms: req,
    monitor: skip,
    removed: skip,
    monitor_hidden: skip,
    pin: skip,
});

/// What a record is made from.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub id: &'a str,
    pub at: u64,
    pub grant: &'a str,
    pub session: Option<&'a str>,
    pub policy_version: u64,
}

impl Record {
    /// The record of one decision on a message.
    pub fn new(context: Context<'_>, message: Option<&Message<'_>>, decision: &Decision) -> Self {
        let (argument_keys, argument_key_count, arguments_sha256) =
            match message.map(|m| (&m.kind, m)) {
                Some((Kind::ToolCall, m)) => {
                    let arguments = m.arguments();
                    let mut keys: Vec<String> = arguments
                        .members()
                        .map(|(k, _)| k.as_str().unwrap_or_default().into_owned())
                        .collect();
                    crate::sort::sort(&mut keys);
                    let count = keys.len();
                    keys.truncate(MAX_KEYS);
                    let keys = keys.iter().map(|k| bounded(k, MAX_KEY_BYTES)).collect();
                    (
                        keys,
                        count,
                        Some(json::sha256_hex(arguments.canonical().as_bytes())),
                    )
                }
                _ => (Vec::new(), 0, None),
            };
        Record {
            id: context.id.to_owned(),
            at: context.at,
            request_id: message
                .and_then(|m| m.id())
                .map(|id| bounded(id, MAX_ID_BYTES)),
            grant: context.grant.to_owned(),
            session: context.session.map(|s| bounded(s, MAX_ID_BYTES)),
            method: decision
                .method
                .as_deref()
                .map(|m| bounded(m, MAX_METHOD_BYTES)),
            tool: decision.tool.as_deref().map(str::to_owned),
            decision: decision.decision.name().to_owned(),
            rule: decision.rule.as_deref().map(str::to_owned),
            message: decision
                .message
                .as_deref()
                .map(|m| bounded(m, MAX_MESSAGE_BYTES)),
            argument_keys,
            argument_key_count,
            arguments_sha256,
            policy_version: context.policy_version,
            origin_status: None,
            latency_ms: 0,
            monitor: decision.monitor.as_deref().cloned().map(|mut m| {
                m.message = m.message.map(|t| bounded(&t, MAX_MESSAGE_BYTES));
                m
            }),
            removed: None,
            monitor_hidden: None,
            pin: None,
        }
    }
}

impl Record {
    /// The record of a change the gateway detected in the origin's tools (CONTRACT §8).
    pub fn pin_change(change: &crate::catalogue::Change, at: u64, id: &str) -> Self {
        Record {
            id: id.to_owned(),
            at,
            request_id: None,
            grant: String::new(),
            session: None,
            method: Some("toolgate/pin".to_owned()),
            tool: Some(change.tool.clone()),
            decision: change.status.name().to_owned(),
            rule: Some("/pin".to_owned()),
            message: Some(bounded(
                &match change.status {
                    crate::catalogue::PinStatus::New => format!(
                        "the origin lists a new tool `{}`; it is unreviewed until an operator accepts it",
                        change.tool
                    ),
                    _ => format!(
                        "the definition of `{}` changed at the origin since it was pinned; it is unreviewed until an operator accepts it",
                        change.tool
                    ),
                },
                MAX_MESSAGE_BYTES,
            )),
            argument_keys: Vec::new(),
            argument_key_count: 0,
            arguments_sha256: None,
            policy_version: 0,
            origin_status: None,
            latency_ms: 0,
            monitor: None,
            removed: None,
            monitor_hidden: None,
            pin: Some(change.clone()),
        }
    }
}

crate::json_struct!(Query {
    since: req,
    until: req,
    grant: req,
    tool: req,
    decision: req,
    monitor_refused: default,
    limit: req,
    cursor: req,
});

/// A filter over audit records, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub grant: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<String>,
    /// Only records whose monitor decision refused the call (`monitor=refused`).
    #[serde(default)]
    pub monitor_refused: bool,
    pub limit: usize,
    /// Continue after this position: `(at, id)` of the last record of the previous page.
    pub cursor: Option<(u64, String)>,
}

impl Query {
    /// Reads the admin API's query string pairs.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, String> {
        let mut query = Query {
            limit: 100,
            ..Query::default()
        };
        let number = |key: &str, v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("`{key}` must be a non-negative integer (milliseconds)"))
        };
        for (key, value) in pairs {
            match key {
                "since" => query.since = Some(number(key, value)?),
                "until" => query.until = Some(number(key, value)?),
                "grant" => query.grant = Some(value.to_owned()),
                "tool" => query.tool = Some(value.to_owned()),
                "decision" => query.decision = Some(value.to_owned()),
                "monitor" if value == "refused" => query.monitor_refused = true,
                "monitor" => return Err(format!("`monitor` must be `refused`, not `{value}`")),
                "limit" => {
                    let n = number(key, value)?;
                    query.limit = usize::try_from(n).unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
                }
                "cursor" => {
                    let (at, id) = value
                        .split_once('.')
                        .and_then(|(at, id)| Some((at.parse::<u64>().ok()?, id.to_owned())))
                        .ok_or_else(|| "`cursor` is not one this API gave".to_owned())?;
                    query.cursor = Some((at, id));
                }
                other => {
                    return Err(format!(
                        "unknown parameter `{other}`, expected `since`, `until`, `grant`, `tool`, `decision`, `monitor`, `limit` or `cursor`"
                    ))
                }
            }
        }
        Ok(query)
    }

    /// The cursor text for the page that follows `last`.
    pub fn cursor_after(last: &Record) -> String {
        format!("{}.{}", last.at, last.id)
    }
}

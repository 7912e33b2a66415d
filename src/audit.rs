//! Audit records (CONTRACT §6): one per `tools/call` decision and per `tools/list`.
//!
//! A record holds the argument **keys** and the SHA-256 of the arguments' canonical JSON,
//! never a value, and never a token. [`Query`] is the admin API's filter.

use crate::eval::Decision;
use crate::json;
use crate::mcp::{Kind, Message};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// The top-level keys of the arguments, sorted.
    pub argument_keys: Vec<String>,
    pub arguments_sha256: Option<String>,
    pub policy_version: u64,
    /// The origin's HTTP status, when the request went there.
    pub origin_status: Option<u16>,
    /// Milliseconds from the request's arrival to the origin's answer (or to toolgate's
    /// own answer).
    pub latency_ms: u64,
}

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
    pub fn new(context: Context<'_>, message: Option<&Message>, decision: &Decision) -> Self {
        let (argument_keys, arguments_sha256) = match message.map(|m| &m.kind) {
            Some(Kind::ToolCall { arguments, .. }) => {
                let mut keys: Vec<String> = arguments
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                keys.sort();
                (
                    keys,
                    Some(json::sha256_hex(json::canonical(arguments).as_bytes())),
                )
            }
            _ => (Vec::new(), None),
        };
        let decision_name = serde_json::to_value(decision.decision)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Record {
            id: context.id.to_owned(),
            at: context.at,
            request_id: message.and_then(|m| m.id.as_ref()).map(Value::to_string),
            grant: context.grant.to_owned(),
            session: context.session.map(str::to_owned),
            method: decision.method.clone(),
            tool: decision.tool.clone(),
            decision: decision_name,
            rule: decision.rule.clone(),
            message: decision.message.clone(),
            argument_keys,
            arguments_sha256,
            policy_version: context.policy_version,
            origin_status: None,
            latency_ms: 0,
        }
    }
}

/// A filter over audit records, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub grant: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<String>,
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
                        "unknown parameter `{other}`, expected `since`, `until`, `grant`, `tool`, `decision`, `limit` or `cursor`"
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

//! Evaluation: what a policy decides for one MCP message.
//!
//! # Semantics
//!
//! Methods other than `tools/call` are `allow` (they pass through; `tools/list` results
//! are filtered by [`Policy::visibility`]). A `tools/call` goes through these steps, and
//! the first that applies decides:
//!
//! 1. **invalid**: the message fails strict parsing ([`crate::mcp::parse_message`]).
//! 2. **hidden**: the tool matches `hide` (`rule` is `/hide/N`, the first matching item),
//!    or no key of `tools` matches it and `default` is `deny` (`rule` is `/default`).
//!    The agent is told the tool does not exist.
//! 3. **deny**: for each matching entry in document order, `action: deny`
//!    (`/tools/K/action`), then each `deny_if` condition that holds or cannot be
//!    evaluated (`/tools/K/deny_if/N`), then each `require` condition that fails or
//!    cannot be evaluated (`/tools/K/require/N`). The message is the entry's `on_deny`
//!    when it has one.
//! 4. **approval_required**: a matching entry has `approval` and all of its `if`
//!    conditions hold (or cannot be evaluated). With several, the shortest `ttl` wins.
//! 5. **rate_limited**: a limit of `all_tools` or of a matching entry is exhausted. Each
//!    counter is counted once per call, however many entries name it.
//! 6. **allow**: `rule` is the first matching entry, or `/default`.
//!
//! Steps 1–4 depend only on the policy and the message ([`Policy::verdict`]); step 5 needs
//! counter state, which the caller holds ([`Session`] here, Durable Objects in the
//! gateway).

use crate::json::{self, json_eq, number_cmp};
use crate::mcp::{self, Invalid, Kind, Message};
use crate::policy::{Approval, Condition, DefaultAction, Limit, Op, Policy, Visibility};
use crate::ratelimit::{Counters, LimitRefused};
use serde::Serialize;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The outcome of evaluating one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    Hidden,
    RateLimited,
    ApprovalRequired,
    Invalid,
}

/// A decision object (CONTRACT §2). Fields that do not apply are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub decision: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// JSON Pointer into the policy of the rule that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What the agent reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// When the approval expires, in milliseconds since the epoch (or since `at_ms` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The JSON-RPC error code, for `invalid` and `hidden`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
}

impl Decision {
    fn new(decision: Outcome, message: &Message) -> Self {
        Decision {
            decision,
            method: message.method.clone(),
            tool: message.tool().map(str::to_owned),
            rule: None,
            message: None,
            retry_after_ms: None,
            approval_id: None,
            expires_at: None,
            code: None,
        }
    }

    /// The decision for a message that failed strict parsing.
    pub fn invalid(invalid: &Invalid) -> Self {
        Decision {
            decision: Outcome::Invalid,
            method: invalid.method.clone(),
            tool: invalid.tool.clone(),
            rule: None,
            message: Some(invalid.message.clone()),
            retry_after_ms: None,
            approval_id: None,
            expires_at: None,
            code: Some(invalid.code),
        }
    }

    /// A call refused because a limit is exhausted.
    pub fn rate_limited(message: &Message, refused: &LimitRefused<'_>) -> Self {
        let limit = refused.limit;
        Decision {
            rule: Some(limit.pointer.clone()),
            message: Some(format!(
                "rate limit `{}` exceeded: at most {} call{} per {}; retry in {}",
                limit.counter,
                limit.max,
                if limit.max == 1 { "" } else { "s" },
                limit.window.name(),
                human_ms(refused.retry_after_ms),
            )),
            retry_after_ms: Some(refused.retry_after_ms),
            ..Decision::new(Outcome::RateLimited, message)
        }
    }

    /// A call that waits for a human, with the approval it waits for.
    pub fn approval_required(
        message: &Message,
        rule: &str,
        approval_id: &str,
        expires_at: u64,
    ) -> Self {
        let tool = message.tool().unwrap_or_default();
        Decision {
            rule: Some(rule.to_owned()),
            message: Some(format!(
                "calling `{tool}` needs human approval: approval `{approval_id}` is pending. Ask an operator to approve it, then repeat the identical call"
            )),
            approval_id: Some(approval_id.to_owned()),
            expires_at: Some(expires_at),
            ..Decision::new(Outcome::ApprovalRequired, message)
        }
    }

    /// A call an operator refused.
    pub fn denied_by_operator(message: &Message, rule: &str, note: &str) -> Self {
        let tool = message.tool().unwrap_or_default();
        Decision {
            rule: Some(rule.to_owned()),
            message: Some(if note.trim().is_empty() {
                format!("an operator denied this call to `{tool}`")
            } else {
                note.to_owned()
            }),
            ..Decision::new(Outcome::Deny, message)
        }
    }

    /// The HTTP status and JSON-RPC body the agent receives for this decision, when
    /// toolgate answers instead of the origin; `None` when the call goes to the origin.
    pub fn agent_response(&self, id: Option<&Value>) -> Option<(u16, Value)> {
        let message = self.message.as_deref().unwrap_or_default();
        match self.decision {
            Outcome::Allow => None,
            Outcome::Invalid => Some((
                400,
                mcp::error_response(id, self.code.unwrap_or(mcp::INVALID_REQUEST), message),
            )),
            Outcome::Hidden => Some((200, mcp::error_response(id, mcp::INVALID_PARAMS, message))),
            Outcome::Deny | Outcome::RateLimited | Outcome::ApprovalRequired => {
                let decision = serde_json::to_value(self).unwrap_or(Value::Null);
                Some((200, mcp::refusal_response(id, message, &decision)))
            }
        }
    }
}

/// Milliseconds as a short human duration: `850 ms`, `4.2 s`, `3 min 5 s`.
fn human_ms(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{}.{} s", ms / 1_000, (ms % 1_000) / 100)
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1_000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// What the policy alone says about a message (steps 1–4 of the module docs).
#[derive(Debug, Clone)]
pub enum Verdict<'p> {
    /// Final: not a `tools/call`, or hidden or denied. `decision` is what to report.
    Final(Decision),
    /// The call needs approval; `limits` apply once it is approved.
    Approval {
        approval: &'p Approval,
        /// The SHA-256 of the arguments' canonical JSON (RFC 8785).
        arguments_sha256: String,
        limits: Vec<&'p Limit>,
        allow_rule: String,
    },
    /// The call is admitted if `limits` have room.
    Limits {
        limits: Vec<&'p Limit>,
        allow_rule: String,
    },
}

/// Why a condition could not be evaluated.
enum Unevaluable {
    Missing,
    WrongType(&'static str),
}

fn test(condition: &Condition, arguments: &Value) -> Result<bool, Unevaluable> {
    let target = condition.path.resolve(arguments);
    if let Op::Exists(want) = condition.op {
        return Ok(target.is_some() == want);
    }
    let target = target.ok_or(Unevaluable::Missing)?;
    let compare = |n: &serde_json::Number| match target {
        Value::Number(t) => number_cmp(t, n).ok_or(Unevaluable::WrongType("a number")),
        _ => Err(Unevaluable::WrongType("a number")),
    };
    Ok(match &condition.op {
        Op::Eq(v) => json_eq(target, v),
        Op::Neq(v) => !json_eq(target, v),
        Op::In(vs) => vs.iter().any(|v| json_eq(target, v)),
        Op::NotIn(vs) => !vs.iter().any(|v| json_eq(target, v)),
        Op::Lt(n) => compare(n)? == Ordering::Less,
        Op::Lte(n) => compare(n)? != Ordering::Greater,
        Op::Gt(n) => compare(n)? == Ordering::Greater,
        Op::Gte(n) => compare(n)? != Ordering::Less,
        Op::Regex(re) => match target {
            Value::String(s) => re.is_match(s),
            _ => return Err(Unevaluable::WrongType("a string")),
        },
        Op::Contains(v) => match (target, v) {
            (Value::String(s), Value::String(sub)) => s.contains(sub.as_str()),
            (Value::Array(items), v) => items.iter().any(|item| json_eq(item, v)),
            (Value::String(_), _) => return Err(Unevaluable::WrongType("an array")),
            _ => return Err(Unevaluable::WrongType("a string or an array")),
        },
        Op::Exists(_) => false,
    })
}

fn unevaluable_message(condition: &Condition, why: &Unevaluable) -> String {
    match why {
        Unevaluable::Missing => format!(
            "cannot evaluate `{condition}`: `{}` is missing",
            condition.path.as_str()
        ),
        Unevaluable::WrongType(wanted) => format!(
            "cannot evaluate `{condition}`: `{}` is not {wanted}",
            condition.path.as_str()
        ),
    }
}

impl Policy {
    /// Steps 1–4 of the module docs for a parsed message.
    pub fn verdict(&self, message: &Message) -> Verdict<'_> {
        let Kind::ToolCall { name, arguments } = &message.kind else {
            return Verdict::Final(Decision::new(Outcome::Allow, message));
        };
        let entries = self.matching(name);
        let hidden = self.hidden_by(name).or_else(|| {
            (entries.is_empty() && self.default == DefaultAction::Deny)
                .then(|| "/default".to_owned())
        });
        if let Some(rule) = hidden {
            return Verdict::Final(Decision {
                rule: Some(rule),
                message: Some(format!("Unknown tool: {name}")),
                code: Some(mcp::INVALID_PARAMS),
                ..Decision::new(Outcome::Hidden, message)
            });
        }
        for entry in &entries {
            let deny = |rule: String, why: String| {
                Verdict::Final(Decision {
                    rule: Some(rule),
                    message: Some(entry.on_deny.clone().unwrap_or(why)),
                    ..Decision::new(Outcome::Deny, message)
                })
            };
            if entry.deny {
                return deny(
                    format!("{}/action", entry.pointer),
                    format!("calling `{name}` is not allowed by policy"),
                );
            }
            for condition in &entry.deny_if {
                match test(condition, arguments) {
                    Ok(false) => {}
                    Ok(true) => {
                        return deny(
                            condition.pointer.clone(),
                            format!("calling `{name}` is not allowed when `{condition}`"),
                        )
                    }
                    Err(why) => {
                        return deny(
                            condition.pointer.clone(),
                            unevaluable_message(condition, &why),
                        )
                    }
                }
            }
            for condition in &entry.require {
                match test(condition, arguments) {
                    Ok(true) => {}
                    Ok(false) => {
                        return deny(
                            condition.pointer.clone(),
                            format!("calling `{name}` requires `{condition}`"),
                        )
                    }
                    Err(why) => {
                        return deny(
                            condition.pointer.clone(),
                            unevaluable_message(condition, &why),
                        )
                    }
                }
            }
        }

        let mut limits: Vec<&Limit> = Vec::new();
        let entry_limits = entries.iter().flat_map(|e| e.limits.iter());
        for index in self.all_tools_limits.iter().chain(entry_limits) {
            if let Some(limit) = self.limits.get(*index) {
                if !limits.iter().any(|l| l.counter == limit.counter) {
                    limits.push(limit);
                }
            }
        }
        let allow_rule = entries
            .first()
            .map_or_else(|| "/default".to_owned(), |e| e.pointer.clone());
        let approval = entries
            .iter()
            .filter_map(|e| e.approval.as_ref())
            .filter(|a| {
                a.conditions
                    .iter()
                    .all(|c| test(c, arguments).unwrap_or(true))
            })
            .min_by_key(|a| a.ttl_ms);
        match approval {
            Some(approval) => Verdict::Approval {
                approval,
                arguments_sha256: json::sha256_hex(json::canonical(arguments).as_bytes()),
                limits,
                allow_rule,
            },
            None => Verdict::Limits { limits, allow_rule },
        }
    }

    /// Removes hidden tools from a `tools/list` response; returns how many were removed.
    pub fn filter_tools_list(&self, response: &mut Value) -> usize {
        mcp::filter_tools_list(response, |name| {
            self.visibility(name).0 == Visibility::Hidden
        })
    }
}

/// An allowed call's decision.
pub fn allowed(message: &Message, rule: String) -> Decision {
    Decision {
        rule: Some(rule),
        ..Decision::new(Outcome::Allow, message)
    }
}

/// A pending approval as `toolgate eval` and the playground keep it.
#[derive(Debug, Clone)]
struct PendingApproval {
    id: String,
    expires_at: u64,
}

/// Stateful evaluation of a sequence of calls, as `toolgate eval` and the playground run
/// it: counters persist across calls at the given times, exactly as the gateway counts
/// them, and approvals are never granted.
#[derive(Debug, Clone)]
pub struct Session {
    policy: Policy,
    counters: Counters,
    approvals: HashMap<String, PendingApproval>,
    policy_version: u64,
}

/// One call of a sequence.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    pub grant: &'a str,
    pub session: Option<&'a str>,
    pub at_ms: u64,
}

impl Session {
    /// A session over `policy`, which is version 0 (the `POLICY` of a deployment).
    pub fn new(policy: Policy) -> Self {
        Session {
            policy,
            counters: Counters::default(),
            approvals: HashMap::new(),
            policy_version: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decides one message given as raw bytes.
    pub fn decide(&mut self, body: &[u8], context: CallContext<'_>) -> Decision {
        match mcp::parse_message(body) {
            Ok(message) => self.decide_message(&message, context),
            Err(invalid) => Decision::invalid(&invalid),
        }
    }

    /// Decides one parsed message.
    pub fn decide_message(&mut self, message: &Message, context: CallContext<'_>) -> Decision {
        match self.policy.verdict(message) {
            Verdict::Final(decision) => decision,
            Verdict::Approval {
                approval,
                arguments_sha256,
                ..
            } => {
                let binding = approval_binding(
                    context.grant,
                    message.tool().unwrap_or_default(),
                    &arguments_sha256,
                    self.policy_version,
                );
                let now = context.at_ms;
                let pending = match self.approvals.get(&binding) {
                    Some(p) if p.expires_at > now => p.clone(),
                    _ => {
                        let p = PendingApproval {
                            id: json::sha256_hex(format!("{binding}\n{now}").as_bytes())
                                .get(..32)
                                .unwrap_or_default()
                                .to_owned(),
                            expires_at: now.saturating_add(approval.ttl_ms),
                        };
                        self.approvals.insert(binding, p.clone());
                        p
                    }
                };
                Decision::approval_required(
                    message,
                    &approval.pointer,
                    &pending.id,
                    pending.expires_at,
                )
            }
            Verdict::Limits { limits, allow_rule } => {
                match self
                    .counters
                    .reserve(&limits, context.grant, context.session, context.at_ms)
                {
                    Ok(_) => allowed(message, allow_rule),
                    Err(refused) => Decision::rate_limited(message, &refused),
                }
            }
        }
    }
}

/// The binding of an approval: grant, tool, arguments hash and policy version.
pub fn approval_binding(grant: &str, tool: &str, arguments_sha256: &str, version: u64) -> String {
    serde_json::to_string(&(grant, tool, arguments_sha256, version)).unwrap_or_default()
}

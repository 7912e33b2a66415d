//! Evaluation: what a policy decides for one MCP message.
//!
//! # Semantics
//!
//! Methods other than `tools/call` are `allow` (they pass through; lists of tools in any
//! answer are filtered, see [`crate::filter`]). A `tools/call` goes through these steps,
//! and the first that applies decides:
//!
//! 1. **invalid**: the message fails strict parsing ([`crate::mcp::parse_message`]).
//! 2. **hidden**: the tool matches `hide` (`rule` is `/hide/N`, the first matching item);
//!    or no key of `tools` matches it and `default` is `deny` (`/default`); or pinning is
//!    on and the tool is new, or changed under `on_change: "hide"` (`/pin`). The agent is
//!    told the tool does not exist.
//! 3. **deny**: for each matching entry in document order, `action: deny`
//!    (`/tools/K/action`), then each `deny_if` condition that holds or cannot be
//!    evaluated (`/tools/K/deny_if/N`), then each `require` condition that fails or
//!    cannot be evaluated (`/tools/K/require/N`); then a tool changed under
//!    `on_change: "deny"` (`/pin`). The message is the entry's `on_deny` when it has one.
//! 4. **approval_required**: a matching entry has `approval` and all of its `if`
//!    conditions hold (or cannot be evaluated). With several, the shortest `ttl` wins.
//! 5. **rate_limited**: a limit of `all_tools` or of a matching entry is exhausted. Each
//!    counter is counted once per call, however many entries name it.
//! 6. **allow**: `rule` is the first matching entry, or `/default`.
//!
//! A condition is resolved along its path ([`crate::policy::ArgPath`]); with `*`
//! segments it holds in `deny_if` when it holds for any element and passes `require`
//! only when it holds for every element. It *cannot be evaluated* when the path is absent
//! (every op but `exists`), when the value has the wrong type for the op, or when a step
//! meets the wrong kind of value (for `exists` too), and then it denies.
//!
//! # Monitor mode
//!
//! Rules in `"mode": "monitor"` (the policy's, or an entry's own) are reported, not
//! applied. [`Policy::verdict`] gives two answers: the **enforced** one, by the policy
//! without its monitored rules (a monitored `default` counts as `allow`; a monitored
//! entry's key still lists its tools), and, when it differs, the **monitor** one, by the
//! whole policy. A monitored limit counts only the calls that the monitor decision admits.
//!
//! Steps 1–4 depend only on the policy, the message and what the gateway knows of the
//! tool ([`ToolFacts`]); step 5 needs counter state, which the caller holds ([`Session`]
//! here, Durable Objects in the gateway).

use crate::json::{json_eq, Kind, Node};
use crate::mcp::{self, Invalid, Kind as MessageKind, Message};
use crate::policy::path::Target;
use crate::policy::{
    Approval, Condition, DefaultAction, Entry, Limit, Mode, OnChange, Op, Policy, Visibility,
};
use crate::ratelimit::{Counters, LimitRefused};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The outcome of evaluating one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allow,
    Deny,
    Hidden,
    RateLimited,
    ApprovalRequired,
    Invalid,
}

impl Outcome {
    /// The name used in decision objects.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Hidden => "hidden",
            Outcome::RateLimited => "rate_limited",
            Outcome::ApprovalRequired => "approval_required",
            Outcome::Invalid => "invalid",
        }
    }

    /// Whether the call goes on to the origin.
    pub fn admits(self) -> bool {
        self == Outcome::Allow
    }
}

/// What the whole policy, monitored rules included, would have decided (CONTRACT §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MonitorDecision {
    pub decision: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// A decision object (CONTRACT §2). Fields that do not apply are left out. Its JSON is
/// written by [`Decision::write_json`], in this field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: Outcome,
    pub method: Option<std::borrow::Cow<'static, str>>,
    pub tool: Option<String>,
    /// JSON Pointer into the policy of the rule that decided.
    pub rule: Option<String>,
    /// What the agent reads.
    pub message: Option<String>,
    pub retry_after_ms: Option<u64>,
    pub approval_id: Option<String>,
    /// When the approval expires, in milliseconds since the epoch (or since `at_ms` 0).
    pub expires_at: Option<u64>,
    /// The JSON-RPC error code, for `invalid` and `hidden`.
    pub code: Option<i64>,
    /// The monitor decision, when it differs from this one.
    pub monitor: Option<MonitorDecision>,
}

/// Appends `,"name":` (without the comma for the first field) to a JSON object being
/// written.
fn field(out: &mut String, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(',');
    }
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn str_field(out: &mut String, first: &mut bool, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        field(out, first, name);
        crate::json::write_canonical_str(value, out);
    }
}

fn num_field(
    out: &mut String,
    first: &mut bool,
    name: &str,
    value: Option<impl std::fmt::Display>,
) {
    if let Some(value) = value {
        field(out, first, name);
        let _ = write!(out, "{value}");
    }
}

impl Decision {
    /// The decision object's JSON (one line, the fields that apply, in order).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        self.write_json(&mut out);
        out
    }

    /// Appends [`Decision::to_json`] to `out`.
    pub fn write_json(&self, out: &mut String) {
        let mut first = true;
        out.push('{');
        str_field(out, &mut first, "decision", Some(self.decision.name()));
        str_field(out, &mut first, "method", self.method.as_deref());
        str_field(out, &mut first, "tool", self.tool.as_deref());
        str_field(out, &mut first, "rule", self.rule.as_deref());
        str_field(out, &mut first, "message", self.message.as_deref());
        num_field(out, &mut first, "retry_after_ms", self.retry_after_ms);
        str_field(out, &mut first, "approval_id", self.approval_id.as_deref());
        num_field(out, &mut first, "expires_at", self.expires_at);
        num_field(out, &mut first, "code", self.code);
        if let Some(monitor) = &self.monitor {
            field(out, &mut first, "monitor");
            let mut inner = true;
            out.push('{');
            str_field(out, &mut inner, "decision", Some(monitor.decision.name()));
            str_field(out, &mut inner, "rule", monitor.rule.as_deref());
            str_field(out, &mut inner, "message", monitor.message.as_deref());
            num_field(out, &mut inner, "retry_after_ms", monitor.retry_after_ms);
            out.push('}');
        }
        out.push('}');
    }
}

impl Serialize for Decision {
    /// The same JSON as [`Decision::write_json`], embedded as is.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::value::RawValue::from_string(self.to_json())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl Decision {
    fn new(decision: Outcome, message: &Message<'_>) -> Self {
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
            monitor: None,
        }
    }

    /// The decision for a message that failed strict parsing.
    pub fn invalid(invalid: &Invalid) -> Self {
        Decision {
            decision: Outcome::Invalid,
            method: invalid.method.clone().map(std::borrow::Cow::Owned),
            tool: invalid.tool.clone(),
            rule: None,
            message: Some(invalid.message.clone()),
            retry_after_ms: None,
            approval_id: None,
            expires_at: None,
            code: Some(invalid.code),
            monitor: None,
        }
    }

    /// An allowed call's decision.
    pub fn allowed(message: &Message<'_>, rule: &str) -> Self {
        Decision {
            rule: Some(rule.to_owned()),
            ..Decision::new(Outcome::Allow, message)
        }
    }

    /// A call to a tool that is hidden, or that the origin does not have: the agent is
    /// told it does not exist. `rule` is `None` for a tool the origin does not list.
    pub fn hidden(message: &Message<'_>, rule: Option<String>) -> Self {
        Decision {
            rule,
            message: Some(format!(
                "Unknown tool: {}",
                message.tool().unwrap_or_default()
            )),
            code: Some(mcp::INVALID_PARAMS),
            ..Decision::new(Outcome::Hidden, message)
        }
    }

    /// A denied call.
    pub fn denied(message: &Message<'_>, rule: &str, text: String) -> Self {
        Decision {
            rule: Some(rule.to_owned()),
            message: Some(text),
            ..Decision::new(Outcome::Deny, message)
        }
    }

    /// A call refused because a limit is exhausted.
    pub fn rate_limited(message: &Message<'_>, refused: &LimitRefused<'_>) -> Self {
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

    /// A call that waits for a human, with the approval it waits for. `where_to` is where
    /// an operator decides it (the gateway's admin page), when known.
    pub fn approval_required(
        message: &Message<'_>,
        rule: &str,
        approval_id: &str,
        expires_at: u64,
        where_to: Option<&str>,
    ) -> Self {
        let tool = message.tool().unwrap_or_default();
        let place = match where_to {
            Some(url) => format!(" at {url}"),
            None => String::new(),
        };
        Decision {
            rule: Some(rule.to_owned()),
            message: Some(format!(
                "calling `{tool}` needs human approval: approval `{approval_id}` is pending. An operator must approve it{place}; then repeat the identical call"
            )),
            approval_id: Some(approval_id.to_owned()),
            expires_at: Some(expires_at),
            ..Decision::new(Outcome::ApprovalRequired, message)
        }
    }

    /// A call an operator refused.
    pub fn denied_by_operator(message: &Message<'_>, rule: &str, note: &str) -> Self {
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

    /// This decision as the monitor part of another.
    pub fn as_monitor(&self) -> MonitorDecision {
        MonitorDecision {
            decision: self.decision,
            rule: self.rule.clone(),
            message: self.message.clone(),
            retry_after_ms: self.retry_after_ms,
        }
    }

    /// Adds `monitor` when it differs from this decision (in outcome or rule).
    pub fn with_monitor(mut self, monitor: &Decision) -> Self {
        if (monitor.decision, &monitor.rule) != (self.decision, &self.rule) {
            self.monitor = Some(monitor.as_monitor());
        }
        self
    }

    /// The HTTP status and JSON-RPC body the agent receives for this decision, when
    /// toolgate answers instead of the origin; `None` when the call goes to the origin.
    /// `id` is the request id's JSON text; `modern` adds `resultType` for 2026-07-28.
    pub fn agent_response(&self, id: Option<&str>, modern: bool) -> Option<(u16, String)> {
        let message = self.message.as_deref().unwrap_or_default();
        match self.decision {
            Outcome::Allow => None,
            Outcome::Invalid => Some((
                400,
                mcp::error_response(id, self.code.unwrap_or(mcp::INVALID_REQUEST), message),
            )),
            Outcome::Hidden => Some((200, mcp::error_response(id, mcp::INVALID_PARAMS, message))),
            Outcome::Deny | Outcome::RateLimited | Outcome::ApprovalRequired => Some((
                200,
                mcp::refusal_response(id, message, &self.to_json(), modern),
            )),
        }
    }
}

/// Milliseconds as a short human duration, rounded up to what it shows (so that
/// retrying at the shown time is never too early) and carried, a zero small unit left
/// out: `850 ms`, `4.2 s`, `3 min 5 s`, `1 min`, `2 h 30 min`.
pub fn human_ms(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms <= 59_900 {
        let tenths = ms.div_ceil(100);
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let seconds = ms.div_ceil(1_000);
    if seconds < 3_600 {
        return match seconds % 60 {
            0 => format!("{} min", seconds / 60),
            s => format!("{} min {s} s", seconds / 60),
        };
    }
    let minutes = ms.div_ceil(60_000);
    match minutes % 60 {
        0 => format!("{} h", minutes / 60),
        m => format!("{} h {m} min", minutes / 60),
    }
}

/// What the gateway knows of a tool beyond its name: its pin status (CONTRACT §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PinState {
    /// Not known (the CLI, the playground without a gateway catalogue).
    #[default]
    Unknown,
    /// The definition matches its pin.
    Pinned,
    /// The definition no longer matches its pin.
    Changed,
    /// Seen after the first answer, never accepted.
    New,
}

/// Facts about the called tool that do not come from the message.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolFacts {
    pub pin: PinState,
}

/// Where the policy alone leaves a call.
#[derive(Debug, Clone)]
pub enum Stage<'p> {
    /// Final: not a `tools/call`, or hidden or denied.
    Decided(Decision),
    /// The call needs approval; then `limits` apply.
    Approval {
        approval: &'p Approval,
        limits: Vec<&'p Limit>,
        /// Monitored limits the monitor decision also counts, when the enforced ones admit.
        monitored: Vec<&'p Limit>,
        allow_rule: &'p str,
    },
    /// The call is admitted if `limits` have room.
    Limits {
        limits: Vec<&'p Limit>,
        /// Monitored limits the monitor decision also counts, when the enforced ones admit.
        monitored: Vec<&'p Limit>,
        allow_rule: &'p str,
    },
}

/// What the policy says about a message before any state is consulted.
#[derive(Debug, Clone)]
pub struct Verdict<'p> {
    /// What happens.
    pub enforced: Stage<'p>,
    /// What the whole policy would do, when a monitored rule makes it differ.
    pub monitor: Option<Stage<'p>>,
}

impl Verdict<'_> {
    fn decided(decision: Decision) -> Self {
        Verdict {
            enforced: Stage::Decided(decision),
            monitor: None,
        }
    }
}

/// Why a condition could not be evaluated.
struct Unevaluable(String);

/// How a condition over several elements (`*`) combines them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quantifier {
    /// `deny_if`: holds when it holds for any element.
    Any,
    /// `require`, `approval.if`: holds when it holds for every element.
    Every,
}

impl Policy {
    /// Whether a condition holds for `arguments`, or why it cannot be evaluated.
    fn holds(
        &self,
        condition: &Condition,
        arguments: Node<'_>,
        quantifier: Quantifier,
    ) -> Result<bool, Unevaluable> {
        let mut any = false;
        let mut every = true;
        let mut failure: Option<Unevaluable> = None;
        condition.path.walk(arguments, &mut |target| {
            match self.test(condition, target) {
                Ok(true) => any = true,
                Ok(false) => every = false,
                Err(why) => {
                    failure = Some(why);
                    return false;
                }
            }
            true
        });
        if let Some(why) = failure {
            return Err(why);
        }
        Ok(match quantifier {
            Quantifier::Any => any,
            Quantifier::Every => every,
        })
    }

    fn test(&self, condition: &Condition, target: Target<'_>) -> Result<bool, Unevaluable> {
        let path = &condition.path;
        let value = match target {
            Target::WrongKind { at, found } => {
                return Err(Unevaluable(path.wrong_kind_reason(at, found)))
            }
            Target::Absent { at } => {
                return match condition.op {
                    Op::Exists(want) => Ok(!want),
                    _ => Err(Unevaluable(path.absent_reason(at))),
                };
            }
            Target::Value(value) => value,
        };
        let operand = |index: u32| self.operand(index);
        let wrong = |wanted: &str| {
            Unevaluable(format!(
                "`{}` is {}, not {wanted}",
                path.as_str(),
                value.kind().described()
            ))
        };
        let compare = |index: u32| -> Result<Ordering, Unevaluable> {
            let target = value.as_number().ok_or_else(|| wrong("a number"))?;
            let bound = operand(index)
                .and_then(|n| n.as_number())
                .ok_or_else(|| wrong("a number"))?;
            Ok(target.cmp_exact(&bound))
        };
        let equals = |index: u32| operand(index).is_some_and(|o| json_eq(value, o));
        let one_of =
            |index: u32| operand(index).is_some_and(|list| list.items().any(|o| json_eq(value, o)));
        Ok(match &condition.op {
            Op::Exists(want) => *want,
            Op::Eq(v) => equals(*v),
            Op::Neq(v) => !equals(*v),
            Op::In(vs) => one_of(*vs),
            Op::NotIn(vs) => !one_of(*vs),
            Op::Lt(n) => compare(*n)? == Ordering::Less,
            Op::Lte(n) => compare(*n)? != Ordering::Greater,
            Op::Gt(n) => compare(*n)? == Ordering::Greater,
            Op::Gte(n) => compare(*n)? != Ordering::Less,
            Op::Regex(re) => match value.as_str() {
                Some(s) => re.is_match(&s),
                None => return Err(wrong("a string")),
            },
            Op::Contains(v) => {
                let needle = operand(*v);
                match (value.kind(), needle) {
                    (Kind::String, Some(sub)) => match sub.as_str() {
                        Some(sub) => value.as_str().unwrap_or_default().contains(sub.as_ref()),
                        None => {
                            return Err(Unevaluable(format!(
                                "`{}` is a string, and a string contains only strings, not {}",
                                path.as_str(),
                                sub.kind().described()
                            )))
                        }
                    },
                    (Kind::Array, Some(needle)) => value.items().any(|item| json_eq(item, needle)),
                    _ => return Err(wrong("a string or an array")),
                }
            }
        })
    }

    /// Steps 1–4 of the module docs for a parsed message, and the limits of step 5.
    pub fn verdict<'p>(&'p self, message: &Message<'_>, facts: ToolFacts) -> Verdict<'p> {
        let MessageKind::ToolCall { name, .. } = &message.kind else {
            return Verdict::decided(Decision::new(Outcome::Allow, message));
        };
        let name: &str = name;
        let arguments = message.arguments();
        let plan = self.plan(name);
        let entries: Vec<&Entry> = plan
            .entries
            .iter()
            .filter_map(|i| self.entries.get(*i))
            .collect();
        let top = self.mode.enforced();
        // The first rule that applies, with every rule enforced (the monitor decision), and
        // the first enforced rule that applies (the enforced decision).
        let mut first: Option<Decision> = None;
        let mut hit = |decision: Decision, enforced: bool| -> Option<Verdict<'p>> {
            if enforced {
                let monitor = first.take().map(Stage::Decided);
                return Some(Verdict {
                    monitor: monitor.filter(|m| !same_stage(m, &decision)),
                    enforced: Stage::Decided(decision),
                });
            }
            if first.is_none() {
                first = Some(decision);
            }
            None
        };

        // 2. hidden.
        if let Some(i) = plan.hidden_by {
            if let Some(v) = hit(Decision::hidden(message, Some(format!("/hide/{i}"))), top) {
                return v;
            }
        }
        if entries.is_empty() && self.default == DefaultAction::Deny {
            if let Some(v) = hit(Decision::hidden(message, Some("/default".to_owned())), top) {
                return v;
            }
        }
        if let Some(pin) = self.pin {
            let unreviewed = facts.pin == PinState::New
                || (facts.pin == PinState::Changed && pin.on_change == OnChange::Hide);
            if unreviewed {
                if let Some(v) = hit(Decision::hidden(message, Some("/pin".to_owned())), top) {
                    return v;
                }
            }
        }

        // 3. denied.
        for entry in &entries {
            let enforced = entry.mode.enforced();
            let deny = |rule: &str, why: String| {
                Decision::denied(message, rule, entry.on_deny.clone().unwrap_or(why))
            };
            if entry.deny {
                let rule = format!("{}/action", entry.pointer);
                let why = format!("calling `{name}` is not allowed by policy");
                if let Some(v) = hit(deny(&rule, why), enforced) {
                    return v;
                }
            }
            for condition in &entry.deny_if {
                let why = match self.holds(condition, arguments, Quantifier::Any) {
                    Ok(false) => continue,
                    Ok(true) => format!("calling `{name}` is not allowed when `{condition}`"),
                    Err(Unevaluable(why)) => format!("cannot evaluate `{condition}`: {why}"),
                };
                if let Some(v) = hit(deny(&condition.pointer, why), enforced) {
                    return v;
                }
            }
            for condition in &entry.require {
                let why = match self.holds(condition, arguments, Quantifier::Every) {
                    Ok(true) => continue,
                    Ok(false) => format!("calling `{name}` requires `{condition}`"),
                    Err(Unevaluable(why)) => format!("cannot evaluate `{condition}`: {why}"),
                };
                if let Some(v) = hit(deny(&condition.pointer, why), enforced) {
                    return v;
                }
            }
        }
        if self.pin.is_some_and(|p| p.on_change == OnChange::Deny) && facts.pin == PinState::Changed
        {
            let why = format!(
                "`{name}` has changed at the origin since it was reviewed (its definition no longer matches its pin); an operator must review and accept the change before it can be called"
            );
            if let Some(v) = hit(Decision::denied(message, "/pin", why), top) {
                return v;
            }
        }

        // 4. approval, and 5. the limits that apply after it.
        let allow_rule = entries.first().map_or("/default", |e| e.pointer.as_str());
        let (limits, monitored) = self.limits_of(&entries);
        let approval_of = |enforced_only: bool| {
            entries
                .iter()
                .filter(|e| !enforced_only || e.mode.enforced())
                .filter_map(|e| e.approval.as_ref())
                .filter(|a| {
                    a.conditions
                        .iter()
                        .all(|c| self.holds(c, arguments, Quantifier::Every).unwrap_or(true))
                })
                .min_by_key(|a| a.ttl_ms)
        };
        let enforced_approval = approval_of(true);
        let any_approval = approval_of(false);
        let enforced = match enforced_approval {
            Some(approval) => Stage::Approval {
                approval,
                limits,
                monitored,
                allow_rule,
            },
            None => Stage::Limits {
                limits,
                monitored,
                allow_rule,
            },
        };
        // The monitor decision: the first monitored rule that applied, else a monitored
        // approval the enforced policy does not ask for.
        let monitor = match (first, any_approval, enforced_approval) {
            (Some(decision), _, _) => Some(Stage::Decided(decision)),
            (None, Some(approval), None) => Some(Stage::Approval {
                approval,
                limits: Vec::new(),
                monitored: Vec::new(),
                allow_rule,
            }),
            (None, Some(a), Some(b)) if !std::ptr::eq(a, b) => Some(Stage::Approval {
                approval: a,
                limits: Vec::new(),
                monitored: Vec::new(),
                allow_rule,
            }),
            _ => None,
        };
        Verdict { enforced, monitor }
    }

    /// The limits a call counts: the enforced ones, and the monitored-only ones. A counter
    /// named by an enforced place is enforced; each counter is counted once.
    fn limits_of<'p>(&'p self, entries: &[&'p Entry]) -> (Vec<&'p Limit>, Vec<&'p Limit>) {
        let mut enforced: Vec<&Limit> = Vec::new();
        let mut monitored: Vec<&Limit> = Vec::new();
        let places = self
            .all_tools_limits
            .iter()
            .chain(entries.iter().flat_map(|e| e.limits.iter()))
            .filter_map(|i| self.limits.get(*i));
        for limit in places {
            let known = |list: &[&Limit]| list.iter().any(|l| l.counter == limit.counter);
            if limit.mode == Mode::Enforce {
                if !known(&enforced) {
                    enforced.push(limit);
                }
            } else if !known(&monitored) {
                monitored.push(limit);
            }
        }
        monitored.retain(|m| !enforced.iter().any(|e| e.counter == m.counter));
        (enforced, monitored)
    }

    /// Whether a tool is listed by `tools/list`, and the rule that decides: with every
    /// rule enforced (`monitor` true) or as enforced. Pins are the caller's to add.
    pub fn listed(&self, tool: &str, facts: ToolFacts, monitor: bool) -> (bool, Option<String>) {
        let top = monitor || self.mode.enforced();
        if top {
            match self.visibility(tool) {
                (Visibility::Hidden, rule) => return (false, Some(rule)),
                (Visibility::Listed, _) => {}
            }
            if let Some(pin) = self.pin {
                if facts.pin == PinState::New
                    || (facts.pin == PinState::Changed && pin.on_change == OnChange::Hide)
                {
                    return (false, Some("/pin".to_owned()));
                }
            }
        }
        (true, None)
    }
}

/// Whether a monitor stage says the same as an enforced decision.
fn same_stage(stage: &Stage<'_>, decision: &Decision) -> bool {
    matches!(stage, Stage::Decided(d) if d.decision == decision.decision && d.rule == decision.rule)
}

/// The monitor decision of a stage that asks for approval: reported, never created.
fn monitor_approval(message: &Message<'_>, approval: &Approval) -> Decision {
    Decision {
        rule: Some(approval.pointer.clone()),
        message: Some(format!(
            "calling `{}` would need human approval",
            message.tool().unwrap_or_default()
        )),
        ..Decision::new(Outcome::ApprovalRequired, message)
    }
}

/// The most bytes a call's arguments may have (their text as sent) when the call needs
/// approval: an approval stores them for the approver.
pub const MAX_APPROVAL_ARGUMENTS: usize = 64 << 10;

/// The decision for a call that needs approval but whose arguments are too large to keep.
pub fn arguments_too_large(message: &Message<'_>, approval: &Approval, bytes: usize) -> Decision {
    Decision::denied(
        message,
        &approval.pointer,
        format!(
            "calling `{}` needs human approval, but its arguments are {bytes} bytes, more than the {} an approval can hold; send smaller arguments",
            message.tool().unwrap_or_default(),
            MAX_APPROVAL_ARGUMENTS
        ),
    )
}

/// A pending approval as `toolgate eval` and the playground keep it.
#[derive(Debug, Clone)]
struct PendingApproval {
    id: String,
    expires_at: u64,
}

/// Stateful evaluation of a sequence of calls, as `toolgate eval`, `toolgate test` and
/// the playground run it: counters persist across calls at the given times, exactly as
/// the gateway counts them, and approvals are never granted.
#[derive(Debug, Clone)]
pub struct Session {
    policy: Policy,
    counters: Counters,
    approvals: HashMap<String, PendingApproval>,
    policy_version: u64,
    tape: Option<crate::json::Tape>,
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
            tape: Some(crate::json::Tape::default()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Decides one message given as raw bytes.
    pub fn decide(&mut self, body: &[u8], context: CallContext<'_>) -> Decision {
        let tape = self.tape.take().unwrap_or_default();
        match mcp::parse_message_reusing(body, tape) {
            Ok(message) => {
                let decision = self.decide_message(&message, context);
                self.tape = Some(message.into_tape());
                decision
            }
            Err(invalid) => Decision::invalid(&invalid),
        }
    }

    /// Decides one parsed message.
    pub fn decide_message(&mut self, message: &Message<'_>, context: CallContext<'_>) -> Decision {
        let Session {
            policy,
            counters,
            approvals,
            policy_version,
            ..
        } = self;
        let verdict = policy.verdict(message, ToolFacts::default());
        let enforced = match verdict.enforced {
            Stage::Decided(decision) => decision,
            Stage::Approval { approval, .. } => {
                let size = message.arguments().raw().len();
                if size > MAX_APPROVAL_ARGUMENTS {
                    arguments_too_large(message, approval, size)
                } else {
                    hold(approvals, *policy_version, message, approval, context)
                }
            }
            Stage::Limits {
                limits,
                monitored,
                allow_rule,
            } => match counters.reserve(&limits, context.grant, context.session, context.at_ms) {
                Err(refused) => Decision::rate_limited(message, &refused),
                Ok(_) => {
                    let allowed = Decision::allowed(message, allow_rule);
                    if verdict.monitor.is_some() || monitored.is_empty() {
                        allowed
                    } else {
                        match counters.reserve(
                            &monitored,
                            context.grant,
                            context.session,
                            context.at_ms,
                        ) {
                            Ok(_) => allowed,
                            Err(refused) => {
                                allowed.with_monitor(&Decision::rate_limited(message, &refused))
                            }
                        }
                    }
                }
            },
        };
        match verdict.monitor {
            None | Some(Stage::Limits { .. }) => enforced,
            Some(Stage::Decided(monitor)) => enforced.with_monitor(&monitor),
            Some(Stage::Approval { approval, .. }) => {
                enforced.with_monitor(&monitor_approval(message, approval))
            }
        }
    }
}

/// Finds or creates the pending approval of a call (never granted here).
fn hold(
    approvals: &mut HashMap<String, PendingApproval>,
    policy_version: u64,
    message: &Message<'_>,
    approval: &Approval,
    context: CallContext<'_>,
) -> Decision {
    let arguments_sha256 = crate::json::sha256_hex(message.arguments().canonical().as_bytes());
    let binding = approval_binding(
        context.grant,
        message.tool().unwrap_or_default(),
        &arguments_sha256,
        policy_version,
    );
    let now = context.at_ms;
    let pending = match approvals.get(&binding) {
        Some(p) if p.expires_at > now => p.clone(),
        _ => {
            let p = PendingApproval {
                id: crate::json::sha256_hex(format!("{binding}\n{now}").as_bytes())
                    .get(..32)
                    .unwrap_or_default()
                    .to_owned(),
                expires_at: now.saturating_add(approval.ttl_ms),
            };
            approvals.insert(binding, p.clone());
            p
        }
    };
    Decision::approval_required(
        message,
        &approval.pointer,
        &pending.id,
        pending.expires_at,
        None,
    )
}

/// The binding of an approval: grant, tool, arguments hash and policy version.
pub fn approval_binding(grant: &str, tool: &str, arguments_sha256: &str, version: u64) -> String {
    serde_json::to_string(&(grant, tool, arguments_sha256, version)).unwrap_or_default()
}

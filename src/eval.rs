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

use crate::json::{json_eq, same_bytes, Kind, Node};
use crate::mcp::{self, Invalid, Message};
use crate::policy::path::{ArgPath, Target};
use crate::policy::{
    Approval, Condition, DefaultAction, Entry, Limit, OnChange, Op, Operand, Plan, Policy, Text,
    Visibility,
};
use crate::ratelimit::{Counters, LimitRefused};
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::ops::ControlFlow;

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

crate::json_names!(Outcome {
    Allow = "allow",
    Deny = "deny",
    Hidden = "hidden",
    RateLimited = "rate_limited",
    ApprovalRequired = "approval_required",
    Invalid = "invalid",
});

crate::json_struct!(MonitorDecision {
    decision: req,
    rule: skip,
    message: skip,
    retry_after_ms: skip,
});

/// A decision object (CONTRACT §2). Fields that do not apply are left out. Its JSON is
/// written by [`Decision::write_json`], in this field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub decision: Outcome,
    pub method: Option<std::borrow::Cow<'static, str>>,
    pub tool: Option<Text>,
    /// JSON Pointer into the policy of the rule that decided.
    pub rule: Option<Text>,
    /// What the agent reads.
    pub message: Option<Text>,
    pub retry_after_ms: Option<u64>,
    pub approval_id: Option<Text>,
    /// When the approval expires, in milliseconds since the epoch (or since `at_ms` 0).
    pub expires_at: Option<u64>,
    /// The JSON-RPC error code, for `invalid` and `hidden`.
    pub code: Option<i64>,
    /// The monitor decision, when it differs from this one (boxed: it is rare, and a
    /// decision is moved on every call).
    pub monitor: Option<Box<MonitorDecision>>,
}

/// Appends `,"name":value` for a string that is present; `name` is written with its
/// comma and quotes (`,"tool":`).
fn str_field(out: &mut String, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        out.push_str(name);
        crate::json::write_canonical_str(value, out);
    }
}

/// Appends `,"name":value` for a number that is present (see [`str_field`]).
fn num_field(out: &mut String, name: &str, value: Option<i128>) {
    if let Some(value) = value {
        out.push_str(name);
        write_integer(value, out);
    }
}

/// Appends an integer in decimal, without going through `fmt`.
pub fn write_integer(value: i128, out: &mut String) {
    if value < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 40];
    let mut at = digits.len();
    let mut put = |digit: u8| {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + digit;
        }
    };
    let mut rest = value.unsigned_abs();
    // 128-bit division only for what does not fit 64 bits (no integer a decision holds).
    while rest > u128::from(u64::MAX) {
        put((rest % 10) as u8);
        rest /= 10;
    }
    let mut rest = rest as u64;
    loop {
        put((rest % 10) as u8);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let digits = digits.get(at..).unwrap_or_default();
    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
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
        out.push_str("{\"decision\":\"");
        out.push_str(self.decision.name());
        out.push('"');
        str_field(out, ",\"method\":", self.method.as_deref());
        str_field(out, ",\"tool\":", self.tool.as_deref());
        str_field(out, ",\"rule\":", self.rule.as_deref());
        str_field(out, ",\"message\":", self.message.as_deref());
        num_field(
            out,
            ",\"retry_after_ms\":",
            self.retry_after_ms.map(i128::from),
        );
        str_field(out, ",\"approval_id\":", self.approval_id.as_deref());
        num_field(out, ",\"expires_at\":", self.expires_at.map(i128::from));
        num_field(out, ",\"code\":", self.code.map(i128::from));
        if let Some(monitor) = &self.monitor {
            out.push_str(",\"monitor\":{\"decision\":\"");
            out.push_str(monitor.decision.name());
            out.push('"');
            str_field(out, ",\"rule\":", monitor.rule.as_deref());
            str_field(out, ",\"message\":", monitor.message.as_deref());
            num_field(
                out,
                ",\"retry_after_ms\":",
                monitor.retry_after_ms.map(i128::from),
            );
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
            tool: message.tool().map(Text::from),
            ..Decision::new_without_tool(decision, message)
        }
    }

    /// The decision for a message that failed strict parsing.
    pub fn invalid(invalid: &Invalid) -> Self {
        Decision {
            decision: Outcome::Invalid,
            method: invalid.method.clone().map(std::borrow::Cow::Owned),
            tool: invalid.tool.as_deref().map(Text::from),
            rule: None,
            message: Some(invalid.message.as_str().into()),
            retry_after_ms: None,
            approval_id: None,
            expires_at: None,
            code: Some(invalid.code),
            monitor: None,
        }
    }

    /// An allowed call's decision.
    /// A decision about a call to `tool`, whose name the policy already holds.
    fn about(decision: Outcome, message: &Message<'_>, tool: Option<&Text>) -> Self {
        Decision {
            tool: tool.cloned(),
            ..Decision::new_without_tool(decision, message)
        }
    }

    fn new_without_tool(decision: Outcome, message: &Message<'_>) -> Self {
        Decision {
            decision,
            method: message.method.clone(),
            tool: None,
            rule: None,
            message: None,
            retry_after_ms: None,
            approval_id: None,
            expires_at: None,
            code: None,
            monitor: None,
        }
    }

    /// An allowed call's decision.
    pub fn allowed(message: &Message<'_>, rule: &str) -> Self {
        Decision {
            rule: Some(rule.into()),
            ..Decision::new(Outcome::Allow, message)
        }
    }

    /// An allowed call to `tool` by `rule`, both held by the policy.
    fn allowed_by(message: &Message<'_>, tool: Option<&Text>, rule: &Text) -> Self {
        Decision {
            rule: Some(rule.clone()),
            ..Decision::about(Outcome::Allow, message, tool)
        }
    }

    /// A call to a tool that is hidden, or that the origin does not have: the agent is
    /// told it does not exist. `rule` is `None` for a tool the origin does not list.
    pub fn hidden(message: &Message<'_>, rule: Option<String>) -> Self {
        Decision {
            rule: rule.map(Text::from),
            message: Some(unknown_tool(message.tool().unwrap_or_default())),
            code: Some(mcp::INVALID_PARAMS),
            ..Decision::new(Outcome::Hidden, message)
        }
    }

    /// A call to `tool` that `rule` hides.
    fn hidden_tool(message: &Message<'_>, tool: &Text, rule: &Text) -> Self {
        Decision {
            rule: Some(rule.clone()),
            message: Some(unknown_tool(tool)),
            code: Some(mcp::INVALID_PARAMS),
            ..Decision::about(Outcome::Hidden, message, Some(tool))
        }
    }

    /// A denied call.
    pub fn denied(message: &Message<'_>, rule: &str, text: String) -> Self {
        Decision {
            rule: Some(rule.into()),
            message: Some(text.into()),
            ..Decision::new(Outcome::Deny, message)
        }
    }

    /// A call to `tool` that `rule` denies.
    fn denied_tool(message: &Message<'_>, tool: &Text, rule: &Text, text: Text) -> Self {
        Decision {
            rule: Some(rule.clone()),
            message: Some(text),
            ..Decision::about(Outcome::Deny, message, Some(tool))
        }
    }

    /// A call refused because a limit is exhausted.
    pub fn rate_limited(message: &Message<'_>, refused: &LimitRefused<'_>) -> Self {
        let limit = refused.limit;
        Decision {
            rule: Some(limit.pointer.clone()),
            message: Some(
                format!(
                    "rate limit `{}` exceeded: at most {} call{} per {}; retry in {}",
                    limit.counter,
                    limit.max,
                    if limit.max == 1 { "" } else { "s" },
                    limit.window.name(),
                    human_ms(refused.retry_after_ms),
                )
                .into(),
            ),
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
            rule: Some(rule.into()),
            message: Some(format!(
                "calling `{tool}` needs human approval: approval `{approval_id}` is pending. An operator must approve it{place}; then repeat the identical call"
            )
            .into()),
            approval_id: Some(approval_id.into()),
            expires_at: Some(expires_at),
            ..Decision::new(Outcome::ApprovalRequired, message)
        }
    }

    /// A call an operator refused.
    pub fn denied_by_operator(message: &Message<'_>, rule: &str, note: &str) -> Self {
        let tool = message.tool().unwrap_or_default();
        Decision {
            rule: Some(rule.into()),
            message: Some(if note.trim().is_empty() {
                format!("an operator denied this call to `{tool}`").into()
            } else {
                note.into()
            }),
            ..Decision::new(Outcome::Deny, message)
        }
    }

    /// This decision as the monitor part of another.
    pub fn as_monitor(&self) -> MonitorDecision {
        MonitorDecision {
            decision: self.decision,
            rule: self.rule.as_deref().map(str::to_owned),
            message: self.message.as_deref().map(str::to_owned),
            retry_after_ms: self.retry_after_ms,
        }
    }

    /// Adds `monitor` when it differs from this decision (in outcome or rule).
    pub fn with_monitor(mut self, monitor: &Decision) -> Self {
        if (monitor.decision, &monitor.rule) != (self.decision, &self.rule) {
            self.monitor = Some(Box::new(monitor.as_monitor()));
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

/// What the agent is told of a tool it may not know of.
fn unknown_tool(name: &str) -> Text {
    concat(&["Unknown tool: ", name])
}

/// Pieces of text joined (a message built on the hot path, without `fmt`).
fn concat(pieces: &[&str]) -> Text {
    written(|joined| {
        for piece in pieces {
            joined.push_str(piece);
        }
    })
}

/// The text `write` writes, built in a buffer kept for it and copied once into the text's
/// own allocation.
fn written(write: impl FnOnce(&mut String)) -> Text {
    thread_local! {
        static JOINED: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    JOINED.with_borrow_mut(|joined| {
        joined.clear();
        write(joined);
        Text::from(joined.as_str())
    })
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
        allow_rule: &'p Text,
    },
    /// The call is admitted if `limits` have room.
    Limits {
        limits: Vec<&'p Limit>,
        /// Monitored limits the monitor decision also counts, when the enforced ones admit.
        monitored: Vec<&'p Limit>,
        allow_rule: &'p Text,
    },
}

/// What the policy says about a message before any state is consulted.
#[derive(Debug, Clone)]
pub struct Verdict<'p> {
    /// What happens.
    pub enforced: Stage<'p>,
    /// What the whole policy would do, when a monitored rule makes it differ.
    pub monitor: Option<Stage<'p>>,
    /// The called tool's name, for a `tools/call`.
    pub tool: Option<Text>,
}

impl Verdict<'_> {
    fn decided(decision: Decision) -> Self {
        Verdict {
            enforced: Stage::Decided(decision),
            monitor: None,
            tool: None,
        }
    }
}

/// Why a condition could not be evaluated, put in words only when a message needs it.
enum Unevaluable<'p> {
    /// A step of the path met the wrong kind of value.
    WrongKind {
        path: &'p ArgPath,
        at: usize,
        found: Kind,
    },
    /// The path is absent.
    Absent {
        path: &'p ArgPath,
        at: usize,
    },
    /// The value is not what the op compares.
    Not {
        path: &'p ArgPath,
        found: Kind,
        wanted: &'static str,
    },
    Text(String),
}

impl Unevaluable<'_> {
    /// Appends why, for a denial's text (without `fmt`: it is written on the request
    /// path).
    fn write_text(&self, out: &mut String) {
        match self {
            Unevaluable::WrongKind { path, at, found } => {
                path.write_wrong_kind_reason(*at, *found, out)
            }
            Unevaluable::Absent { path, at } => path.write_absent_reason(*at, out),
            Unevaluable::Not {
                path,
                found,
                wanted,
            } => {
                out.push('`');
                out.push_str(path.as_str());
                out.push_str("` is ");
                out.push_str(found.described());
                out.push_str(", not ");
                out.push_str(wanted);
            }
            Unevaluable::Text(text) => out.push_str(text),
        }
    }
}

/// A condition's outcome for a present value, decided from its decoded operand alone:
/// `None` when [`Policy::test`] must compare with the operand as the policy document's
/// value (another operand, a value the operand does not settle, or a value the op
/// cannot evaluate, whose reason `test` words). `test` asks this first.
#[inline(always)]
fn quick_test(condition: &Condition, value: Node<'_>) -> Option<bool> {
    let small = || value.as_number().and_then(|n| n.as_small_integer());
    match (&condition.op, &condition.operand) {
        (Op::Exists(want), _) => Some(*want),
        (Op::Eq(_), Operand::Str(text)) => Some(value.str_eq(text)),
        (Op::Neq(_), Operand::Str(text)) => Some(!value.str_eq(text)),
        // A number written otherwise (`5.0`) is compared exactly by `Policy::test`.
        (Op::Eq(_) | Op::Neq(_), Operand::Int(n)) => {
            let equal = value.kind() == Kind::Number && small()? == *n;
            Some(equal == matches!(condition.op, Op::Eq(_)))
        }
        (Op::In(_) | Op::NotIn(_), Operand::Strs(texts)) if value.kind() == Kind::String => {
            let text = value.as_str()?;
            let found = texts
                .iter()
                .any(|t| same_bytes(t.as_bytes(), text.as_bytes()));
            Some(found == matches!(condition.op, Op::In(_)))
        }
        (Op::In(_), Operand::Strs(_)) => Some(false),
        (Op::NotIn(_), Operand::Strs(_)) => Some(true),
        (Op::Lt(_) | Op::Lte(_) | Op::Gt(_) | Op::Gte(_), Operand::Int(bound)) => {
            let order = small()?.cmp(bound);
            Some(match condition.op {
                Op::Lt(_) => order == Ordering::Less,
                Op::Lte(_) => order != Ordering::Greater,
                Op::Gt(_) => order == Ordering::Greater,
                _ => order != Ordering::Less,
            })
        }
        (Op::Regex(re), Operand::Starts(starts)) if value.kind() == Kind::String => {
            let text = value.as_str()?;
            let first = text.as_bytes().first().copied();
            Some(first.is_some_and(|b| Operand::can_start(starts, b)) && re.is_match(&text))
        }
        (Op::Regex(re), _) if value.kind() == Kind::String => Some(re.is_match(&value.as_str()?)),
        (Op::Contains(_), Operand::Str(needle)) => match value.kind() {
            Kind::String => {
                let text = value.as_str()?;
                Some(match needle.as_bytes() {
                    // One byte (`;`, `/`): a byte search, no substring searcher to set up.
                    [byte] => text.as_bytes().contains(byte),
                    _ => text.contains(&**needle),
                })
            }
            Kind::Array => Some(value.items().any(|item| item.str_eq(needle))),
            _ => None,
        },
        _ => None,
    }
}

/// How a condition over several elements (`*`) combines them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quantifier {
    /// `deny_if`: holds when it holds for any element.
    Any,
    /// `require`, `approval.if`: holds when it holds for every element.
    Every,
}

/// [`Policy::holds`] where that is quick: a path to one target whose value the decoded
/// operand settles ([`quick_test`]), or a missing key under `exists`. `None` leaves the
/// condition to `holds`: several targets, a reason to word, a comparison as written. The
/// answer fits in a register, where `holds` returns its reason through memory.
#[inline(always)]
fn holds_quickly<'d>(
    condition: &Condition,
    arguments: Node<'d>,
    lookups: &Lookups,
) -> Option<bool> {
    let path = &condition.path;
    if path.has_star() || path.first_key() == ArgPath::NO_KEY || !arguments.is_object() {
        return None;
    }
    match path.single_after_first(lookups.first(path, arguments)) {
        Target::Value(value) => quick_test(condition, value),
        Target::Absent { .. } => match condition.op {
            Op::Exists(want) => Some(!want),
            _ => None,
        },
        Target::WrongKind { .. } => None,
    }
}

impl Policy {
    /// Whether a condition holds for `arguments`, or why it cannot be evaluated: quickly
    /// when it can be ([`holds_quickly`]), else through [`Policy::holds`].
    #[inline(always)]
    fn held<'p, 'd>(
        &'p self,
        condition: &'p Condition,
        arguments: Node<'d>,
        quantifier: Quantifier,
        lookups: &Lookups,
    ) -> Result<bool, Unevaluable<'p>> {
        match holds_quickly(condition, arguments, lookups) {
            Some(held) => Ok(held),
            None => self.holds(condition, arguments, quantifier, lookups),
        }
    }

    /// Whether a condition holds for `arguments`, or why it cannot be evaluated.
    #[inline(never)]
    fn holds<'p, 'd>(
        &'p self,
        condition: &'p Condition,
        arguments: Node<'d>,
        quantifier: Quantifier,
        lookups: &Lookups,
    ) -> Result<bool, Unevaluable<'p>> {
        let path = &condition.path;
        let single = if path.has_star() {
            None
        } else if path.first_key() != ArgPath::NO_KEY && arguments.is_object() {
            Some(path.single_after_first(lookups.first(path, arguments)))
        } else {
            path.single(arguments)
        };
        if let Some(target) = single {
            // One target: "any" and "every" agree.
            return self.test(condition, target);
        }
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

    /// Whether a condition holds for one target, or why it cannot be evaluated: from the
    /// decoded operand when that settles it ([`quick_test`]), else as written.
    #[inline]
    fn test<'p>(
        &'p self,
        condition: &'p Condition,
        target: Target<'_>,
    ) -> Result<bool, Unevaluable<'p>> {
        let path = &condition.path;
        let value = match target {
            Target::WrongKind { at, found } => {
                return Err(Unevaluable::WrongKind { path, at, found })
            }
            Target::Absent { at } => {
                return match condition.op {
                    Op::Exists(want) => Ok(!want),
                    _ => Err(Unevaluable::Absent { path, at }),
                };
            }
            Target::Value(value) => value,
        };
        match quick_test(condition, value) {
            Some(held) => Ok(held),
            None => self.test_as_written(condition, value),
        }
    }

    /// [`Policy::test`] for a present value, with the operand as the policy document's
    /// value (its exact text).
    #[cold]
    #[inline(never)]
    fn test_as_written<'p>(
        &'p self,
        condition: &'p Condition,
        value: Node<'_>,
    ) -> Result<bool, Unevaluable<'p>> {
        let path = &condition.path;
        let operand = |index: u32| self.operand(index);
        let wrong = |wanted: &'static str| Unevaluable::Not {
            path,
            found: value.kind(),
            wanted,
        };
        let compare = |index: u32| -> Result<Ordering, Unevaluable<'p>> {
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
                            return Err(Unevaluable::Text(format!(
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
        let Some(name) = message.tool() else {
            return Verdict::decided(Decision::new(Outcome::Allow, message));
        };
        let plan = self.plan(name);
        let mut scan = Scan {
            tool: &plan.name,
            first: None,
            lookups: Lookups::default(),
        };
        let stopped = match self.hidden_stage(message, &plan, facts, &mut scan) {
            ControlFlow::Continue(()) => self.denied_stage(message, &plan, facts, &mut scan),
            stop => stop,
        };
        match stopped {
            ControlFlow::Break(decision) => scan.decided(decision),
            ControlFlow::Continue(()) => self.allowed_stage(message, &plan, scan),
        }
    }

    /// Step 2: `hide`, unlisted under `"default": "deny"`, unreviewed pins under `hide`.
    /// `Break` with the decision of an enforced rule that applies.
    fn hidden_stage(
        &self,
        message: &Message<'_>,
        plan: &Plan,
        facts: ToolFacts,
        scan: &mut Scan<'_>,
    ) -> ControlFlow<Decision> {
        let top = self.mode.enforced();
        let tool = scan.tool;
        if let Some(rule) = plan.hidden_by.and_then(|i| self.hide_pointers.get(i)) {
            scan.hit(Decision::hidden_tool(message, tool, rule), top)?;
        }
        if plan.entries.is_empty() && self.default == DefaultAction::Deny {
            let rule = &self.default_pointer;
            scan.hit(Decision::hidden_tool(message, tool, rule), top)?;
        }
        if let Some(pin) = self.pin {
            let unreviewed = facts.pin == PinState::New
                || (facts.pin == PinState::Changed && pin.on_change == OnChange::Hide);
            if unreviewed {
                let rule = &self.pin_pointer;
                scan.hit(Decision::hidden_tool(message, tool, rule), top)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Step 3: `action`, `deny_if` and `require` of every matching entry, then changed
    /// tools under `pin.on_change: "deny"`. The message is the entry's `on_deny`, else
    /// one written for the case.
    fn denied_stage(
        &self,
        message: &Message<'_>,
        plan: &Plan,
        facts: ToolFacts,
        scan: &mut Scan<'_>,
    ) -> ControlFlow<Decision> {
        for entry in plan.entries.iter().filter_map(|i| self.entries.get(*i)) {
            self.entry_denies(message, entry, scan)?;
        }
        let tool = scan.tool;
        if self.pin.is_some_and(|p| p.on_change == OnChange::Deny) && facts.pin == PinState::Changed
        {
            let why = format!(
                "`{tool}` has changed at the origin since it was reviewed (its definition no longer matches its pin); an operator must review and accept the change before it can be called"
            );
            let rule = &self.pin_pointer;
            let top = self.mode.enforced();
            scan.hit(Decision::denied_tool(message, tool, rule, why.into()), top)?;
        }
        ControlFlow::Continue(())
    }

    /// One entry's part of step 3.
    fn entry_denies(
        &self,
        message: &Message<'_>,
        entry: &Entry,
        scan: &mut Scan<'_>,
    ) -> ControlFlow<Decision> {
        let tool = scan.tool;
        let arguments = message.arguments();
        let enforced = entry.mode.enforced();
        let deny = |rule: &Text, why: &dyn Fn() -> Text| {
            let text = entry.on_deny.clone().unwrap_or_else(why);
            Decision::denied_tool(message, tool, rule, text)
        };
        let unevaluable = |condition: &Condition, why: &Unevaluable| {
            written(|out| {
                out.push_str("cannot evaluate `");
                out.push_str(&condition.shown);
                out.push_str("`: ");
                why.write_text(out);
            })
        };
        if entry.deny {
            let why = || concat(&["calling `", tool, "` is not allowed by policy"]);
            scan.hit(deny(entry.action_pointer(), &why), enforced)?;
        }
        // `deny_if` denies when its condition holds for any match, `require` unless it
        // holds for every one.
        let kinds: [(&[Condition], Quantifier, bool, &str); 2] = [
            (
                &entry.deny_if,
                Quantifier::Any,
                true,
                "` is not allowed when `",
            ),
            (&entry.require, Quantifier::Every, false, "` requires `"),
        ];
        for (conditions, quantifier, denies_when, says) in kinds {
            for condition in conditions {
                let why = match self.held(condition, arguments, quantifier, &scan.lookups) {
                    Ok(held) if held != denies_when => continue,
                    Ok(_) => None,
                    Err(why) => Some(why),
                };
                let why = || match &why {
                    None => concat(&["calling `", tool, says, &condition.shown, "`"]),
                    Some(why) => unevaluable(condition, why),
                };
                scan.hit(deny(&condition.pointer, &why), enforced)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Steps 4 and 5: the approval the call needs, if any, and the limits that apply
    /// after it; with the monitor decision (the first monitored rule that applied, else a
    /// monitored approval the enforced policy does not ask for).
    fn allowed_stage<'p>(
        &'p self,
        message: &Message<'_>,
        plan: &Plan,
        scan: Scan<'_>,
    ) -> Verdict<'p> {
        let arguments = message.arguments();
        let entries = || plan.entries.iter().filter_map(|i| self.entries.get(*i));
        let allow_rule = entries()
            .next()
            .map_or(&self.default_pointer, |e| e.pointer());
        let limits_at = |indexes: &[usize]| -> Vec<&'p Limit> {
            indexes.iter().filter_map(|i| self.limits.get(*i)).collect()
        };
        let (limits, monitored) = (
            limits_at(&plan.enforced_limits),
            limits_at(&plan.monitored_limits),
        );
        let approval_of = |enforced_only: bool| {
            if !plan.approval {
                return None;
            }
            entries()
                .filter(|e| !enforced_only || e.mode.enforced())
                .filter_map(|e| e.approval.as_ref())
                .filter(|a| {
                    a.conditions.iter().all(|c| {
                        self.held(c, arguments, Quantifier::Every, &scan.lookups)
                            .unwrap_or(true)
                    })
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
        let monitored_approval = |approval| Stage::Approval {
            approval,
            limits: Vec::new(),
            monitored: Vec::new(),
            allow_rule,
        };
        let monitor = match (scan.first, any_approval, enforced_approval) {
            (Some(decision), _, _) => Some(Stage::Decided(decision)),
            (None, Some(approval), None) => Some(monitored_approval(approval)),
            (None, Some(a), Some(b)) if !std::ptr::eq(a, b) => Some(monitored_approval(a)),
            _ => None,
        };
        Verdict {
            enforced,
            monitor,
            tool: Some(scan.tool.clone()),
        }
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

/// A call's way through the rules: the first rule that applied with every rule enforced
/// (the monitor decision, while no enforced rule has applied).
struct Scan<'t> {
    tool: &'t Text,
    first: Option<Decision>,
    /// The arguments' members looked up so far.
    lookups: Lookups,
}

/// The values of the arguments' first keys looked up so far in one decision: conditions
/// often share one (`args.model`, `args.limit`), and each is looked up once. Keyed by
/// [`ArgPath::first_key`]; the first few keys are kept, each value as its slot in the
/// arguments' document ([`Lookups::ABSENT`] for a missing key), so that the whole record
/// is a few words to clear.
#[derive(Default)]
struct Lookups {
    keys: [std::cell::Cell<u32>; 8],
    values: [std::cell::Cell<u32>; 8],
    kept: std::cell::Cell<usize>,
}

impl Lookups {
    /// The value kept for a key that is not there.
    const ABSENT: u32 = u32::MAX;

    /// The value of `path`'s first key in `arguments` (an object), `None` when absent.
    #[inline]
    fn first<'d>(&self, path: &ArgPath, arguments: Node<'d>) -> Option<Node<'d>> {
        let key = path.first_key();
        let kept = self.kept.get();
        let keys = self.keys.get(..kept).unwrap_or_default();
        if let Some(at) = keys.iter().position(|k| k.get() == key) {
            let index = self.values.get(at)?.get();
            return arguments.in_document(index);
        }
        let value = path.first_key_text().and_then(|text| arguments.get(text));
        if let (Some(k), Some(v)) = (self.keys.get(kept), self.values.get(kept)) {
            k.set(key);
            v.set(value.map_or(Self::ABSENT, |n| n.index()));
            self.kept.set(kept + 1);
        }
        value
    }
}

impl Scan<'_> {
    /// A rule applies: an enforced one decides (`Break`); a monitored one is remembered
    /// if it is the first.
    #[inline]
    fn hit(&mut self, decision: Decision, enforced: bool) -> ControlFlow<Decision> {
        if enforced {
            return ControlFlow::Break(decision);
        }
        if self.first.is_none() {
            self.first = Some(decision);
        }
        ControlFlow::Continue(())
    }

    /// The verdict of an enforced rule that decided, with the monitor decision if it
    /// differs.
    fn decided<'p>(self, decision: Decision) -> Verdict<'p> {
        let monitor = self.first.map(Stage::Decided);
        Verdict {
            monitor: monitor.filter(|m| !same_stage(m, &decision)),
            enforced: Stage::Decided(decision),
            tool: Some(self.tool.clone()),
        }
    }
}

/// The monitor decision of a stage that asks for approval: reported, never created.
fn monitor_approval(message: &Message<'_>, approval: &Approval) -> Decision {
    Decision {
        rule: Some(approval.pointer.clone()),
        message: Some(
            format!(
                "calling `{}` would need human approval",
                message.tool().unwrap_or_default()
            )
            .into(),
        ),
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
    /// The pin status of tools, as a gateway's catalogue knows them (the playground);
    /// empty for the command line, which knows none.
    pins: HashMap<String, PinState>,
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
            pins: HashMap::new(),
        }
    }

    /// Decides calls as a gateway that knows these pin statuses would.
    pub fn set_pins(&mut self, pins: HashMap<String, PinState>) {
        self.pins = pins;
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
            pins,
            ..
        } = self;
        let facts = match message.tool() {
            Some(tool) if !pins.is_empty() => ToolFacts {
                pin: pins.get(tool).copied().unwrap_or_default(),
            },
            _ => ToolFacts::default(),
        };
        let verdict = policy.verdict(message, facts);
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
                    let allowed = Decision::allowed_by(message, verdict.tool.as_ref(), allow_rule);
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
    let mut out = String::from("[");
    for text in [grant, tool, arguments_sha256] {
        crate::json::write_canonical_str(text, &mut out);
        out.push(',');
    }
    crate::wire::write_u64(version, &mut out);
    out.push(']');
    out
}

//! A catalogue under a policy: what the policy does to each tool before any call is
//! made. The playground shows it beside every tool.
//!
//! # Effective status
//!
//! [`status`] says what a policy does to a tool when nothing about the call's arguments,
//! grant or time is known. It follows the evaluator's order (CONTRACT §1, "Order"), and
//! the first that applies is the status:
//!
//! 1. **hidden**: `hide` matches the tool, or no key of `tools` matches it and `default`
//!    is `deny`, or pinning is on and the tool is new, or changed under
//!    `on_change: "hide"` (CONTRACT §8, `rule` is `/pin`). Every call is answered as if
//!    the tool did not exist.
//! 2. **denied**: a matching entry has `"action": "deny"`, or pinning is on and the tool
//!    changed under `on_change: "deny"` (`/pin`). Every call is denied.
//! 3. **needs_approval**: a matching entry has `approval`. Calls wait for a human: all of
//!    them, or, when `conditional` is set, those that meet the approval's `if`.
//! 4. **limited**: a matching entry of `tools` names a rate limit, or `all_tools` has
//!    one (every call of every tool counts against it). `rule` names the tool's own
//!    limit when it has one, else the first `all_tools` limit.
//! 5. **allowed**: none of the above.
//!
//! `conditional` is set when the outcome of a call also depends on its arguments: a
//! matching entry has `deny_if` or `require` conditions, or the approval has `if`
//! conditions. It is never set for `hidden` and `denied`, where arguments change nothing.
//!
//! # Monitor mode and pins
//!
//! [`status_with`] follows either the rules that are enforced ([`Rules::Enforced`]: what
//! happens) or every rule, monitored ones included ([`Rules::All`]: what the monitor
//! decision would say, CONTRACT §7), for a tool whose pin status is known
//! ([`ToolFacts`]). A monitored entry's key still lists its tools, and a monitored
//! `default` counts as `allow`, as in the evaluator. [`status`] is every rule, with no
//! pin known.
//!
//! [`catalogue`] reads each tool's `pin_status` when the tool object carries one (as the
//! gateway's `GET /admin/catalogue` answers: `pinned`, `changed` or `new`), and gives each
//! row the enforced status, plus `monitor` when every rule enforced would give another.

use super::risk::risk;
use super::tools_from_json;
use crate::eval::{PinState, ToolFacts};
use crate::policy::{Entry, Limit, Mode, OnChange, Policy, PolicyError, PolicyErrors};
use serde::Serialize;
use serde_json::{json, Value};

/// What a policy does to a tool before any call (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Hidden,
    Denied,
    NeedsApproval,
    Limited,
    Allowed,
}

/// A rate limit that applies to a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitInfo {
    pub counter: String,
    pub window: &'static str,
    pub max: u32,
    pub scope: &'static str,
    /// Where the counter is defined.
    pub rule: String,
    /// Whether the limit comes from `all_tools`.
    pub all_tools: bool,
}

/// The approval a tool's calls may need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalInfo {
    pub rule: String,
    pub ttl_ms: u64,
    /// Whether only calls meeting `if` conditions need it.
    pub conditional: bool,
}

/// A tool's effective status under a policy, with what decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolStatus {
    pub status: Status,
    /// Whether a call's arguments can change its outcome (see the module docs).
    pub conditional: bool,
    /// JSON Pointer of the rule that decides the status.
    pub rule: String,
    /// One sentence saying why.
    pub why: String,
    /// The pointers of every `tools` entry that matches the tool, in document order.
    pub entries: Vec<String>,
    /// The pointers of the `deny_if` and `require` conditions of those entries.
    pub conditions: Vec<String>,
    /// Every rate limit a call to the tool counts against.
    pub limits: Vec<LimitInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalInfo>,
    /// When only an `all_tools` limit makes the tool limited: what its own rules do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own: Option<String>,
}

fn limit_info(limit: &Limit, all_tools: bool) -> LimitInfo {
    LimitInfo {
        counter: limit.counter.clone(),
        window: limit.window.name(),
        max: limit.max,
        scope: limit.scope.name(),
        rule: limit.pointer.to_string(),
        all_tools,
    }
}

/// A pointer `/tools/<key>...` as the key written in the policy, for messages.
fn key_of(pointer: &str) -> String {
    let key = pointer
        .strip_prefix("/tools/")
        .unwrap_or(pointer)
        .split('/')
        .next()
        .unwrap_or_default();
    key.replace("~1", "/").replace("~0", "~")
}

fn human_ttl(ms: u64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms => format!("{}s", ms / 1_000),
    }
}

/// Which rules a status follows (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// Only the enforced rules: what happens.
    Enforced,
    /// Every rule, monitored ones included: what the monitor decision would say.
    All,
}

/// A tool's effective status under `policy` with every rule enforced and no pin known, by
/// the rule of the module docs.
pub fn status(policy: &Policy, tool: &str) -> ToolStatus {
    status_with(policy, tool, ToolFacts::default(), Rules::All)
}

/// The sentence for a tool that pinning hides or denies.
fn pin_why(pin: PinState, on_change: OnChange) -> String {
    match (pin, on_change) {
        (PinState::New, _) => "new at the gateway since the catalogue was pinned, and not reviewed: hidden until an operator accepts it (`pin`)".to_owned(),
        (_, OnChange::Hide) => "its definition changed at the gateway since it was reviewed: hidden until an operator accepts the change (`pin.on_change` is `hide`)".to_owned(),
        (_, OnChange::Deny) => "its definition changed at the gateway since it was reviewed: every call is denied, and tools/list shows the reviewed definition, until an operator accepts the change (`pin.on_change` is `deny`)".to_owned(),
    }
}

/// A tool's effective status under `policy`, following `rules`, for a tool whose pin
/// status is `facts.pin` (see the module docs).
pub fn status_with(policy: &Policy, tool: &str, facts: ToolFacts, rules: Rules) -> ToolStatus {
    let all = rules == Rules::All;
    let top = all || policy.mode().enforced();
    let matching = policy.matching(tool);
    // The entries whose rules apply; every matching key lists the tool all the same.
    let entries: Vec<&Entry> = matching
        .iter()
        .copied()
        .filter(|e| all || e.mode.enforced())
        .collect();
    let counts = |limit: &Limit| all || limit.mode == Mode::Enforce;
    let mut limits: Vec<LimitInfo> = Vec::new();
    let mut push_limit = |limit: &Limit, all_tools: bool| {
        if !limits.iter().any(|l| l.counter == limit.counter) {
            limits.push(limit_info(limit, all_tools));
        }
    };
    for limit in policy.all_tools_limits().filter(|l| counts(l)) {
        push_limit(limit, true);
    }
    let mut own_limit: Option<LimitInfo> = None;
    for entry in &entries {
        for index in &entry.limits {
            if let Some(limit) = policy.limits().get(*index).filter(|l| counts(l)) {
                if own_limit.is_none() {
                    own_limit = Some(limit_info(limit, false));
                }
                push_limit(limit, false);
            }
        }
    }
    let conditions: Vec<String> = entries
        .iter()
        .flat_map(|e| e.deny_if.iter().chain(e.require.iter()))
        .map(|c| c.pointer.to_string())
        .collect();
    let approval = entries
        .iter()
        .filter_map(|e| e.approval.as_ref())
        .min_by_key(|a| (!a.conditions.is_empty(), a.ttl_ms))
        .map(|a| ApprovalInfo {
            rule: a.pointer.to_string(),
            ttl_ms: a.ttl_ms,
            // Unconditional approvals sort first, so this is conditional only when
            // every approval is.
            conditional: !a.conditions.is_empty(),
        });
    let mut out = ToolStatus {
        status: Status::Allowed,
        conditional: false,
        rule: String::new(),
        why: String::new(),
        entries: matching.iter().map(|e| e.pointer().to_string()).collect(),
        conditions,
        limits,
        approval,
        own: None,
    };

    let (listed, rule) = policy.listed(tool, facts, all);
    if !listed {
        let rule = rule.unwrap_or_default();
        out.status = Status::Hidden;
        out.why = if rule == "/default" {
            "no rule matches it and `default` is `deny`, so it is hidden".to_owned()
        } else if rule == "/pin" {
            pin_why(
                facts.pin,
                policy.pin().map_or(OnChange::Hide, |p| p.on_change),
            )
        } else {
            let item = rule
                .rsplit('/')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| policy.hide().get(i))
                .map(|p| p.as_str())
                .unwrap_or_default();
            format!("hidden by `hide` item `{item}`")
        };
        out.rule = rule;
        return out;
    }
    if let Some(entry) = entries.iter().find(|e| e.deny) {
        out.status = Status::Denied;
        out.rule = format!("{}/action", entry.pointer());
        out.why = format!(
            "every call is denied by `\"action\": \"deny\"` in `{}`",
            key_of(entry.pointer())
        );
        return out;
    }
    if let Some(pin) = policy
        .pin()
        .filter(|p| top && p.on_change == OnChange::Deny)
    {
        if facts.pin == PinState::Changed {
            out.status = Status::Denied;
            out.rule = "/pin".to_owned();
            out.why = pin_why(facts.pin, pin.on_change);
            return out;
        }
    }
    let condition_note = if out.conditions.is_empty() {
        ""
    } else {
        "; conditions deny some calls"
    };
    out.conditional = !out.conditions.is_empty();
    if let Some(approval) = &out.approval {
        out.status = Status::NeedsApproval;
        out.conditional |= approval.conditional;
        out.rule = approval.rule.clone();
        out.why = format!(
            "{} a human's approval (ttl {}), set in `{}`{condition_note}",
            if approval.conditional {
                "calls that meet the approval's `if` need"
            } else {
                "every call needs"
            },
            human_ttl(approval.ttl_ms),
            key_of(&approval.rule),
        );
        return out;
    }
    let (allowed_rule, allowed_why) = match (matching.first(), entries.is_empty()) {
        (Some(entry), false) => (
            entry.pointer().to_string(),
            format!("allowed by `{}`{condition_note}", key_of(entry.pointer())),
        ),
        (Some(entry), true) => (
            entry.pointer().to_string(),
            format!(
                "listed by `{}`, whose rules are monitored (reported, not enforced)",
                key_of(entry.pointer())
            ),
        ),
        (None, _) if policy.default_action() == crate::policy::DefaultAction::Deny => (
            "/default".to_owned(),
            "no rule matches it; `default` is `deny` but monitored, so it counts as `allow`"
                .to_owned(),
        ),
        (None, _) => (
            "/default".to_owned(),
            "no rule matches it and `default` is `allow`".to_owned(),
        ),
    };
    if let Some(limit) = own_limit {
        out.status = Status::Limited;
        out.why = format!(
            "limited by counter `{}`: {} call{} per {}, per {}{condition_note}",
            limit.counter,
            limit.max,
            if limit.max == 1 { "" } else { "s" },
            limit.window,
            limit.scope,
        );
        out.rule = limit.rule;
        return out;
    }
    if let Some(limit) = out.limits.iter().find(|l| l.all_tools).cloned() {
        out.status = Status::Limited;
        out.why = format!(
            "limited by `{}`: {} per {} for all tools (counter `{}`){condition_note}",
            limit.rule, limit.max, limit.window, limit.counter,
        );
        out.rule = limit.rule;
        out.own = Some(if allowed_rule == "/default" {
            "none, and `default` is `allow`".to_owned()
        } else {
            allowed_why
        });
        return out;
    }
    out.status = Status::Allowed;
    out.rule = allowed_rule;
    out.why = allowed_why;
    out
}

/// Whether a rule that applies to `tool` is monitored: a matching entry in monitor mode,
/// or a monitored top level with a top-level rule that applies (`hide` matches the tool,
/// `default` decides it, `pin` is set and the tool is unreviewed, or `all_tools` limits).
pub fn monitored(policy: &Policy, tool: &str, facts: ToolFacts) -> bool {
    let matching = policy.matching(tool);
    if matching.iter().any(|e| !e.mode.enforced()) {
        return true;
    }
    !policy.mode().enforced()
        && (policy.hidden_by(tool).is_some()
            || matching.is_empty()
            || (policy.pin().is_some() && matches!(facts.pin, PinState::New | PinState::Changed))
            || policy.all_tools_limits().next().is_some())
}

/// What a tool's `pin_status` says (CONTRACT §8): `pinned`, `changed` or `new`; a removed
/// tool counts as pinned, as the gateway counts it. Anything else is not known.
pub fn pin_state(status: Option<&str>) -> PinState {
    match status {
        Some("pinned") | Some("removed") => PinState::Pinned,
        Some("changed") => PinState::Changed,
        Some("new") => PinState::New,
        _ => PinState::Unknown,
    }
}

/// Risk categories of a catalogue, without a policy: `{"ok":true,"tools":[{"name":...,
/// "risk":...}]}`, or `{"ok":false,"errors":[...]}` when the tools cannot be read.
pub fn risks(tools: &str) -> String {
    match tools_from_json(tools) {
        Ok(tools) => {
            let tools: Vec<Value> = tools
                .iter()
                .map(|t| json!({ "name": t.name, "risk": risk(&t.name, &t.description) }))
                .collect();
            json!({ "ok": true, "tools": tools }).to_string()
        }
        Err(errors) => json!({ "ok": false, "errors": errors }).to_string(),
    }
}

/// A catalogue under a policy: `{"ok":true,"tools":[{"name","risk","warnings","pin_status"?,
/// "monitored"?,"status","conditional","rule","why","entries","conditions","limits",
/// "approval"?,"own"?,"monitor"?,"monitor_limits"?}],"counts":{"allowed":N,...}}`, or
/// `{"ok":false,"errors":[...]}` when the policy or the tools cannot be read. Errors of the
/// tools have pointers prefixed with `tools:`.
///
/// A tool object may carry `pin_status` (`pinned`, `changed`, `new`), as the gateway's
/// `GET /admin/catalogue` answers; the row's status then applies the policy's `pin`
/// (CONTRACT §8), and the row gives it back (absent when the tool has none). The status is
/// the enforced one; `monitor` is `{"status","conditional","rule","why"}` when every rule
/// enforced, monitored ones included, gives another (CONTRACT §7). `monitored` is `true`
/// when a monitored rule applies to the tool ([`monitored`]); `monitor_limits` are the
/// limits only the monitor decision counts. `counts` tally the enforced statuses.
pub fn catalogue(policy: &str, tools: &str) -> String {
    let policy = match Policy::from_json(policy) {
        Ok(p) => p,
        Err(PolicyErrors(errors)) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let tools = match tools_from_json(tools) {
        Ok(t) => t,
        Err(errors) => {
            let errors: Vec<PolicyError> = errors
                .into_iter()
                .map(|e| PolicyError {
                    pointer: format!("tools:{}", e.pointer),
                    message: e.message,
                })
                .collect();
            return json!({ "ok": false, "errors": errors }).to_string();
        }
    };
    let mut counts = serde_json::Map::new();
    for name in ["allowed", "limited", "needs_approval", "denied", "hidden"] {
        counts.insert(name.to_owned(), json!(0));
    }
    let median = super::median_description(&tools);
    let rows: Vec<Value> = tools
        .iter()
        .map(|tool| {
            let doc = crate::json::Document::parse_answer(&tool.raw).ok();
            let warnings = doc
                .as_ref()
                .map(|doc| super::warnings(doc.root(), median))
                .unwrap_or_default();
            let pin_status = doc.as_ref().and_then(|doc| {
                doc.root()
                    .get("pin_status")
                    .and_then(|s| s.as_str())
                    .map(|s| s.into_owned())
            });
            let facts = ToolFacts {
                pin: pin_state(pin_status.as_deref()),
            };
            let enforced = status_with(&policy, &tool.name, facts, Rules::Enforced);
            let whole = status_with(&policy, &tool.name, facts, Rules::All);
            let name = match enforced.status {
                Status::Hidden => "hidden",
                Status::Denied => "denied",
                Status::NeedsApproval => "needs_approval",
                Status::Limited => "limited",
                Status::Allowed => "allowed",
            };
            if let Some(Value::Number(n)) = counts.get(name) {
                let next = n.as_u64().unwrap_or(0) + 1;
                counts.insert(name.to_owned(), json!(next));
            }
            let differs = (whole.status, &whole.rule, whole.conditional)
                != (enforced.status, &enforced.rule, enforced.conditional);
            let mut row = json!({
                "name": tool.name,
                "risk": risk(&tool.name, &tool.description),
                "warnings": warnings,
            });
            if let (Value::Object(row), Ok(Value::Object(status))) =
                (&mut row, serde_json::to_value(&enforced))
            {
                if facts.pin != PinState::Unknown {
                    row.insert("pin_status".to_owned(), json!(pin_status));
                }
                if monitored(&policy, &tool.name, facts) {
                    row.insert("monitored".to_owned(), json!(true));
                }
                let monitor_limits: Vec<&LimitInfo> = whole
                    .limits
                    .iter()
                    .filter(|w| !enforced.limits.iter().any(|e| e.counter == w.counter))
                    .collect();
                if !monitor_limits.is_empty() {
                    row.insert("monitor_limits".to_owned(), json!(monitor_limits));
                }
                row.extend(status);
                if differs {
                    row.insert(
                        "monitor".to_owned(),
                        json!({
                            "status": whole.status,
                            "conditional": whole.conditional,
                            "rule": whole.rule,
                            "why": whole.why,
                        }),
                    );
                }
            }
            row
        })
        .collect();
    json!({ "ok": true, "tools": rows, "counts": counts }).to_string()
}

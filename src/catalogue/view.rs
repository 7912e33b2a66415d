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
//!    is `deny`. Every call is answered as if the tool did not exist.
//! 2. **denied**: a matching entry has `"action": "deny"`. Every call is denied.
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

use super::risk::risk;
use super::tools_from_json;
use crate::policy::{Limit, Policy, PolicyError, PolicyErrors, Visibility};
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
        rule: limit.pointer.clone(),
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

/// A tool's effective status under `policy`, by the rule of the module docs.
pub fn status(policy: &Policy, tool: &str) -> ToolStatus {
    let entries = policy.matching(tool);
    let mut limits: Vec<LimitInfo> = Vec::new();
    let mut push_limit = |limit: &Limit, all_tools: bool| {
        if !limits.iter().any(|l| l.counter == limit.counter) {
            limits.push(limit_info(limit, all_tools));
        }
    };
    for index in &policy.all_tools_limits {
        if let Some(limit) = policy.limits().get(*index) {
            push_limit(limit, true);
        }
    }
    let mut own_limit: Option<LimitInfo> = None;
    for entry in &entries {
        for index in &entry.limits {
            if let Some(limit) = policy.limits().get(*index) {
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
        .map(|c| c.pointer.clone())
        .collect();
    let approval = entries
        .iter()
        .filter_map(|e| e.approval.as_ref())
        .min_by_key(|a| (!a.conditions.is_empty(), a.ttl_ms))
        .map(|a| ApprovalInfo {
            rule: a.pointer.clone(),
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
        entries: entries.iter().map(|e| e.pointer.clone()).collect(),
        conditions,
        limits,
        approval,
        own: None,
    };

    let (visibility, rule) = policy.visibility(tool);
    if visibility == Visibility::Hidden {
        out.status = Status::Hidden;
        out.why = if rule == "/default" {
            "no rule matches it and `default` is `deny`, so it is hidden".to_owned()
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
        out.rule = format!("{}/action", entry.pointer);
        out.why = format!(
            "every call is denied by `\"action\": \"deny\"` in `{}`",
            key_of(&entry.pointer)
        );
        return out;
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
    let (allowed_rule, allowed_why) = match entries.first() {
        Some(entry) => (
            entry.pointer.clone(),
            format!("allowed by `{}`{condition_note}", key_of(&entry.pointer)),
        ),
        None => (
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

/// A catalogue under a policy: `{"ok":true,"tools":[{"name","risk","warnings","status",
/// "conditional","rule","why","entries","conditions","limits","approval"?}],
/// "counts":{"allowed":N,...}}`, or `{"ok":false,"errors":[...]}` when the policy or the
/// tools cannot be read. Errors of the tools have pointers prefixed with `tools:`.
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
            let status = status(&policy, &tool.name);
            let warnings = crate::json::Document::parse(tool.raw.as_bytes())
                .map(|doc| super::warnings(doc.root(), median))
                .unwrap_or_default();
            let mut row = json!({
                "name": tool.name,
                "risk": risk(&tool.name, &tool.description),
                "warnings": warnings,
            });
            if let (Value::Object(row), Ok(Value::Object(status))) =
                (&mut row, serde_json::to_value(&status))
            {
                if let Some(Value::String(s)) = status.get("status") {
                    if let Some(Value::Number(n)) = counts.get(s.as_str()) {
                        let next = n.as_u64().unwrap_or(0) + 1;
                        counts.insert(s.clone(), json!(next));
                    }
                }
                row.extend(status);
            }
            row
        })
        .collect();
    json!({ "ok": true, "tools": rows, "counts": counts }).to_string()
}

//! The tool catalogue: what kind of tool each one is, and what a policy does to it
//! before any call is made. The playground shows both beside every tool.
//!
//! # Risk categories
//!
//! [`risk`] puts a tool in one of six categories by the words of its name and of its
//! description. It is a heuristic for people reading a catalogue, never an input to a
//! decision.
//!
//! The words of the name are its pieces split at `_`, `.`, `-` and lower-to-upper case
//! changes, lowercased, after dropping a server prefix that ends in `__` (`cloudflare__`,
//! `filesystem__`). The description's *lead* is its first word and its *first sentence*
//! runs to the first `. `; a leading `[server]` tag is skipped. A word matches a list entry
//! when it is the entry or the entry plus `s` (`invoices`, `deletes`). The first rule that
//! applies decides:
//!
//! 1. **Destructive**: a name word in [`DESTRUCTIVE`] (`odoo_unlink`, `memory_delete`,
//!    `cloudflare__cf_tunnel_route_remove`).
//! 2. **Execute**: a name word in [`EXECUTE`] (`odoo_execute`, `ssh_execute`,
//!    `ai_pipeline_run`, `proxy_call`, `github_api`).
//! 3. **Financial**: a name word, or a word of the description's first sentence, in
//!    [`FINANCIAL`] (`ai_usage_budget_status`, `public_access_portal_invoices`, and
//!    `odoo_fp_list`, whose description speaks of fiscal positions).
//! 4. **Write** or **Read**: the *last* name word found in [`WRITE`] or [`READ`]
//!    decides, so `telegram_auth_status` reads and `cloudflare__cf_tunnel_config_put`
//!    writes.
//! 5. When no name word is in any list, the description's lead is looked up in
//!    [`DESTRUCTIVE`], [`EXECUTE`], [`WRITE`] and [`READ`], in that order (`git_remote`:
//!    "Run git commands ..." is Execute; `odoo_connections`: "List all ..." is Read).
//! 6. **Other**: nothing matched (`open_connection_manager`).
//!
//! A destructive or executing name outranks a financial one: `ai_invoice_pipeline_run`
//! is Execute, because what it runs matters more than what it runs on.
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
//! 4. **limited**: a matching entry of `tools` names a rate limit. Limits of
//!    `all_tools` apply to every call of every tool; they are listed in `limits` but do
//!    not make a tool `limited`, or every tool would be.
//! 5. **allowed**: none of the above.
//!
//! `conditional` is set when the outcome of a call also depends on its arguments: a
//! matching entry has `deny_if` or `require` conditions, or the approval has `if`
//! conditions. It is never set for `hidden` and `denied`, where arguments change nothing.

use crate::json;
use crate::policy::{Limit, Policy, PolicyError, PolicyErrors, Visibility};
use serde::Serialize;
use serde_json::{json, Value};

/// Name words that make a tool Destructive.
pub const DESTRUCTIVE: &[&str] = &[
    "delete",
    "unlink",
    "remove",
    "drop",
    "destroy",
    "purge",
    "wipe",
    "truncate",
    "erase",
    "uninstall",
    "kill",
    "terminate",
];

/// Name words that make a tool Execute: it runs code, commands or arbitrary requests.
pub const EXECUTE: &[&str] = &[
    "execute", "exec", "run", "call", "invoke", "eval", "shell", "ssh", "command", "cmd", "script",
    "deploy", "migrate", "launch", "request", "api", "reload", "spawn", "restart",
];

/// Words that make a tool Financial: it touches money or accounting.
pub const FINANCIAL: &[&str] = &[
    "invoice",
    "payment",
    "budget",
    "billing",
    "bill",
    "tax",
    "taxes",
    "fiscal",
    "journal",
    "ledger",
    "accounting",
    "expense",
    "payroll",
    "refund",
    "salary",
    "currency",
];

/// Name words that make a tool Write: it creates or changes state.
pub const WRITE: &[&str] = &[
    "create",
    "write",
    "update",
    "send",
    "post",
    "upload",
    "set",
    "add",
    "edit",
    "move",
    "rename",
    "put",
    "patch",
    "insert",
    "import",
    "save",
    "store",
    "upsert",
    "configure",
    "connect",
    "disconnect",
    "login",
    "logout",
    "auth",
    "authenticate",
    "activate",
    "identify",
    "share",
    "pull",
    "push",
    "clone",
    "link",
    "flip",
    "translate",
    "tokenize",
    "generate",
    "gen",
    "fix",
    "refresh",
    "reply",
    "book",
    "close",
    "approve",
    "assign",
    "submit",
    "install",
    "enable",
    "disable",
    "archive",
    "merge",
    "sync",
];

/// Name words that make a tool Read: it only looks.
pub const READ: &[&str] = &[
    "search",
    "read",
    "list",
    "get",
    "count",
    "info",
    "status",
    "show",
    "view",
    "fetch",
    "download",
    "export",
    "query",
    "stats",
    "details",
    "find",
    "lookup",
    "check",
    "inspect",
    "describe",
    "discover",
    "version",
    "tree",
    "report",
    "summary",
    "browse",
    "preview",
    "scan",
    "detect",
    "compare",
    "recommend",
    "diff",
    "log",
    "history",
    "render",
    "barcode",
];

/// A tool's risk category (see the module docs for the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Read,
    Write,
    Execute,
    Destructive,
    Financial,
    Other,
}

impl Risk {
    /// The category's name in JSON: `read`, `write`, ...
    pub fn name(self) -> &'static str {
        match self {
            Risk::Read => "read",
            Risk::Write => "write",
            Risk::Execute => "execute",
            Risk::Destructive => "destructive",
            Risk::Financial => "financial",
            Risk::Other => "other",
        }
    }
}

/// Splits a name into lowercase words at `_`, `.`, `-`, other non-alphanumerics and
/// lower-to-upper case changes.
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The alphabetic words of a text, lowercased.
fn text_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn in_list(word: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|entry| word == *entry || word.strip_suffix('s') == Some(entry))
}

/// A tool's risk category, by the rule of the module docs.
pub fn risk(name: &str, description: &str) -> Risk {
    let bare = name.rsplit_once("__").map_or(name, |(_, rest)| rest);
    let words = name_words(bare);
    let description = description.trim_start();
    let description = match description.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(_, after)| after),
        None => description,
    };
    let first_sentence = description.split(". ").next().unwrap_or_default();
    let sentence_words = text_words(first_sentence);
    let lead = sentence_words
        .first()
        .map(String::as_str)
        .unwrap_or_default();

    let named = |list: &[&str]| words.iter().any(|w| in_list(w, list));
    if named(DESTRUCTIVE) {
        return Risk::Destructive;
    }
    if named(EXECUTE) {
        return Risk::Execute;
    }
    if named(FINANCIAL) || sentence_words.iter().any(|w| in_list(w, FINANCIAL)) {
        return Risk::Financial;
    }
    let last_verb = words.iter().rev().find_map(|w| {
        if in_list(w, WRITE) {
            Some(Risk::Write)
        } else if in_list(w, READ) {
            Some(Risk::Read)
        } else {
            None
        }
    });
    if let Some(risk) = last_verb {
        return risk;
    }
    [
        (DESTRUCTIVE, Risk::Destructive),
        (EXECUTE, Risk::Execute),
        (WRITE, Risk::Write),
        (READ, Risk::Read),
    ]
    .into_iter()
    .find(|(list, _)| in_list(lead, list))
    .map_or(Risk::Other, |(_, risk)| risk)
}

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
                .and_then(|i| policy.source().get("hide")?.get(i)?.as_str())
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
    out.status = Status::Allowed;
    match entries.first() {
        Some(entry) => {
            out.rule = entry.pointer.clone();
            out.why = format!("allowed by `{}`{condition_note}", key_of(&entry.pointer));
        }
        None => {
            out.rule = "/default".to_owned();
            out.why = "no rule matches it and `default` is `allow`".to_owned();
        }
    }
    out
}

/// One tool of a catalogue: its name and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub description: String,
}

/// Reads the tools of a `tools/list` response, of its `result`, or of a bare array of
/// tools. Every tool needs a string `name`; `description` is optional.
pub fn tools_from_json(text: &str) -> Result<Vec<Tool>, Vec<PolicyError>> {
    let error = |pointer: &str, message: String| {
        vec![PolicyError {
            pointer: pointer.to_owned(),
            message,
        }]
    };
    let value = json::parse(text.as_bytes())
        .map_err(|e| error(&e.pointer, format!("invalid json: {e}")))?;
    let (base, items) = match &value {
        Value::Array(items) => ("", items),
        Value::Object(_) => match (value.pointer("/result/tools"), value.pointer("/tools")) {
            (Some(Value::Array(items)), _) => ("/result/tools", items),
            (_, Some(Value::Array(items))) => ("/tools", items),
            _ => {
                return Err(error(
                    "",
                    "expected an array of tools, `{\"tools\": [...]}` or a tools/list response"
                        .to_owned(),
                ))
            }
        },
        _ => return Err(error("", "expected an array of tools".to_owned())),
    };
    let mut tools = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.get("name") {
            Some(Value::String(name)) => tools.push(Tool {
                name: name.clone(),
                description: item
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => errors.push(PolicyError {
                pointer: format!("{base}/{i}/name"),
                message: "a tool needs a string `name`".to_owned(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(tools)
    } else {
        Err(errors)
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

/// A catalogue under a policy: `{"ok":true,"tools":[{"name","risk","status",
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
    let rows: Vec<Value> = tools
        .iter()
        .map(|tool| {
            let status = status(&policy, &tool.name);
            let mut row = json!({ "name": tool.name, "risk": risk(&tool.name, &tool.description) });
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

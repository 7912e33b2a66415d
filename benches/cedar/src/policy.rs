//! The benchmark's policy, once, as a model; written out as a toolgate policy
//! (`policy.json`) and as the equivalent Cedar policy set (`policy.cedar`).
//!
//! The translation (README, "How the two policies correspond"):
//! - each tool is an action, `Action::"odoo_write"`; a toolgate key, exact or pattern, is
//!   expanded over the catalogue into the actions it matches;
//! - a key gives a `permit` on its actions (`@id("allow /tools/K")`);
//! - `hide` entries and the tools no key matches (under `"default": "deny"`) give
//!   `forbid`s whose id starts with `hidden`;
//! - `action: deny` gives an unconditional `forbid`, each `deny_if` a `forbid … when { C }`
//!   and each `require` a `forbid … unless { C }`, where `C` is built so that it
//!   **errors** exactly when toolgate cannot evaluate the condition (a missing path, a
//!   wrong type) and is otherwise true exactly when the condition holds. Cedar skips a
//!   policy whose evaluation errors; the harness reads any error in the diagnostics as a
//!   deny, which is toolgate's fail-closed rule.

use crate::catalogue::{Kind, Tool};
use serde_json::{json, Map, Value};

/// A condition operator with its operand, as toolgate spells them.
#[derive(Debug, Clone)]
pub enum Op {
    Eq(Value),
    Neq(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Lt(i64),
    Lte(i64),
    Gt(i64),
    Gte(i64),
    /// A Rust regex that is a literal with optional `^` and `$`: exactly what Cedar's
    /// `like` can express (see [`like_pattern`]).
    Regex(&'static str),
    Contains(Value),
    Exists(bool),
}

impl Op {
    /// The op's name in toolgate policies.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Eq(_) => "eq",
            Op::Neq(_) => "neq",
            Op::In(_) => "in",
            Op::NotIn(_) => "not_in",
            Op::Lt(_) => "lt",
            Op::Lte(_) => "lte",
            Op::Gt(_) => "gt",
            Op::Gte(_) => "gte",
            Op::Regex(_) => "regex",
            Op::Contains(_) => "contains",
            Op::Exists(_) => "exists",
        }
    }

    /// The label the coverage check counts: the op name, with `exists` and
    /// `exists false` apart.
    pub fn label(&self) -> &'static str {
        match self {
            Op::Exists(false) => "exists_false",
            op => op.name(),
        }
    }

    fn value(&self) -> Option<Value> {
        match self {
            Op::Eq(v) | Op::Neq(v) | Op::Contains(v) => Some(v.clone()),
            Op::In(vs) | Op::NotIn(vs) => Some(Value::Array(vs.clone())),
            Op::Lt(n) | Op::Lte(n) | Op::Gt(n) | Op::Gte(n) => Some(json!(n)),
            Op::Regex(re) => Some(json!(re)),
            Op::Exists(true) => None,
            Op::Exists(false) => Some(json!(false)),
        }
    }
}

/// Every op label the workload must exercise.
pub const OP_LABELS: [&str; 12] = [
    "eq",
    "neq",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "regex",
    "contains",
    "exists",
    "exists_false",
];

#[derive(Debug, Clone)]
pub struct Cond {
    /// `args.values.partner_id` as written in the toolgate policy.
    pub path: &'static str,
    pub op: Op,
}

impl Cond {
    /// The path's segments after `args`.
    pub fn segments(&self) -> Vec<&'static str> {
        self.path.split('.').skip(1).collect()
    }

    fn to_json(&self) -> Value {
        let mut c = Map::new();
        c.insert("path".into(), json!(self.path));
        c.insert("op".into(), json!(self.op.name()));
        if let Some(v) = self.op.value() {
            c.insert("value".into(), v);
        }
        Value::Object(c)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub key: String,
    pub action_deny: bool,
    pub deny_if: Vec<Cond>,
    pub require: Vec<Cond>,
    pub on_deny: Option<&'static str>,
}

/// The policy: `"default": "deny"`, a `hide` list and the `tools` entries in document
/// order. No limits and no approvals: Cedar has neither.
pub struct Model {
    pub hide: Vec<&'static str>,
    pub entries: Vec<Entry>,
}

/// toolgate's key matching: `*` matches any run of characters, also none.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if name.len() < first.len() + last.len() || !name.starts_with(first) || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

fn c(path: &'static str, op: Op) -> Cond {
    Cond { path, op }
}

fn strs(items: &[&str]) -> Vec<Value> {
    items.iter().map(|s| json!(s)).collect()
}

/// Hidden outright (toolgate `hide`).
const HIDE: [&str; 5] = [
    "ssh_execute",
    "odoo_web_*",
    "contabo__*",
    "telegram_auth",
    "cloudflare__cf_tunnel_*",
];

/// Catalogue tools that no key matches: hidden by `"default": "deny"`.
fn unlisted(name: &str) -> bool {
    name.starts_with("backup__")
        || matches!(
            name,
            "ai_invoice_plugins_reload" | "mcp_terminal_get_config"
        )
}

/// Tools covered by a pattern key or by `hide` that still get no exact key of their own.
fn no_exact_key(name: &str) -> bool {
    (name.starts_with("contabo__"))
        || (name.starts_with("odoo_web_") && name != "odoo_web_read")
        || (name.starts_with("ee__") && name != "ee__ee_deploy")
}

/// The conditions, by key. Every path names an argument of the tool's inputSchema, and
/// every op is used on the JSON type that schema gives it (see `cedar_condition` for why
/// `contains` must know it).
fn rules(key: &str) -> Entry {
    let mut e = Entry {
        key: key.to_owned(),
        ..Entry::default()
    };
    match key {
        // Patterns.
        "google_*" => {
            e.deny_if = vec![c("args.bcc", Op::Exists(true))];
            e.on_deny = Some("mail and calendar calls may not add blind copies");
        }
        "ee__*" => {
            e.deny_if = vec![c("args.force", Op::Exists(true))];
            e.on_deny = Some("enterprise module operations may not be forced");
        }
        "oca__*" | "cloudflare__*" => {}
        // Exact keys.
        "odoo_write" => {
            e.deny_if = vec![
                c(
                    "args.model",
                    Op::In(strs(&["res.users", "ir.config_parameter", "ir.rule"])),
                ),
                c("args.model", Op::Regex("^ir\\.")),
                c("args.values.company_id", Op::Exists(true)),
            ];
            e.require = vec![c("args.ids", Op::Exists(true))];
            e.on_deny =
                Some("writes need record ids and may not touch security models or companies");
        }
        "odoo_create" => {
            e.deny_if = vec![
                c("args.model", Op::In(strs(&["res.users", "res.groups"]))),
                c("args.values.partner_id", Op::Lt(1)),
            ];
            e.require = vec![c("args.values.id", Op::Exists(false))];
            e.on_deny = Some("records are created without an explicit id, for a real partner");
        }
        "odoo_unlink" => {
            e.deny_if = vec![c("args.ids", Op::Contains(json!(1)))];
            e.require = vec![c(
                "args.model",
                Op::NotIn(strs(&["res.users", "res.company", "account.move"])),
            )];
            e.on_deny = Some("record 1 and accounting records are never deleted");
        }
        "odoo_search_read" => {
            e.deny_if = vec![
                c("args.limit", Op::Gt(500)),
                c("args.fields", Op::Contains(json!("password"))),
            ];
        }
        "odoo_search" => e.require = vec![c("args.offset", Op::Gte(0))],
        "odoo_read" => e.deny_if = vec![c("args.fields", Op::Contains(json!("password_crypt")))],
        "odoo_execute" => {
            e.deny_if = vec![
                c("args.method", Op::Contains(json!("unlink"))),
                c("args.method", Op::Regex("^_")),
                c("args.kwargs.context.sudo", Op::Exists(true)),
            ];
            e.on_deny = Some("no private methods, no deletes, no sudo");
        }
        "odoo_message_post" => {
            e.require = vec![c("args.res_id", Op::Gt(0))];
            e.deny_if = vec![c("args.body", Op::Contains(json!("<script")))];
        }
        "odoo_connect" => {
            e.deny_if = vec![
                c("args.url", Op::Regex("^http:")),
                c("args.verify_ssl", Op::Eq(json!(false))),
            ];
            e.on_deny = Some("connections use TLS, verified");
        }
        "odoo_list_models" => e.require = vec![c("args.limit", Op::Lte(200))],
        "odoo_attachment_upload" => {
            e.deny_if = vec![c("args.filename", Op::Regex("\\.exe$"))];
        }
        "odoo_fp_configure" => e.deny_if = vec![c("args.factor_percent", Op::Gt(100))],
        "odoo_stock_initial_delete"
        | "memory_delete"
        | "cloudflare__cf_dns_delete"
        | "ee__ee_deploy" => {
            e.action_deny = true;
            e.on_deny = Some("this is done by hand, not by an agent");
        }
        "google_gmail_send" => {
            e.deny_if = vec![
                c("args.to", Op::Regex("@competitor\\.com$")),
                c("args.html", Op::Eq(json!(true))),
            ];
            e.on_deny = Some("plain-text mail, and none to competitors");
        }
        "google_calendar_create_event" => {
            e.deny_if = vec![c("args.attendees", Op::Contains(json!("ceo@example.com")))];
        }
        "telegram_send_message" => {
            e.deny_if = vec![c("args.message", Op::Contains(json!("password")))];
            e.require = vec![c("args.chat", Op::Neq(json!("me")))];
        }
        "telegram_get_dialogs" => e.require = vec![c("args.limit", Op::Lt(100))],
        "memory_write" => {
            e.deny_if = vec![c("args.filename", Op::Regex("\\.env$"))];
            e.require = vec![c("args.scope", Op::Neq(json!("shared")))];
        }
        "user_connection_delete" => {
            e.deny_if = vec![c("args.alias", Op::Regex("^production$"))];
        }
        "git_remote" => {
            e.require = vec![c(
                "args.operation",
                Op::In(strs(&["status", "pull", "log", "branch", "diff", "fetch"])),
            )];
            e.deny_if = vec![c("args.custom_command", Op::Contains(json!("rm -rf")))];
        }
        "github_api" => {
            e.deny_if = vec![
                c("args.endpoint", Op::Regex("^/admin")),
                c("args.body.private", Op::Exists(true)),
            ];
            e.require = vec![c("args.method", Op::In(strs(&["GET"])))];
        }
        "proxy_call" => e.deny_if = vec![c("args.arguments.command", Op::Exists(true))],
        "public_access_barcode" => {
            e.require = vec![
                c("args.width", Op::Gte(10)),
                c("args.height", Op::Lte(2000)),
            ];
        }
        "ai_usage_log_stats" => {
            e.require = vec![c("args.period", Op::In(strs(&["day", "week", "month"])))];
        }
        "ai_usage_log_query" => e.deny_if = vec![c("args.offset", Op::Gte(100_000))],
        "ai_pipeline_run" => {
            e.require = vec![c("args.source_id", Op::Gt(0))];
            e.deny_if = vec![c("args.extra_ctx.force", Op::Exists(true))];
        }
        // A nested path with an op other than `exists`: the workload also sends
        // `composite_fields` as a string, a number or an array (a path through the wrong
        // kind), which both engines must deny.
        "ai_pipeline_step_execute" => {
            e.deny_if = vec![c("args.composite_fields.amount", Op::Gt(10_000))];
        }
        "ai_invoice_pipeline_run" => {
            e.require = vec![c("args.tenant_tier", Op::NotIn(strs(&["starter"])))];
        }
        _ => {}
    }
    e
}

/// The four pattern keys, first in the document.
const PATTERNS: [&str; 4] = ["google_*", "ee__*", "oca__*", "cloudflare__*"];

impl Model {
    pub fn build(tools: &[Tool]) -> Result<Model, String> {
        let mut entries: Vec<Entry> = PATTERNS.iter().map(|p| rules(p)).collect();
        for tool in tools {
            if !unlisted(&tool.name) && !no_exact_key(&tool.name) {
                entries.push(rules(&tool.name));
            }
        }
        let model = Model {
            hide: HIDE.to_vec(),
            entries,
        };
        model.check(tools)?;
        Ok(model)
    }

    /// Every condition path must name an argument that every tool of its key has, with
    /// a type the op can be translated for.
    fn check(&self, tools: &[Tool]) -> Result<(), String> {
        for entry in &self.entries {
            let matched: Vec<&Tool> = tools.iter().filter(|t| glob(&entry.key, &t.name)).collect();
            if matched.is_empty() {
                return Err(format!("key `{}` matches no catalogue tool", entry.key));
            }
            for cond in entry.deny_if.iter().chain(&entry.require) {
                for tool in &matched {
                    let top = cond.segments()[0];
                    let known = tool.arg(top).is_some();
                    // Pattern keys over tools without a schema may test extra arguments.
                    if !known && !entry.key.contains('*') {
                        return Err(format!(
                            "`{}`: `{}` is not an argument of `{}`",
                            entry.key, cond.path, tool.name
                        ));
                    }
                }
                cedar_condition(cond, &matched)?;
            }
        }
        Ok(())
    }

    /// The entries whose key matches `name`, in document order.
    pub fn matching<'m>(&'m self, name: &'m str) -> impl Iterator<Item = &'m Entry> + 'm {
        self.entries.iter().filter(move |e| glob(&e.key, name))
    }

    pub fn hidden(&self, name: &str) -> bool {
        self.hide.iter().any(|h| glob(h, name))
    }

    pub fn listed(&self, name: &str) -> bool {
        self.matching(name).next().is_some()
    }

    pub fn condition_count(&self) -> usize {
        self.entries
            .iter()
            .map(|e| e.deny_if.len() + e.require.len())
            .sum()
    }

    pub fn exact_key_count(&self) -> usize {
        self.entries.iter().filter(|e| !e.key.contains('*')).count()
    }

    /// The toolgate policy.
    pub fn toolgate_json(&self) -> Value {
        let mut tools = Map::new();
        for e in &self.entries {
            let mut rule = Map::new();
            if e.action_deny {
                rule.insert("action".into(), json!("deny"));
            }
            if !e.deny_if.is_empty() {
                rule.insert(
                    "deny_if".into(),
                    e.deny_if.iter().map(Cond::to_json).collect(),
                );
            }
            if !e.require.is_empty() {
                rule.insert(
                    "require".into(),
                    e.require.iter().map(Cond::to_json).collect(),
                );
            }
            if let Some(msg) = e.on_deny {
                rule.insert("on_deny".into(), json!(msg));
            }
            tools.insert(e.key.clone(), Value::Object(rule));
        }
        json!({ "version": "1", "default": "deny", "hide": self.hide, "tools": tools })
    }

    /// The Cedar policy set, one policy per toolgate construct, each with `@id` (the
    /// toolgate rule it stands for, prefixed by its verdict), `@op` for conditions and
    /// `@on_deny` where the entry has one.
    pub fn cedar_text(&self, tools: &[Tool]) -> Result<String, String> {
        let mut out = String::from(
            "// Generated by benches/cedar (versus-cedar) from the same model as policy.json.\n\
             // Principal: Grant::\"<grant>\"; action: Action::\"<tool>\"; resource: Server::\"odoo\";\n\
             // context: { args: <the call's arguments> }.\n\n",
        );
        for (i, h) in self.hide.iter().enumerate() {
            let actions: Vec<&str> = tools
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| glob(h, n))
                .collect();
            if actions.is_empty() {
                continue;
            }
            out += &format!(
                "@id(\"hidden /hide/{i}\")\nforbid (principal, {}, resource);\n\n",
                scope(&actions)
            );
        }
        let unlisted: Vec<&str> = tools
            .iter()
            .map(|t| t.name.as_str())
            .filter(|n| !self.hidden(n) && !self.listed(n))
            .collect();
        if !unlisted.is_empty() {
            out += &format!(
                "// Tools no key matches, under \"default\": \"deny\". A tool outside the catalogue has\n\
                 // no policy at all: Cedar's own default (deny, no reason) is read as hidden too.\n\
                 @id(\"hidden /default\")\nforbid (principal, {}, resource);\n\n",
                scope(&unlisted)
            );
        }
        for e in &self.entries {
            let matched: Vec<&Tool> = tools.iter().filter(|t| glob(&e.key, &t.name)).collect();
            let names: Vec<&str> = matched.iter().map(|t| t.name.as_str()).collect();
            let scope = scope(&names);
            let pointer = format!("/tools/{}", e.key);
            let note = e
                .on_deny
                .map(|m| format!("@on_deny({})\n", cedar_string(m)))
                .unwrap_or_default();
            out += &format!("@id(\"allow {pointer}\")\npermit (principal, {scope}, resource);\n");
            if e.action_deny {
                out += &format!(
                    "@id(\"deny {pointer}/action\")\n{note}forbid (principal, {scope}, resource);\n"
                );
            }
            for (list, cedar_clause) in [(&e.deny_if, "when"), (&e.require, "unless")] {
                let name = if cedar_clause == "when" {
                    "deny_if"
                } else {
                    "require"
                };
                for (n, cond) in list.iter().enumerate() {
                    out += &format!(
                        "@id(\"deny {pointer}/{name}/{n}\")\n@op(\"{}\")\n{note}\
                         forbid (principal, {scope}, resource) {cedar_clause} {{ {} }};\n",
                        cond.op.label(),
                        cedar_condition(cond, &matched)?
                    );
                }
            }
            out.push('\n');
        }
        Ok(out)
    }
}

fn scope(actions: &[&str]) -> String {
    match actions {
        [one] => format!("action == Action::{}", cedar_string(one)),
        many => format!(
            "action in [{}]",
            many.iter()
                .map(|a| format!("Action::{}", cedar_string(a)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A Cedar string literal.
pub fn cedar_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 || c == '\u{7f}' => out += &format!("\\u{{{:x}}}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON operand as a Cedar literal: strings, integers, booleans and sets of them.
fn cedar_literal(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::String(s) => cedar_string(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i > i64::MIN => i.to_string(),
            _ => return Err(format!("{n}: Cedar has only 64-bit integers")),
        },
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(cedar_literal)
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        other => return Err(format!("{other}: no Cedar literal for this operand")),
    })
}

/// A regex that is a literal, optionally anchored with `^` and `$`, as a Cedar `like`
/// pattern (whose only wildcard is `*`; `\*` is a literal star). Anything else has no
/// exact Cedar equivalent and is refused.
pub fn like_pattern(regex: &str) -> Result<String, String> {
    let (start, body) = match regex.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, regex),
    };
    let (end, body) = match body.strip_suffix('$') {
        Some(rest) if !rest.ends_with('\\') => (true, rest),
        _ => (false, body),
    };
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some(esc) if r".^$*+?()[]{}|\/-".contains(esc) => literal.push(esc),
                _ => {
                    return Err(format!(
                        "regex `{regex}`: escape not expressible with `like`"
                    ))
                }
            },
            '.' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => {
                return Err(format!(
                    "regex `{regex}`: `{ch}` is not expressible with `like`"
                ))
            }
            c => literal.push(c),
        }
    }
    let mut pattern = String::new();
    if !start {
        pattern.push('*');
    }
    for ch in literal.chars() {
        match ch {
            '*' => pattern += "\\*",
            '"' => pattern += "\\\"",
            '\\' => pattern += "\\\\",
            c => pattern.push(c),
        }
    }
    if !end {
        pattern.push('*');
    }
    Ok(format!("\"{pattern}\""))
}

/// The condition as a Cedar expression over `context.args` that errors exactly when
/// toolgate cannot evaluate it, and otherwise is true exactly when it holds:
/// - reading a missing attribute, or an attribute of a string, number, boolean or set,
///   is an error in Cedar, as a missing path or a path through the wrong kind of value
///   is "cannot be evaluated" in toolgate;
/// - `==`, `!=` and set `.contains` compare any two values without error, and values of
///   different types are unequal (`7` ≠ `"7"`), as toolgate's `eq`, `neq`, `in`, `not_in`;
/// - `<`, `<=`, `>`, `>=` error on anything but a Long, as toolgate's on a non-number;
/// - `like` errors on anything but a string, as toolgate's `regex`;
/// - `has` is false on a missing attribute and an error on a value that is not a record,
///   so `exists` follows CONTRACT v2 (a path through the wrong kind cannot be evaluated).
///
/// `contains` is polymorphic in toolgate (substring of a string, member of an array) and
/// Cedar has no runtime type test, so the generator picks `like "*s*"` or `.contains(v)`
/// from the argument's inputSchema type, for every tool the key matches.
fn cedar_condition(cond: &Cond, tools: &[&Tool]) -> Result<String, String> {
    let segs = cond.segments();
    let mut access = String::from("context.args");
    for s in &segs {
        access += &format!("[{}]", cedar_string(s));
    }
    let has = || {
        let mut parts = Vec::new();
        let mut base = String::from("context.args");
        for s in &segs {
            parts.push(format!("{base} has {}", cedar_string(s)));
            base += &format!("[{}]", cedar_string(s));
        }
        format!("({})", parts.join(" && "))
    };
    Ok(match &cond.op {
        Op::Eq(v) => format!("{access} == {}", cedar_literal(v)?),
        Op::Neq(v) => format!("{access} != {}", cedar_literal(v)?),
        Op::In(vs) => format!(
            "{}.contains({access})",
            cedar_literal(&Value::Array(vs.clone()))?
        ),
        Op::NotIn(vs) => {
            format!(
                "!({}.contains({access}))",
                cedar_literal(&Value::Array(vs.clone()))?
            )
        }
        Op::Lt(n) => format!("{access} < {n}"),
        Op::Lte(n) => format!("{access} <= {n}"),
        Op::Gt(n) => format!("{access} > {n}"),
        Op::Gte(n) => format!("{access} >= {n}"),
        Op::Regex(re) => format!("{access} like {}", like_pattern(re)?),
        Op::Contains(v) => {
            let kinds: Vec<Option<&Kind>> = tools
                .iter()
                .map(|t| {
                    if segs.len() == 1 {
                        t.arg(segs[0]).map(|a| &a.kind)
                    } else {
                        None
                    }
                })
                .collect();
            let all = |f: fn(&Kind) -> bool| kinds.iter().all(|k| k.is_some_and(f));
            if all(|k| matches!(k, Kind::String { .. })) {
                let Value::String(s) = v else {
                    return Err(format!(
                        "`{}`: contains on a string needs a string",
                        cond.path
                    ));
                };
                let star_escaped = s
                    .replace('\\', "\\\\")
                    .replace('*', "\\*")
                    .replace('"', "\\\"");
                format!("{access} like \"*{star_escaped}*\"")
            } else if all(|k| matches!(k, Kind::Array { .. })) {
                format!("{access}.contains({})", cedar_literal(v)?)
            } else {
                return Err(format!(
                    "`{}`: contains needs one schema type (string or array) for every tool",
                    cond.path
                ));
            }
        }
        Op::Exists(true) => has(),
        Op::Exists(false) => format!("!{}", has()),
    })
}

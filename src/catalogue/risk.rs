//! Risk categories: what kind of tool each one is, by the words of its name and of its
//! description. A heuristic for people reading a catalogue, never an input to a decision.
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

use serde::Serialize;

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

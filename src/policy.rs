//! The validated policy: loading, validation with JSON Pointer errors, and matching.
//!
//! [`Policy::from_json`] is the only way to build a [`Policy`], so an invalid policy
//! cannot exist. Patterns and regexes are compiled here, once, when the policy loads;
//! evaluation ([`crate::eval`]) only reads.

pub mod spec;

use crate::json::{self, push_pointer, JsonError};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// The largest `max` a limit may have. It bounds a counter's state (see
/// [`crate::ratelimit`]).
pub const MAX_LIMIT: u32 = 1_000_000;

/// The longest tool name, and the longest key or pattern.
pub const MAX_TOOL_NAME: usize = 128;

const DEFAULT_TTL_MS: u64 = 3_600_000;

/// One problem in a policy, at its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyError {
    /// JSON Pointer of the offending value (RFC 6901).
    pub pointer: String,
    /// What is wrong, lowercase, user input in backticks.
    pub message: String,
}

impl fmt::Display for PolicyError {
    /// `POINTER: message`; an error about the whole document is just its message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// Every problem found in a policy. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// What happens to tools that no key of `tools` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultAction {
    Allow,
    Deny,
}

/// The span of a rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    Second,
    Minute,
    Hour,
    Day,
}

impl Window {
    /// The window's length in milliseconds.
    pub fn ms(self) -> u64 {
        match self {
            Window::Second => 1_000,
            Window::Minute => 60_000,
            Window::Hour => 3_600_000,
            Window::Day => 86_400_000,
        }
    }

    /// The name used in policies.
    pub fn name(self) -> &'static str {
        match self {
            Window::Second => "second",
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }
}

/// Who shares a counter's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Grant,
    Session,
    Global,
}

impl Scope {
    /// The name used in policies.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Grant => "grant",
            Scope::Session => "session",
            Scope::Global => "global",
        }
    }
}

/// A validated rate limit, with the pointer of the place that defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Where the limit is written (`/tools/odoo_write/limits/0`).
    pub pointer: String,
    /// The counter's name, shared by every limit that names it.
    pub counter: String,
    pub window: Window,
    pub max: u32,
    pub scope: Scope,
}

/// A compiled tool pattern: an exact name or a `*` glob.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    /// The literal pieces between `*`s; one piece means an exact name.
    parts: Vec<String>,
}

impl Pattern {
    fn new(text: &str) -> Self {
        Pattern {
            text: text.to_owned(),
            parts: text.split('*').map(str::to_owned).collect(),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern contains `*`.
    pub fn is_glob(&self) -> bool {
        self.parts.len() > 1
    }

    /// Whether `name` matches: `*` matches any run of characters, even an empty one.
    pub fn matches(&self, name: &str) -> bool {
        let (Some(first), Some(last)) = (self.parts.first(), self.parts.last()) else {
            return false;
        };
        if self.parts.len() == 1 {
            return name == first;
        }
        if name.len() < first.len() + last.len()
            || !name.starts_with(first.as_str())
            || !name.ends_with(last.as_str())
        {
            return false;
        }
        let mut rest = name
            .get(first.len()..name.len() - last.len())
            .unwrap_or_default();
        for part in self.parts.get(1..self.parts.len() - 1).unwrap_or_default() {
            match rest.find(part.as_str()) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// A path into the call: `args` then keys or indexes.
#[derive(Debug, Clone)]
pub struct ArgPath {
    text: String,
    segments: Vec<String>,
}

impl ArgPath {
    /// The path as written (`args.lines.0.amount`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `arguments`, if there is one. A segment reads an object
    /// key, or an array index when the value there is an array.
    pub fn resolve<'v>(&self, arguments: &'v Value) -> Option<&'v Value> {
        self.segments
            .iter()
            .try_fold(arguments, |value, segment| match value {
                Value::Object(map) => map.get(segment),
                Value::Array(items) => segment
                    .parse::<usize>()
                    .ok()
                    .filter(|_| segment == "0" || !segment.starts_with('0'))
                    .and_then(|i| items.get(i)),
                _ => None,
            })
    }
}

/// A compiled condition operator with its operand.
#[derive(Debug, Clone)]
pub enum Op {
    Eq(Value),
    Neq(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Lt(serde_json::Number),
    Lte(serde_json::Number),
    Gt(serde_json::Number),
    Gte(serde_json::Number),
    Regex(Regex),
    Contains(Value),
    Exists(bool),
}

impl Op {
    /// The op's name in policies.
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
}

/// A validated condition.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Where the condition is written (`/tools/odoo_write/deny_if/0`).
    pub pointer: String,
    pub path: ArgPath,
    pub op: Op,
    /// The operand as written, for messages.
    pub value_text: Option<String>,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.path.as_str(), self.op.name())?;
        if let Some(v) = &self.value_text {
            write!(f, " {v}")?;
        }
        Ok(())
    }
}

/// A validated approval requirement.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Where it is written (`/tools/x/approval`).
    pub pointer: String,
    /// Approval is needed when all of these hold (always, when empty).
    pub conditions: Vec<Condition>,
    /// How long pending and approved approvals live.
    pub ttl_ms: u64,
}

/// One key of `tools`, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `/tools/<key>`.
    pub pointer: String,
    pub pattern: Pattern,
    pub deny: bool,
    pub deny_if: Vec<Condition>,
    pub require: Vec<Condition>,
    /// Indexes into [`Policy::limits`].
    pub limits: Vec<usize>,
    pub approval: Option<Approval>,
    pub on_deny: Option<String>,
}

/// A validated policy. Build it with [`Policy::from_json`].
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) default: DefaultAction,
    hide_exact: HashMap<String, usize>,
    hide_globs: Vec<(usize, Pattern)>,
    /// Indexes into `limits`.
    pub(crate) all_tools_limits: Vec<usize>,
    pub(crate) entries: Vec<Entry>,
    exact: HashMap<String, usize>,
    globs: Vec<usize>,
    /// Every limit of the policy, one per place that writes one. All the limits on one
    /// counter agree (the loader checks), and a call counts each counter once.
    pub(crate) limits: Vec<Limit>,
    /// The policy as written.
    source: Value,
}

/// How a policy ranks a tool before any call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Removed from `tools/list`; `rule` is `/hide/N` or `/default`.
    Hidden,
    /// Listed (a key matches, or `default` is `allow`).
    Listed,
}

impl Policy {
    /// Parses and validates a policy. On failure, returns every problem found, each at
    /// its JSON Pointer.
    pub fn from_json(text: &str) -> Result<Policy, PolicyErrors> {
        let value = json::parse(text.as_bytes()).map_err(|e| PolicyErrors(vec![json_error(&e)]))?;
        Policy::from_value(value)
    }

    /// Validates an already parsed policy document.
    pub fn from_value(value: Value) -> Result<Policy, PolicyErrors> {
        let mut loader = Loader::default();
        let policy = loader.policy(&value);
        match policy {
            Some(mut policy) if loader.errors.is_empty() => {
                policy.source = value;
                Ok(policy)
            }
            _ => Err(PolicyErrors(loader.errors)),
        }
    }

    /// The policy document as written.
    pub fn source(&self) -> &Value {
        &self.source
    }

    /// The `default` field.
    pub fn default_action(&self) -> DefaultAction {
        self.default
    }

    /// Every limit, one per place in the policy that writes one.
    pub fn limits(&self) -> &[Limit] {
        &self.limits
    }

    /// The number of distinct counters.
    pub fn counters(&self) -> usize {
        let mut names: Vec<&str> = self.limits.iter().map(|l| l.counter.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    /// The keys of `tools`, in document order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The pointer of the `hide` item that hides `tool`, if any (the first one in order).
    pub fn hidden_by(&self, tool: &str) -> Option<String> {
        let exact = self.hide_exact.get(tool).copied();
        let glob = self
            .hide_globs
            .iter()
            .find(|(_, p)| p.matches(tool))
            .map(|(i, _)| *i);
        let index = match (exact, glob) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(format!("/hide/{index}"))
    }

    /// The entries whose key matches `tool`, in document order.
    pub fn matching(&self, tool: &str) -> Vec<&Entry> {
        let mut found: Vec<usize> = self
            .globs
            .iter()
            .copied()
            .filter(|i| {
                self.entries
                    .get(*i)
                    .is_some_and(|e| e.pattern.matches(tool))
            })
            .collect();
        if let Some(i) = self.exact.get(tool) {
            found.push(*i);
            found.sort_unstable();
        }
        found.iter().filter_map(|i| self.entries.get(*i)).collect()
    }

    /// Whether `tool` is hidden, and the pointer of the rule that decides it.
    pub fn visibility(&self, tool: &str) -> (Visibility, String) {
        if let Some(rule) = self.hidden_by(tool) {
            return (Visibility::Hidden, rule);
        }
        match self.matching(tool).first() {
            Some(entry) => (Visibility::Listed, entry.pointer.clone()),
            None if self.default == DefaultAction::Deny => {
                (Visibility::Hidden, "/default".to_owned())
            }
            None => (Visibility::Listed, "/default".to_owned()),
        }
    }

    /// A one-line summary for `toolgate check`.
    pub fn summary(&self) -> String {
        let globs = self.globs.len();
        format!(
            "ok: default {}, {} tool rule{} ({} pattern{}), {} hide entr{}, {} counter{}",
            match self.default {
                DefaultAction::Allow => "allow",
                DefaultAction::Deny => "deny",
            },
            self.entries.len(),
            plural(self.entries.len()),
            globs,
            plural(globs),
            self.hide_exact.len() + self.hide_globs.len(),
            if self.hide_exact.len() + self.hide_globs.len() == 1 {
                "y"
            } else {
                "ies"
            },
            self.counters(),
            plural(self.counters()),
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A JSON syntax error in a policy, as a policy error.
fn json_error(e: &JsonError) -> PolicyError {
    PolicyError {
        pointer: e.pointer.clone(),
        message: format!("invalid json: {e}"),
    }
}

/// Whether `name` is a valid tool name: `[A-Za-z0-9_.-]{1,128}`.
pub fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOOL_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

/// Walks a policy document, collecting every error.
#[derive(Default)]
struct Loader {
    errors: Vec<PolicyError>,
    /// Counter name → index into `limits`.
    counters: HashMap<String, usize>,
    limits: Vec<Limit>,
}

impl Loader {
    fn error(&mut self, pointer: &str, message: impl Into<String>) {
        self.errors.push(PolicyError {
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    /// Checks that `value` is an object with only `fields`, and that `required` are there.
    fn object<'v>(
        &mut self,
        value: &'v Value,
        pointer: &str,
        fields: &[&str],
        required: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Value::Object(map) = value else {
            self.error(
                pointer,
                format!("expected an object, found {}", describe(value)),
            );
            return None;
        };
        for key in map.keys() {
            if !fields.contains(&key.as_str()) {
                self.error(
                    &push_pointer(pointer, key),
                    format!("unknown field `{key}`, expected {}", one_of(fields)),
                );
            }
        }
        for field in required {
            if !map.contains_key(*field) {
                self.error(
                    &push_pointer(pointer, field),
                    format!("missing field `{field}`"),
                );
            }
        }
        Some(map)
    }

    fn array<'v>(&mut self, value: &'v Value, pointer: &str) -> Option<&'v Vec<Value>> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.error(
                    pointer,
                    format!("expected an array, found {}", describe(other)),
                );
                None
            }
        }
    }

    fn keyword<T: Copy>(
        &mut self,
        value: &Value,
        pointer: &str,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        match value {
            Value::String(s) => match choices.iter().find(|(n, _)| n == s) {
                Some((_, v)) => Some(*v),
                None => {
                    self.error(
                        pointer,
                        format!("unknown {what} `{s}`, expected {}", one_of(&names)),
                    );
                    None
                }
            },
            other => {
                self.error(
                    pointer,
                    format!("expected {}, found {}", one_of(&names), describe(other)),
                );
                None
            }
        }
    }

    fn policy(&mut self, value: &Value) -> Option<Policy> {
        let map = self.object(
            value,
            "",
            &["version", "default", "hide", "all_tools", "tools"],
            &["version", "default"],
        )?;
        if let Some(version) = map.get("version") {
            if version != &Value::String("1".to_owned()) {
                let shown = match version {
                    Value::String(s) => format!("`{s}`"),
                    other => format!("`{other}`"),
                };
                self.error(
                    "/version",
                    format!("unsupported version {shown}, expected `\"1\"`"),
                );
            }
        }
        let default = map.get("default").and_then(|v| {
            self.keyword(
                v,
                "/default",
                "default",
                &[
                    ("allow", DefaultAction::Allow),
                    ("deny", DefaultAction::Deny),
                ],
            )
        });

        let mut hide_exact = HashMap::new();
        let mut hide_globs = Vec::new();
        if let Some(items) = map.get("hide").and_then(|v| self.array(v, "/hide")) {
            for (i, item) in items.iter().enumerate() {
                let pointer = format!("/hide/{i}");
                if let Some(pattern) = self.pattern(item, &pointer) {
                    if pattern.is_glob() {
                        hide_globs.push((i, pattern));
                    } else {
                        hide_exact.entry(pattern.text).or_insert(i);
                    }
                }
            }
        }

        let mut all_tools_limits = Vec::new();
        if let Some(all) = map.get("all_tools") {
            if let Some(all) = self.object(all, "/all_tools", &["limits"], &[]) {
                if let Some(limits) = all.get("limits") {
                    all_tools_limits = self.limits(limits, "/all_tools/limits");
                }
            }
        }

        let mut entries = Vec::new();
        let mut exact = HashMap::new();
        let mut globs = Vec::new();
        if let Some(tools) = map.get("tools") {
            if let Value::Object(tools) = tools {
                for (key, rule) in tools {
                    let pointer = push_pointer("/tools", key);
                    let pattern = self.key_pattern(key, &pointer);
                    let entry = self.entry(rule, &pointer, pattern);
                    if let Some(entry) = entry {
                        if entry.pattern.is_glob() {
                            globs.push(entries.len());
                        } else {
                            exact.insert(key.clone(), entries.len());
                        }
                        entries.push(entry);
                    }
                }
            } else {
                self.error(
                    "/tools",
                    format!("expected an object, found {}", describe(tools)),
                );
            }
        }

        Some(Policy {
            default: default?,
            hide_exact,
            hide_globs,
            all_tools_limits,
            entries,
            exact,
            globs,
            limits: std::mem::take(&mut self.limits),
            source: Value::Null,
        })
    }

    fn check_pattern_text(&mut self, text: &str, pointer: &str) -> bool {
        if text.is_empty() {
            self.error(pointer, "tool name or pattern must not be empty");
            return false;
        }
        if text.len() > MAX_TOOL_NAME {
            self.error(
                pointer,
                format!("tool name or pattern is longer than {MAX_TOOL_NAME} characters"),
            );
            return false;
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*')))
        {
            self.error(
                pointer,
                format!(
                    "`{text}` can never match a tool: `{bad}` is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`"
                ),
            );
            return false;
        }
        true
    }

    fn pattern(&mut self, value: &Value, pointer: &str) -> Option<Pattern> {
        match value {
            Value::String(text) => self
                .check_pattern_text(text, pointer)
                .then(|| Pattern::new(text)),
            other => {
                self.error(
                    pointer,
                    format!("expected a tool name or pattern, found {}", describe(other)),
                );
                None
            }
        }
    }

    fn key_pattern(&mut self, key: &str, pointer: &str) -> Option<Pattern> {
        self.check_pattern_text(key, pointer)
            .then(|| Pattern::new(key))
    }

    fn entry(&mut self, value: &Value, pointer: &str, pattern: Option<Pattern>) -> Option<Entry> {
        let map = self.object(
            value,
            pointer,
            &[
                "action", "deny_if", "require", "limits", "approval", "on_deny",
            ],
            &[],
        )?;
        let deny = match map.get("action") {
            Some(v) => self
                .keyword(
                    v,
                    &push_pointer(pointer, "action"),
                    "action",
                    &[("allow", false), ("deny", true)],
                )
                .unwrap_or(true),
            None => false,
        };
        let deny_if = map
            .get("deny_if")
            .map(|v| self.conditions(v, &push_pointer(pointer, "deny_if")))
            .unwrap_or_default();
        let require = map
            .get("require")
            .map(|v| self.conditions(v, &push_pointer(pointer, "require")))
            .unwrap_or_default();
        let limits = map
            .get("limits")
            .map(|v| self.limits(v, &push_pointer(pointer, "limits")))
            .unwrap_or_default();
        let approval = map
            .get("approval")
            .and_then(|v| self.approval(v, &push_pointer(pointer, "approval")));
        let on_deny = match map.get("on_deny") {
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.error(
                    &push_pointer(pointer, "on_deny"),
                    "on_deny must not be empty",
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(
                    &push_pointer(pointer, "on_deny"),
                    format!("expected a string, found {}", describe(other)),
                );
                None
            }
            None => None,
        };
        Some(Entry {
            pointer: pointer.to_owned(),
            pattern: pattern?,
            deny,
            deny_if,
            require,
            limits,
            approval,
            on_deny,
        })
    }

    fn approval(&mut self, value: &Value, pointer: &str) -> Option<Approval> {
        let map = self.object(value, pointer, &["if", "ttl"], &[])?;
        let conditions = map
            .get("if")
            .map(|v| self.conditions(v, &push_pointer(pointer, "if")))
            .unwrap_or_default();
        let ttl_ms = match map.get("ttl") {
            None => Some(DEFAULT_TTL_MS),
            Some(v) => self.duration(v, &push_pointer(pointer, "ttl")),
        };
        Some(Approval {
            pointer: pointer.to_owned(),
            conditions,
            ttl_ms: ttl_ms?,
        })
    }

    fn duration(&mut self, value: &Value, pointer: &str) -> Option<u64> {
        let Value::String(text) = value else {
            self.error(
                pointer,
                format!(
                    "expected a duration such as `15m`, found {}",
                    describe(value)
                ),
            );
            return None;
        };
        let parsed = text.char_indices().last().and_then(|(at, unit)| {
            let unit_ms = match unit {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                _ => return None,
            };
            let digits = text.get(..at)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u64>().ok()?.checked_mul(unit_ms)
        });
        match parsed {
            Some(0) => {
                self.error(pointer, "ttl must be greater than zero");
                None
            }
            Some(ms) => Some(ms),
            None => {
                self.error(
                    pointer,
                    format!(
                        "invalid duration `{text}`, expected a number and a unit: `30s`, `15m`, `1h` or `1d`"
                    ),
                );
                None
            }
        }
    }

    fn conditions(&mut self, value: &Value, pointer: &str) -> Vec<Condition> {
        let Some(items) = self.array(value, pointer) else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.condition(item, &format!("{pointer}/{i}")))
            .collect()
    }

    fn condition(&mut self, value: &Value, pointer: &str) -> Option<Condition> {
        let map = self.object(value, pointer, &["path", "op", "value"], &["path", "op"])?;
        let path = map
            .get("path")
            .and_then(|p| self.arg_path(p, &push_pointer(pointer, "path")));
        let op_pointer = push_pointer(pointer, "op");
        let op_name = map.get("op").and_then(|op| {
            self.keyword(
                op,
                &op_pointer,
                "op",
                &[
                    ("eq", "eq"),
                    ("neq", "neq"),
                    ("in", "in"),
                    ("not_in", "not_in"),
                    ("lt", "lt"),
                    ("lte", "lte"),
                    ("gt", "gt"),
                    ("gte", "gte"),
                    ("regex", "regex"),
                    ("contains", "contains"),
                    ("exists", "exists"),
                ],
            )
        });
        let value_pointer = push_pointer(pointer, "value");
        let operand = map.get("value");
        let op = op_name.and_then(|name| self.op(name, operand, &value_pointer));
        Some(Condition {
            pointer: pointer.to_owned(),
            path: path?,
            op: op?,
            value_text: operand.map(Value::to_string),
        })
    }

    fn op(&mut self, name: &str, operand: Option<&Value>, value_pointer: &str) -> Option<Op> {
        if name == "exists" {
            return match operand {
                None => Some(Op::Exists(true)),
                Some(Value::Bool(b)) => Some(Op::Exists(*b)),
                Some(other) => {
                    self.error(
                        value_pointer,
                        format!(
                            "op `exists` takes no value, or `true` or `false`, found {}",
                            describe(other)
                        ),
                    );
                    None
                }
            };
        }
        let Some(operand) = operand else {
            self.error(value_pointer, format!("op `{name}` needs a `value`"));
            return None;
        };
        let wrong = |loader: &mut Loader, wanted: &str| {
            loader.error(
                value_pointer,
                format!(
                    "op `{name}` needs {wanted} value, found {}",
                    describe(operand)
                ),
            );
            None
        };
        match (name, operand) {
            ("eq", v) => Some(Op::Eq(v.clone())),
            ("neq", v) => Some(Op::Neq(v.clone())),
            ("in", Value::Array(items)) => Some(Op::In(items.clone())),
            ("not_in", Value::Array(items)) => Some(Op::NotIn(items.clone())),
            ("in" | "not_in", _) => wrong(self, "an array"),
            ("lt", Value::Number(n)) => Some(Op::Lt(n.clone())),
            ("lte", Value::Number(n)) => Some(Op::Lte(n.clone())),
            ("gt", Value::Number(n)) => Some(Op::Gt(n.clone())),
            ("gte", Value::Number(n)) => Some(Op::Gte(n.clone())),
            ("lt" | "lte" | "gt" | "gte", _) => wrong(self, "a number"),
            ("regex", Value::String(source)) => {
                match regex::RegexBuilder::new(source).size_limit(1 << 20).build() {
                    Ok(re) => Some(Op::Regex(re)),
                    Err(e) => {
                        let reason = e.to_string();
                        let reason = reason
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("invalid")
                            .trim()
                            .trim_start_matches("error: ")
                            .to_owned();
                        self.error(value_pointer, format!("invalid regex `{source}`: {reason}"));
                        None
                    }
                }
            }
            ("regex", _) => wrong(self, "a string"),
            ("contains", v) => Some(Op::Contains(v.clone())),
            _ => None,
        }
    }

    fn arg_path(&mut self, value: &Value, pointer: &str) -> Option<ArgPath> {
        let Value::String(text) = value else {
            self.error(
                pointer,
                format!(
                    "expected a path such as `args.model`, found {}",
                    describe(value)
                ),
            );
            return None;
        };
        let mut segments = text.split('.');
        if segments.next() != Some("args") || !text.starts_with("args.") {
            self.error(pointer, format!("path `{text}` must start with `args.`"));
            return None;
        }
        let segments: Vec<String> = segments.map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            self.error(pointer, format!("path `{text}` has an empty segment"));
            return None;
        }
        Some(ArgPath {
            text: text.clone(),
            segments,
        })
    }

    fn limits(&mut self, value: &Value, pointer: &str) -> Vec<usize> {
        let Some(items) = self.array(value, pointer) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(index) = self.limit(item, &format!("{pointer}/{i}")) {
                if !out.contains(&index) {
                    out.push(index);
                }
            }
        }
        out
    }

    /// Validates one limit and returns the index of its counter's definition.
    fn limit(&mut self, value: &Value, pointer: &str) -> Option<usize> {
        let map = self.object(
            value,
            pointer,
            &["counter", "window", "max", "scope"],
            &["counter", "window", "max"],
        )?;
        let counter = match map.get("counter") {
            Some(Value::String(s)) if s.is_empty() => {
                self.error(
                    &push_pointer(pointer, "counter"),
                    "counter must not be empty",
                );
                None
            }
            Some(Value::String(s)) if s.chars().count() > 128 => {
                self.error(
                    &push_pointer(pointer, "counter"),
                    "counter is longer than 128 characters",
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(
                    &push_pointer(pointer, "counter"),
                    format!("expected a counter name, found {}", describe(other)),
                );
                None
            }
            None => None,
        };
        let window = map.get("window").and_then(|v| {
            self.keyword(
                v,
                &push_pointer(pointer, "window"),
                "window",
                &[
                    ("second", Window::Second),
                    ("minute", Window::Minute),
                    ("hour", Window::Hour),
                    ("day", Window::Day),
                ],
            )
        });
        let max = map
            .get("max")
            .and_then(|v| self.max(v, &push_pointer(pointer, "max")));
        let scope = match map.get("scope") {
            None => Some(Scope::Grant),
            Some(v) => self.keyword(
                v,
                &push_pointer(pointer, "scope"),
                "scope",
                &[
                    ("grant", Scope::Grant),
                    ("session", Scope::Session),
                    ("global", Scope::Global),
                ],
            ),
        };
        let limit = Limit {
            pointer: pointer.to_owned(),
            counter: counter?,
            window: window?,
            max: max?,
            scope: scope?,
        };
        if let Some(&index) = self.counters.get(&limit.counter) {
            let first = self.limits.get(index)?.clone();
            if (first.window, first.max, first.scope) != (limit.window, limit.max, limit.scope) {
                self.error(
                    pointer,
                    format!(
                        "counter `{}` is already defined at {} with window `{}`, max {} and scope `{}`; every limit on one counter must agree",
                        first.counter,
                        first.pointer,
                        first.window.name(),
                        first.max,
                        first.scope.name()
                    ),
                );
                return None;
            }
        } else {
            self.counters
                .insert(limit.counter.clone(), self.limits.len());
        }
        self.limits.push(limit);
        Some(self.limits.len() - 1)
    }

    fn max(&mut self, value: &Value, pointer: &str) -> Option<u32> {
        let Value::Number(n) = value else {
            self.error(
                pointer,
                format!("max must be an integer, found {}", describe(value)),
            );
            return None;
        };
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if i < 1 => {
                self.error(pointer, "max must be at least 1");
                None
            }
            (_, Some(u)) if u > u64::from(MAX_LIMIT) => {
                self.error(pointer, format!("max must be at most {MAX_LIMIT}"));
                None
            }
            (_, Some(u)) => u32::try_from(u).ok(),
            _ => {
                self.error(pointer, format!("max must be an integer, found `{n}`"));
                None
            }
        }
    }
}

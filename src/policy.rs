//! The validated policy: loading, validation with JSON Pointer errors, and matching.
//!
//! [`Policy::from_json`] is the only way to build a [`Policy`], so an invalid policy
//! cannot exist. Patterns, paths and regexes are compiled here, once, when the policy
//! loads, and so is a *plan* per exact tool key (the entries that match it, whether it is
//! hidden); evaluation ([`crate::eval`]) only reads.

pub mod path;
pub mod spec;

use crate::json::{index_pointer, push_pointer, write_pointer, Document, JsonError, Kind, Node};
use regex_lite::Regex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

pub use path::{ArgPath, Segment};

/// The largest `max` a limit may have. It bounds a counter's state (see
/// [`crate::ratelimit`]).
pub const MAX_LIMIT: u32 = 1_000_000;

/// The longest tool name, and the longest key or pattern.
pub const MAX_TOOL_NAME: usize = 128;

/// The longest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

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

/// Whether a rule is applied or only reported (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Monitor,
}

impl Mode {
    /// Whether rules in this mode are applied.
    pub fn enforced(self) -> bool {
        self == Mode::Enforce
    }
}

/// What happens to a tool whose definition changed since it was pinned (CONTRACT §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChange {
    /// Removed from `tools/list`; a call gets the hidden answer.
    Hide,
    /// Listed with its pinned definition; a call is denied.
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
    /// Where the limit is written (`/tools/odoo_write/limits/0`, `/tools/x/rate_limit`).
    pub pointer: Text,
    /// The counter's name, shared by every limit that names it.
    pub counter: String,
    pub window: Window,
    pub max: u32,
    pub scope: Scope,
    /// The mode of the place that writes it.
    pub mode: Mode,
}

/// A compiled tool pattern: an exact name or a `*` glob.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written; shared with the plans of the name (an exact key's).
    text: Text,
    /// The literal pieces between `*`s; none for an exact name.
    parts: Vec<String>,
}

impl Pattern {
    fn new(text: &str) -> Self {
        Pattern {
            text: text.into(),
            parts: if crate::json::find_any(text.as_bytes(), [b'*']).is_some() {
                text.split('*').map(str::to_owned).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The byte every name a glob matches starts with; `None` when it starts with `*`
    /// (or is an exact name).
    fn first_byte(&self) -> Option<u8> {
        self.parts.first()?.as_bytes().first().copied()
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
            return name == &*self.text;
        };
        // Pieces of up to 16 bytes compare as words.
        let bytes = name.as_bytes();
        let (first, last) = (first.as_bytes(), last.as_bytes());
        if name.len() < first.len() + last.len()
            || !bytes
                .get(..first.len())
                .is_some_and(|head| crate::json::same_bytes(head, first))
            || !bytes
                .get(name.len() - last.len()..)
                .is_some_and(|tail| crate::json::same_bytes(tail, last))
        {
            return false;
        }
        if self.parts.len() == 2 {
            return true;
        }
        let mut rest = name
            .get(first.len()..name.len() - last.len())
            .unwrap_or_default();
        for part in self.parts.get(1..self.parts.len() - 1).unwrap_or_default() {
            match find(rest.as_bytes(), part.as_bytes()) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// Where `needle` first occurs in `haystack`: names and their pieces are short, so each
/// place is compared directly (no searcher to set up), by its first two bytes first.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match *needle {
        [] => Some(0),
        [only] => haystack.iter().position(|&b| b == only),
        [a, b, ..] => {
            let head = u16::from_le_bytes([a, b]);
            haystack.windows(needle.len()).position(|w| {
                w.first_chunk::<2>().map(|h| u16::from_le_bytes(*h)) == Some(head)
                    && crate::json::same_bytes(w, needle)
            })
        }
    }
}

/// A compiled condition operator. Operands are values of the policy document
/// ([`Policy::operand`]), so they keep their exact text.
#[derive(Debug, Clone)]
pub enum Op {
    Eq(u32),
    Neq(u32),
    In(u32),
    NotIn(u32),
    Lt(u32),
    Lte(u32),
    Gt(u32),
    Gte(u32),
    Regex(Regex),
    Contains(u32),
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
    pub pointer: Text,
    pub path: ArgPath,
    pub op: Op,
    /// The operand decoded at load, when it is of a kind the evaluator compares directly.
    pub operand: Operand,
    /// The operand as written, for messages.
    pub value_text: Option<String>,
    /// The condition as messages show it: `args.model in ["res.users"]`.
    pub shown: Text,
}

/// A condition's operand decoded at load, for the comparisons calls make most: with a
/// string, a short integer, or a list of strings. Every other operand is compared as the
/// policy document's value ([`Policy::operand`]); so is a called value these do not
/// settle (a number such as `1.0` against `Int(1)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Operand {
    /// Compared as the document's value.
    #[default]
    Node,
    /// A string, decoded.
    Str(Box<str>),
    /// A number written as an integer of at most 18 digits.
    Int(i64),
    /// An array of strings only, decoded.
    Strs(Box<[Box<str>]>),
    /// For a `regex` anchored at the start whose first atom is a literal: the bytes a
    /// matching string can start with (a bit each), so that most strings are turned
    /// away without running the regex.
    Starts([u64; 4]),
}

/// The bytes a match of `source` must start with, when that is plain to see: the regex
/// starts with `^` and then a literal character or a group of alternatives that each
/// start with one, and has no `|` outside that group, no flags, no classes. `None` for
/// every other regex (which then always runs).
fn regex_starts(source: &str) -> Option<[u64; 4]> {
    let rest = source.strip_prefix('^')?.as_bytes();
    if source.contains("(?") || source.contains('[') {
        return None;
    }
    // A literal character, not made optional by what follows it.
    let literal = |atom: &[u8]| -> Option<u8> {
        let (byte, len) = match atom {
            // Escaped punctuation that stands for itself (`\<` and `\>` are word
            // boundaries, so they are not here).
            [b'\\', c, ..] if b".\\/$^*+?(){}|-[]@:#&~'\"%!,;=_".contains(c) => (*c, 2),
            [c, ..] if c.is_ascii_alphanumeric() || b"_-/@:=,;%#!~&'\" <>".contains(c) => (*c, 1),
            _ => return None,
        };
        (!matches!(atom.get(len), Some(b'?' | b'*' | b'{'))).then_some(byte)
    };
    let mut set = [0u64; 4];
    let mut add = |byte: u8| {
        if let Some(word) = set.get_mut(usize::from(byte >> 6)) {
            *word |= 1 << (byte & 63);
        }
    };
    let group_end = |bytes: &[u8]| -> Option<usize> {
        let mut at = 1;
        while let Some(&b) = bytes.get(at) {
            match b {
                b'\\' => at += 1,
                b'(' => return None,
                b')' => return Some(at),
                _ => {}
            }
            at += 1;
        }
        None
    };
    let after_group = if rest.first() == Some(&b'(') {
        let end = group_end(rest)?;
        let inside = rest.get(1..end)?;
        if inside.windows(2).any(|w| w == b"\\|") {
            return None;
        }
        for alternative in inside.split(|b| *b == b'|') {
            add(literal(alternative)?);
        }
        if matches!(rest.get(end + 1), Some(b'?' | b'*' | b'{')) {
            return None;
        }
        end + 1
    } else {
        add(literal(rest)?);
        0
    };
    // No `|` after the group but escaped ones: `^a|b` also matches strings starting with b.
    let mut at = after_group;
    while let Some(&b) = rest.get(at) {
        match b {
            b'\\' => at += 1,
            b'|' => return None,
            _ => {}
        }
        at += 1;
    }
    Some(set)
}

impl Operand {
    /// Whether a string starting with `byte` can match (see [`Operand::Starts`]).
    #[inline]
    pub fn can_start(set: &[u64; 4], byte: u8) -> bool {
        set.get(usize::from(byte >> 6))
            .is_some_and(|word| word & (1 << (byte & 63)) != 0)
    }
}

impl Operand {
    fn decode(value: Node<'_>) -> Operand {
        let text = |node: Node<'_>| node.as_str().map(|s| Box::<str>::from(s.as_ref()));
        match value.kind() {
            Kind::String => text(value).map_or(Operand::Node, Operand::Str),
            Kind::Number => value
                .as_number()
                .and_then(|n| n.as_small_integer())
                .map_or(Operand::Node, Operand::Int),
            Kind::Array => value
                .items()
                .map(text)
                .collect::<Option<Box<[Box<str>]>>>()
                .map_or(Operand::Node, Operand::Strs),
            _ => Operand::Node,
        }
    }
}

impl Condition {
    fn new(pointer: &str, path: ArgPath, op: Op, value: Option<Node<'_>>) -> Condition {
        let value_text = value.map(|v| v.raw().to_owned());
        let operand = match (&op, value.and_then(|v| v.as_str())) {
            (Op::Regex(_), Some(source)) => {
                regex_starts(&source).map_or(Operand::Node, Operand::Starts)
            }
            _ => value.map_or(Operand::Node, Operand::decode),
        };
        let mut shown = String::with_capacity(
            path.as_str().len() + 10 + value_text.as_ref().map_or(0, String::len),
        );
        shown.push_str(path.as_str());
        shown.push(' ');
        shown.push_str(op.name());
        if let Some(v) = &value_text {
            shown.push(' ');
            shown.push_str(v);
        }
        Condition {
            pointer: pointer.into(),
            path,
            op,
            operand,
            value_text,
            shown: shown.into(),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// A validated approval requirement.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Where it is written (`/tools/x/approval`).
    pub pointer: Text,
    /// Approval is needed when all of these hold (always, when empty).
    pub conditions: Vec<Condition>,
    /// How long pending and approved approvals live.
    pub ttl_ms: u64,
}

/// One key of `tools`, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `/tools/<key>`, written the first time it is asked for ([`Entry::pointer`]): a
    /// policy names a few hundred entries, and most decisions name a few of them.
    pointer: std::cell::OnceCell<Text>,
    /// `/tools/<key>/action`, for an entry whose `action` is `deny`.
    deny_pointer: Option<Text>,
    pub pattern: Pattern,
    /// The entry's mode: its own `mode`, or the policy's.
    pub mode: Mode,
    pub deny: bool,
    pub deny_if: Vec<Condition>,
    pub require: Vec<Condition>,
    /// Indexes into [`Policy::limits`].
    pub limits: Vec<usize>,
    pub approval: Option<Approval>,
    /// `on_deny`, or its alias `reason`.
    pub on_deny: Option<Text>,
}

impl Entry {
    /// `/tools/<key>`.
    pub fn pointer(&self) -> &Text {
        self.pointer.get_or_init(|| {
            let key = self.pattern.as_str();
            let mut pointer = String::with_capacity("/tools/".len() + key.len());
            write_pointer(&mut pointer, "/tools", key);
            pointer.into()
        })
    }

    /// The pointer of its `action` when that is `deny` (the entry's own otherwise).
    pub fn action_pointer(&self) -> &Text {
        self.deny_pointer.as_ref().unwrap_or_else(|| self.pointer())
    }
}

/// The pinning rule (CONTRACT §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    pub on_change: OnChange,
}

/// What the policy says about one tool name before any call: the entries that match it
/// and whether `hide` hides it. Built once per name, when the name is first asked for.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The tool name.
    pub name: Text,
    /// Indexes into [`Policy::entries`], in document order.
    pub entries: Indexes,
    /// The first `hide` item that matches, by index.
    pub hidden_by: Option<usize>,
    /// The limits a call counts, by index into [`Policy::limits`]: the enforced ones,
    /// and the monitored-only ones. A counter named by an enforced place is enforced;
    /// each counter is counted once.
    pub enforced_limits: Vec<usize>,
    pub monitored_limits: Vec<usize>,
    /// Whether some entry asks for approval.
    pub approval: bool,
}

/// A plan's entries: the indexes of the entries that match its name. A name matches one
/// or two entries as a rule (its exact key, a pattern), so up to three are kept in place,
/// without an allocation for each of the policy's plans.
#[derive(Debug, Clone, Default)]
pub struct Indexes {
    inline: [usize; 3],
    len: usize,
    /// All of them, once there are more than fit in place.
    spilled: Vec<usize>,
}

impl Indexes {
    pub fn push(&mut self, index: usize) {
        if self.spilled.is_empty() {
            if let Some(place) = self.inline.get_mut(self.len) {
                *place = index;
                self.len += 1;
                return;
            }
            self.spilled.extend_from_slice(&self.inline);
        }
        self.spilled.push(index);
    }
}

impl Extend<usize> for Indexes {
    fn extend<I: IntoIterator<Item = usize>>(&mut self, indexes: I) {
        for index in indexes {
            self.push(index);
        }
    }
}

impl std::ops::Deref for Indexes {
    type Target = [usize];

    fn deref(&self) -> &[usize] {
        if self.spilled.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spilled
        }
    }
}

impl std::ops::DerefMut for Indexes {
    fn deref_mut(&mut self) -> &mut [usize] {
        if self.spilled.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.spilled
        }
    }
}

/// Text the policy holds and decisions share: a pointer, an `on_deny` message, a name.
pub type Text = Rc<str>;

/// How many plans of names that are not exact keys a policy keeps.
pub const PLAN_CACHE: usize = 4_096;

/// A plan, owned by the policy or shared with its cache.
#[derive(Debug, Clone)]
pub enum PlanRef<'p> {
    Borrowed(&'p Plan),
    Shared(Rc<Plan>),
}

impl std::ops::Deref for PlanRef<'_> {
    type Target = Plan;

    fn deref(&self) -> &Plan {
        match self {
            PlanRef::Borrowed(plan) => plan,
            PlanRef::Shared(plan) => plan,
        }
    }
}

/// The plan of an exact name: its entry (when `tools` has the name as a key), and the plan
/// itself, computed the first time a call, a list or a check asks for it. A policy is
/// loaded before any call is made (once per isolate in the Worker), and most calls name
/// a few of its tools: computing each plan on demand keeps loading to the checks.
#[derive(Debug, Clone)]
struct ExactPlan {
    exact: Option<usize>,
    plan: std::cell::OnceCell<Plan>,
}

/// A fast hasher (FxHash's multiply-and-rotate) for the policy's own keys: they come
/// from the policy, not from a caller, so a keyed hash buys nothing there.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// The hasher of [`FastHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A validated policy. Build it with [`Policy::from_json`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy as written; operands are nodes of it.
    doc: Document<'static>,
    pub(crate) default: DefaultAction,
    pub(crate) mode: Mode,
    pub(crate) pin: Option<Pin>,
    hide: Vec<Pattern>,
    hide_exact: HashMap<Text, usize, FastHash>,
    hide_globs: Vec<usize>,
    /// Indexes into `limits`.
    pub(crate) all_tools_limits: Vec<usize>,
    pub(crate) entries: Vec<Entry>,
    /// The exact keys and exact `hide` names, each with its plan, computed when the name
    /// is first asked for.
    plans: HashMap<Text, ExactPlan, FastHash>,
    /// Plans of other names, computed when first asked for (at most [`PLAN_CACHE`]).
    cache: RefCell<HashMap<Box<str>, Rc<Plan>>>,
    globs: Vec<usize>,
    /// For each of `globs`, the byte its first piece starts with (`None` when it starts
    /// with `*`).
    glob_firsts: Vec<Option<u8>>,
    /// Every limit of the policy, one per place that writes one. All the limits on one
    /// counter agree (the loader checks), and a call counts each counter once.
    pub(crate) limits: Vec<Limit>,
    /// `/hide/N` for each item of `hide`.
    pub(crate) hide_pointers: Vec<Text>,
    /// `/default` and `/pin`, shared by the decisions that name them.
    pub(crate) default_pointer: Text,
    pub(crate) pin_pointer: Text,
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
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyErrors(vec![PolicyError {
                pointer: String::new(),
                message: format!("the policy is larger than {MAX_POLICY_BYTES} bytes"),
            }]));
        }
        let doc = Document::parse_owned(text.to_owned())
            .map_err(|e| PolicyErrors(vec![json_error(&e)]))?;
        Policy::from_document(doc)
    }

    /// Validates an already parsed policy document.
    pub fn from_document(doc: Document<'static>) -> Result<Policy, PolicyErrors> {
        let mut loader = Loader::default();
        let policy = loader.policy(doc.root());
        match policy {
            Some(built) if loader.errors.is_empty() => {
                let mut policy = Policy { doc, ..built };
                policy.plans = policy.build_plans();
                Ok(policy)
            }
            _ => Err(PolicyErrors(loader.errors)),
        }
    }

    fn build_plans(&self) -> HashMap<Text, ExactPlan, FastHash> {
        let mut plans =
            HashMap::with_capacity_and_hasher(self.entries.len() + self.hide_exact.len(), FastHash);
        let names = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| !entry.pattern.is_glob())
            .map(|(i, entry)| (&entry.pattern.text, Some(i)))
            .chain(self.hide_exact.keys().map(|name| (name, None)));
        for (name, exact) in names {
            // An exact key comes before the `hide` names: the first of a name wins.
            plans.entry(name.clone()).or_insert(ExactPlan {
                exact,
                plan: std::cell::OnceCell::new(),
            });
        }
        plans
    }

    /// The plan of `name`, whose exact key (if the policy has one) is entry `exact`.
    fn compute_plan(&self, name: Text, exact: Option<usize>) -> Plan {
        let tool: &str = &name;
        let mut entries = Indexes::default();
        // A glob whose first piece starts with a byte the name does not start with cannot
        // match: most are turned away here without touching their entry.
        let first = tool.as_bytes().first().copied();
        entries.extend(
            self.globs
                .iter()
                .zip(&self.glob_firsts)
                .filter(|(_, f)| f.is_none() || **f == first)
                .map(|(i, _)| *i)
                .filter(|i| {
                    self.entries
                        .get(*i)
                        .is_some_and(|e| e.pattern.matches(tool))
                }),
        );
        if let Some(i) = exact {
            entries.push(i);
            crate::sort::sort(&mut entries);
        }
        let exact = self.hide_exact.get(tool).copied();
        let glob = self
            .hide_globs
            .iter()
            .copied()
            .find(|i| self.hide.get(*i).is_some_and(|p| p.matches(tool)));
        let hidden_by = match (exact, glob) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (enforced_limits, monitored_limits) = self.limits_of(&entries);
        let approval = entries
            .iter()
            .filter_map(|i| self.entries.get(*i))
            .any(|e| e.approval.is_some());
        Plan {
            name,
            entries,
            hidden_by,
            enforced_limits,
            monitored_limits,
            approval,
        }
    }

    /// The limits a call to a tool matched by `entries` counts: the enforced ones, and
    /// the monitored-only ones (see [`Plan::enforced_limits`]).
    fn limits_of(&self, entries: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let mut enforced: Vec<usize> = Vec::new();
        let mut monitored: Vec<usize> = Vec::new();
        let places = self.all_tools_limits.iter().copied().chain(
            entries
                .iter()
                .filter_map(|i| self.entries.get(*i))
                .flat_map(|e| e.limits.iter().copied()),
        );
        for index in places {
            let Some(limit) = self.limits.get(index) else {
                continue;
            };
            let known = |list: &[usize]| {
                list.iter().any(|i| {
                    self.limits
                        .get(*i)
                        .is_some_and(|l| l.counter == limit.counter)
                })
            };
            if limit.mode == Mode::Enforce {
                if !known(&enforced) {
                    enforced.push(index);
                }
            } else if !known(&monitored) {
                monitored.push(index);
            }
        }
        monitored.retain(|m| {
            let counter = self.limits.get(*m).map(|l| l.counter.as_str());
            !enforced
                .iter()
                .any(|e| self.limits.get(*e).map(|l| l.counter.as_str()) == counter)
        });
        (enforced, monitored)
    }

    /// The plan of `tool`, computed once: kept for every exact name, and for up to
    /// [`PLAN_CACHE`] other names.
    pub fn plan(&self, tool: &str) -> PlanRef<'_> {
        if let Some((name, exact)) = self.plans.get_key_value(tool) {
            // The plan's name is the map's key, the pattern's text.
            let plan = exact
                .plan
                .get_or_init(|| self.compute_plan(name.clone(), exact.exact));
            return PlanRef::Borrowed(plan);
        }
        if let Some(plan) = self.cache.borrow().get(tool) {
            return PlanRef::Shared(plan.clone());
        }
        // Every exact key has its plan in `plans`: this name is none of them.
        let plan = Rc::new(self.compute_plan(tool.into(), None));
        let mut cache = self.cache.borrow_mut();
        if cache.len() < PLAN_CACHE {
            cache.insert(tool.into(), plan.clone());
        }
        PlanRef::Shared(plan)
    }

    /// The policy document as written.
    pub fn source(&self) -> Node<'_> {
        self.doc.root()
    }

    /// The policy text as written.
    pub fn source_text(&self) -> &str {
        self.doc.text()
    }

    /// A condition's operand.
    pub fn operand(&self, index: u32) -> Option<Node<'_>> {
        self.doc.node(index)
    }

    /// The `default` field.
    pub fn default_action(&self) -> DefaultAction {
        self.default
    }

    /// The top-level `mode`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The `pin` rule, if pinning is enforced.
    pub fn pin(&self) -> Option<Pin> {
        self.pin
    }

    /// Every limit, one per place in the policy that writes one.
    pub fn limits(&self) -> &[Limit] {
        &self.limits
    }

    /// The limits of `all_tools`.
    pub fn all_tools_limits(&self) -> impl Iterator<Item = &Limit> {
        self.all_tools_limits
            .iter()
            .filter_map(|i| self.limits.get(*i))
    }

    /// The number of distinct counters.
    pub fn counters(&self) -> usize {
        let mut names: Vec<&str> = self.limits.iter().map(|l| l.counter.as_str()).collect();
        crate::sort::sort(&mut names);
        names.dedup();
        names.len()
    }

    /// The keys of `tools`, in document order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The `hide` items, in order.
    pub fn hide(&self) -> &[Pattern] {
        &self.hide
    }

    /// The pointer of the `hide` item that hides `tool`, if any (the first one in order).
    pub fn hidden_by(&self, tool: &str) -> Option<String> {
        self.plan(tool).hidden_by.map(|i| format!("/hide/{i}"))
    }

    /// The entries whose key matches `tool`, in document order.
    pub fn matching(&self, tool: &str) -> Vec<&Entry> {
        self.plan(tool)
            .entries
            .iter()
            .filter_map(|i| self.entries.get(*i))
            .collect()
    }

    /// Whether `tool` is hidden with every rule enforced, and the pointer of the rule that
    /// decides it. (Pins are not known here; see [`crate::eval`].)
    pub fn visibility(&self, tool: &str) -> (Visibility, String) {
        let plan = self.plan(tool);
        if let Some(i) = plan.hidden_by {
            return (Visibility::Hidden, format!("/hide/{i}"));
        }
        match plan.entries.first().and_then(|i| self.entries.get(*i)) {
            Some(entry) => (Visibility::Listed, entry.pointer().to_string()),
            None if self.default == DefaultAction::Deny => {
                (Visibility::Hidden, "/default".to_owned())
            }
            None => (Visibility::Listed, "/default".to_owned()),
        }
    }

    /// A one-line summary for `toolgate check`.
    pub fn summary(&self) -> String {
        let globs = self.globs.len();
        let hides = self.hide.len();
        let mut summary = format!(
            "ok: default {}, {} tool rule{} ({} pattern{}), {} hide entr{}, {} counter{}",
            match self.default {
                DefaultAction::Allow => "allow",
                DefaultAction::Deny => "deny",
            },
            self.entries.len(),
            plural(self.entries.len()),
            globs,
            plural(globs),
            hides,
            if hides == 1 { "y" } else { "ies" },
            self.counters(),
            plural(self.counters()),
        );
        let monitored = self
            .entries
            .iter()
            .filter(|e| e.mode == Mode::Monitor)
            .count();
        if self.mode == Mode::Monitor {
            summary.push_str(", monitor mode");
        } else if monitored > 0 {
            summary.push_str(&format!(
                ", {monitored} monitored rule{}",
                plural(monitored)
            ));
        }
        if let Some(pin) = self.pin {
            summary.push_str(match pin.on_change {
                OnChange::Hide => ", pinning (hide changes)",
                OnChange::Deny => ", pinning (deny changes)",
            });
        }
        summary
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
            .all(|b| NAME_BYTES.get(usize::from(b)) == Some(&true))
}

/// The bytes of a tool name.
// Indexes below 256 into a table of 256: in bounds by construction.
#[allow(clippy::indexing_slicing)]
static NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-';
        b += 1;
    }
    table
};

/// The bytes of a tool pattern: a name's, and `*`.
// An index below 256 into a table of 256.
#[allow(clippy::indexing_slicing)]
static PATTERN_BYTES: [bool; 256] = {
    let mut table = NAME_BYTES;
    table[b'*' as usize] = true;
    table
};

/// A character as a policy author can see it, even when it is invisible: `` ` ` `` is
/// shown as `U+0020 (space)`, a zero-width space as `U+200B`.
pub fn visible_char(c: char) -> String {
    let name = match c {
        ' ' => return "the space".to_owned(),
        '\t' => return "the tab (U+0009)".to_owned(),
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{a0}' => "no-break space",
        '\u{ad}' => "soft hyphen",
        '\u{200b}' => "zero width space",
        '\u{200c}' => "zero width non-joiner",
        '\u{200d}' => "zero width joiner",
        '\u{200e}' => "left-to-right mark",
        '\u{200f}' => "right-to-left mark",
        '\u{2060}' => "word joiner",
        '\u{feff}' => "byte order mark",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => "bidirectional control",
        _ => "",
    };
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else if !name.is_empty() {
        format!("U+{:04X} ({name})", u32::from(c))
    } else if c.is_alphanumeric() || (c.is_ascii() && !c.is_control()) {
        format!("`{c}` (U+{:04X})", u32::from(c))
    } else {
        format!("U+{:04X}", u32::from(c))
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
    /// The first keys of argument paths, numbered (see `ArgPath::first_key`).
    arg_keys: HashMap<String, u32>,
    /// Counter name → index into `limits`.
    counters: HashMap<String, usize>,
    limits: Vec<Limit>,
}

const TOP_FIELDS: &[&str] = &[
    "version",
    "default",
    "hide",
    "all_tools",
    "tools",
    "mode",
    "pin",
];

const ENTRY_FIELDS: [&str; 9] = [
    "action",
    "deny_if",
    "require",
    "limits",
    "approval",
    "on_deny",
    "reason",
    "rate_limit",
    "mode",
];

impl Loader {
    fn error(&mut self, pointer: &str, message: impl Into<String>) {
        self.errors.push(PolicyError {
            pointer: pointer.to_owned(),
            message: message.into(),
        });
    }

    /// Checks that `value` is an object with only `fields`, and that `required` are there.
    fn object<'d>(
        &mut self,
        value: Node<'d>,
        pointer: &str,
        fields: &[&str],
        required: &[&str],
    ) -> Option<Node<'d>> {
        if !self.is_object(value, pointer) {
            return None;
        }
        for (key, _) in value.members() {
            if !fields.iter().any(|f| key.str_eq(f)) {
                self.unknown_field(key, pointer, fields);
            }
        }
        for field in required {
            if value.get(field).is_none() {
                self.error(
                    &push_pointer(pointer, field),
                    format!("missing field `{field}`"),
                );
            }
        }
        Some(value)
    }

    /// [`Loader::object`] without required fields, in one pass: the members named
    /// `names`, `found[i]` for `names[i]`.
    fn fields<'d, const N: usize>(
        &mut self,
        value: Node<'d>,
        pointer: &str,
        names: &[&str; N],
    ) -> Option<[Option<Node<'d>>; N]> {
        if !self.is_object(value, pointer) {
            return None;
        }
        let mut found = [None; N];
        let mut unknown = Vec::new();
        value.pick(names, &mut found, &mut |key, _| unknown.push(key));
        for key in unknown {
            self.unknown_field(key, pointer, names);
        }
        Some(found)
    }

    /// Whether `value` is an object; an error at `pointer` if not.
    fn is_object(&mut self, value: Node<'_>, pointer: &str) -> bool {
        if !value.is_object() {
            self.error(
                pointer,
                format!("expected an object, found {}", value.kind().described()),
            );
        }
        value.is_object()
    }

    /// The error of a member `key` that is none of `fields`.
    fn unknown_field(&mut self, key: Node<'_>, pointer: &str, fields: &[&str]) {
        let key = key.as_str().unwrap_or_default();
        self.error(
            &push_pointer(pointer, &key),
            format!("unknown field `{key}`, expected {}", one_of(fields)),
        );
    }

    fn array<'d>(&mut self, value: Node<'d>, pointer: &str) -> Option<Node<'d>> {
        if value.is_array() {
            Some(value)
        } else {
            self.error(
                pointer,
                format!("expected an array, found {}", value.kind().described()),
            );
            None
        }
    }

    fn keyword<T: Copy>(
        &mut self,
        value: Node<'_>,
        pointer: &str,
        what: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = choices.iter().find(|(n, _)| value.str_eq(n)) {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let why = match value.as_str() {
            Some(s) => format!("unknown {what} `{s}`, expected {}", one_of(&names)),
            None => format!(
                "expected {}, found {}",
                one_of(&names),
                value.kind().described()
            ),
        };
        self.error(pointer, why);
        None
    }

    fn mode(&mut self, value: Option<Node<'_>>, pointer: &str) -> Option<Mode> {
        value.and_then(|v| {
            self.keyword(
                v,
                pointer,
                "mode",
                &[("enforce", Mode::Enforce), ("monitor", Mode::Monitor)],
            )
        })
    }

    fn policy(&mut self, root: Node<'_>) -> Option<Policy> {
        let map = self.object(root, "", TOP_FIELDS, &["version", "default"])?;
        if let Some(version) = map.get("version") {
            if !version.str_eq("1") {
                let shown = match version.as_str() {
                    Some(s) => format!("`{s}`"),
                    None => format!("`{}`", version.raw()),
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
        let mode = self.mode(map.get("mode"), "/mode").unwrap_or(Mode::Enforce);
        let pin = map.get("pin").and_then(|p| self.pin(p));

        let mut hide = Vec::new();
        let mut hide_count = 0;
        let mut hide_exact = HashMap::with_hasher(FastHash);
        let mut hide_globs = Vec::new();
        if let Some(items) = map.get("hide").and_then(|v| self.array(v, "/hide")) {
            for (i, item) in items.items().enumerate() {
                let pointer = index_pointer("/hide", i);
                let pattern = self
                    .pattern(item, &pointer)
                    .unwrap_or_else(|| Pattern::new(""));
                if pattern.is_glob() {
                    hide_globs.push(i);
                } else if !pattern.as_str().is_empty() {
                    hide_exact.entry(pattern.text.clone()).or_insert(i);
                }
                hide.push(pattern);
                hide_count = i + 1;
            }
        }

        let mut all_tools_limits = Vec::new();
        if let Some(all) = map.get("all_tools") {
            if let Some(all) = self.object(all, "/all_tools", &["limits"], &[]) {
                if let Some(limits) = all.get("limits") {
                    all_tools_limits = self.limits(limits, "/all_tools/limits", mode);
                }
            }
        }

        let mut entries = Vec::new();
        let mut globs = Vec::new();
        if let Some(tools) = map.get("tools") {
            if tools.is_object() {
                entries.reserve_exact(tools.len());
                let mut pointer = String::new();
                for (key, rule) in tools.members() {
                    let key = key.as_str().unwrap_or_default();
                    pointer.clear();
                    write_pointer(&mut pointer, "/tools", &key);
                    let pattern = self.key_pattern(&key, &pointer);
                    if let Some(entry) = self.entry(rule, &pointer, pattern, mode) {
                        if entry.pattern.is_glob() {
                            globs.push(entries.len());
                        }
                        entries.push(entry);
                    }
                }
            } else {
                self.error(
                    "/tools",
                    format!("expected an object, found {}", tools.kind().described()),
                );
            }
        }

        let glob_firsts = globs
            .iter()
            .map(|i| entries.get(*i).and_then(|e: &Entry| e.pattern.first_byte()))
            .collect();
        Some(Policy {
            doc: Document::parse_owned("null".to_owned()).ok()?,
            default: default?,
            mode,
            pin,
            hide,
            hide_exact,
            hide_globs,
            all_tools_limits,
            entries,
            plans: HashMap::with_hasher(FastHash),
            cache: RefCell::new(HashMap::new()),
            glob_firsts,
            globs,
            limits: std::mem::take(&mut self.limits),
            hide_pointers: (0..hide_count)
                .map(|i| index_pointer("/hide", i).into())
                .collect(),
            default_pointer: "/default".into(),
            pin_pointer: "/pin".into(),
        })
    }

    fn pin(&mut self, value: Node<'_>) -> Option<Pin> {
        let map = self.object(value, "/pin", &["on_change"], &["on_change"])?;
        let on_change = map.get("on_change").and_then(|v| {
            self.keyword(
                v,
                "/pin/on_change",
                "on_change",
                &[("hide", OnChange::Hide), ("deny", OnChange::Deny)],
            )
        })?;
        Some(Pin { on_change })
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
        if text
            .bytes()
            .all(|b| PATTERN_BYTES.get(usize::from(b)) == Some(&true))
        {
            return true;
        }
        if let Some((at, bad)) = text
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*')))
        {
            self.error(
                pointer,
                format!(
                    "`{}` can never match a tool: {} at position {} is not allowed, use only `A-Z a-z 0-9 _ . -` and `*`",
                    text.escape_debug(),
                    visible_char(bad),
                    at + 1
                ),
            );
            return false;
        }
        true
    }

    fn pattern(&mut self, value: Node<'_>, pointer: &str) -> Option<Pattern> {
        match value.as_str() {
            Some(text) => self
                .check_pattern_text(&text, pointer)
                .then(|| Pattern::new(&text)),
            None => {
                self.error(
                    pointer,
                    format!(
                        "expected a tool name or pattern, found {}",
                        value.kind().described()
                    ),
                );
                None
            }
        }
    }

    fn key_pattern(&mut self, key: &str, pointer: &str) -> Option<Pattern> {
        self.check_pattern_text(key, pointer)
            .then(|| Pattern::new(key))
    }

    fn entry(
        &mut self,
        value: Node<'_>,
        pointer: &str,
        pattern: Option<Pattern>,
        policy_mode: Mode,
    ) -> Option<Entry> {
        let [action, deny_if, require, limits, approval, on_deny, reason, rate_limit, mode] =
            self.fields(value, pointer, &ENTRY_FIELDS)?;
        let mode = match mode {
            Some(v) => self
                .mode(Some(v), &push_pointer(pointer, "mode"))
                .unwrap_or(policy_mode),
            None => policy_mode,
        };
        let deny = match action {
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
        let deny_if = deny_if
            .map(|v| self.conditions(v, &push_pointer(pointer, "deny_if")))
            .unwrap_or_default();
        let require = require
            .map(|v| self.conditions(v, &push_pointer(pointer, "require")))
            .unwrap_or_default();
        let mut limits = limits
            .map(|v| self.limits(v, &push_pointer(pointer, "limits"), mode))
            .unwrap_or_default();
        if let Some(rate) = rate_limit {
            let key = pattern.as_ref().map_or("", |p| p.as_str()).to_owned();
            if let Some(index) =
                self.rate_limit(rate, &push_pointer(pointer, "rate_limit"), &key, mode)
            {
                if !limits.contains(&index) {
                    limits.push(index);
                }
            }
        }
        let approval = approval.and_then(|v| self.approval(v, &push_pointer(pointer, "approval")));
        let on_deny =
            on_deny.and_then(|v| self.message(v, &push_pointer(pointer, "on_deny"), "on_deny"));
        let reason =
            reason.and_then(|v| self.message(v, &push_pointer(pointer, "reason"), "reason"));
        let on_deny = match (on_deny, reason) {
            (Some(_), Some(_)) => {
                self.error(
                    &push_pointer(pointer, "reason"),
                    "`reason` is another name for `on_deny`: give one of them, not both",
                );
                None
            }
            (a, b) => a.or(b),
        };
        let pattern = pattern?;
        // The entry's pointer is the key's; written when first asked for.
        debug_assert!({
            let mut own = String::new();
            write_pointer(&mut own, "/tools", pattern.as_str());
            own == pointer
        });
        Some(Entry {
            pointer: std::cell::OnceCell::new(),
            deny_pointer: deny.then(|| push_pointer(pointer, "action").into()),
            pattern,
            mode,
            deny,
            deny_if,
            require,
            limits,
            approval,
            on_deny: on_deny.map(Text::from),
        })
    }

    fn message(&mut self, value: Node<'_>, pointer: &str, field: &str) -> Option<String> {
        match value.as_str() {
            Some(s) if s.trim().is_empty() => {
                self.error(pointer, format!("{field} must not be empty"));
                None
            }
            Some(s) => Some(s.into_owned()),
            None => {
                self.error(
                    pointer,
                    format!("expected a string, found {}", value.kind().described()),
                );
                None
            }
        }
    }

    fn approval(&mut self, value: Node<'_>, pointer: &str) -> Option<Approval> {
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
            pointer: pointer.into(),
            conditions,
            ttl_ms: ttl_ms?,
        })
    }

    fn duration(&mut self, value: Node<'_>, pointer: &str) -> Option<u64> {
        let Some(text) = value.as_str() else {
            self.error(
                pointer,
                format!(
                    "expected a duration such as `15m`, found {}",
                    value.kind().described()
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

    fn conditions(&mut self, value: Node<'_>, pointer: &str) -> Vec<Condition> {
        let Some(items) = self.array(value, pointer) else {
            return Vec::new();
        };
        items
            .items()
            .enumerate()
            .filter_map(|(i, item)| self.condition(item, &index_pointer(pointer, i)))
            .collect()
    }

    fn condition(&mut self, value: Node<'_>, pointer: &str) -> Option<Condition> {
        let map = self.object(value, pointer, &["path", "op", "value"], &["path", "op"])?;
        // The pointers of the fields, one after another in one buffer: they are for the
        // error messages of a condition that has them.
        let mut at = String::with_capacity(pointer.len() + "/value".len());
        write_pointer(&mut at, pointer, "path");
        let path = map.get("path").and_then(|p| self.arg_path(p, &at));
        at.clear();
        write_pointer(&mut at, pointer, "op");
        let op_name = map.get("op").and_then(|op| {
            self.keyword(
                op,
                &at,
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
        at.clear();
        write_pointer(&mut at, pointer, "value");
        let operand = map.get("value");
        let op = op_name.and_then(|name| self.op(name, operand, &at));
        Some(Condition::new(pointer, path?, op?, operand))
    }

    fn op(&mut self, name: &str, operand: Option<Node<'_>>, value_pointer: &str) -> Option<Op> {
        if name == "exists" {
            return match operand {
                None => Some(Op::Exists(true)),
                Some(v) => match v.as_bool() {
                    Some(b) => Some(Op::Exists(b)),
                    None => {
                        self.error(
                            value_pointer,
                            format!(
                                "op `exists` takes no value, or `true` or `false`, found {}",
                                v.kind().described()
                            ),
                        );
                        None
                    }
                },
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
                    operand.kind().described()
                ),
            );
            None
        };
        let at = operand.index();
        match (name, operand.kind()) {
            ("eq", _) => Some(Op::Eq(at)),
            ("neq", _) => Some(Op::Neq(at)),
            ("in", Kind::Array) => Some(Op::In(at)),
            ("not_in", Kind::Array) => Some(Op::NotIn(at)),
            ("in" | "not_in", _) => wrong(self, "an array"),
            ("lt", Kind::Number) => Some(Op::Lt(at)),
            ("lte", Kind::Number) => Some(Op::Lte(at)),
            ("gt", Kind::Number) => Some(Op::Gt(at)),
            ("gte", Kind::Number) => Some(Op::Gte(at)),
            ("lt" | "lte" | "gt" | "gte", _) => wrong(self, "a number"),
            ("regex", Kind::String) => {
                let source = operand.as_str().unwrap_or_default();
                match crate::policy::compile_regex(&source) {
                    Ok(re) => Some(Op::Regex(re)),
                    Err(reason) => {
                        self.error(value_pointer, format!("invalid regex `{source}`: {reason}"));
                        None
                    }
                }
            }
            ("regex", _) => wrong(self, "a string"),
            ("contains", _) => Some(Op::Contains(at)),
            _ => None,
        }
    }

    fn arg_path(&mut self, value: Node<'_>, pointer: &str) -> Option<ArgPath> {
        let Some(text) = value.as_str() else {
            self.error(
                pointer,
                format!(
                    "expected a path such as `args.model`, found {}",
                    value.kind().described()
                ),
            );
            return None;
        };
        match ArgPath::parse(&text) {
            Ok(mut path) => {
                if let Some(key) = path.first_key_text() {
                    let next = self.arg_keys.len() as u32;
                    let id = *self.arg_keys.entry(key.to_owned()).or_insert(next);
                    path.set_first_key(id);
                }
                Some(path)
            }
            Err(message) => {
                self.error(pointer, message);
                None
            }
        }
    }

    fn limits(&mut self, value: Node<'_>, pointer: &str, mode: Mode) -> Vec<usize> {
        let Some(items) = self.array(value, pointer) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = Vec::new();
        for (i, item) in items.items().enumerate() {
            if let Some(index) = self.limit(item, &index_pointer(pointer, i), mode) {
                if !out.contains(&index) {
                    out.push(index);
                }
            }
        }
        out
    }

    /// Validates one limit and returns its index.
    fn limit(&mut self, value: Node<'_>, pointer: &str, mode: Mode) -> Option<usize> {
        let map = self.object(
            value,
            pointer,
            &["counter", "window", "max", "scope"],
            &["counter", "window", "max"],
        )?;
        let counter = match map.get("counter") {
            Some(v) => match v.as_str() {
                Some(s) if s.is_empty() => {
                    self.error(
                        &push_pointer(pointer, "counter"),
                        "counter must not be empty",
                    );
                    None
                }
                Some(s) if s.chars().count() > 128 => {
                    self.error(
                        &push_pointer(pointer, "counter"),
                        "counter is longer than 128 characters",
                    );
                    None
                }
                Some(s) => Some(s.into_owned()),
                None => {
                    self.error(
                        &push_pointer(pointer, "counter"),
                        format!("expected a counter name, found {}", v.kind().described()),
                    );
                    None
                }
            },
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
        self.add_limit(Limit {
            pointer: pointer.into(),
            counter: counter?,
            window: window?,
            max: max?,
            scope: scope?,
            mode,
        })
    }

    /// PolicyLayer's shorthand: `"rate_limit": {"max": N, "window": W}` is one limit on
    /// the counter `KEY_rate`, scope `grant`.
    fn rate_limit(
        &mut self,
        value: Node<'_>,
        pointer: &str,
        key: &str,
        mode: Mode,
    ) -> Option<usize> {
        let map = self.object(value, pointer, &["max", "window"], &["max", "window"])?;
        let window_pointer = push_pointer(pointer, "window");
        let window = map.get("window").and_then(|v| match v.as_number() {
            Some(n) => match n.as_u64() {
                Some(1) => Some(Window::Second),
                Some(60) => Some(Window::Minute),
                Some(3_600) => Some(Window::Hour),
                Some(86_400) => Some(Window::Day),
                _ => {
                    self.error(
                        &window_pointer,
                        format!(
                            "a window in seconds must be `1`, `60`, `3600` or `86400`, found `{}`",
                            n.as_str()
                        ),
                    );
                    None
                }
            },
            None => self.keyword(
                v,
                &window_pointer,
                "window",
                &[
                    ("second", Window::Second),
                    ("minute", Window::Minute),
                    ("hour", Window::Hour),
                    ("day", Window::Day),
                ],
            ),
        });
        let max = map
            .get("max")
            .and_then(|v| self.max(v, &push_pointer(pointer, "max")));
        if key.is_empty() {
            return None;
        }
        self.add_limit(Limit {
            pointer: pointer.into(),
            counter: format!("{key}_rate"),
            window: window?,
            max: max?,
            scope: Scope::Grant,
            mode,
        })
    }

    fn add_limit(&mut self, limit: Limit) -> Option<usize> {
        if let Some(&index) = self.counters.get(&limit.counter) {
            let first = self.limits.get(index)?.clone();
            if (first.window, first.max, first.scope) != (limit.window, limit.max, limit.scope) {
                self.error(
                    &limit.pointer,
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

    fn max(&mut self, value: Node<'_>, pointer: &str) -> Option<u32> {
        let Some(n) = value.as_number() else {
            self.error(
                pointer,
                format!("max must be an integer, found {}", value.kind().described()),
            );
            return None;
        };
        if !n.is_integer() {
            self.error(
                pointer,
                format!("max must be an integer, found `{}`", n.as_str()),
            );
            return None;
        }
        match n.as_u64() {
            Some(0) => {
                self.error(pointer, "max must be at least 1");
                None
            }
            Some(u) if u <= u64::from(MAX_LIMIT) => u32::try_from(u).ok(),
            _ if n.as_str().starts_with('-') => {
                self.error(pointer, "max must be at least 1");
                None
            }
            _ => {
                self.error(pointer, format!("max must be at most {MAX_LIMIT}"));
                None
            }
        }
    }
}

/// Compiles a condition's regex with the limits toolgate uses everywhere (CLI, Worker,
/// playground): at most 64 KiB of compiled program. The reason is one line, lowercase.
pub fn compile_regex(source: &str) -> Result<Regex, String> {
    regex_lite::RegexBuilder::new(source)
        .size_limit(1 << 16)
        .nest_limit(64)
        .build()
        .map_err(|e| {
            let reason = e.to_string();
            reason
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_owned()
        })
}

//! The origin's tool catalogue: the tools the origin lists, as the gateway knows them
//! (CONTRACT §3, "A way to tell a hidden tool from a missing one"), their pins (§8), and
//! the warnings a reviewer should read (§8).
//!
//! - [`Tool`], [`tools_from_json`]: a catalogue read from a `tools/list` answer, its
//!   `result`, its `tools` array, or an SSE body holding one.
//! - [`definition_sha256`]: a tool's pin, the SHA-256 of its canonical JSON (RFC 8785
//!   with exact numbers, [`crate::json`]) without its top-level `_meta`. A change of one
//!   character in a description, a schema or an annotation is a change; an order of
//!   keys is not.
//! - [`Pins`]: trust on first use. The first answer the gateway ever sees pins every tool
//!   in it; a tool that appears later is **new**, one whose definition no longer matches
//!   its pin is **changed**, one a complete list no longer holds is **removed**, until an
//!   operator accepts it ([`Pins::accept`]).
//! - [`Snapshot`] and [`View`]: what each isolate keeps of the catalogue to decide calls
//!   and filter answers without a round trip.
//! - [`warnings`]: text that addresses the model, invisible or bidirectional Unicode, and
//!   descriptions far longer than the catalogue's others.
//!
//! [`risk`] and [`view`] are what the playground shows beside each tool.

pub mod risk;
pub mod view;

pub use risk::{risk, Risk};
pub use view::{catalogue, risks, status, Status};

use crate::eval::PinState;
use crate::json::{self, Document, Kind, Node};
use crate::policy::PolicyError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One tool of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    /// The tool object's exact JSON text.
    pub raw: String,
}

/// Reads the tools of a `tools/list` response, of its `result`, of `{"tools": [...]}`, of
/// a bare array of tools, or of an SSE body whose events hold such a response. Every tool
/// needs a string `name`.
pub fn tools_from_json(text: &str) -> Result<Vec<Tool>, Vec<PolicyError>> {
    let error = |pointer: &str, message: String| {
        vec![PolicyError {
            pointer: pointer.to_owned(),
            message,
        }]
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with("event:") || trimmed.starts_with("data:") || trimmed.starts_with("id:") {
        return tools_from_sse(text);
    }
    let doc = Document::parse_answer(text)
        .map_err(|e| error(&e.pointer, format!("invalid json: {e}")))?;
    let root = doc.root();
    let (base, items) = match root.kind() {
        Kind::Array => ("", root),
        Kind::Object => match (
            root.get("result").and_then(|r| r.get("tools")),
            root.get("tools"),
        ) {
            (Some(items), _) if items.is_array() => ("/result/tools", items),
            (_, Some(items)) if items.is_array() => ("/tools", items),
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
    for (i, item) in items.items().enumerate() {
        match item.get("name").and_then(|n| n.as_str()) {
            Some(name) => tools.push(Tool {
                name: name.into_owned(),
                description: item
                    .get("description")
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .into_owned(),
                raw: item.raw().to_owned(),
            }),
            None => errors.push(PolicyError {
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

fn tools_from_sse(text: &str) -> Result<Vec<Tool>, Vec<PolicyError>> {
    for block in text.split("\n\n").flat_map(|b| b.split("\r\n\r\n")) {
        let data: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        let data = data.join("\n");
        if data.contains("\"tools\"") {
            return tools_from_json(&data);
        }
    }
    Err(vec![PolicyError {
        pointer: String::new(),
        message: "no event of this SSE stream holds a tools/list response".to_owned(),
    }])
}

/// A tool's pin: the lowercase hex SHA-256 of its canonical JSON without the top-level
/// `_meta` member.
pub fn definition_sha256(tool: Node<'_>) -> String {
    let mut out = String::with_capacity(tool.raw().len());
    if tool.is_object() && tool.get("_meta").is_some() {
        let mut members: Vec<(std::borrow::Cow<'_, str>, Node<'_>)> = tool
            .members()
            .map(|(k, v)| (k.as_str().unwrap_or_default(), v))
            .filter(|(k, _)| k != "_meta")
            .collect();
        crate::sort::sort_by(&mut members, |(a, _), (b, _)| {
            a.encode_utf16().lt(b.encode_utf16())
        });
        out.push('{');
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_canonical_str(key, &mut out);
            out.push(':');
            value.write_canonical(&mut out);
        }
        out.push('}');
    } else {
        tool.write_canonical(&mut out);
    }
    json::sha256_hex(out.as_bytes())
}

/// Where a tool stands against its pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    /// The current definition is the pinned one.
    Pinned,
    /// The current definition differs from the pinned one.
    Changed,
    /// Seen after the first answer and never accepted.
    New,
    /// Pinned, but a complete list no longer holds it.
    Removed,
}

impl PinStatus {
    /// The status's name in the admin API.
    pub fn name(self) -> &'static str {
        match self {
            PinStatus::Pinned => "pinned",
            PinStatus::Changed => "changed",
            PinStatus::New => "new",
            PinStatus::Removed => "removed",
        }
    }
}

crate::json_names!(PinStatus {
    Pinned = "pinned",
    Changed = "changed",
    New = "new",
    Removed = "removed",
});

/// One tool the gateway has seen: its pinned definition and its current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRecord {
    pub tool: String,
    pub pinned_sha256: Option<String>,
    /// The pinned definition's JSON text.
    pub pinned: Option<String>,
    pub current_sha256: Option<String>,
    /// The current definition's JSON text (what the origin last listed).
    pub current: Option<String>,
}

impl PinRecord {
    /// Where the tool stands.
    pub fn status(&self) -> PinStatus {
        match (&self.pinned_sha256, &self.current_sha256) {
            (None, _) => PinStatus::New,
            (Some(_), None) => PinStatus::Removed,
            (Some(p), Some(c)) if p == c => PinStatus::Pinned,
            _ => PinStatus::Changed,
        }
    }
}

/// One tool of an answer, as the pins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub name: String,
    pub sha256: String,
    /// The tool object's JSON text.
    pub raw: String,
}

/// A change the gateway detected: one audit record and one webhook POST each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub tool: String,
    pub status: PinStatus,
    pub pinned_sha256: Option<String>,
    pub current_sha256: Option<String>,
}

crate::json_struct!(PinRecord {
    tool: req,
    pinned_sha256: req,
    pinned: req,
    current_sha256: req,
    current: req,
});

crate::json_struct!(Seen {
    name: req,
    sha256: req,
    raw: req,
});

crate::json_struct!(Change {
    tool: req,
    status: req,
    pinned_sha256: req,
    current_sha256: req,
});

/// Why an operator's acceptance was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    #[error("no tool `{0}` has been seen")]
    NotFound(String),
    #[error("the definition of `{tool}` is now `{current}`, not the one you reviewed")]
    Conflict { tool: String, current: String },
}

/// Every pin the gateway keeps, by tool name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pins {
    /// Whether a first answer has pinned the catalogue.
    pub seeded: bool,
    pub records: BTreeMap<String, PinRecord>,
}

impl Pins {
    /// Takes the tools of one answer. `complete` when the answer is the whole list (no
    /// cursor asked for, no next cursor given), so that missing tools are **removed**.
    /// Returns the changes detected: a new tool, or a definition whose hash is new for
    /// its tool.
    pub fn observe(&mut self, seen: &[Seen], complete: bool) -> Vec<Change> {
        let mut changes = Vec::new();
        if !self.seeded {
            self.seeded = true;
            for tool in seen {
                self.records.insert(
                    tool.name.clone(),
                    PinRecord {
                        tool: tool.name.clone(),
                        pinned_sha256: Some(tool.sha256.clone()),
                        pinned: Some(tool.raw.clone()),
                        current_sha256: Some(tool.sha256.clone()),
                        current: Some(tool.raw.clone()),
                    },
                );
            }
            return changes;
        }
        for tool in seen {
            let record = self
                .records
                .entry(tool.name.clone())
                .or_insert_with(|| PinRecord {
                    tool: tool.name.clone(),
                    pinned_sha256: None,
                    pinned: None,
                    current_sha256: None,
                    current: None,
                });
            if record.current_sha256.as_deref() == Some(tool.sha256.as_str()) {
                continue;
            }
            record.current_sha256 = Some(tool.sha256.clone());
            record.current = Some(tool.raw.clone());
            let status = record.status();
            if matches!(status, PinStatus::New | PinStatus::Changed) {
                changes.push(Change {
                    tool: tool.name.clone(),
                    status,
                    pinned_sha256: record.pinned_sha256.clone(),
                    current_sha256: record.current_sha256.clone(),
                });
            }
        }
        if complete {
            for record in self.records.values_mut() {
                if !seen.iter().any(|s| s.name == record.tool) {
                    record.current_sha256 = None;
                    record.current = None;
                }
            }
            // A new tool that is gone again leaves nothing to review.
            self.records
                .retain(|_, r| r.pinned_sha256.is_some() || r.current_sha256.is_some());
        }
        changes
    }

    /// Pins the current definition of `tool`; with `sha256`, only if that is still the
    /// current one. Accepting a removed tool forgets it.
    pub fn accept(&mut self, tool: &str, sha256: Option<&str>) -> Result<PinRecord, AcceptError> {
        let record = self
            .records
            .get_mut(tool)
            .ok_or_else(|| AcceptError::NotFound(tool.to_owned()))?;
        if let Some(expected) = sha256 {
            if record.current_sha256.as_deref() != Some(expected) {
                return Err(AcceptError::Conflict {
                    tool: tool.to_owned(),
                    current: record
                        .current_sha256
                        .clone()
                        .unwrap_or_else(|| "removed".to_owned()),
                });
            }
        }
        record.pinned_sha256.clone_from(&record.current_sha256);
        record.pinned.clone_from(&record.current);
        let accepted = record.clone();
        if accepted.current_sha256.is_none() {
            self.records.remove(tool);
        }
        Ok(accepted)
    }

    /// Forgets every pin: the next answer pins afresh.
    pub fn forget(&mut self) {
        self.seeded = false;
        self.records.clear();
    }

    /// What an isolate keeps of the pins, at `version`.
    pub fn snapshot(&self, version: u64) -> Snapshot {
        Snapshot {
            version,
            seeded: self.seeded,
            tools: self
                .records
                .values()
                .map(|r| {
                    let status = r.status();
                    SnapshotTool {
                        name: r.tool.clone(),
                        status,
                        current_sha256: r.current_sha256.clone(),
                        current: r.current.clone(),
                        pinned_sha256: r.pinned_sha256.clone(),
                        pinned: (status == PinStatus::Changed)
                            .then(|| r.pinned.clone())
                            .flatten(),
                    }
                })
                .collect(),
        }
    }
}

/// What each isolate keeps of the catalogue and its pins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Changes whenever a pin or a current definition changes.
    pub version: u64,
    pub seeded: bool,
    pub tools: Vec<SnapshotTool>,
}

/// One tool of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotTool {
    pub name: String,
    pub status: PinStatus,
    pub current_sha256: Option<String>,
    pub current: Option<String>,
    pub pinned_sha256: Option<String>,
    /// The pinned definition, kept only for a changed tool (served under `deny`).
    pub pinned: Option<String>,
}

crate::json_struct!(Snapshot {
    version: req,
    seeded: req,
    tools: req,
});

crate::json_struct!(SnapshotTool {
    name: req,
    status: req,
    current_sha256: req,
    current: req,
    pinned_sha256: req,
    pinned: req,
});

/// A [`Snapshot`] indexed by name, for the hot path.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub version: u64,
    seeded: bool,
    tools: HashMap<String, SnapshotTool>,
}

impl View {
    /// A view of nothing: no catalogue known, no pins (the CLI and the playground).
    pub fn empty() -> Self {
        View::default()
    }

    /// Indexes a snapshot.
    pub fn new(snapshot: Snapshot) -> Self {
        View {
            version: snapshot.version,
            seeded: snapshot.seeded,
            tools: snapshot
                .tools
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect(),
        }
    }

    /// Whether anything is known of the origin's tools.
    pub fn is_known(&self) -> bool {
        self.seeded
    }

    /// Whether [`Pins::observe`] of `seen` on the pins this view was taken from would
    /// change nothing: the pins are seeded, every tool seen has the current definition
    /// the view has, and (for a `complete` list) every tool the view has as listed was
    /// seen. The gateway then skips telling the catalogue object (an isolate confirms
    /// its view every few seconds; a later list tells the object what this one did not).
    pub fn agrees(&self, seen: &[Seen], complete: bool) -> bool {
        let same = |tool: &Seen| {
            self.tools
                .get(&tool.name)
                .and_then(|known| known.current_sha256.as_deref())
                == Some(tool.sha256.as_str())
        };
        if !self.seeded || !seen.iter().all(same) {
            return false;
        }
        if !complete {
            return true;
        }
        // Every tool seen is listed in the view: the list is all of it when the counts agree.
        let listed = self.tools.values().filter(|t| t.current_sha256.is_some());
        let names: std::collections::HashSet<&str> = seen.iter().map(|t| t.name.as_str()).collect();
        listed.count() == names.len()
    }

    /// Whether the origin currently lists `tool`.
    pub fn lists(&self, tool: &str) -> bool {
        self.tools
            .get(tool)
            .is_some_and(|t| t.current_sha256.is_some())
    }

    /// What the policy's pin rule sees of a call to `tool`.
    pub fn pin_state(&self, tool: &str) -> PinState {
        match self.tools.get(tool).map(|t| t.status) {
            _ if !self.seeded => PinState::Unknown,
            Some(PinStatus::Pinned) => PinState::Pinned,
            Some(PinStatus::Changed) => PinState::Changed,
            Some(PinStatus::New) | None => PinState::New,
            Some(PinStatus::Removed) => PinState::Pinned,
        }
    }

    /// What the pins say of a definition in an answer, and the pinned definition to
    /// serve instead when it changed. Before the first answer is pinned, every
    /// definition counts as pinned (the first answer pins them).
    pub fn definition_state(
        &self,
        name: &str,
        raw: &str,
        node: Node<'_>,
    ) -> (PinState, Option<&str>) {
        if !self.seeded {
            return (PinState::Pinned, None);
        }
        let Some(known) = self.tools.get(name) else {
            return (PinState::New, None);
        };
        let Some(pinned) = known.pinned_sha256.as_deref() else {
            return (PinState::New, None);
        };
        let sha = if known.current.as_deref() == Some(raw) {
            match known.current_sha256.as_deref() {
                Some(sha) => std::borrow::Cow::Borrowed(sha),
                None => std::borrow::Cow::Owned(definition_sha256(node)),
            }
        } else {
            std::borrow::Cow::Owned(definition_sha256(node))
        };
        if sha == pinned {
            (PinState::Pinned, None)
        } else {
            // A tool the view has as pinned is pinned at its current definition.
            let served = known.pinned.as_deref().or_else(|| {
                (known.status == PinStatus::Pinned)
                    .then_some(known.current.as_deref())
                    .flatten()
            });
            (PinState::Changed, served)
        }
    }

    /// The current definition of `tool`, as the origin last listed it.
    pub fn current(&self, tool: &str) -> Option<&str> {
        self.tools.get(tool).and_then(|t| t.current.as_deref())
    }

    /// The tools the origin lists, in name order.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .tools
            .values()
            .filter(|t| t.current_sha256.is_some())
            .map(|t| t.name.as_str())
            .collect();
        crate::sort::sort(&mut names);
        names
    }

    /// Whether a seen definition is what the view already has (nothing to report).
    pub fn knows(&self, seen: &Seen) -> bool {
        self.seeded
            && self
                .tools
                .get(&seen.name)
                .is_some_and(|t| t.current_sha256.as_deref() == Some(seen.sha256.as_str()))
    }

    /// Whether a complete list of `names` leaves out a tool the view has as listed.
    pub fn misses_any(&self, names: &[&str]) -> bool {
        self.tools
            .values()
            .any(|t| t.current_sha256.is_some() && !names.contains(&t.name.as_str()))
    }
}

// ---------------------------------------------------------------------------- warnings

/// Phrases that address the model rather than describe the tool. Matched
/// case-insensitively, ignoring runs of spaces.
const ADDRESSES_THE_MODEL: &[&str] = &[
    "ignore previous instructions",
    "ignore all previous",
    "ignore the previous",
    "ignore any previous",
    "ignore the above",
    "disregard previous",
    "disregard all previous",
    "disregard the above",
    "forget previous instructions",
    "forget your instructions",
    "do not tell the user",
    "don't tell the user",
    "do not inform the user",
    "do not mention this",
    "don't mention this",
    "without telling the user",
    "without informing the user",
    "hide this from the user",
    "the user must not know",
    "you must always",
    "you must first",
    "before using any other tool",
    "before calling any other tool",
    "instead of the user's request",
    "system prompt",
    "your instructions",
    "new instructions",
];

/// Tag names that address the model when written as `<TAG>`.
const MODEL_TAGS: &[&str] = &[
    "important",
    "system",
    "instructions",
    "instruction",
    "secret",
    "hidden",
    "admin",
    "assistant",
    "critical",
    "override",
];

/// What is wrong with a text that should describe a tool, as warnings.
fn text_warnings(text: &str, place: &str, out: &mut Vec<String>) {
    let lowered: String = text
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for phrase in ADDRESSES_THE_MODEL {
        if lowered.contains(phrase) {
            out.push(format!(
                "{place} addresses the model rather than describing the tool: `{phrase}`"
            ));
        }
    }
    for tag in MODEL_TAGS {
        for form in [format!("<{tag}>"), format!("</{tag}>"), format!("<{tag} ")] {
            if lowered.contains(&form) {
                out.push(format!(
                    "{place} addresses the model with a `<{}>` tag",
                    tag.to_uppercase()
                ));
                break;
            }
        }
    }
    if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| is_invisible(*c)) {
        out.push(format!(
            "{place} contains invisible or bidirectional Unicode: {} at character {}",
            crate::policy::visible_char(c),
            at + 1
        ));
    }
}

/// Zero-width, bidirectional, tag and other format characters a reader cannot see.
pub fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE007F
        | 0xE0100..=0xE01EF)
}

/// The warnings of one tool definition. `median` is the median description length of
/// the catalogue it belongs to (in characters).
pub fn warnings(tool: Node<'_>, median: usize) -> Vec<String> {
    let mut out = Vec::new();
    let description = tool
        .get("description")
        .and_then(|d| d.as_str())
        .unwrap_or_default();
    text_warnings(&description, "the description", &mut out);
    if let Some(title) = tool.get("title").and_then(|t| t.as_str()) {
        text_warnings(&title, "the title", &mut out);
    }
    if let Some(schema) = tool.get("inputSchema") {
        let mut texts = Vec::new();
        collect_descriptions(schema, "the input schema", &mut texts, 0);
        for (place, text) in texts {
            text_warnings(&text, &place, &mut out);
        }
    }
    let length = description.chars().count();
    if length > 1_000 && length > median.saturating_mul(4) {
        out.push(format!(
            "the description is {length} characters, more than 1,000 and more than four times the catalogue's median ({median})"
        ));
    }
    out
}

fn collect_descriptions(
    node: Node<'_>,
    place: &str,
    out: &mut Vec<(String, String)>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    if let Some(text) = node.get("description").and_then(|d| d.as_str()) {
        out.push((format!("{place}'s description"), text.into_owned()));
    }
    if let Some(properties) = node.get("properties") {
        for (key, sub) in properties.members() {
            let key = key.as_str().unwrap_or_default();
            collect_descriptions(sub, &format!("the argument `{key}`"), out, depth + 1);
        }
    }
    if let Some(items) = node.get("items") {
        collect_descriptions(items, place, out, depth + 1);
    }
}

/// The median description length of a catalogue, in characters.
pub fn median_description(tools: &[Tool]) -> usize {
    let mut lengths: Vec<usize> = tools
        .iter()
        .map(|t| t.description.chars().count())
        .collect();
    crate::sort::sort(&mut lengths);
    lengths.get(lengths.len() / 2).copied().unwrap_or(0)
}

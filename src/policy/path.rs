//! Argument paths (`args.lines.*.amount`): parsing, and resolving against a call's
//! arguments step by step (CONTRACT §1, "Resolving a path").
//!
//! - on an **object**, a segment is a key (digits too: `0` looks up the key `"0"`); `*`
//!   stands for every member value; a key that is not there makes the path **absent**;
//! - on an **array**, a run of digits is an index (past the end: **absent**); `*` stands
//!   for every element; any other key is the **wrong kind**;
//! - on a **scalar** (string, number, boolean, null), any segment is the **wrong kind**.
//!
//! [`ArgPath::walk`] hands every value the path reaches to a callback, as a [`Target`]:
//! one for a path without `*`, one per element for each `*` (none for an empty array or
//! object). The evaluator decides what the targets mean for a condition.

use crate::json::{Kind, Node};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A key; `index` is set when the key is a run of digits that fits a `usize`, and
    /// `digits` when it is a run of digits at all (an index past any array when too big).
    Key {
        text: String,
        digits: bool,
        index: Option<usize>,
    },
    /// `*`: every member of an object, every element of an array.
    Star,
}

/// A path into the call: `args` then keys, indexes or `*`.
#[derive(Debug, Clone)]
pub struct ArgPath {
    text: String,
    segments: Vec<Segment>,
    /// Whether a segment is `*` (else the path reaches one target).
    star: bool,
    /// The policy's number for the path's first key, shared by every path that starts
    /// with it (so that a decision looks each key up once); [`ArgPath::NO_KEY`] when the
    /// first segment is `*`.
    first_key: u32,
}

/// What one resolution of a path reached.
#[derive(Debug, Clone, Copy)]
pub enum Target<'d> {
    /// A value.
    Value(Node<'d>),
    /// Segment `at` (0 is the first after `args`) named a key that is not there, or an
    /// index past the end.
    Absent { at: usize },
    /// Segment `at` met a value it cannot step into.
    WrongKind { at: usize, found: Kind },
}

impl ArgPath {
    /// Parses `args.a.0.*`: `args`, then non-empty segments separated by dots.
    pub fn parse(text: &str) -> Result<ArgPath, String> {
        let Some(rest) = text.strip_prefix("args.") else {
            return Err(format!("path `{text}` must start with `args.`"));
        };
        let mut segments = Vec::new();
        for segment in rest.split('.') {
            if segment.is_empty() {
                return Err(format!("path `{text}` has an empty segment"));
            }
            if segment == "*" {
                segments.push(Segment::Star);
                continue;
            }
            if segment.contains('*') {
                return Err(format!(
                    "path `{text}`: `*` must be a whole segment (`args.lines.*.amount`), not part of `{segment}`"
                ));
            }
            let digits = segment.bytes().all(|b| b.is_ascii_digit());
            segments.push(Segment::Key {
                text: segment.to_owned(),
                digits,
                index: if digits {
                    segment.parse::<usize>().ok()
                } else {
                    None
                },
            });
        }
        Ok(ArgPath {
            text: text.to_owned(),
            star: segments.contains(&Segment::Star),
            segments,
            first_key: Self::NO_KEY,
        })
    }

    /// [`ArgPath::first_key`] of a path that has none.
    pub const NO_KEY: u32 = u32::MAX;

    /// The path's first key, when its first segment is one.
    pub fn first_key_text(&self) -> Option<&str> {
        match self.segments.first()? {
            Segment::Key { text, .. } => Some(text),
            Segment::Star => None,
        }
    }

    /// Numbers the path's first key (see [`ArgPath::first_key`]).
    pub fn set_first_key(&mut self, id: u32) {
        self.first_key = id;
    }

    /// The policy's number for the path's first key ([`ArgPath::NO_KEY`] for none).
    pub fn first_key(&self) -> u32 {
        self.first_key
    }

    /// The path as written (`args.lines.0.amount`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The segments after `args`.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether a segment is `*`.
    pub fn has_star(&self) -> bool {
        self.star
    }

    /// The one target of a path without `*`, resolved in a loop (what [`ArgPath::walk`]
    /// hands over for such a path); `None` for a path with `*`.
    pub fn single<'d>(&self, arguments: Node<'d>) -> Option<Target<'d>> {
        if self.star {
            return None;
        }
        self.single_from(arguments, 0)
    }

    /// [`ArgPath::single`] for a path without `*` whose first key is already looked up
    /// in an object of arguments: `first` is its value, `None` when absent.
    pub fn single_after_first<'d>(&self, first: Option<Node<'d>>) -> Target<'d> {
        match first {
            None => Target::Absent { at: 0 },
            Some(value) if self.segments.len() == 1 => Target::Value(value),
            Some(value) => self.single_from(value, 1).unwrap_or(Target::Value(value)),
        }
    }

    /// Resolves segments `from..` starting at `value`.
    fn single_from<'d>(&self, value: Node<'d>, from: usize) -> Option<Target<'d>> {
        let mut value = value;
        for (at, segment) in self.segments.iter().enumerate().skip(from) {
            let next = match (segment, value.kind()) {
                (Segment::Key { text, .. }, Kind::Object) => value.get(text),
                (
                    Segment::Key {
                        digits: true,
                        index,
                        ..
                    },
                    Kind::Array,
                ) => index.and_then(|i| value.item(i)),
                (_, found) => return Some(Target::WrongKind { at, found }),
            };
            match next {
                Some(next) => value = next,
                None => return Some(Target::Absent { at }),
            }
        }
        Some(Target::Value(value))
    }

    /// Appends the path up to and including segment `at`, as written: `args.values` for
    /// segment 0 of `args.values.groups_id`.
    fn write_prefix(&self, at: usize, out: &mut String) {
        out.push_str("args");
        for segment in self.segments.iter().take(at + 1) {
            out.push('.');
            match segment {
                Segment::Key { text, .. } => out.push_str(text),
                Segment::Star => out.push('*'),
            }
        }
    }

    /// Appends the path above segment `at` (`args` for the first).
    fn write_parent(&self, at: usize, out: &mut String) {
        match at.checked_sub(1) {
            Some(above) => self.write_prefix(above, out),
            None => out.push_str("args"),
        }
    }

    /// Calls `visit` with every target the path reaches from `arguments`, in document
    /// order. `visit` returns `false` to stop early.
    pub fn walk<'d>(&self, arguments: Node<'d>, visit: &mut dyn FnMut(Target<'d>) -> bool) {
        self.walk_from(0, arguments, visit);
    }

    fn walk_from<'d>(
        &self,
        at: usize,
        value: Node<'d>,
        visit: &mut dyn FnMut(Target<'d>) -> bool,
    ) -> bool {
        let Some(segment) = self.segments.get(at) else {
            return visit(Target::Value(value));
        };
        match (segment, value.kind()) {
            (Segment::Star, Kind::Object) => {
                for (_, member) in value.members() {
                    if !self.walk_from(at + 1, member, visit) {
                        return false;
                    }
                }
                true
            }
            (Segment::Star, Kind::Array) => {
                for item in value.items() {
                    if !self.walk_from(at + 1, item, visit) {
                        return false;
                    }
                }
                true
            }
            (Segment::Key { text, .. }, Kind::Object) => match value.get(text) {
                Some(member) => self.walk_from(at + 1, member, visit),
                None => visit(Target::Absent { at }),
            },
            (
                Segment::Key {
                    digits: true,
                    index,
                    ..
                },
                Kind::Array,
            ) => match index.and_then(|i| value.item(i)) {
                Some(item) => self.walk_from(at + 1, item, visit),
                None => visit(Target::Absent { at }),
            },
            (_, found) => visit(Target::WrongKind { at, found }),
        }
    }

    /// Appends why segment `at` could not step into a value of kind `found`, for messages
    /// (without `fmt`: these are the reasons of denials, written on the request path).
    pub fn write_wrong_kind_reason(&self, at: usize, found: Kind, out: &mut String) {
        out.push('`');
        self.write_parent(at, out);
        match self.segments.get(at) {
            Some(Segment::Star) => {
                out.push_str("` is ");
                out.push_str(found.described());
                out.push_str(", so `*` has no elements to stand for");
            }
            Some(Segment::Key { text, .. }) if found == Kind::Array => {
                out.push_str("` is an array, so the key `");
                out.push_str(text);
                out.push_str("` cannot be looked up in it (an array takes an index or `*`)");
            }
            Some(Segment::Key { text, .. }) => {
                out.push_str("` is ");
                out.push_str(found.described());
                out.push_str(", so `");
                out.push_str(text);
                out.push_str("` cannot be looked up in it");
            }
            None => {
                out.push_str("` is ");
                out.push_str(found.described());
            }
        }
    }

    /// Appends why segment `at` found nothing, for messages.
    pub fn write_absent_reason(&self, at: usize, out: &mut String) {
        out.push('`');
        self.write_prefix(at, out);
        out.push_str("` is missing");
        if let Some(Segment::Key { text, digits, .. }) = self.segments.get(at) {
            out.push_str(if *digits {
                " (no key or index `"
            } else {
                " (no key `"
            });
            out.push_str(text);
            out.push_str("` in `");
            self.write_parent(at, out);
            out.push_str("`)");
        }
    }
}

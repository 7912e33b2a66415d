//! Strict JSON: the one parser that MCP messages, origin answers and policies go through,
//! and the exact comparisons and canonical form the evaluator needs.
//!
//! The gateway forwards the client's original bytes, so toolgate must read a message
//! exactly as any origin would, or refuse it. This parser therefore refuses everything on
//! which JSON parsers are known to disagree:
//!
//! - duplicate object keys, at any depth (parsers differ on which one wins);
//! - keys that differ only in case, by `ſ`/`K`/`ẞ` folding or by NUL characters (Go's
//!   `encoding/json` and some of its replacements treat them as the same key:
//!   CVE-2026-27896 and GHSA-q382-vc8q-7jhj);
//! - lone UTF-16 surrogates in `\u` escapes, and invalid UTF-8;
//! - trailing data after the value, a byte-order mark, `NaN`/`Infinity`, numbers outside
//!   the range of a double, exponents of more than [`MAX_EXPONENT_DIGITS`] digits (as
//!   written, or in the exact value's canonical form: `0.1e-999999` is `1e-1000000`), and
//!   nesting deeper than [`MAX_DEPTH`].
//!
//! # Representation
//!
//! A [`Document`] is the text plus a flat *tape* of [`Slot`]s, one per value, in document
//! order; a container's slot records where its subtree ends, so skipping a value is one
//! step. Nothing is copied out of the text: a [`Node`] is a view (document, slot), strings
//! are decoded only when asked for and only when they hold escapes, and a number is kept
//! as its text, so that **numbers compare by their exact decimal value** ([`Number`]):
//! `1` equals `1.0` and `100E-2`, and `12345678901234567891` does not equal
//! `12345678901234567000` (no rounding to a double, as Python, the origin's language,
//! keeps integers exact).
//!
//! Errors carry the JSON Pointer of the place they were found, so that a bad policy can be
//! reported at its place.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The deepest nesting of arrays and objects accepted (in policies and agent requests).
pub const MAX_DEPTH: usize = 64;

/// The deepest nesting accepted in what an origin answers ([`Document::parse_answer`]):
/// deeper than a request may be, since a tool's result may hold its arguments and more.
/// The parser keeps open containers in a list, not on the call stack, so depth costs
/// only that list.
pub const MAX_ANSWER_DEPTH: usize = 1024;

/// The most digits an exponent may have. A longer one is refused as out of range.
pub const MAX_EXPONENT_DIGITS: usize = 6;

/// Why a text is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line} column {column}")]
pub struct JsonError {
    /// What went wrong.
    pub kind: JsonErrorKind,
    /// JSON Pointer of the value being read when it went wrong (`""` for the root).
    pub pointer: String,
    /// 1-based line of the offending byte.
    pub line: usize,
    /// 1-based column (in bytes) of the offending byte.
    pub column: usize,
    /// Byte offset of the offending byte.
    pub offset: usize,
}

/// The kinds of [`JsonError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonErrorKind {
    #[error("invalid utf-8")]
    InvalidUtf8,
    #[error("unexpected end of input")]
    Eof,
    #[error("unexpected `{0}`")]
    Unexpected(char),
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
    #[error("keys `{0}` and `{1}` differ only in case or invisible characters")]
    AmbiguousKeys(String, String),
    #[error("lone surrogate `\\u{0:04x}`")]
    LoneSurrogate(u32),
    #[error("invalid escape")]
    InvalidEscape,
    #[error("control character in string")]
    ControlCharacter,
    #[error("number out of range")]
    NumberOutOfRange,
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    #[error("trailing data after the json value")]
    TrailingData,
    #[error("text larger than 4 GiB")]
    TooLarge,
}

/// What kind of value a [`Node`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    /// The kind with an article, for messages: `a string`, `an object`.
    pub fn described(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Null,
    True,
    False,
    Number,
    /// A string without escapes: its text is its value.
    Str,
    /// A string with escapes, decoded on demand.
    StrEsc,
    Array,
    Object,
}

/// One value on the tape.
#[derive(Debug, Clone, Copy)]
struct Slot {
    tag: Tag,
    /// First byte of the value; for strings, the byte after the opening quote.
    start: u32,
    /// The byte after the value; for strings, the closing quote.
    end: u32,
    /// The slot after this value's subtree.
    next: u32,
    /// Members of an object, items of an array.
    len: u32,
}

const NULL_SLOT: Slot = Slot {
    tag: Tag::Null,
    start: 0,
    end: 0,
    next: 0,
    len: 0,
};

/// A parsed JSON text: the text and its tape. Borrowed from the input, or owned.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    text: Cow<'a, str>,
    slots: Vec<Slot>,
    /// The parser's buffers, kept for reuse.
    keys: Vec<Key>,
    open: Vec<Frame>,
}

impl<'a> Document<'a> {
    /// Parses `bytes` as one strict JSON value (see the module docs for what is refused).
    pub fn parse(bytes: &'a [u8]) -> Result<Document<'a>, JsonError> {
        Document::parse_reusing(bytes, Tape::default())
    }

    /// Like [`Document::parse`], reusing the tape of an earlier document
    /// ([`Document::into_tape`]) so that a loop allocates nothing.
    pub fn parse_reusing(bytes: &'a [u8], tape: Tape) -> Result<Document<'a>, JsonError> {
        Document::parse_str_reusing(utf8(bytes)?, tape)
    }

    /// Like [`Document::parse_reusing`], for text already known to be UTF-8.
    pub fn parse_str_reusing(text: &'a str, tape: Tape) -> Result<Document<'a>, JsonError> {
        let Tape { slots, keys, open } = parse_slots(text, tape, MAX_DEPTH)?;
        Ok(Document {
            text: Cow::Borrowed(text),
            slots,
            keys,
            open,
        })
    }

    /// Like [`Document::parse`] for a message from an origin, which may nest as deep as
    /// [`MAX_ANSWER_DEPTH`].
    pub fn parse_answer(text: &'a str) -> Result<Document<'a>, JsonError> {
        let Tape { slots, keys, open } = parse_slots(text, Tape::default(), MAX_ANSWER_DEPTH)?;
        Ok(Document {
            text: Cow::Borrowed(text),
            slots,
            keys,
            open,
        })
    }

    /// Parses a text the document then owns.
    pub fn parse_owned(text: String) -> Result<Document<'static>, JsonError> {
        let Tape { slots, keys, open } = parse_slots(&text, Tape::default(), MAX_DEPTH)?;
        Ok(Document {
            text: Cow::Owned(text),
            slots,
            keys,
            open,
        })
    }

    /// Parses bytes the document then owns.
    pub fn parse_owned_bytes(bytes: Vec<u8>) -> Result<Document<'static>, JsonError> {
        match String::from_utf8(bytes) {
            Ok(text) => Document::parse_owned(text),
            Err(e) => {
                let bytes = e.into_bytes();
                Err(match utf8(&bytes) {
                    Err(error) => error,
                    Ok(_) => position_error(JsonErrorKind::InvalidUtf8, String::new(), &[]),
                })
            }
        }
    }

    /// The top-level value.
    pub fn root(&self) -> Node<'_> {
        Node { doc: self, at: 0 }
    }

    /// The node at a slot index (as [`Node::index`] gives it); `None` past the end.
    pub fn node(&self, index: u32) -> Option<Node<'_>> {
        ((index as usize) < self.slots.len()).then_some(Node {
            doc: self,
            at: index,
        })
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same document, owning its text.
    pub fn into_owned(self) -> Document<'static> {
        Document {
            text: Cow::Owned(self.text.into_owned()),
            slots: self.slots,
            keys: self.keys,
            open: self.open,
        }
    }

    /// Gives back the buffers for [`Document::parse_reusing`].
    pub fn into_tape(self) -> Tape {
        Tape {
            slots: self.slots,
            keys: self.keys,
            open: self.open,
        }
    }
}

/// The document `{}`: what a call without `arguments` is evaluated against.
pub fn empty_object() -> &'static Document<'static> {
    static EMPTY: std::sync::OnceLock<Document<'static>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Document {
        text: Cow::Borrowed("{}"),
        slots: vec![Slot {
            tag: Tag::Object,
            start: 0,
            end: 2,
            next: 1,
            len: 0,
        }],
        keys: Vec::new(),
        open: Vec::new(),
    })
}

/// Reusable parse buffers (see [`Document::parse_reusing`]): the slots, and the
/// parser's stacks of open containers and of keys.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    slots: Vec<Slot>,
    keys: Vec<Key>,
    open: Vec<Frame>,
}

fn utf8(bytes: &[u8]) -> Result<&str, JsonError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
        position_error(JsonErrorKind::InvalidUtf8, String::new(), before)
    })
}

fn position_error(kind: JsonErrorKind, pointer: String, before: &[u8]) -> JsonError {
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    JsonError {
        kind,
        pointer,
        line,
        column: before.len() - line_start + 1,
        offset: before.len(),
    }
}

/// A value of a [`Document`]: cheap to copy, borrowing the document.
#[derive(Clone, Copy)]
pub struct Node<'d> {
    doc: &'d Document<'d>,
    at: u32,
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw())
    }
}

impl std::fmt::Display for Node<'_> {
    /// The value's exact source text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.raw())
    }
}

impl<'d> Node<'d> {
    fn slot(&self) -> Slot {
        self.doc
            .slots
            .get(self.at as usize)
            .copied()
            .unwrap_or(NULL_SLOT)
    }

    fn at(&self, index: u32) -> Node<'d> {
        Node {
            doc: self.doc,
            at: index,
        }
    }

    /// The node at slot `index` of this node's document (an index from [`Node::index`]).
    #[inline]
    pub fn in_document(&self, index: u32) -> Option<Node<'d>> {
        self.doc.node(index)
    }

    /// The slot index of this node in its document (for [`Document::node`]).
    pub fn index(&self) -> u32 {
        self.at
    }

    /// What kind of value this is.
    pub fn kind(&self) -> Kind {
        match self.slot().tag {
            Tag::Null => Kind::Null,
            Tag::True | Tag::False => Kind::Bool,
            Tag::Number => Kind::Number,
            Tag::Str | Tag::StrEsc => Kind::String,
            Tag::Array => Kind::Array,
            Tag::Object => Kind::Object,
        }
    }

    /// The exact source text of the value (strings with their quotes).
    pub fn raw(&self) -> &'d str {
        let slot = self.slot();
        let (start, end) = match slot.tag {
            Tag::Str | Tag::StrEsc => (slot.start.saturating_sub(1), slot.end + 1),
            _ => (slot.start, slot.end),
        };
        self.doc
            .text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// The byte range of [`Node::raw`] in the document's text.
    pub fn span(&self) -> std::ops::Range<usize> {
        let slot = self.slot();
        match slot.tag {
            Tag::Str | Tag::StrEsc => slot.start.saturating_sub(1) as usize..slot.end as usize + 1,
            _ => slot.start as usize..slot.end as usize,
        }
    }

    /// The decoded string, if this is a string.
    pub fn as_str(&self) -> Option<Cow<'d, str>> {
        let slot = self.slot();
        let text = self.doc.text.get(slot.start as usize..slot.end as usize)?;
        match slot.tag {
            Tag::Str => Some(Cow::Borrowed(text)),
            Tag::StrEsc => Some(Cow::Owned(unescape(text))),
            _ => None,
        }
    }

    /// The text of a string written without escapes (its value as it is); `None` for
    /// any other value.
    #[inline]
    pub fn raw_str(&self) -> Option<&'d str> {
        let slot = self.slot();
        (slot.tag == Tag::Str)
            .then(|| self.doc.text.get(slot.start as usize..slot.end as usize))
            .flatten()
    }

    /// Whether this is the string `s`.
    #[inline]
    pub fn str_eq(&self, s: &str) -> bool {
        let slot = self.slot();
        let (start, end) = (slot.start as usize, slot.end as usize);
        match slot.tag {
            Tag::Str => {
                let text = self.doc.text.as_bytes();
                text.get(start..end)
                    .is_some_and(|t| same_bytes(t, s.as_bytes()))
            }
            Tag::StrEsc => unescape(self.doc.text.get(start..end).unwrap_or_default()) == s,
            _ => false,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number<'d>> {
        (self.slot().tag == Tag::Number).then(|| Number { text: self.raw() })
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.slot().tag {
            Tag::True => Some(true),
            Tag::False => Some(false),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.slot().tag == Tag::Null
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        self.slot().tag == Tag::Object
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        self.slot().tag == Tag::Array
    }

    /// The number of members of an object or items of an array (0 for anything else).
    pub fn len(&self) -> usize {
        match self.slot().tag {
            Tag::Array | Tag::Object => self.slot().len as usize,
            _ => 0,
        }
    }

    /// Whether [`Node::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<Node<'d>> {
        let slots = &self.doc.slots;
        let object = slots.get(self.at as usize)?;
        if object.tag != Tag::Object {
            return None;
        }
        let text = self.doc.text.as_bytes();
        let want = key.as_bytes();
        let mut at = self.at as usize + 1;
        for _ in 0..object.len {
            // A member is two slots: its key and its value, whose `next` is the next key.
            let [name, value] = slots.get(at..).and_then(<[Slot]>::first_chunk::<2>)?;
            let found = match name.tag {
                // The length first: most keys differ there.
                Tag::Str => {
                    (name.end - name.start) as usize == want.len()
                        && text
                            .get(name.start as usize..name.end as usize)
                            .is_some_and(|t| same_bytes(t, want))
                }
                _ => self.at(at as u32).str_eq(key),
            };
            if found {
                return Some(self.at(at as u32 + 1));
            }
            at = value.next as usize;
        }
        None
    }

    /// Reads an object's members in one pass: `out[i]` gets the value of the member named
    /// `names[i]`, and `other` sees every member whose key is none of them. (Cheaper than
    /// one [`Node::get`] per name.)
    pub fn pick(
        &self,
        names: &[&str],
        out: &mut [Option<Node<'d>>],
        other: &mut dyn FnMut(Node<'d>, Node<'d>),
    ) {
        for (key, value) in self.members() {
            let slot = key.slot();
            let found = if slot.tag == Tag::Str {
                let raw = key
                    .doc
                    .text
                    .as_bytes()
                    .get(slot.start as usize..slot.end as usize)
                    .unwrap_or_default();
                names.iter().position(|n| same_bytes(n.as_bytes(), raw))
            } else {
                names.iter().position(|n| key.str_eq(n))
            };
            match found.and_then(|i| out.get_mut(i)) {
                Some(cell) => *cell = Some(value),
                None => other(key, value),
            }
        }
    }

    /// Item `i` of an array.
    pub fn item(&self, i: usize) -> Option<Node<'d>> {
        self.items().nth(i)
    }

    /// The members of an object, in document order, as (key, value); empty otherwise.
    pub fn members(&self) -> Members<'d> {
        let slot = self.slot();
        let (next, remaining) = if slot.tag == Tag::Object {
            (self.at + 1, slot.len)
        } else {
            (0, 0)
        };
        Members {
            doc: self.doc,
            next,
            remaining,
        }
    }

    /// The items of an array, in order; empty otherwise.
    pub fn items(&self) -> Items<'d> {
        let slot = self.slot();
        let (next, remaining) = if slot.tag == Tag::Array {
            (self.at + 1, slot.len)
        } else {
            (0, 0)
        };
        Items {
            doc: self.doc,
            next,
            remaining,
        }
    }

    /// The RFC 8785 canonical form, with numbers in their exact decimal form.
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(self.raw().len());
        self.write_canonical(&mut out);
        out
    }

    /// Appends [`Node::canonical`] to `out`.
    pub fn write_canonical(&self, out: &mut String) {
        match self.slot().tag {
            Tag::Null => out.push_str("null"),
            Tag::True => out.push_str("true"),
            Tag::False => out.push_str("false"),
            Tag::Number => Number { text: self.raw() }.write_canonical(out),
            Tag::Str | Tag::StrEsc => {
                write_canonical_str(&self.as_str().unwrap_or_default(), out);
            }
            Tag::Array => {
                out.push('[');
                for (i, item) in self.items().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_canonical(out);
                }
                out.push(']');
            }
            Tag::Object => {
                let mut members: Vec<(Cow<'d, str>, Node<'d>)> = self
                    .members()
                    .map(|(k, v)| (k.as_str().unwrap_or_default(), v))
                    .collect();
                crate::sort::sort_by(&mut members, |(a, _), (b, _)| {
                    a.encode_utf16().lt(b.encode_utf16())
                });
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_canonical_str(key, out);
                    out.push(':');
                    value.write_canonical(out);
                }
                out.push('}');
            }
        }
    }

    /// The node as the document it came from, owning a copy of its text.
    pub fn to_document(&self) -> Document<'static> {
        // The subtree is already strict JSON; parsing its text again cannot fail, but if
        // it ever did, an empty object is the safe answer.
        Document::parse_owned(self.raw().to_owned()).unwrap_or_else(|_| Document {
            text: Cow::Borrowed("null"),
            slots: vec![Slot {
                tag: Tag::Null,
                start: 0,
                end: 4,
                next: 1,
                len: 0,
            }],
            keys: Vec::new(),
            open: Vec::new(),
        })
    }
}

/// The members of an object node.
pub struct Members<'d> {
    doc: &'d Document<'d>,
    next: u32,
    remaining: u32,
}

impl<'d> Iterator for Members<'d> {
    type Item = (Node<'d>, Node<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let key = Node {
            doc: self.doc,
            at: self.next,
        };
        let value = key.at(self.next + 1);
        self.next = value.slot().next;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

/// The items of an array node.
pub struct Items<'d> {
    doc: &'d Document<'d>,
    next: u32,
    remaining: u32,
}

impl<'d> Iterator for Items<'d> {
    type Item = Node<'d>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let item = Node {
            doc: self.doc,
            at: self.next,
        };
        self.next = item.slot().next;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

/// JSON equality as policies mean it: numbers compare by exact decimal value (`1` equals
/// `1.0`), strings by their decoded text, objects ignore key order, and values of
/// different kinds are never equal.
pub fn json_eq(a: Node<'_>, b: Node<'_>) -> bool {
    match (a.slot().tag, b.slot().tag) {
        (Tag::Number, Tag::Number) => {
            Number { text: a.raw() }.cmp_exact(&Number { text: b.raw() }) == Ordering::Equal
        }
        (Tag::Str, Tag::Str) => a.raw() == b.raw(),
        (Tag::Str | Tag::StrEsc, Tag::Str | Tag::StrEsc) => a.as_str() == b.as_str(),
        (Tag::Array, Tag::Array) => {
            a.len() == b.len() && a.items().zip(b.items()).all(|(x, y)| json_eq(x, y))
        }
        (Tag::Object, Tag::Object) => {
            a.len() == b.len()
                && a.members().all(|(k, v)| {
                    let key = k.as_str().unwrap_or_default();
                    b.get(&key).is_some_and(|w| json_eq(v, w))
                })
        }
        (x, y) => x == y && matches!(x, Tag::Null | Tag::True | Tag::False),
    }
}

// ---------------------------------------------------------------------------- numbers

/// The value of a number written as an integer of at most 18 digits (`-42`, `500`), the
/// common case that needs no decimal arithmetic; `None` for any other text.
fn small_integer(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(if negative { -value } else { value })
}

/// A JSON number, kept as its text and compared by its exact decimal value.
#[derive(Debug, Clone, Copy)]
pub struct Number<'d> {
    text: &'d str,
}

/// A number's value as sign, significant digits and decimal exponent:
/// `±0.DIGITS × 10^point`, without leading or trailing zeros in DIGITS (empty for zero).
struct Decimal<'d> {
    negative: bool,
    int: &'d [u8],
    frac: &'d [u8],
    /// Index of the first significant digit in `int ++ frac`.
    first: usize,
    /// Index after the last significant digit in `int ++ frac`.
    last: usize,
    point: i64,
}

impl Decimal<'_> {
    fn digit(&self, i: usize) -> u8 {
        let at = self.first + i;
        if at >= self.last {
            return b'0';
        }
        if at < self.int.len() {
            self.int.get(at).copied().unwrap_or(b'0')
        } else {
            self.frac.get(at - self.int.len()).copied().unwrap_or(b'0')
        }
    }

    fn len(&self) -> usize {
        self.last - self.first
    }

    fn is_zero(&self) -> bool {
        self.last == self.first
    }

    /// Whether the number reads as a finite double, exactly as `str::parse::<f64>` reads
    /// it: its magnitude is below [`F64_OVERFLOW`], the least value that rounds to
    /// infinity. Compared digit by digit, so that the Worker carries no float parser
    /// (its tables are about 30 KB of wasm).
    fn is_finite_f64(&self) -> bool {
        let limit = F64_OVERFLOW.as_bytes();
        let digits = i64::try_from(limit.len()).unwrap_or(i64::MAX);
        if self.is_zero() || self.point < digits {
            return true;
        }
        if self.point > digits {
            return false;
        }
        for (i, &bound) in limit.iter().enumerate() {
            match self.digit(i).cmp(&bound) {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {}
            }
        }
        // Equal to the bound over its digits: the bound itself (a tie, which rounds to
        // even, to infinity) or more.
        false
    }
}

/// 2^1024 − 2^970, halfway between `f64::MAX` and 2^1024: the least magnitude that rounds
/// to infinity (a tie goes to the even neighbour, 2^1024).
const F64_OVERFLOW: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

impl<'d> Number<'d> {
    /// The number as written.
    pub fn as_str(&self) -> &'d str {
        self.text
    }

    fn decimal(&self) -> Decimal<'d> {
        let bytes = self.text.as_bytes();
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, bytes),
        };
        let mantissa_end = rest
            .iter()
            .position(|b| matches!(b, b'e' | b'E'))
            .unwrap_or(rest.len());
        let (mantissa, exponent) = rest.split_at(mantissa_end);
        let (int, frac) = match mantissa.iter().position(|b| *b == b'.') {
            Some(dot) => (
                mantissa.get(..dot).unwrap_or_default(),
                mantissa.get(dot + 1..).unwrap_or_default(),
            ),
            None => (mantissa, &[][..]),
        };
        let exp = parse_exponent(exponent.get(1..).unwrap_or_default());
        let all = int.len() + frac.len();
        let at = |i: usize| {
            if i < int.len() {
                int.get(i).copied()
            } else {
                frac.get(i - int.len()).copied()
            }
        };
        let first = (0..all).find(|i| at(*i) != Some(b'0')).unwrap_or(all);
        let last = (first..all)
            .rev()
            .find(|i| at(*i) != Some(b'0'))
            .map_or(first, |i| i + 1);
        let point = i64::try_from(int.len())
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(first).unwrap_or(i64::MAX))
            .saturating_add(exp);
        Decimal {
            negative,
            int,
            frac,
            first,
            last,
            point,
        }
    }

    /// Orders two numbers by their exact decimal values.
    pub fn cmp_exact(&self, other: &Number<'_>) -> Ordering {
        if let (Some(a), Some(b)) = (small_integer(self.text), small_integer(other.text)) {
            return a.cmp(&b);
        }
        let (a, b) = (self.decimal(), other.decimal());
        let sign = |d: &Decimal<'_>| {
            if d.is_zero() {
                0
            } else if d.negative {
                -1
            } else {
                1
            }
        };
        let (sa, sb) = (sign(&a), sign(&b));
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let magnitude = a.point.cmp(&b.point).then_with(|| {
            (0..a.len().max(b.len()))
                .map(|i| a.digit(i).cmp(&b.digit(i)))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        if sa < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    /// The value of a number written as an integer of at most 18 digits (`-42`, `500`),
    /// read without decimal arithmetic; `None` for any other text, whatever its value.
    #[inline]
    pub fn as_small_integer(&self) -> Option<i64> {
        small_integer(self.text)
    }

    /// The value as a `u64`, when it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        if self.text.len() <= 19 && self.text.bytes().all(|b| b.is_ascii_digit()) {
            return self.text.parse().ok();
        }
        let d = self.decimal();
        if d.is_zero() {
            return Some(0);
        }
        if d.negative || d.point < d.len() as i64 || d.point > 20 {
            return None;
        }
        let mut value: u64 = 0;
        for i in 0..usize::try_from(d.point).ok()? {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(d.digit(i) - b'0'))?;
        }
        Some(value)
    }

    /// The value as an `i64`, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        let digits = self.text.strip_prefix('-').unwrap_or(self.text);
        if digits.len() <= 18 && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return self.text.parse().ok();
        }
        let d = self.decimal();
        if d.is_zero() {
            return Some(0);
        }
        if d.point < d.len() as i64 || d.point > 19 {
            return None;
        }
        let mut value: i64 = 0;
        for i in 0..usize::try_from(d.point).ok()? {
            let digit = i64::from(d.digit(i) - b'0');
            value = value.checked_mul(10)?;
            value = if d.negative {
                value.checked_sub(digit)?
            } else {
                value.checked_add(digit)?
            };
        }
        Some(value)
    }

    /// Whether the value is an integer (`2`, `2.0`, `2e3`).
    pub fn is_integer(&self) -> bool {
        let d = self.decimal();
        d.is_zero() || d.point >= d.len() as i64
    }

    /// The nearest double.
    pub fn as_f64(&self) -> f64 {
        self.text.parse().unwrap_or(0.0)
    }

    /// The canonical form (RFC 8785's ECMAScript number form, applied to the exact
    /// decimal value rather than to the nearest double): `1`, `1.5`, `0.000001`, `1e-7`,
    /// `12345678901234567891`, `1e+21`.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.write_canonical(&mut out);
        out
    }

    fn write_canonical(&self, out: &mut String) {
        let d = self.decimal();
        if d.is_zero() {
            out.push('0');
            return;
        }
        if d.negative {
            out.push('-');
        }
        let k = d.len() as i64;
        let n = d.point;
        let digits = |out: &mut String, from: usize, to: usize| {
            for i in from..to {
                out.push(char::from(d.digit(i)));
            }
        };
        let k_us = d.len();
        if k <= n && n <= 21 {
            digits(out, 0, k_us);
            for _ in k..n {
                out.push('0');
            }
        } else if 0 < n && n <= 21 {
            let n_us = usize::try_from(n).unwrap_or(0);
            digits(out, 0, n_us);
            out.push('.');
            digits(out, n_us, k_us);
        } else if -6 < n && n <= 0 {
            out.push_str("0.");
            for _ in n..0 {
                out.push('0');
            }
            digits(out, 0, k_us);
        } else {
            digits(out, 0, 1);
            if k > 1 {
                out.push('.');
                digits(out, 1, k_us);
            }
            out.push('e');
            out.push(if n >= 1 { '+' } else { '-' });
            let _ = write!(out, "{}", (n - 1).unsigned_abs());
        }
    }
}

fn parse_exponent(text: &[u8]) -> i64 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let value = digits.iter().fold(0i64, |acc, b| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(b.wrapping_sub(b'0')))
    });
    if negative {
        -value
    } else {
        value
    }
}

// ---------------------------------------------------------------------------- strings

/// Decodes the escapes of a string's text (already validated by the parser).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let high = hex4(&mut chars);
                let code = if (0xD800..0xDC00).contains(&high) {
                    chars.next();
                    chars.next();
                    let low = hex4(&mut chars);
                    0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3ff)
                } else {
                    high
                };
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn hex4(chars: &mut std::str::Chars<'_>) -> u32 {
    (0..4).fold(0, |acc, _| {
        (acc << 4) | chars.next().and_then(|c| c.to_digit(16)).unwrap_or(0)
    })
}

/// Appends `s` as a JSON string with the minimal escapes (RFC 8785 §3.2.2.2): `"`, `\\`
/// and control characters; everything else verbatim. The bytes that need an escape are
/// all ASCII, so runs between them are found and copied whole.
pub fn write_canonical_str(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut at = scan_plain(bytes, 0);
    if at == bytes.len() {
        // Nothing to escape (names, pointers, most messages): one copy.
        out.reserve(bytes.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    out.push('"');
    let mut start = 0;
    loop {
        out.push_str(s.get(start..at).unwrap_or_default());
        let Some(&b) = bytes.get(at) else {
            break;
        };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        start = at + 1;
        at = scan_plain(bytes, start);
    }
    out.push('"');
}

/// `s` as a JSON string (the escapes of [`write_canonical_str`]).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_canonical_str(s, &mut out);
    out
}

// ---------------------------------------------------------------------------- the parser

/// Bytes that end a run of plain string characters: `"`, `\` and controls.
// Indexes below 256 into a table of 256: in bounds by construction.
#[allow(clippy::indexing_slicing)]
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

#[inline]
fn is_special(b: u8) -> bool {
    SPECIAL.get(usize::from(b)).copied().unwrap_or(true)
}

/// The index of the first byte at or after `i` that [`is_special`], or the length:
/// eight bytes at a time, then byte by byte for the last few.
#[inline]
fn scan_plain(bytes: &[u8], i: usize) -> usize {
    scan_plain_ascii(bytes, i).0
}

/// Where the first byte of `bytes` that is one of `wanted` is, looked for two words at a
/// time, then one (line ends, the `~` and `/` of pointer tokens, the `*` of patterns).
#[inline]
pub fn find_any<const N: usize>(bytes: &[u8], wanted: [u8; N]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `w ^ x` is zero where the word holds `x`. Each mask's lowest flag marks
    // the first such byte exactly (flags above it may be borrows), so the lowest flag of
    // their union marks the first wanted byte.
    let hits = |word: &[u8; 8]| {
        let w = u64::from_le_bytes(*word);
        wanted.iter().fold(0, |hit, &x| {
            let v = w ^ (ONES * u64::from(x));
            hit | (v.wrapping_sub(ONES) & !v & HIGH)
        })
    };
    let first = |hit: u64| (hit.trailing_zeros() / 8) as usize;
    let mut at = 0;
    while let Some(pair) = bytes.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let (low, high) = pair.split_at(8);
        let low = low.first_chunk::<8>().map_or(0, hits);
        let high = high.first_chunk::<8>().map_or(0, hits);
        if low | high != 0 {
            return Some(
                at + if low != 0 {
                    first(low)
                } else {
                    8 + first(high)
                },
            );
        }
        at += 16;
    }
    if let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let hit = hits(word);
        if hit != 0 {
            return Some(at + first(hit));
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter().position(|b| wanted.contains(b)).map(|p| at + p)
}

/// Whether two byte strings are equal; strings of up to 16 bytes (keys, names, short
/// values) are compared as two words each, without a call.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s.get(at..)
            .and_then(<[u8]>::first_chunk::<8>)
            .map(|w| u64::from_le_bytes(*w))
    };
    let half = |s: &[u8], at: usize| {
        s.get(at..)
            .and_then(<[u8]>::first_chunk::<4>)
            .map(|w| u32::from_le_bytes(*w))
    };
    match n {
        // The first and the last 8 (or 4) bytes, which overlap for shorter strings.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// [`scan_plain`], and whether the bytes it passed are all ASCII.
#[inline(always)]
fn scan_plain_ascii(bytes: &[u8], mut i: usize) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut seen = 0u64;
    while let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*word);
        // A byte is flagged when it is `"`, `\` or below 0x20. Flags above the first
        // true one may be false (borrows), but the first is exact.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let quote = zero(w ^ (ONES * u64::from(b'"')));
        let backslash = zero(w ^ (ONES * u64::from(b'\\')));
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
        let hit = quote | backslash | control;
        if hit != 0 {
            // The bits below the first flag: those of the bytes before it.
            seen |= w & ((hit & hit.wrapping_neg()) - 1);
            return (i + (hit.trailing_zeros() / 8) as usize, seen & HIGH == 0);
        }
        seen |= w;
        i += 8;
    }
    while let Some(&b) = bytes.get(i).filter(|b| !is_special(**b)) {
        seen |= u64::from(b);
        i += 1;
    }
    (i, seen & HIGH == 0)
}

/// A key of an open object, for the duplicate and ambiguity checks.
#[derive(Debug, Clone, Copy)]
struct Key {
    slot: u32,
    /// Where its text starts, and its length.
    start: u32,
    len: u32,
    /// For a simple key (unescaped and ASCII: its text is its value and folds as ASCII),
    /// its length and first and last bytes with bit 5 set (ASCII letters in lower case):
    /// two simple keys that are equal or case-equal have the same signature. 0 for any
    /// other key.
    signature: u32,
}

/// The [`Key::signature`] of a simple key's bytes (never 0).
#[inline]
fn key_signature(bytes: &[u8]) -> u32 {
    let first = bytes.first().map_or(0, |b| b | 0x20);
    let last = bytes.last().map_or(0, |b| b | 0x20);
    (bytes.len() as u32) << 16 | u32::from(first) << 8 | u32::from(last) | 1 << 31
}

/// An object being read: its slot, and the keys seen so far (slot indices) for the
/// duplicate and ambiguity checks.
#[derive(Debug, Clone)]
struct Frame {
    slot: u32,
    /// Whether it is an object (else an array).
    object: bool,
    /// Its members or items so far (its slot's `len` once it closes).
    len: u32,
    /// Where this frame's keys start in `Parser::keys`.
    keys_from: usize,
    /// A filter of the signatures of the keys so far, one bit each, while every key is
    /// simple: a new simple key whose bit is clear repeats none of them.
    signatures: u64,
    /// Whether some key so far is not simple (its comparisons need decoding).
    complex: bool,
    /// For large objects: the keys by the hash of their folded text.
    index: Option<Box<KeyIndex>>,
}

/// The keys of a large object by folded-key hash: for each hash the last key that has
/// it, and for each key the one before it with the same hash (positions in
/// `Parser::keys`).
///
/// The keys are the input's, so they are hashed with a key drawn at random (SipHash,
/// `RandomState`): nobody can choose keys that share a hash, or a bucket. That hash is
/// then the table's own: it is not hashed a second time.
#[derive(Debug, Clone)]
struct KeyIndex {
    keyed: std::collections::hash_map::RandomState,
    last: HashMap<u64, usize, std::hash::BuildHasherDefault<Unhashed>>,
    /// For the key at `from + i`, the position of the previous key with its hash.
    previous: Vec<Option<usize>>,
}

impl KeyIndex {
    fn with_capacity(keys: usize) -> KeyIndex {
        KeyIndex {
            keyed: std::collections::hash_map::RandomState::new(),
            last: HashMap::with_capacity_and_hasher(keys, Default::default()),
            previous: Vec::with_capacity(keys),
        }
    }

    /// The hash of a key's folded text. A simple key (unescaped ASCII, so its text is
    /// its bytes and folds as ASCII) is lowered a word at a time; the hasher sees the
    /// same bytes either way.
    fn hash(&self, text: &str, simple: bool) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut hasher = self.keyed.build_hasher();
        if simple || is_simple_key(text) {
            // Lowered into a buffer, and hashed in one write: the hasher's cost is mostly
            // per call. Longer keys go a buffer at a time.
            let mut buffer = [0u8; 64];
            for piece in text.as_bytes().chunks(buffer.len()) {
                let mut words = piece.chunks_exact(8);
                let mut out = buffer.chunks_exact_mut(8);
                for (word, to) in (&mut words).zip(&mut out) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(word);
                    let w = u64::from_le_bytes(w);
                    // ASCII bytes from `A` (0x41) to `Z` (0x5a): no carry crosses a byte.
                    let upper = w.wrapping_add(ONES * 0x3f) & !w.wrapping_add(ONES * 0x25) & HIGH;
                    to.copy_from_slice(&(w | upper >> 2).to_le_bytes());
                }
                let done = piece.len() - words.remainder().len();
                for (to, from) in buffer.iter_mut().skip(done).zip(words.remainder()) {
                    *to = from.to_ascii_lowercase();
                }
                hasher.write(buffer.get(..piece.len()).unwrap_or_default());
            }
        } else {
            hasher.write(fold_key(text).as_bytes());
        }
        hasher.finish()
    }

    fn add(&mut self, hash: u64, position: usize) {
        let before = self.last.insert(hash, position);
        self.previous.push(before);
    }

    /// The key before the one at `position` with the same hash, in an object whose keys
    /// start at `from`.
    fn before(&self, position: usize, from: usize) -> Option<usize> {
        self.previous
            .get(position.checked_sub(from)?)
            .copied()
            .flatten()
    }
}

/// The hasher of [`KeyIndex::last`], whose keys are hashes already (keyed at random).
#[derive(Debug, Default, Clone, Copy)]
struct Unhashed(u64);

impl std::hash::Hasher for Unhashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else still spreads its bytes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    slots: Vec<Slot>,
    /// Open containers, innermost last (for error pointers and key checks).
    open: Vec<Frame>,
    /// Keys of the open objects.
    keys: Vec<Key>,
    /// Whether a member's value (or an item) of the innermost open container is being
    /// read, so that errors name it. Every outer container is reading one.
    in_value: bool,
    /// The deepest nesting accepted.
    max_depth: usize,
}

/// A parse error, boxed so that the parser's results fit in a register.
type Fail = Box<JsonError>;

impl From<Fail> for JsonError {
    fn from(fail: Fail) -> JsonError {
        *fail
    }
}

/// Objects with more members than this check keys through a hash index.
const LINEAR_KEYS: usize = 16;

/// Parses `text` onto `tape`'s buffers; the returned tape holds the slots.
fn parse_slots(text: &str, tape: Tape, max_depth: usize) -> Result<Tape, JsonError> {
    let Tape {
        mut slots,
        mut keys,
        mut open,
    } = tape;
    slots.clear();
    keys.clear();
    open.clear();
    if u32::try_from(text.len()).is_err() {
        return Err(position_error(JsonErrorKind::TooLarge, String::new(), &[]));
    }
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        slots,
        open,
        keys,
        in_value: false,
        max_depth,
    };
    parser.skip_ws();
    parser.value()?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(*parser.error(JsonErrorKind::TrailingData));
    }
    Ok(Tape {
        slots: parser.slots,
        keys: parser.keys,
        open: parser.open,
    })
}

impl<'t> Parser<'t> {
    /// The JSON Pointer of the value being read: for each open container whose member
    /// or item is being read, its key or index.
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        for (depth, frame) in self.open.iter().enumerate() {
            if depth + 1 == self.open.len() && !self.in_value {
                break;
            }
            if frame.object {
                let keys_to = self
                    .open
                    .get(depth + 1)
                    .map_or(self.keys.len(), |next| next.keys_from);
                let key = self
                    .keys
                    .get(frame.keys_from..keys_to)
                    .and_then(<[Key]>::last)
                    .map(|k| self.key_text(k.slot));
                if let Some(key) = key {
                    pointer = push_pointer(&pointer, &key);
                }
            } else {
                pointer = push_pointer(&pointer, &frame.len.to_string());
            }
        }
        pointer
    }

    fn error(&self, kind: JsonErrorKind) -> Fail {
        self.error_at(kind, self.pos)
    }

    fn error_at(&self, kind: JsonErrorKind, pos: usize) -> Fail {
        Box::new(position_error(
            kind,
            self.pointer(),
            self.bytes.get(..pos).unwrap_or_default(),
        ))
    }

    fn unexpected(&self) -> Fail {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(c) => self.error(JsonErrorKind::Unexpected(c)),
            None => self.error(JsonErrorKind::Eof),
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        // Compact JSON has none: one comparison in the common case.
        while let Some(&b) = self.bytes.get(self.pos) {
            if b > b' ' || !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return;
            }
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn push(&mut self, tag: Tag, start: usize, end: usize) -> u32 {
        let index = self.slots.len() as u32;
        self.slots.push(Slot {
            tag,
            start: start as u32,
            end: end as u32,
            next: index + 1,
            len: 0,
        });
        index
    }

    /// Reads one value, with everything nested in it. Iterative: an open container is a
    /// frame on `open`, not a call on the stack.
    fn value(&mut self) -> Result<(), Fail> {
        'value: loop {
            // A value starts here: the root, a member's value or an item.
            match self.peek() {
                Some(b'{') => {
                    self.open_container(Tag::Object)?;
                    if self.peek() == Some(b'}') {
                        self.close_container();
                    } else {
                        self.member_key()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.open_container(Tag::Array)?;
                    if self.peek() == Some(b']') {
                        self.close_container();
                    } else {
                        self.in_value = true;
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal(b"true", Tag::True)?,
                Some(b'f') => self.literal(b"false", Tag::False)?,
                Some(b'n') => self.literal(b"null", Tag::Null)?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.unexpected()),
            }
            // A value ended: go on in the innermost open container, closing each that ends.
            loop {
                let Some(frame) = self.open.last_mut() else {
                    return Ok(());
                };
                frame.len += 1;
                let object = frame.object;
                self.in_value = false;
                self.skip_ws();
                match (self.peek(), object) {
                    (Some(b','), _) => {
                        self.pos += 1;
                        self.skip_ws();
                        if object {
                            self.member_key()?;
                        } else {
                            self.in_value = true;
                        }
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => self.close_container(),
                    _ => return Err(self.unexpected()),
                }
            }
        }
    }

    /// Opens the container at `pos` and moves past its bracket and any whitespace.
    #[inline(always)]
    fn open_container(&mut self, tag: Tag) -> Result<(), Fail> {
        if self.open.len() >= self.max_depth {
            return Err(self.error(JsonErrorKind::TooDeep(self.max_depth)));
        }
        let start = self.pos;
        self.pos += 1;
        let slot = self.push(tag, start, start);
        self.in_value = false;
        self.open.push(Frame {
            slot,
            object: tag == Tag::Object,
            len: 0,
            keys_from: self.keys.len(),
            signatures: 0,
            complex: false,
            index: None,
        });
        self.skip_ws();
        Ok(())
    }

    /// Closes the innermost container at its closing bracket (`pos`).
    #[inline(always)]
    fn close_container(&mut self) {
        self.pos += 1;
        if let Some(frame) = self.open.pop() {
            self.keys.truncate(frame.keys_from);
            let next = self.slots.len() as u32;
            if let Some(s) = self.slots.get_mut(frame.slot as usize) {
                s.len = frame.len;
                s.end = self.pos as u32;
                s.next = next;
            }
        }
        // Back in the parent, whose member or item this container was.
        self.in_value = true;
    }

    /// Reads a member's key and its colon, up to the start of its value.
    #[inline(always)]
    fn member_key(&mut self) -> Result<(), Fail> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected());
        }
        let key_start = self.pos;
        let (key, simple) = self.string_simple()?;
        self.check_key(key, key_start, simple)?;
        self.skip_ws();
        self.in_value = true;
        if self.peek() != Some(b':') {
            return Err(self.unexpected());
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    fn literal(&mut self, word: &[u8], tag: Tag) -> Result<(), Fail> {
        if self
            .bytes
            .get(self.pos..self.pos + word.len())
            .is_some_and(|b| b == word)
        {
            let start = self.pos;
            self.pos += word.len();
            self.push(tag, start, self.pos);
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn set_in_value(&mut self, in_value: bool) {
        self.in_value = in_value;
    }

    /// Refuses a key that repeats, or folds to, an earlier key of the same object.
    #[inline(always)]
    fn check_key(&mut self, key: u32, key_start: usize, simple: bool) -> Result<(), Fail> {
        let slot = self.slots.get(key as usize).copied().unwrap_or(NULL_SLOT);
        let raw = self
            .bytes
            .get(slot.start as usize..slot.end as usize)
            .unwrap_or_default();
        let this = Key {
            slot: key,
            start: slot.start,
            len: raw.len() as u32,
            signature: if simple { key_signature(raw) } else { 0 },
        };
        let keys = self.keys.len();
        let Some(frame) = self.open.last_mut() else {
            return Ok(());
        };
        let seen = keys - frame.keys_from;
        let bit = 1u64 << (this.signature.wrapping_mul(0x9e37_79b9) >> 26);
        let unseen = simple && !frame.complex && frame.signatures & bit == 0;
        frame.signatures |= bit;
        frame.complex |= !simple;
        if !(unseen && seen < LINEAR_KEYS) {
            self.check_key_against(this, key_start, simple)?;
        }
        self.keys.push(this);
        Ok(())
    }

    /// [`Parser::check_key`] for a key that may repeat an earlier one: compares it with
    /// each candidate.
    #[inline(never)]
    fn check_key_against(&mut self, this: Key, key_start: usize, simple: bool) -> Result<(), Fail> {
        let key = this.slot;
        let from = self.open.last().map_or(0, |f| f.keys_from);
        let raw = self
            .bytes
            .get(this.start as usize..(this.start + this.len) as usize)
            .unwrap_or_default();
        if self.keys.len() - from >= LINEAR_KEYS {
            return self.check_key_indexed(key, key_start, simple);
        }
        for i in from..self.keys.len() {
            let Some(&earlier) = self.keys.get(i) else {
                continue;
            };
            if simple && earlier.signature != 0 {
                // Two simple keys: equal or case-equal only at equal signatures.
                if earlier.signature != this.signature {
                    continue;
                }
                let start = earlier.start as usize;
                let other = self
                    .bytes
                    .get(start..start + earlier.len as usize)
                    .unwrap_or_default();
                let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                if other == raw {
                    return Err(self.key_error(JsonErrorKind::DuplicateKey(text(raw)), key_start));
                }
                if other.eq_ignore_ascii_case(raw) {
                    return Err(self.key_error(
                        JsonErrorKind::AmbiguousKeys(text(other), text(raw)),
                        key_start,
                    ));
                }
            } else {
                self.compare_keys(earlier.slot, key, key_start)?;
            }
        }
        Ok(())
    }

    /// Compares two keys by their decoded and folded text (the slow path: a key with
    /// escapes or non-ASCII characters).
    fn compare_keys(&mut self, earlier: u32, key: u32, key_start: usize) -> Result<(), Fail> {
        let other = self.key_text(earlier);
        let text = self.key_text(key);
        if other == text {
            return Err(self.key_error(JsonErrorKind::DuplicateKey(text.into_owned()), key_start));
        }
        if fold_key(&other) == fold_key(&text) {
            return Err(self.key_error(
                JsonErrorKind::AmbiguousKeys(other.into_owned(), text.into_owned()),
                key_start,
            ));
        }
        Ok(())
    }

    /// The key checks of a large object, through a hash index of its folded keys.
    fn check_key_indexed(&mut self, key: u32, key_start: usize, simple: bool) -> Result<(), Fail> {
        let Some(from) = self.open.last().map(|f| f.keys_from) else {
            return Ok(());
        };
        if self.open.last().is_some_and(|f| f.index.is_none()) {
            let earlier = self.keys.get(from..).unwrap_or_default();
            let mut index = KeyIndex::with_capacity(earlier.len() * 2);
            for (i, k) in earlier.iter().enumerate() {
                index.add(
                    index.hash(&self.key_text(k.slot), k.signature != 0),
                    from + i,
                );
            }
            if let Some(frame) = self.open.last_mut() {
                frame.index = Some(Box::new(index));
            }
        }
        let text = self.key_text(key);
        let Some(hash) = self
            .open
            .last()
            .and_then(|f| f.index.as_ref())
            .map(|index| index.hash(&text, simple))
        else {
            return Ok(());
        };
        let mut candidate = self
            .open
            .last()
            .and_then(|f| f.index.as_ref())
            .and_then(|index| index.last.get(&hash).copied());
        while let Some(at) = candidate {
            if let Some(earlier) = self.keys.get(at).map(|k| k.slot) {
                self.compare_keys(earlier, key, key_start)?;
            }
            candidate = self
                .open
                .last()
                .and_then(|f| f.index.as_ref())
                .and_then(|index| index.before(at, from));
        }
        let position = self.keys.len();
        if let Some(index) = self.open.last_mut().and_then(|f| f.index.as_mut()) {
            index.add(hash, position);
        }
        Ok(())
    }

    fn key_error(&mut self, kind: JsonErrorKind, key_start: usize) -> Fail {
        // The pointer names the offending key itself.
        let key = self.slots.len() as u32 - 1;
        self.keys.push(Key {
            slot: key,
            start: 0,
            len: 0,
            signature: 0,
        });
        self.set_in_value(true);
        let error = self.error_at(kind, key_start);
        self.set_in_value(false);
        self.keys.pop();
        error
    }

    fn key_text(&self, key: u32) -> Cow<'t, str> {
        let Some(slot) = self.slots.get(key as usize) else {
            return Cow::Borrowed("");
        };
        let text = self
            .text
            .get(slot.start as usize..slot.end as usize)
            .unwrap_or_default();
        if slot.tag == Tag::StrEsc {
            Cow::Owned(unescape(text))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Reads a string and pushes its slot; returns the slot index.
    #[inline(always)]
    fn string(&mut self) -> Result<u32, Fail> {
        self.string_simple().map(|(slot, _)| slot)
    }

    /// [`Parser::string`], and whether the string is simple (unescaped and ASCII).
    #[inline(always)]
    fn string_simple(&mut self) -> Result<(u32, bool), Fail> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        let mut ascii = true;
        loop {
            let (end, plain) = scan_plain_ascii(self.bytes, self.pos);
            self.pos = end;
            ascii &= plain;
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.escape()?;
                }
                Some(_) => return Err(self.error(JsonErrorKind::ControlCharacter)),
                None => return Err(self.error(JsonErrorKind::Eof)),
            }
        }
        let end = self.pos;
        self.pos += 1;
        let tag = if escaped { Tag::StrEsc } else { Tag::Str };
        Ok((self.push(tag, start, end), ascii && !escaped))
    }

    fn escape(&mut self) -> Result<(), Fail> {
        let at = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.pos += 1;
                Ok(())
            }
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4()?;
                if (0xDC00..0xE000).contains(&high) {
                    return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                }
                if (0xD800..0xDC00).contains(&high) {
                    if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                        return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                    }
                    self.pos += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                    }
                }
                Ok(())
            }
            _ => Err(self.error_at(JsonErrorKind::InvalidEscape, at)),
        }
    }

    fn hex4(&mut self) -> Result<u32, Fail> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error(JsonErrorKind::InvalidEscape))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error(JsonErrorKind::InvalidEscape))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), Fail> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.unexpected()),
        }
        let int_digits = self.pos - start;
        let mut plain = true;
        if self.peek() == Some(b'.') {
            plain = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            plain = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exponent_digits = self.digits();
            if exponent_digits == 0 {
                return Err(self.unexpected());
            }
            if exponent_digits > MAX_EXPONENT_DIGITS {
                return Err(self.error_at(JsonErrorKind::NumberOutOfRange, start));
            }
        }
        // Short integers are always in range; anything else must be a finite double, as
        // every origin reads it.
        // Its exact value must also be writable canonically (`Node::canonical`), whose
        // exponent is the exact one: `0.1e-999999` is `1e-1000000`.
        if !(plain && int_digits <= 300) {
            let text = self.text.get(start..self.pos).unwrap_or_default();
            let decimal = Number { text }.decimal();
            let exponent = (decimal.point - 1).unsigned_abs();
            let exact = decimal.is_zero() || exponent < 10u64.pow(MAX_EXPONENT_DIGITS as u32);
            if !exact || !decimal.is_finite_f64() {
                return Err(self.error_at(JsonErrorKind::NumberOutOfRange, start));
            }
        }
        self.push(Tag::Number, start, self.pos);
        Ok(())
    }
}

/// A key that folds like plain ASCII: no byte above 0x7f (the parser has already refused
/// raw control characters, and an escaped NUL makes a key non-simple by its escape).
fn is_simple_key(key: &str) -> bool {
    key.is_ascii() && !key.contains('\0')
}

/// Reads a top-level JSON object and returns each member's key with the exact source text
/// of its value. Keys are read strictly (no duplicates); values are only delimited, not
/// validated, so that a caller can hand a member's raw bytes to [`Document::parse`] and
/// learn precisely what is wrong with them (the `body` of a `toolgate eval` line).
pub fn raw_members(text: &str) -> Result<Vec<(Cow<'_, str>, &str)>, JsonError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        slots: Vec::new(),
        open: Vec::new(),
        keys: Vec::new(),
        in_value: false,
        max_depth: MAX_DEPTH,
    };
    let mut members: Vec<(Cow<'_, str>, &str)> = Vec::with_capacity(4);
    parser.skip_ws();
    if parser.peek() != Some(b'{') {
        return Err(*parser.unexpected());
    }
    parser.pos += 1;
    parser.skip_ws();
    if parser.peek() == Some(b'}') {
        parser.pos += 1;
    } else {
        loop {
            parser.skip_ws();
            if parser.peek() != Some(b'"') {
                return Err(*parser.unexpected());
            }
            let key_start = parser.pos;
            let slot = parser.string()?;
            let key = match parser.slots.get(slot as usize) {
                Some(s) => {
                    let raw = text
                        .get(s.start as usize..s.end as usize)
                        .unwrap_or_default();
                    if s.tag == Tag::StrEsc {
                        Cow::Owned(unescape(raw))
                    } else {
                        Cow::Borrowed(raw)
                    }
                }
                None => Cow::Borrowed(""),
            };
            if members.iter().any(|(k, _)| *k == key) {
                parser.pos = key_start;
                return Err(*parser.error(JsonErrorKind::DuplicateKey(key.into_owned())));
            }
            parser.skip_ws();
            if parser.peek() != Some(b':') {
                return Err(*parser.unexpected());
            }
            parser.pos += 1;
            parser.skip_ws();
            let start = parser.pos;
            skip_value(&mut parser)?;
            members.push((key, text.get(start..parser.pos).unwrap_or_default()));
            parser.skip_ws();
            match parser.peek() {
                Some(b',') => parser.pos += 1,
                Some(b'}') => {
                    parser.pos += 1;
                    break;
                }
                _ => return Err(*parser.unexpected()),
            }
        }
    }
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(*parser.error(JsonErrorKind::TrailingData));
    }
    Ok(members)
}

/// Moves past one value, checking only that brackets balance and strings close.
fn skip_value(parser: &mut Parser<'_>) -> Result<(), Fail> {
    let mut depth = 0usize;
    loop {
        parser.skip_ws();
        match parser.peek() {
            None => return Err(parser.error(JsonErrorKind::Eof)),
            Some(b'"') => {
                parser.pos += 1;
                loop {
                    parser.pos = scan_plain(parser.bytes, parser.pos);
                    match parser.peek() {
                        Some(b'\\') => parser.pos += 2,
                        Some(b'"') => {
                            parser.pos += 1;
                            break;
                        }
                        Some(_) => parser.pos += 1,
                        None => return Err(parser.error(JsonErrorKind::Eof)),
                    }
                }
            }
            Some(b'{' | b'[') => {
                depth += 1;
                parser.pos += 1;
                continue;
            }
            Some(b'}' | b']') if depth > 0 => {
                depth -= 1;
                parser.pos += 1;
            }
            Some(b',' | b':') if depth > 0 => {
                parser.pos += 1;
                continue;
            }
            Some(_) => {
                let start = parser.pos;
                while matches!(parser.peek(), Some(b) if !b",:[]{}\" \t\r\n".contains(&b)) {
                    parser.pos += 1;
                }
                if parser.pos == start {
                    return Err(parser.unexpected());
                }
            }
        }
        if depth == 0 {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------- helpers

/// The key form under which Go-style parsers consider two keys the same: Unicode case
/// folded (`ſ` to `s`, `K` to `k`) and NUL characters removed.
pub fn fold_key(key: &str) -> String {
    // Upper then lower case, twice: once is not a fixed point for every character (`ẞ`
    // lowers to `ß`, which uppers to `SS`), twice is, so that `ß`, `ẞ` and `ss` all fold
    // to `ss`.
    let once = |text: &mut dyn Iterator<Item = char>| -> String {
        text.flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect()
    };
    let first = once(&mut key.chars().filter(|c| *c != '\0'));
    once(&mut first.chars())
}

/// Appends `token` to a JSON Pointer, escaping `~` and `/` (RFC 6901).
pub fn push_pointer(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    write_pointer(&mut out, pointer, token);
    out
}

/// `pointer` and one more token, an array index: `/tools/x/deny_if` and 2 give
/// `/tools/x/deny_if/2` (without the formatting machinery: a policy has many of these).
pub fn index_pointer(pointer: &str, index: usize) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = index;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    let digits = digits.get(at..).unwrap_or_default();
    let mut out = String::with_capacity(pointer.len() + 1 + digits.len());
    out.push_str(pointer);
    out.push('/');
    out.extend(digits.iter().map(|&d| char::from(d)));
    out
}

/// Appends [`push_pointer`]`(pointer, token)` to `out`.
pub fn write_pointer(out: &mut String, pointer: &str, token: &str) {
    out.push_str(pointer);
    out.push('/');
    if find_any(token.as_bytes(), [b'~', b'/']).is_none() {
        out.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(hex_digit(u32::from(byte >> 4)));
        out.push(hex_digit(u32::from(byte & 0xf)));
    }
    out
}

/// The bytes of lowercase or uppercase hex; `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            Some((digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?) as u8)
        })
        .collect()
}

/// The lowercase hex digit of `n` (0–15).
fn hex_digit(n: u32) -> char {
    char::from_digit(n, 16).unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical_number(text: &str) -> String {
        Document::parse(text.as_bytes())
            .unwrap()
            .root()
            .as_number()
            .unwrap()
            .canonical()
    }

    #[test]
    fn index_pointers_are_the_pointer_and_the_decimal_index() {
        for index in [0, 1, 9, 10, 99, 100, 4_096, 1_000_007, usize::MAX] {
            assert_eq!(
                index_pointer("/tools/a~1b/deny_if", index),
                format!("/tools/a~1b/deny_if/{index}")
            );
        }
        assert_eq!(index_pointer("", 3), "/3");
    }

    #[test]
    fn canonical_numbers_follow_ecmascript_form_on_exact_digits() {
        for (x, s) in [
            ("1", "1"),
            ("1.0", "1"),
            ("-1.5", "-1.5"),
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("123.456", "123.456"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("12345678901234567891", "12345678901234567891"),
            ("100E-2", "1"),
            ("-0", "0"),
            ("0.1000000000000000000001", "0.1000000000000000000001"),
        ] {
            assert_eq!(canonical_number(x), s, "{x}");
        }
    }

    #[test]
    fn scan_plain_finds_the_first_special_byte() {
        let text = b"abcdefghijklmnop\"q";
        assert_eq!(scan_plain(text, 0), 16);
        assert_eq!(scan_plain(b"ab\x01cdefghij", 0), 2);
        assert_eq!(scan_plain(b"abcdefgh\\", 0), 8);
        assert_eq!(scan_plain("é\u{7f}\"".as_bytes(), 0), 3);
        // Whether the bytes passed are ASCII: only those before the special byte count.
        assert_eq!(scan_plain_ascii(b"abcdefg\"\xc3\xa9", 0), (7, true));
        assert_eq!(scan_plain_ascii("abcdefghij\"é".as_bytes(), 0), (10, true));
        assert_eq!(scan_plain_ascii("abcdefghé\"".as_bytes(), 0), (10, false));
        assert_eq!(scan_plain_ascii("é\"".as_bytes(), 0), (2, false));
        assert_eq!(scan_plain_ascii(b"abc", 0), (3, true));
    }
}

//! Strict JSON: the one parser that MCP messages and policies go through, plus the JSON
//! value helpers the evaluator needs (exact comparison and RFC 8785 canonical form).
//!
//! The gateway forwards the client's original bytes, so toolgate must read a message
//! exactly as any origin would, or refuse it. This parser therefore refuses everything on
//! which JSON parsers are known to disagree:
//!
//! - duplicate object keys, at any depth (parsers differ on which one wins);
//! - keys that differ only in case, by `ſ`/`K` folding or by NUL characters (Go's
//!   `encoding/json` and some of its replacements treat them as the same key:
//!   CVE-2026-27896 and GHSA-q382-vc8q-7jhj);
//! - lone UTF-16 surrogates in `\u` escapes, and invalid UTF-8;
//! - trailing data after the value, a byte-order mark, `NaN`/`Infinity`, numbers too large
//!   for a double, and nesting deeper than [`MAX_DEPTH`].
//!
//! Errors carry the JSON Pointer of the place they were found, so that a bad policy can be
//! reported at its place.

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 64;

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
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("trailing data after the json value")]
    TrailingData,
}

/// Parses `bytes` as one strict JSON value (see the module docs for what is refused).
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let mut parser = Parser::new("");
            parser.pos = e.valid_up_to();
            return Err(parser.error_at(
                JsonErrorKind::InvalidUtf8,
                bytes.get(..e.valid_up_to()).unwrap_or_default(),
            ));
        }
    };
    let mut parser = Parser::new(text);
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error(JsonErrorKind::TrailingData));
    }
    Ok(value)
}

/// Reads a top-level JSON object and returns each member's key with the exact source text
/// of its value. Keys are read strictly (no duplicates); values are only delimited, not
/// validated, so that a caller can hand a member's raw bytes to [`parse`] and learn
/// precisely what is wrong with them (the `body` of a `toolgate eval` line).
pub fn raw_members(text: &str) -> Result<Vec<(String, &str)>, JsonError> {
    let mut parser = Parser::new(text);
    let mut members: Vec<(String, &str)> = Vec::new();
    parser.skip_ws();
    parser.expect(b'{')?;
    parser.skip_ws();
    if parser.peek() == Some(b'}') {
        parser.pos += 1;
    } else {
        loop {
            parser.skip_ws();
            if parser.peek() != Some(b'"') {
                return Err(parser.unexpected());
            }
            let key_start = parser.pos;
            let key = parser.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                parser.pos = key_start;
                return Err(parser.error(JsonErrorKind::DuplicateKey(key)));
            }
            parser.skip_ws();
            parser.expect(b':')?;
            parser.skip_ws();
            let start = parser.pos;
            parser.skip_value()?;
            members.push((key, text.get(start..parser.pos).unwrap_or_default()));
            parser.skip_ws();
            match parser.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => {
                    parser.pos = parser.pos.saturating_sub(1);
                    return Err(parser.unexpected());
                }
            }
        }
    }
    parser.skip_ws();
    if parser.pos < parser.bytes.len() {
        return Err(parser.error(JsonErrorKind::TrailingData));
    }
    Ok(members)
}

/// The key form under which Go-style parsers consider two keys the same: Unicode case
/// folded (`ſ` to `s`, `K` to `k`) and NUL characters removed.
pub fn fold_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '\0')
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

/// Appends `token` to a JSON Pointer, escaping `~` and `/` (RFC 6901).
pub fn push_pointer(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// JSON equality as policies mean it: numbers compare by value (`1` equals `1.0`), objects
/// ignore key order, and values of different types are never equal.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Some(std::cmp::Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Orders two JSON numbers by value. Integers compare exactly; anything with a fraction or
/// exponent compares as a double.
pub fn number_cmp(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    match (as_i128(a), as_i128(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// The RFC 8785 (JCS) canonical form of a value: keys sorted by UTF-16 code units, no
/// whitespace, numbers in ECMAScript form, minimal string escapes.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
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

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&es_number(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => write_canonical_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_string(key, out);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_canonical_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str("\\u00");
                out.push(hex_digit((u32::from(c) >> 4) & 0xf));
                out.push(hex_digit(u32::from(c) & 0xf));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Formats a double as ECMAScript's `Number.prototype.toString` does (RFC 8785 §3.2.2.3).
fn es_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `d.ddde±x`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let k = i32::try_from(digits.len()).unwrap_or(1);
    let n = exp + 1;
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(n - k).unwrap_or(0),
        ));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0));
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', usize::try_from(-n).unwrap_or(0)));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
    out
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Pointer tokens of the values being read, for error messages.
    path: Vec<String>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            path: Vec::new(),
        }
    }

    fn pointer(&self) -> String {
        self.path
            .iter()
            .fold(String::new(), |acc, token| push_pointer(&acc, token))
    }

    fn error(&self, kind: JsonErrorKind) -> JsonError {
        self.error_at(kind, self.bytes.get(..self.pos).unwrap_or_default())
    }

    fn error_at(&self, kind: JsonErrorKind, before: &[u8]) -> JsonError {
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        JsonError {
            kind,
            pointer: self.pointer(),
            line,
            column: before.len() - line_start + 1,
        }
    }

    fn unexpected(&self) -> JsonError {
        match self
            .text
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(c) => self.error(JsonErrorKind::Unexpected(c)),
            None => self.error(JsonErrorKind::Eof),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if self
            .bytes
            .get(self.pos..self.pos + word.len())
            .is_some_and(|b| b == word.as_bytes())
        {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    /// Moves past one value, checking only that brackets balance and strings close.
    fn skip_value(&mut self) -> Result<(), JsonError> {
        let mut depth = 0usize;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.error(JsonErrorKind::Eof)),
                Some(b'"') => {
                    self.pos += 1;
                    loop {
                        match self.next() {
                            Some(b'\\') => self.pos += 1,
                            Some(b'"') => break,
                            Some(_) => {}
                            None => return Err(self.error(JsonErrorKind::Eof)),
                        }
                    }
                }
                Some(b'{' | b'[') => {
                    depth += 1;
                    self.pos += 1;
                    continue;
                }
                Some(b'}' | b']') if depth > 0 => {
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b',' | b':') if depth > 0 => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {
                    let start = self.pos;
                    while matches!(self.peek(), Some(b) if !b",:[]{}\" \t\r\n".contains(&b)) {
                        self.pos += 1;
                    }
                    if self.pos == start {
                        return Err(self.unexpected());
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(JsonErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut map = Map::new();
        let mut folded: HashMap<String, String> = HashMap::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key_start = self.pos;
            let key = self.string()?;
            if map.contains_key(&key) {
                self.pos = key_start;
                self.path.push(key.clone());
                return Err(self.error(JsonErrorKind::DuplicateKey(key)));
            }
            if let Some(first) = folded.insert(fold_key(&key), key.clone()) {
                self.pos = key_start;
                self.path.push(key.clone());
                return Err(self.error(JsonErrorKind::AmbiguousKeys(first, key)));
            }
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            self.path.push(key);
            let value = self.value(depth)?;
            let key = self.path.pop().unwrap_or_default();
            map.insert(key, value);
            self.skip_ws();
            match self.next() {
                Some(b',') => continue,
                Some(b'}') => return Ok(Value::Object(map)),
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(self.unexpected());
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(JsonErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            self.path.push(items.len().to_string());
            let item = self.value(depth)?;
            self.path.pop();
            items.push(item);
            self.skip_ws();
            match self.next() {
                Some(b',') => continue,
                Some(b']') => return Ok(Value::Array(items)),
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(self.unexpected());
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.push_str(self.text.get(run_start..self.pos).unwrap_or_default());
            match self.next() {
                Some(b'"') => return Ok(out),
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => {
                    self.pos -= 1;
                    return Err(self.error(JsonErrorKind::ControlCharacter));
                }
                None => return Err(self.error(JsonErrorKind::Eof)),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let c = match self.next() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4()?;
                if (0xDC00..0xE000).contains(&high) {
                    return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                }
                if (0xD800..0xDC00).contains(&high) {
                    let low = if self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u") {
                        self.pos += 2;
                        self.hex4()?
                    } else {
                        return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                    };
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(self.error(JsonErrorKind::LoneSurrogate(high)));
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    char::from_u32(code).ok_or_else(|| self.error(JsonErrorKind::InvalidEscape))?
                } else {
                    char::from_u32(high).ok_or_else(|| self.error(JsonErrorKind::InvalidEscape))?
                }
            }
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.error(JsonErrorKind::InvalidEscape));
            }
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
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

    fn number(&mut self) -> Result<Value, JsonError> {
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
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.unexpected());
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.unexpected());
            }
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        if integer {
            if let Ok(n) = text.parse::<i64>() {
                return Ok(Value::Number(n.into()));
            }
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
        }
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| {
                let mut at = Parser::new(self.text);
                at.pos = start;
                at.path.clone_from(&self.path);
                at.error(JsonErrorKind::NumberOutOfRange)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es_number_matches_ecmascript() {
        for (x, s) in [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (123.456, "123.456"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ] {
            assert_eq!(es_number(x), s, "{x}");
        }
    }
}

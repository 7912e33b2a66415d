//! toolgate's strict parser against serde_json (with `arbitrary_precision`, so numbers
//! keep their text).
//!
//! - Every text toolgate accepts, serde_json accepts, as the same value: same kinds, same
//!   strings, same members (as maps: toolgate refuses duplicates), same items, numbers
//!   equal by exact decimal value (`Number::cmp_exact` on serde_json's number text).
//! - toolgate's canonical form parses in serde_json, as the same value.
//! - Where serde_json accepts and toolgate refuses, the refusal is one the parser
//!   documents, and it holds: the keys really repeat or fold together, the number really
//!   is out of range, the nesting really is deeper than 64.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use toolgate::json::{fold_key, Document, JsonError, JsonErrorKind, Kind, Node, MAX_DEPTH};

/// serde_json's `Value` reads an object whose first key is one of its private tokens
/// (`$serde_json::private::Number`, `…::RawValue`) as a number or raw value: a quirk of
/// serde_json's own features, not a disagreement about JSON.
const SERDE_PRIVATE: &str = "$serde_json::private::";

fuzz_target!(|data: &[u8]| {
    let ours = Document::parse(data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (ours, theirs) {
        (Ok(doc), Ok(value)) => {
            if has_private_key(&value) || has_private_key_node(doc.root()) {
                return;
            }
            if let Err(why) = same(doc.root(), &value, "") {
                panic!("toolgate and serde_json read different values: {why}");
            }
            let canonical = doc.root().canonical();
            if toolgate_fuzz::tolerated("canonical-exponent")
                && toolgate_fuzz::is_canonical_exponent_bug(&canonical)
            {
                return;
            }
            match serde_json::from_str::<Value>(&canonical) {
                Ok(v) => {
                    if let Err(why) = same(doc.root(), &v, "") {
                        panic!("the canonical form {canonical:?} reads differently: {why}");
                    }
                }
                Err(e) => panic!("serde_json refuses the canonical form {canonical:?}: {e}"),
            }
        }
        (Ok(doc), Err(e)) => {
            panic!(
                "toolgate accepts what serde_json refuses ({e}): {:?}",
                doc.root().raw()
            );
        }
        (Err(error), Ok(value)) => {
            if has_private_key(&value) {
                return;
            }
            if let Err(why) = documented(&error, data, &value) {
                panic!("toolgate refuses what serde_json accepts, without a documented reason: {error:?}: {why}");
            }
        }
        (Err(_), Err(_)) => {}
    }
});

fn has_private_key(v: &Value) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with(SERDE_PRIVATE) || has_private_key(v)),
        Value::Array(items) => items.iter().any(has_private_key),
        _ => false,
    }
}

fn has_private_key_node(n: Node<'_>) -> bool {
    match n.kind() {
        Kind::Object => n.members().any(|(k, v)| {
            k.as_str().is_some_and(|k| k.starts_with(SERDE_PRIVATE)) || has_private_key_node(v)
        }),
        Kind::Array => n.items().any(has_private_key_node),
        _ => false,
    }
}

/// Whether a toolgate node and a serde_json value are the same JSON value.
fn same(node: Node<'_>, value: &Value, at: &str) -> Result<(), String> {
    match (node.kind(), value) {
        (Kind::Null, Value::Null) => Ok(()),
        (Kind::Bool, Value::Bool(b)) if node.as_bool() == Some(*b) => Ok(()),
        (Kind::Number, Value::Number(n)) => {
            let text = n.to_string();
            let Ok(doc) = Document::parse(text.as_bytes()) else {
                return Err(format!(
                    "{at}: serde_json's number text {text:?} does not parse in toolgate"
                ));
            };
            let (Some(a), Some(b)) = (node.as_number(), doc.root().as_number()) else {
                return Err(format!(
                    "{at}: serde_json's number text {text:?} is not a number"
                ));
            };
            if a.cmp_exact(&b) == std::cmp::Ordering::Equal {
                Ok(())
            } else {
                Err(format!(
                    "{at}: number {} vs serde_json's {text}",
                    node.raw()
                ))
            }
        }
        (Kind::String, Value::String(s)) => {
            let ours = node.as_str().unwrap_or_default();
            if ours == s.as_str() {
                Ok(())
            } else {
                Err(format!("{at}: string {ours:?} vs serde_json's {s:?}"))
            }
        }
        (Kind::Array, Value::Array(items)) => {
            if node.len() != items.len() {
                return Err(format!(
                    "{at}: {} items vs serde_json's {}",
                    node.len(),
                    items.len()
                ));
            }
            for (i, (a, b)) in node.items().zip(items).enumerate() {
                same(a, b, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        (Kind::Object, Value::Object(map)) => {
            if node.len() != map.len() {
                return Err(format!(
                    "{at}: {} members vs serde_json's {}",
                    node.len(),
                    map.len()
                ));
            }
            for (k, v) in node.members() {
                let key = k.as_str().unwrap_or_default();
                let Some(theirs) = map.get(key.as_ref()) else {
                    return Err(format!(
                        "{at}: member {key:?} missing in serde_json's value"
                    ));
                };
                same(v, theirs, &format!("{at}/{key}"))?;
            }
            Ok(())
        }
        (kind, value) => Err(format!(
            "{at}: {kind:?} {} vs serde_json's {value}",
            node.raw()
        )),
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks that a refusal of a text serde_json accepts is one the parser documents, and
/// that its reason holds.
fn documented(error: &JsonError, data: &[u8], value: &Value) -> Result<(), String> {
    let at = data.get(error.offset..).unwrap_or_default();
    match &error.kind {
        JsonErrorKind::DuplicateKey(_) => {
            if at.first() == Some(&b'"') {
                Ok(())
            } else {
                Err("the offset is not at a key".into())
            }
        }
        JsonErrorKind::AmbiguousKeys(a, b) => {
            if a == b {
                return Err("the two keys are the same (a duplicate, not an ambiguity)".into());
            }
            if fold_key(a) != fold_key(b) {
                return Err(format!("{a:?} and {b:?} do not fold to the same key"));
            }
            if at.first() != Some(&b'"') {
                return Err("the offset is not at a key".into());
            }
            Ok(())
        }
        JsonErrorKind::NumberOutOfRange => {
            let len = at
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(at.len());
            let text = std::str::from_utf8(at.get(..len).unwrap_or_default()).unwrap_or_default();
            let exponent_digits = text
                .find(['e', 'E'])
                .map(|i| text[i + 1..].trim_start_matches(['+', '-']).len())
                .unwrap_or(0);
            let finite = text.parse::<f64>().is_ok_and(f64::is_finite);
            let canonical_digits =
                canonical_exponent(text).map_or(0, |e| e.unsigned_abs().to_string().len());
            if exponent_digits > toolgate::json::MAX_EXPONENT_DIGITS
                || canonical_digits > toolgate::json::MAX_EXPONENT_DIGITS
                || !finite
            {
                Ok(())
            } else {
                Err(format!("the number {text:?} is in range"))
            }
        }
        JsonErrorKind::TooDeep(_) => {
            if depth(value) > MAX_DEPTH {
                Ok(())
            } else {
                Err(format!("the value nests only {} deep", depth(value)))
            }
        }
        JsonErrorKind::LoneSurrogate(_) => Ok(()),
        other => Err(format!("{other}")),
    }
}

/// The exponent of a number's exact value in scientific form (`d.ddd × 10^e`), worked
/// out from its text alone; `None` for zero. The documented range also covers it:
/// `0.1e-999999` is `1e-1000000`, whose exponent has seven digits.
fn canonical_exponent(text: &str) -> Option<i64> {
    let unsigned = text.trim_start_matches('-');
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let first = format!("{int}{frac}").bytes().position(|b| b != b'0')?;
    Some(exponent + int.len() as i64 - 1 - first as i64)
}

//! The JSON of stored records and of the messages between the Worker and its Durable
//! Objects, read with [`crate::json::Document`] and written by hand, without serde.
//!
//! serde_json's deserializer, instantiated once per type, was a third of the Worker's
//! wasm. [`ToJson`] and [`FromJson`] are small enough to be instantiated freely, and
//! [`json_struct!`](crate::json_struct) writes both for a struct the way serde's derive
//! did: fields in declaration order, `None` as `null` unless the field is marked `skip`,
//! absent `Option` fields read as `None`, unknown fields ignored. The bytes are those
//! serde_json wrote (same escapes, same numbers), so every stored body stays readable
//! and every name computed from JSON (a counter's object, an approval's binding) stays
//! the same.

use crate::json::{write_canonical_str, Document, Node};
use std::borrow::Cow;

/// A value that writes itself as JSON.
pub trait ToJson {
    /// Appends the value's JSON to `out`.
    fn write_json(&self, out: &mut String);
}

/// A value read from a JSON node.
pub trait FromJson: Sized {
    /// Reads the value; the error says what was wrong.
    fn from_json(node: Node<'_>) -> Result<Self, String>;

    /// The value of an absent field, when the field may be absent (`None` for options).
    fn absent() -> Option<Self> {
        None
    }
}

/// The JSON text of `value`.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    value.write_json(&mut out);
    out
}

/// Reads a `T` from JSON text.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, String> {
    let doc = Document::parse(text.as_bytes()).map_err(|e| e.to_string())?;
    T::from_json(doc.root())
}

/// Field `name` of object `node`: absent is [`FromJson::absent`] or an error.
pub fn field<T: FromJson>(node: Node<'_>, name: &str) -> Result<T, String> {
    match node.get(name) {
        Some(value) => T::from_json(value).map_err(|e| in_field(name, &e)),
        None => T::absent().ok_or_else(|| {
            let mut message = String::from("missing field `");
            message.push_str(name);
            message.push('`');
            message
        }),
    }
}

/// Field `name` of object `node`, its default when absent (serde's `#[serde(default)]`).
pub fn field_or_default<T: FromJson + Default>(node: Node<'_>, name: &str) -> Result<T, String> {
    match node.get(name) {
        Some(value) => T::from_json(value).map_err(|e| in_field(name, &e)),
        None => Ok(T::default()),
    }
}

fn in_field(name: &str, error: &str) -> String {
    let mut message = String::from("`");
    message.push_str(name);
    message.push_str("`: ");
    message.push_str(error);
    message
}

/// `node` if it is an object.
pub fn object(node: Node<'_>) -> Result<Node<'_>, String> {
    if node.is_object() {
        Ok(node)
    } else {
        Err(expected("an object", node))
    }
}

/// The error for a node of the wrong kind.
pub fn expected(what: &str, node: Node<'_>) -> String {
    let mut message = String::from("expected ");
    message.push_str(what);
    message.push_str(", found ");
    message.push_str(node.kind().described());
    message
}

/// The variant of an externally tagged enum (serde's default representation): a string
/// for a unit variant, or an object of one member whose value holds the fields.
pub fn variant<'d>(node: Node<'d>) -> Result<(Cow<'d, str>, Option<Node<'d>>), String> {
    if let Some(name) = node.as_str() {
        return Ok((name, None));
    }
    let mut members = object(node)?.members();
    match (members.next(), members.next()) {
        (Some((key, value)), None) => Ok((key.as_str().unwrap_or_default(), Some(value))),
        _ => Err("expected an object of one member".to_owned()),
    }
}

/// The fields of a variant that has fields.
pub fn fields<'d>(name: &str, fields: Option<Node<'d>>) -> Result<Node<'d>, String> {
    match fields {
        Some(node) => object(node),
        None => Err(in_field(name, "expected an object")),
    }
}

/// The error for an unknown variant.
pub fn unknown_variant(name: &str) -> String {
    let mut message = String::from("unknown variant `");
    message.push_str(name);
    message.push('`');
    message
}

/// Writes a JSON object, one member at a time.
pub struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Opens an object.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, name: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        write_canonical_str(name, self.out);
        self.out.push(':');
        self.out
    }

    /// A member.
    pub fn field<T: ToJson + ?Sized>(&mut self, name: &str, value: &T) -> &mut Self {
        value.write_json(self.key(name));
        self
    }

    /// A member left out when `None` (serde's `skip_serializing_if = "Option::is_none"`).
    pub fn skip_none<T: ToJson>(&mut self, name: &str, value: &Option<T>) -> &mut Self {
        if let Some(value) = value {
            self.field(name, value);
        }
        self
    }

    /// A member whose value is JSON text already.
    pub fn raw(&mut self, name: &str, json: &str) -> &mut Self {
        self.key(name).push_str(json);
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// Writes an externally tagged variant with fields: `{"name":{...}}`.
pub fn write_variant(out: &mut String, name: &str, fields: impl FnOnce(&mut Obj<'_>)) {
    out.push('{');
    write_canonical_str(name, out);
    out.push(':');
    let mut obj = Obj::new(out);
    fields(&mut obj);
    obj.end();
    out.push('}');
}

/// An object whose members a closure writes .
pub struct Members<F: Fn(&mut Obj<'_>)>(pub F);

impl<F: Fn(&mut Obj<'_>)> ToJson for Members<F> {
    fn write_json(&self, out: &mut String) {
        let mut obj = Obj::new(out);
        (self.0)(&mut obj);
        obj.end();
    }
}

/// Any JSON value, read for its validity only.
pub struct Ignored;

impl FromJson for Ignored {
    fn from_json(_: Node<'_>) -> Result<Self, String> {
        Ok(Ignored)
    }
}

/// Appends an unsigned integer in decimal, without `fmt`.
pub fn write_u64(value: u64, out: &mut String) {
    crate::eval::write_integer(i128::from(value), out);
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_canonical_str(self, out);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_canonical_str(self, out);
    }
}

impl FromJson for String {
    fn from_json(node: Node<'_>) -> Result<Self, String> {
        node.as_str()
            .map(Cow::into_owned)
            .ok_or_else(|| expected("a string", node))
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl FromJson for bool {
    fn from_json(node: Node<'_>) -> Result<Self, String> {
        node.as_bool().ok_or_else(|| expected("a boolean", node))
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                write_u64(*self as u64, out);
            }
        }

        impl FromJson for $t {
            fn from_json(node: Node<'_>) -> Result<Self, String> {
                node.as_number()
                    .and_then(|n| n.as_u64())
                    .and_then(|n| <$t>::try_from(n).ok())
                    .ok_or_else(|| expected(concat!("a ", stringify!($t)), node))
            }
        }
    )*};
}
unsigned!(u16, u32, u64, usize);

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(value) => value.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(node: Node<'_>) -> Result<Self, String> {
        if node.is_null() {
            Ok(None)
        } else {
            T::from_json(node).map(Some)
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(node: Node<'_>) -> Result<Self, String> {
        if !node.is_array() {
            return Err(expected("an array", node));
        }
        node.items().map(T::from_json).collect()
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        self.0.write_json(out);
        out.push(',');
        self.1.write_json(out);
        out.push(']');
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json(node: Node<'_>) -> Result<Self, String> {
        match (node.is_array(), node.item(0), node.item(1), node.len()) {
            (true, Some(a), Some(b), 2) => Ok((A::from_json(a)?, B::from_json(b)?)),
            _ => Err(expected("an array of two", node)),
        }
    }
}

/// [`ToJson`] and [`FromJson`] for a struct, as serde's derive wrote and read it. Each
/// field is followed by how it is kept: `req` (always written; an absent `Option` reads
/// as `None`, any other absent field is an error), `skip` (an `Option` left out when
/// `None`) or `default` (its default when absent).
#[macro_export]
macro_rules! json_struct {
    ($ty:ty { $($field:ident : $how:ident),* $(,)? }) => {
        impl $crate::wire::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                let mut obj = $crate::wire::Obj::new(out);
                $( $crate::json_struct!(@write obj, self, $field, $how); )*
                obj.end();
            }
        }

        impl $crate::wire::FromJson for $ty {
            fn from_json(node: $crate::json::Node<'_>) -> Result<Self, String> {
                let node = $crate::wire::object(node)?;
                Ok(Self { $( $field: $crate::json_struct!(@read node, $field, $how), )* })
            }
        }
    };
    (@write $obj:ident, $s:ident, $f:ident, skip) => {
        $obj.skip_none(stringify!($f), &$s.$f);
    };
    (@write $obj:ident, $s:ident, $f:ident, $how:ident) => {
        $obj.field(stringify!($f), &$s.$f);
    };
    (@read $node:ident, $f:ident, default) => {
        $crate::wire::field_or_default($node, stringify!($f))?
    };
    (@read $node:ident, $f:ident, $how:ident) => {
        $crate::wire::field($node, stringify!($f))?
    };
}

/// [`ToJson`] and [`FromJson`] for an enum of unit variants kept as their names.
#[macro_export]
macro_rules! json_names {
    ($ty:ty { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $crate::wire::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                out.push('"');
                out.push_str(match self { $( Self::$variant => $name, )* });
                out.push('"');
            }
        }

        impl $crate::wire::FromJson for $ty {
            fn from_json(node: $crate::json::Node<'_>) -> Result<Self, String> {
                match node.as_str().as_deref() {
                    $( Some($name) => Ok(Self::$variant), )*
                    Some(other) => Err($crate::wire::unknown_variant(other)),
                    None => Err($crate::wire::expected("a string", node)),
                }
            }
        }
    };
}

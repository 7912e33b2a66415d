//! MCP messages: the strict JSON-RPC envelope, classification, header checks, and the
//! answers toolgate gives in place of the origin.
//!
//! The envelope is loose where the protocol is (unknown members such as `_meta` pass
//! through untouched) and strict where a parser differential could hide a call: members
//! whose names differ from `jsonrpc`, `id`, `method`, `params`, `name` or `arguments` only
//! by case, `ſ`/`K` folding or NUL characters are refused, as are duplicate keys anywhere
//! (see [`crate::json`]).
//!
//! A request id is kept as its exact JSON text and written back as it came, so an answer
//! always carries the id the client sent, digit for digit.

// `Invalid` is the rare path, and callers use all of it: boxing it would only add noise.
#![allow(clippy::result_large_err)]

use crate::json::{self, fold_key, Document, Node, Tape};
use crate::policy::is_valid_tool_name;
use std::borrow::Cow;

/// JSON-RPC parse error: the body is not strict JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC invalid request: the envelope is wrong.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC invalid params: used for bad and unknown tool names.
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC internal error: toolgate or the origin failed.
pub const INTERNAL_ERROR: i64 = -32603;
/// A header disagrees with the body (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`).
pub const HEADER_MISMATCH: i64 = -32020;

/// A message that must not be forwarded, with the JSON-RPC error to answer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: i64,
    pub message: String,
    /// The method, when the envelope got that far.
    pub method: Option<String>,
    /// The tool name, when a `tools/call` got that far.
    pub tool: Option<String>,
    /// The request id's JSON text, when it was valid.
    pub id: Option<String>,
}

impl Invalid {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Invalid {
            code,
            message: message.into(),
            method: None,
            tool: None,
            id: None,
        }
    }
}

/// What a strictly parsed MCP message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A `tools/call` request.
    /// Its name is [`Message::tool`].
    ToolCall,
    /// A `tools/list` request.
    ToolsList,
    /// Any other request or notification.
    Other,
    /// A response from the client to a request of the server.
    Response,
}

/// Where a message keeps its tool's name: its text in the document (no escapes), or
/// decoded.
#[derive(Debug, Clone)]
enum ToolName {
    Slot(u32),
    Decoded(String),
}

/// A strictly parsed MCP message. It owns (or borrows) its document.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    doc: Document<'a>,
    pub kind: Kind,
    /// The method, for requests and notifications (the common ones are not copied).
    pub method: Option<Cow<'static, str>>,
    /// The slot of the request id (a string or an integer); `None` for notifications.
    id: Option<u32>,
    /// A `tools/call`'s name, as the slot of its string, or decoded when it is escaped.
    tool: Option<ToolName>,
    /// What the `Mcp-Name` header mirrors, for `prompts/get` (`params.name`) and
    /// `resources/read` (`params.uri`); see [`Message::header_name`].
    mirrored: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when present.
    pub meta_protocol_version: Option<String>,
    /// The slot of `params.arguments` of a `tools/call`.
    arguments: Option<u32>,
    /// The slot of `params.cursor` of a `tools/list`.
    cursor: Option<u32>,
    /// The slot of the message in its document (0 unless it is part of a larger one).
    at: u32,
}

impl<'a> Message<'a> {
    /// A response (`result` or `error`) with its id.
    fn response(doc: Document<'a>, id: Option<u32>, at: u32) -> Self {
        Message {
            kind: Kind::Response,
            method: None,
            id,
            tool: None,
            mirrored: None,
            meta_protocol_version: None,
            arguments: None,
            cursor: None,
            at,
            doc,
        }
    }

    /// What the `Mcp-Name` header mirrors: `params.name` of `tools/call` and
    /// `prompts/get`, `params.uri` of `resources/read`.
    pub fn header_name(&self) -> Option<&str> {
        self.tool().or(self.mirrored.as_deref())
    }

    /// The tool name, for a `tools/call` (decoded, and valid: `[A-Za-z0-9_.-]{1,128}`).
    pub fn tool(&self) -> Option<&str> {
        match self.tool.as_ref()? {
            ToolName::Slot(slot) => self.doc.node(*slot)?.raw_str(),
            ToolName::Decoded(name) => Some(name),
        }
    }

    /// The request id's JSON text (a string with its quotes, or an integer); `None` for
    /// notifications.
    pub fn id(&self) -> Option<&str> {
        Some(self.doc.node(self.id?)?.raw())
    }

    /// The call's arguments; an empty object when it has none (or is not a call).
    pub fn arguments(&self) -> Node<'_> {
        self.arguments
            .and_then(|i| self.doc.node(i))
            .unwrap_or_else(|| json::empty_object().root())
    }

    /// Whether a `tools/list` asked for a later page.
    pub fn has_cursor(&self) -> bool {
        self.cursor.is_some()
    }

    /// The whole message.
    pub fn root(&self) -> Node<'_> {
        self.doc.node(self.at).unwrap_or_else(|| self.doc.root())
    }

    /// A node of the document the message was read from (see [`classify_at`]).
    pub fn node(&self, index: u32) -> Option<Node<'_>> {
        self.doc.node(index)
    }

    /// The message's text.
    pub fn text(&self) -> &str {
        self.doc.text()
    }

    /// Gives back the parse buffer for [`parse_message_reusing`].
    pub fn into_tape(self) -> Tape {
        self.doc.into_tape()
    }

    /// The same message, owning its text.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            doc: self.doc.into_owned(),
            kind: self.kind,
            method: self.method,
            id: self.id,
            tool: self.tool,
            mirrored: self.mirrored,
            meta_protocol_version: self.meta_protocol_version,
            arguments: self.arguments,
            cursor: self.cursor,
            at: self.at,
        }
    }
}

/// Parses the bytes of one MCP message, refusing everything CONTRACT §3 refuses.
pub fn parse_message(bytes: &[u8]) -> Result<Message<'_>, Invalid> {
    parse_message_reusing(bytes, Tape::default())
}

/// [`parse_message`], reusing a parse buffer.
pub fn parse_message_reusing(bytes: &[u8], tape: Tape) -> Result<Message<'_>, Invalid> {
    let doc = Document::parse_reusing(bytes, tape).map_err(|e| parse_error(&e))?;
    classify(doc)
}

/// [`parse_message`] for a body the message then owns.
pub fn parse_message_owned(bytes: Vec<u8>) -> Result<Message<'static>, Invalid> {
    let doc = Document::parse_owned_bytes(bytes).map_err(|e| parse_error(&e))?;
    classify(doc)
}

fn parse_error(e: &json::JsonError) -> Invalid {
    let at = if e.pointer.is_empty() {
        String::new()
    } else {
        format!(" at {}", e.pointer)
    };
    Invalid::new(
        PARSE_ERROR,
        format!(
            "parse error: {}{at} (line {}, column {})",
            e.kind, e.line, e.column
        ),
    )
}

/// Refuses a member whose key is not one of `known` but folds to one of them (`Method`,
/// `paramſ`, `name\u0000`): parsers that fold keys would read it as that member.
fn check_fold(key: Node<'_>, known: &[&str], place: &str) -> Result<(), Invalid> {
    let key = key.as_str().unwrap_or_default();
    let folded = fold_key(&key);
    match known.iter().find(|k| fold_key(k) == folded) {
        Some(real) => Err(Invalid::new(
            INVALID_REQUEST,
            format!(
                "invalid request: {place} member `{}` is not `{real}`",
                key.escape_debug()
            ),
        )),
        None => Ok(()),
    }
}

/// Classifies a parsed JSON document as an MCP message.
pub fn classify(doc: Document<'_>) -> Result<Message<'_>, Invalid> {
    classify_at(doc, 0)
}

/// Classifies the value at slot `at` of a document as an MCP message (a `toolgate eval`
/// line holds its message as its `body` member).
pub fn classify_at(doc: Document<'_>, at: u32) -> Result<Message<'_>, Invalid> {
    let root = doc.node(at).unwrap_or_else(|| doc.root());
    let [_, id_node, method_node, params_node, result_node, error_node] = envelope(root)?;
    let id = request_id(id_node)?;
    let id_text = id_node.filter(|_| id.is_some()).map(|n| n.raw());
    let Some(method) = method_name(method_node)? else {
        if id.is_some() && result_node.is_some() != error_node.is_some() && params_node.is_none() {
            return Ok(Message::response(doc, id, at));
        }
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: a message needs a `method`, or an `id` and one of `result` or `error`",
        ));
    };
    if result_node.is_some() || error_node.is_some() {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: a request cannot carry `result` or `error`",
        ));
    }
    let params = request_params(&method, params_node)?;
    let Parts {
        kind,
        tool,
        arguments,
        cursor,
        meta,
    } = request_kind(&method, params, id_text)?;
    let header_field = match method.as_ref() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    let mirrored = header_field
        .filter(|_| kind != Kind::ToolCall)
        .and_then(|f| params?.get(f)?.as_str())
        .map(|s| s.into_owned());
    let meta_protocol_version = meta
        .and_then(|m| m.get(PROTOCOL_VERSION_META)?.as_str())
        .map(|s| s.into_owned());
    Ok(Message {
        kind,
        method: Some(method),
        id,
        tool,
        mirrored,
        meta_protocol_version,
        arguments,
        cursor,
        at,
        doc,
    })
}

/// The members of a message, in the order of [`ENVELOPE`]: an object, with `jsonrpc`
/// "2.0" and no key that folds to a member's without being it.
fn envelope(root: Node<'_>) -> Result<[Option<Node<'_>>; 6], Invalid> {
    match root.kind() {
        json::Kind::Object => {}
        json::Kind::Array => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: batches (json arrays) are not supported",
            ))
        }
        _ => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: a message must be a json object",
            ))
        }
    }
    let mut found: [Option<Node<'_>>; 6] = [None; 6];
    let mut folds = Ok(());
    root.pick(&ENVELOPE, &mut found, &mut |key, _| {
        if folds.is_ok() {
            folds = check_fold(key, &ENVELOPE, "message");
        }
    });
    folds?;
    if !found[0].is_some_and(|v| v.str_eq("2.0")) {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    Ok(found)
}

/// The members of a JSON-RPC message.
const ENVELOPE: [&str; 6] = ["jsonrpc", "id", "method", "params", "result", "error"];

/// The request id's JSON text: a string or an integer.
fn request_id(id: Option<Node<'_>>) -> Result<Option<u32>, Invalid> {
    match id {
        None => Ok(None),
        Some(id) if id.kind() == json::Kind::String => Ok(Some(id.index())),
        Some(id) if id.as_number().is_some_and(|n| is_integer_id(n.as_str())) => {
            Ok(Some(id.index()))
        }
        Some(_) => Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: `id` must be a string or an integer",
        )),
    }
}

/// The method, which must be a string when present.
fn method_name(method: Option<Node<'_>>) -> Result<Option<Cow<'static, str>>, Invalid> {
    match method {
        None => Ok(None),
        Some(m) => match m.as_str() {
            Some(m) => Ok(Some(intern_method(m))),
            None => Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `method` must be a string",
            )),
        },
    }
}

/// A request's `params`, which must be an object when present.
fn request_params<'d>(method: &str, params: Option<Node<'d>>) -> Result<Option<Node<'d>>, Invalid> {
    match params {
        None => Ok(None),
        Some(p) if p.is_object() => Ok(Some(p)),
        Some(_) => Err(Invalid {
            method: Some(method.to_owned()),
            ..Invalid::new(
                INVALID_REQUEST,
                "invalid request: `params` must be an object",
            )
        }),
    }
}

/// What [`request_kind`] finds in a request.
struct Parts<'d> {
    kind: Kind,
    tool: Option<ToolName>,
    /// The slots of a call's arguments and of a list's cursor.
    arguments: Option<u32>,
    cursor: Option<u32>,
    /// `params._meta`.
    meta: Option<Node<'d>>,
}

/// What a request is. A `tools/call` must have an id.
fn request_kind<'d>(
    method: &str,
    params: Option<Node<'d>>,
    id: Option<&str>,
) -> Result<Parts<'d>, Invalid> {
    let parts = |kind, tool, arguments, cursor, meta| Parts {
        kind,
        tool,
        arguments,
        cursor,
        meta,
    };
    let meta = || params.and_then(|p| p.get("_meta"));
    match method {
        "tools/call" => {
            let (name, arguments, meta) = tool_call(params).map_err(|mut e| {
                e.method = Some(method.to_owned());
                if e.code != INVALID_REQUEST {
                    e.id = id.map(str::to_owned);
                }
                e
            })?;
            if id.is_none() {
                let name = match (&name, params) {
                    (ToolName::Decoded(name), _) => name.clone(),
                    (ToolName::Slot(_), p) => p
                        .and_then(|p| p.get("name")?.raw_str().map(str::to_owned))
                        .unwrap_or_default(),
                };
                return Err(Invalid {
                    method: Some(method.to_owned()),
                    tool: Some(name),
                    ..Invalid::new(
                        INVALID_REQUEST,
                        "invalid request: `tools/call` must be a request with an `id`, not a notification",
                    )
                });
            }
            Ok(parts(Kind::ToolCall, Some(name), arguments, None, meta))
        }
        "tools/list" => {
            let cursor = params.and_then(|p| p.get("cursor")).map(|c| c.index());
            Ok(parts(Kind::ToolsList, None, None, cursor, meta()))
        }
        _ => Ok(parts(Kind::Other, None, None, None, meta())),
    }
}

/// The methods clients send most, kept without a copy.
const COMMON_METHODS: &[&str] = &[
    "tools/call",
    "tools/list",
    "initialize",
    "notifications/initialized",
    "ping",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "server/discover",
    "notifications/cancelled",
    "notifications/progress",
    "logging/setLevel",
    "completion/complete",
];

fn intern_method(method: Cow<'_, str>) -> Cow<'static, str> {
    match COMMON_METHODS.iter().find(|m| **m == method) {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(method.into_owned()),
    }
}

/// Whether a JSON number is an integer id: no fraction or exponent, within `i64` or
/// `u64`.
fn is_integer_id(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // 18 digits always fit; longer ones are parsed.
    digits.len() <= 18 || text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok()
}

/// The `_meta` key that carries the protocol version in 2026-07-28 requests.
pub const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// The first protocol revision whose requests mirror the method and name in headers, and
/// that has no sessions.
pub const HEADER_MIRRORING_VERSION: &str = "2026-07-28";

/// Whether a `MCP-Protocol-Version` header names 2026-07-28 or later.
pub fn is_modern(protocol_version: Option<&str>) -> bool {
    protocol_version.is_some_and(|v| v.trim() >= HEADER_MIRRORING_VERSION)
}

/// The MCP request headers a gateway checks against the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct McpHeaders<'a> {
    /// `Mcp-Method`.
    pub method: Option<&'a str>,
    /// `Mcp-Name`, possibly in the `=?base64?…?=` form.
    pub name: Option<&'a str>,
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<&'a str>,
}

/// Checks the mirrored headers of a request against its body (2026-07-28 Streamable
/// HTTP, "Server Validation"). A header that is present must match the body, whatever
/// the revision. From 2026-07-28 on, `Mcp-Method` is required on every request and
/// `Mcp-Name` on `tools/call`, `resources/read` and `prompts/get`.
pub fn check_headers(message: &Message<'_>, headers: &McpHeaders<'_>) -> Result<(), Invalid> {
    let mismatch = |what: String| Invalid {
        method: message.method.as_deref().map(str::to_owned),
        tool: message.tool().map(str::to_owned),
        id: message.id().map(str::to_owned),
        ..Invalid::new(HEADER_MISMATCH, format!("header mismatch: {what}"))
    };
    let modern = is_modern(headers.protocol_version);
    if let (Some(header), Some(meta)) = (headers.protocol_version, &message.meta_protocol_version) {
        if header.trim() != meta {
            return Err(mismatch(format!(
                "MCP-Protocol-Version header `{}` does not match body `{meta}`",
                header.trim()
            )));
        }
    }
    match (headers.method.map(str::trim), &message.method) {
        (Some(header), Some(body)) if header == body.as_ref() => {}
        (Some(header), body) => {
            return Err(mismatch(format!(
                "Mcp-Method header `{}` does not match body `{}`",
                header.escape_debug(),
                body.as_deref().unwrap_or_default().escape_debug()
            )))
        }
        (None, Some(_)) if modern => {
            return Err(mismatch("the Mcp-Method header is missing".to_owned()))
        }
        (None, _) => {}
    }
    match (headers.name.map(str::trim), message.header_name()) {
        (Some(header), body) => {
            let decoded = decode_header_value(header)
                .ok_or_else(|| mismatch("the Mcp-Name header is not valid".to_owned()))?;
            if body != Some(decoded.as_str()) {
                return Err(mismatch(format!(
                    "Mcp-Name header `{}` does not match body `{}`",
                    decoded.escape_debug(),
                    body.unwrap_or_default().escape_debug()
                )));
            }
        }
        (None, Some(_)) if modern => {
            return Err(mismatch("the Mcp-Name header is missing".to_owned()))
        }
        (None, _) => {}
    }
    Ok(())
}

/// The `Mcp-Param-*` headers of a `tools/call` that may go on to the origin: each one the
/// tool's input schema declares (`x-mcp-header`, 2026-07-28) and whose value matches the
/// body's argument. A declared header that disagrees with the body is refused (`-32020`);
/// a header the schema does not declare, or any when the schema is not known, is dropped.
/// `headers` are (lowercase name, value) pairs.
pub fn param_headers<'h>(
    message: &Message<'_>,
    schema: Option<Node<'_>>,
    headers: &[(&'h str, &'h str)],
) -> Result<Vec<(&'h str, &'h str)>, Invalid> {
    let mismatch = |what: String| Invalid {
        method: message.method.as_deref().map(str::to_owned),
        tool: message.tool().map(str::to_owned),
        id: message.id().map(str::to_owned),
        ..Invalid::new(HEADER_MISMATCH, format!("header mismatch: {what}"))
    };
    let sent: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .filter(|(name, _)| name.starts_with("mcp-param-"))
        .collect();
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let declared = schema.map(declared_param_headers).unwrap_or_default();
    let arguments = message.arguments();
    let mut forward = Vec::new();
    for (name, value) in sent {
        let token = name.trim_start_matches("mcp-param-");
        let Some((path, kind)) = declared
            .iter()
            .find(|(_, t, _)| t.eq_ignore_ascii_case(token))
            .map(|(p, _, k)| (p, k))
        else {
            continue;
        };
        if headers.iter().filter(|(n, _)| *n == name).count() > 1 {
            return Err(mismatch(format!(
                "the {name} header appears more than once"
            )));
        }
        let argument = path.iter().try_fold(arguments, |node, key| node.get(key));
        let rendered = argument
            .filter(|a| !a.is_null())
            .and_then(|a| render_param(a));
        let decoded = decode_header_value(value.trim());
        let matches = match (&rendered, &decoded) {
            (Some(rendered), Some(decoded)) => {
                rendered == decoded || (kind == "integer" && integer_text_eq(rendered, decoded))
            }
            _ => false,
        };
        if !matches {
            return Err(mismatch(format!(
                "the {name} header does not match the argument `{}`",
                path.join(".")
            )));
        }
        forward.push((name, value));
    }
    Ok(forward)
}

/// Whether two decimal texts are the same integer (`42` and `42.0`).
fn integer_text_eq(a: &str, b: &str) -> bool {
    let int = |t: &str| {
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        (frac.bytes().all(|b| b == b'0')
            && !whole.is_empty()
            && whole
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit()))
        .then(|| whole.to_owned())
    };
    matches!((int(a), int(b)), (Some(x), Some(y)) if x == y)
}

/// A primitive argument as a client mirrors it into a header.
fn render_param(value: Node<'_>) -> Option<String> {
    match value.kind() {
        json::Kind::String => value.as_str().map(|s| s.into_owned()),
        json::Kind::Bool => value.as_bool().map(|b| b.to_string()),
        json::Kind::Number => Some(value.raw().to_owned()),
        _ => None,
    }
}

/// The `x-mcp-header` declarations of an input schema: (property path, token, type), for
/// properties reachable through `properties` alone.
pub fn declared_param_headers(schema: Node<'_>) -> Vec<(Vec<String>, String, String)> {
    fn walk(node: Node<'_>, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String, String)>) {
        if path.len() > 32 {
            return;
        }
        if !path.is_empty() {
            if let Some(token) = node.get("x-mcp-header").and_then(|t| t.as_str()) {
                let kind = node
                    .get("type")
                    .and_then(|t| t.as_str())
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                out.push((path.clone(), token.into_owned(), kind));
            }
        }
        if let Some(properties) = node.get("properties") {
            for (key, sub) in properties.members() {
                path.push(key.as_str().unwrap_or_default().into_owned());
                walk(sub, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    out
}

/// Decodes a mirrored header value: plain visible ASCII, or `=?base64?…?=` holding the
/// Base64 of UTF-8 text. `None` when it is neither.
pub fn decode_header_value(value: &str) -> Option<String> {
    if let Some(inner) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        return String::from_utf8(base64_decode(inner)?).ok();
    }
    value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b))
        .then(|| value.to_owned())
}

/// Decodes standard Base64 (RFC 4648 §4), padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    (bits < 6).then_some(out)
}

/// A `tools/call`'s name and arguments, and its `params._meta` (read in the same pass).
fn tool_call(
    params: Option<Node<'_>>,
) -> Result<(ToolName, Option<u32>, Option<Node<'_>>), Invalid> {
    let Some(params) = params else {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: `tools/call` needs `params`",
        ));
    };
    const PARAMS: [&str; 4] = ["name", "arguments", "_meta", "task"];
    let mut found: [Option<Node<'_>>; 4] = [None; 4];
    let mut folds = Ok(());
    params.pick(&PARAMS, &mut found, &mut |key, _| {
        if folds.is_ok() {
            folds = check_fold(key, &PARAMS, "params");
        }
    });
    folds?;
    let [name_node, arguments_node, meta, _] = found;
    let (name, slot) = match name_node {
        Some(n) => match n.as_str() {
            Some(Cow::Borrowed(name)) => (Cow::Borrowed(name), Some(n.index())),
            Some(name) => (name, None),
            None => {
                return Err(Invalid::new(
                    INVALID_REQUEST,
                    "invalid request: `params.name` must be a string",
                ))
            }
        },
        None => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `tools/call` needs `params.name`",
            ))
        }
    };
    let arguments = match arguments_node {
        None => None,
        Some(args) if args.is_object() => Some(args.index()),
        Some(_) => {
            return Err(Invalid {
                tool: Some(name.into_owned()),
                ..Invalid::new(
                    INVALID_REQUEST,
                    "invalid request: `params.arguments` must be an object",
                )
            })
        }
    };
    if !is_valid_tool_name(&name) {
        return Err(Invalid {
            tool: Some(name.into_owned()),
            ..Invalid::new(
                INVALID_PARAMS,
                "invalid params: a tool name is 1 to 128 of `A-Z a-z 0-9 _ . -`",
            )
        });
    }
    let name = match slot {
        Some(slot) => ToolName::Slot(slot),
        None => ToolName::Decoded(name.into_owned()),
    };
    Ok((name, arguments, meta))
}

/// A JSON-RPC error response body. `id` is the request id's JSON text.
pub fn error_response(id: Option<&str>, code: i64, message: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":{code},"message":{}}}}}"#,
        id.unwrap_or("null"),
        json::quote(message)
    )
}

/// The `tools/call` result toolgate answers in place of the origin when a call is denied,
/// rate limited or waits for approval. `decision` is the decision object's JSON text;
/// `modern` adds `resultType: "complete"` for 2026-07-28 clients.
pub fn refusal_response(id: Option<&str>, message: &str, decision: &str, modern: bool) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{},"result":{{"content":[{{"type":"text","text":{}}}],"isError":true,"_meta":{{"toolgate/decision":{decision}}}{}}}}}"#,
        id.unwrap_or("null"),
        json::quote(message),
        if modern {
            r#","resultType":"complete""#
        } else {
            ""
        }
    )
}

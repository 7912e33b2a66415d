//! MCP messages: the strict JSON-RPC envelope, classification, and the answers toolgate
//! gives in place of the origin.
//!
//! The envelope is loose where the protocol is (unknown members such as `_meta` pass
//! through untouched) and strict where a parser differential could hide a call: members
//! whose names differ from `jsonrpc`, `id`, `method`, `params`, `name` or `arguments` only
//! by case, `ſ`/`K` folding or NUL characters are refused, as are duplicate keys anywhere
//! (see [`crate::json`]).

// `Invalid` is the rare path, and callers use all of it: boxing it would only add noise.
#![allow(clippy::result_large_err)]

use crate::json::{self, fold_key};
use crate::policy::is_valid_tool_name;
use serde_json::{json, Map, Value};

/// JSON-RPC parse error: the body is not strict JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC invalid request: the envelope is wrong.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC invalid params: used for bad and unknown tool names.
pub const INVALID_PARAMS: i64 = -32602;
/// The `Mcp-Method` or `Mcp-Name` header disagrees with the body.
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
    /// The request id, when it was valid.
    pub id: Option<Value>,
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
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A `tools/call` request.
    ToolCall {
        name: String,
        /// The call's arguments; an empty object when the call has none.
        arguments: Value,
    },
    /// A `tools/list` request.
    ToolsList,
    /// Any other request or notification.
    Other,
    /// A response from the client to a request of the server.
    Response,
}

/// A strictly parsed MCP message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: Kind,
    /// The method, for requests and notifications.
    pub method: Option<String>,
    /// The request id (a string or an integer); `None` for notifications.
    pub id: Option<Value>,
    /// What the `Mcp-Name` header mirrors: `params.name` of `tools/call` and
    /// `prompts/get`, `params.uri` of `resources/read`.
    pub header_name: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when present.
    pub meta_protocol_version: Option<String>,
}

impl Message {
    /// The tool name, for a `tools/call`.
    pub fn tool(&self) -> Option<&str> {
        match &self.kind {
            Kind::ToolCall { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Parses the bytes of one MCP message, refusing everything CONTRACT §3 refuses.
pub fn parse_message(bytes: &[u8]) -> Result<Message, Invalid> {
    let value = json::parse(bytes).map_err(|e| {
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
    })?;
    classify(&value)
}

fn check_members(map: &Map<String, Value>, known: &[&str], place: &str) -> Result<(), Invalid> {
    for key in map.keys() {
        if known.contains(&key.as_str()) {
            continue;
        }
        let folded = fold_key(key);
        if let Some(real) = known.iter().find(|k| fold_key(k) == folded) {
            return Err(Invalid::new(
                INVALID_REQUEST,
                format!(
                    "invalid request: {place} member `{}` is not `{real}`",
                    key.escape_debug()
                ),
            ));
        }
    }
    Ok(())
}

/// Classifies a parsed JSON value as an MCP message.
pub fn classify(value: &Value) -> Result<Message, Invalid> {
    let map = match value {
        Value::Object(map) => map,
        Value::Array(_) => {
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
    };
    check_members(
        map,
        &["jsonrpc", "id", "method", "params", "result", "error"],
        "message",
    )?;
    if map.get("jsonrpc") != Some(&Value::String("2.0".to_owned())) {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    let id = match map.get("id") {
        None => None,
        Some(id @ Value::String(_)) => Some(id.clone()),
        Some(id @ Value::Number(n)) if n.is_i64() || n.is_u64() => Some(id.clone()),
        Some(_) => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `id` must be a string or an integer",
            ))
        }
    };
    let method = match map.get("method") {
        None => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `method` must be a string",
            ))
        }
    };
    let Some(method) = method else {
        let has_outcome = map.contains_key("result") != map.contains_key("error");
        if id.is_some() && has_outcome && !map.contains_key("params") {
            return Ok(Message {
                kind: Kind::Response,
                method: None,
                id,
                header_name: None,
                meta_protocol_version: None,
            });
        }
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: a message needs a `method`, or an `id` and one of `result` or `error`",
        ));
    };
    if map.contains_key("result") || map.contains_key("error") {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: a request cannot carry `result` or `error`",
        ));
    }
    let params = match map.get("params") {
        None => None,
        Some(Value::Object(p)) => Some(p),
        Some(_) => {
            return Err(Invalid {
                method: Some(method),
                ..Invalid::new(
                    INVALID_REQUEST,
                    "invalid request: `params` must be an object",
                )
            })
        }
    };
    let kind = match method.as_str() {
        "tools/call" => tool_call(params).map_err(|mut e| {
            e.method = Some(method.clone());
            e.id.clone_from(&id);
            if e.code == INVALID_REQUEST {
                e.id = None;
            }
            e
        })?,
        "tools/list" => Kind::ToolsList,
        _ => Kind::Other,
    };
    if matches!(kind, Kind::ToolCall { .. }) && id.is_none() {
        return Err(Invalid {
            method: Some(method),
            tool: match &kind {
                Kind::ToolCall { name, .. } => Some(name.clone()),
                _ => None,
            },
            ..Invalid::new(
                INVALID_REQUEST,
                "invalid request: `tools/call` must be a request with an `id`, not a notification",
            )
        });
    }
    let header_field = match method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    let header_name = header_field
        .and_then(|f| params?.get(f)?.as_str())
        .map(str::to_owned);
    let meta_protocol_version = params
        .and_then(|p| p.get("_meta")?.get(PROTOCOL_VERSION_META)?.as_str())
        .map(str::to_owned);
    Ok(Message {
        kind,
        method: Some(method),
        id,
        header_name,
        meta_protocol_version,
    })
}

/// The `_meta` key that carries the protocol version in 2026-07-28 requests.
pub const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";

/// The first protocol revision whose requests mirror the method and name in headers.
pub const HEADER_MIRRORING_VERSION: &str = "2026-07-28";

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
pub fn check_headers(message: &Message, headers: &McpHeaders<'_>) -> Result<(), Invalid> {
    let mismatch = |what: String| Invalid {
        method: message.method.clone(),
        tool: message.tool().map(str::to_owned),
        id: message.id.clone(),
        ..Invalid::new(HEADER_MISMATCH, format!("header mismatch: {what}"))
    };
    let modern = headers
        .protocol_version
        .is_some_and(|v| v.trim() >= HEADER_MIRRORING_VERSION);
    if let (Some(header), Some(meta)) = (headers.protocol_version, &message.meta_protocol_version) {
        if header.trim() != meta {
            return Err(mismatch(format!(
                "MCP-Protocol-Version header `{}` does not match body `{meta}`",
                header.trim()
            )));
        }
    }
    match (headers.method.map(str::trim), &message.method) {
        (Some(header), Some(body)) if header == body => {}
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
    match (headers.name.map(str::trim), &message.header_name) {
        (Some(header), body) => {
            let decoded = decode_header_value(header)
                .ok_or_else(|| mismatch("the Mcp-Name header is not valid".to_owned()))?;
            if body.as_deref() != Some(decoded.as_str()) {
                return Err(mismatch(format!(
                    "Mcp-Name header `{}` does not match body `{}`",
                    decoded.escape_debug(),
                    body.as_deref().unwrap_or_default().escape_debug()
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

fn tool_call(params: Option<&Map<String, Value>>) -> Result<Kind, Invalid> {
    let Some(params) = params else {
        return Err(Invalid::new(
            INVALID_REQUEST,
            "invalid request: `tools/call` needs `params`",
        ));
    };
    check_members(params, &["name", "arguments", "_meta", "task"], "params")?;
    let name = match params.get("name") {
        Some(Value::String(name)) => name.clone(),
        Some(_) => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `params.name` must be a string",
            ))
        }
        None => {
            return Err(Invalid::new(
                INVALID_REQUEST,
                "invalid request: `tools/call` needs `params.name`",
            ))
        }
    };
    let arguments = match params.get("arguments") {
        None => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args.clone(),
        Some(_) => {
            return Err(Invalid {
                tool: Some(name),
                ..Invalid::new(
                    INVALID_REQUEST,
                    "invalid request: `params.arguments` must be an object",
                )
            })
        }
    };
    if !is_valid_tool_name(&name) {
        return Err(Invalid {
            tool: Some(name),
            ..Invalid::new(
                INVALID_PARAMS,
                "invalid params: a tool name is 1 to 128 of `A-Z a-z 0-9 _ . -`",
            )
        });
    }
    Ok(Kind::ToolCall { name, arguments })
}

/// A JSON-RPC error response body.
pub fn error_response(id: Option<&Value>, code: i64, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.cloned().unwrap_or(Value::Null),
        "error": { "code": code, "message": message },
    })
}

/// The `tools/call` result toolgate answers in place of the origin when a call is denied,
/// rate limited or waits for approval.
pub fn refusal_response(id: Option<&Value>, message: &str, decision: &Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.cloned().unwrap_or(Value::Null),
        "result": {
            "content": [ { "type": "text", "text": message } ],
            "isError": true,
            "_meta": { "toolgate/decision": decision },
        },
    })
}

/// Removes from a `tools/list` response the tools for which `hidden` is true. Anything
/// that is not a successful `tools/list` result (an error, an unexpected shape) is
/// returned unchanged; tools that are not objects with a string `name` are removed, since
/// no policy can tell whether they are hidden.
pub fn filter_tools_list(response: &mut Value, hidden: impl Fn(&str) -> bool) -> usize {
    let Some(tools) = response
        .get_mut("result")
        .and_then(|r| r.get_mut("tools"))
        .and_then(Value::as_array_mut)
    else {
        return 0;
    };
    let before = tools.len();
    tools.retain(|tool| {
        tool.get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| !hidden(name))
    });
    before - tools.len()
}

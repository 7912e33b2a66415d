//! How the Worker talks to its Durable Objects: one JSON request, one JSON answer.

use crate::wire::{self, FromJson, ToJson};
use worker::{Env, Method, Request, RequestInit, Response};

/// The namespace binding of the rate counters (one object per counter and scope key).
pub const COUNTERS: &str = "COUNTERS";
/// The binding of the control object (approvals, stored policies, the session key).
pub const CONTROL: &str = "CONTROL";
/// The binding of the audit object.
pub const AUDIT: &str = "AUDIT";
/// The binding of the catalogue object (the origin's tools and their pins).
pub const CATALOGUE: &str = "CATALOGUE";

/// The one control object's name.
pub const CONTROL_NAME: &str = "control";
/// The one audit object's name.
pub const AUDIT_NAME: &str = "audit";
/// The one catalogue object's name.
pub const CATALOGUE_NAME: &str = "catalogue";

/// Sends `op` to the object `name` of namespace `binding`, returning its raw answer.
pub async fn send<Op: ToJson>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> Result<Response, String> {
    let namespace = env.durable_object(binding).map_err(|e| e.to_string())?;
    let stub = namespace
        .id_from_name(name)
        .and_then(|id| id.get_stub())
        .map_err(|e| e.to_string())?;
    let body = wire::to_string(op);
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let request = Request::new_with_init("https://object/", &init).map_err(|e| e.to_string())?;
    stub.fetch_with_request(request)
        .await
        .map_err(|e| e.to_string())
}

/// Sends `op` and reads a 200 answer as `Reply`; any other status is an error with the
/// object's message.
pub async fn call<Op: ToJson, Reply: FromJson>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> Result<Reply, String> {
    let mut response = send(env, binding, name, op).await?;
    if response.status_code() != 200 {
        let text = response.text().await.unwrap_or_default();
        return Err(format!("status {}: {text}", response.status_code()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    wire::from_str(&text)
}

/// Sends `op` and reads a 200 answer as text.
pub async fn call_text<Op: ToJson>(
    env: &Env,
    binding: &str,
    name: &str,
    op: &Op,
) -> Result<(u16, String), String> {
    let mut response = send(env, binding, name, op).await?;
    let status = response.status_code();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, text))
}

/// A JSON answer of an object (or of the admin API).
pub fn json_answer(status: u16, body: String) -> worker::Result<Response> {
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.into_bytes()))
}

/// An object's error answer: `{"error": message}`.
pub fn fail(status: u16, message: &str) -> worker::Result<Response> {
    let mut body = String::with_capacity(message.len() + 12);
    wire::Obj::new(&mut body).field("error", message).end();
    json_answer(status, body)
}

/// Whether the test-only fault switch `TOOLGATE_FAULTS` names `object` (a
/// comma-separated list of `counter`, `control`, `audit`, `catalogue`): the object then
/// answers every request with 500, as if its storage failed. Unset in any deployment.
pub fn faulty(env: &Env, object: &str) -> bool {
    env.var("TOOLGATE_FAULTS")
        .map(|v| v.to_string().split(',').any(|f| f.trim() == object))
        .unwrap_or(false)
}

/// The rows of a query as raw values. (Reading rows into structs would pull a second
/// deserializer into the Worker; these few columns are read by position instead.)
pub fn rows(
    sql: &worker::SqlStorage,
    query: &str,
    bindings: Vec<worker::SqlStorageValue>,
) -> worker::Result<Vec<Vec<worker::SqlStorageValue>>> {
    sql.exec(query, bindings)?.raw().collect()
}

/// Column `i` of a row as an integer (0 when absent or not a number).
pub fn int(row: &[worker::SqlStorageValue], i: usize) -> u64 {
    match row.get(i) {
        Some(worker::SqlStorageValue::Integer(n)) => u64::try_from(*n).unwrap_or(0),
        Some(worker::SqlStorageValue::Float(f)) if *f >= 0.0 => *f as u64,
        _ => 0,
    }
}

/// Column `i` of a row as text (empty when absent or not text).
pub fn text(row: &[worker::SqlStorageValue], i: usize) -> String {
    match row.get(i) {
        Some(worker::SqlStorageValue::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// A SQLite integer from a `u64`.
pub fn sql_int(n: u64) -> worker::SqlStorageValue {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

/// An operation sent to a Durable Object, read from its JSON text. (`Request::json`
/// would go through a JS object and a second deserializer, kept out of the Worker.)
pub async fn read_op<T: FromJson>(req: &mut Request) -> Result<T, String> {
    let text = req.text().await.map_err(|e| e.to_string())?;
    wire::from_str(&text)
}

/// A 200 answer of JSON written by `value`.
pub fn reply<T: ToJson + ?Sized>(value: &T) -> worker::Result<Response> {
    json_answer(200, wire::to_string(value))
}

//! Routing. Every request's body is read, or read and thrown away, **before** anything
//! answers it (CONTRACT §3, "Every request is bounded"): an answer sent while the client
//! is still sending breaks the connection under some runtimes, and with it the next
//! request on that connection (the local runtime answered 503 "Your worker restarted
//! mid-request" to a request that followed one answered early).
//!
//! Then: `/mcp` is the MCP endpoint, `/admin` and `/admin/*` the admin API, and every
//! other `GET` or `HEAD` the playground's static assets (`wrangler.toml` sends every
//! request to the Worker first, `run_worker_first`). Nothing else is ever proxied.

use super::{admin, call, isolate};
use crate::config::DEFAULT_MAX_BODY_BYTES;
use crate::mcp;
use futures_util::StreamExt;
use worker::{console_error, Context, Env, Headers, Method, Request, RequestInit, Response};

/// A request body, read within a limit.
pub enum Body {
    /// The whole body.
    Read(Vec<u8>),
    /// More than the limit: read to its end and discarded.
    TooLarge,
    /// The client's stream failed.
    Broken,
}

/// Answers one request.
pub async fn route(mut req: Request, env: Env, ctx: Context) -> Response {
    let config = isolate::config(&env);
    let limit = config
        .as_ref()
        .as_ref()
        .map_or(DEFAULT_MAX_BODY_BYTES, |c| c.max_body_bytes);
    let body = read_body(&mut req, limit).await;
    let path = req.path();
    let answer = match path.as_str() {
        "/mcp" => call::endpoint(&req, body, &env, &ctx).await,
        p if p == "/admin" || p.starts_with("/admin/") => admin::handle(&req, body, &env).await,
        _ => static_asset(&req, &env).await,
    };
    answer.unwrap_or_else(|e| {
        console_error!("toolgate: internal error: {e}");
        plain(500, "internal error")
    })
}

/// Reads the request body, refusing more than `limit` bytes. A refused body is still
/// read to its end and thrown away, however long it is: giving up on it (cancelling the
/// stream) would break the connection, and the next request on it (the local runtime
/// answers that one 503 "Your worker restarted mid-request", or resets it). Cloudflare
/// bounds a request body (100 MB and more, by plan) before the Worker sees it.
pub async fn read_body(req: &mut Request, limit: usize) -> Body {
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|n| n > limit as u64);
    let mut body = Vec::new();
    let mut seen = 0usize;
    let Ok(mut chunks) = req.stream() else {
        // No body at all.
        return if too_large {
            Body::TooLarge
        } else {
            Body::Read(Vec::new())
        };
    };
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else {
            return Body::Broken;
        };
        seen = seen.saturating_add(chunk.len());
        if seen > limit {
            too_large = true;
            body = Vec::new();
        }
        if too_large {
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        Body::TooLarge
    } else {
        Body::Read(body)
    }
}

/// The `scheme://host[:port]` of a request's URL (read without a URL parser: the
/// runtime has already checked the URL).
pub fn origin_of(req: &Request) -> String {
    let url = req.inner().url();
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url
        .get(after_scheme..)
        .and_then(|rest| rest.find(['/', '?', '#']))
        .map_or(url.len(), |i| after_scheme + i);
    url.get(..end).unwrap_or_default().to_owned()
}

/// The decoded `key=value` pairs of a request's query string.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    let url = req.inner().url();
    let query = url
        .split_once('?')
        .map(|(_, q)| q.split_once('#').map_or(q, |(q, _)| q))
        .unwrap_or_default();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => match text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A plain-text answer.
pub fn plain(status: u16, text: &str) -> Response {
    Response::ok(text)
        .map(|r| r.with_status(status))
        .unwrap_or_else(|_| Response::builder().with_status(status).empty())
}

/// A JSON answer.
pub fn json(status: u16, body: &str) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.as_bytes().to_vec()))
}

/// The answer to a path that is neither `/mcp`, nor `/admin/*`, nor an asset.
fn not_found() -> worker::Result<Response> {
    json(
        404,
        &mcp::error_response(None, -32601, "not found: the MCP endpoint is /mcp"),
    )
}

/// A static asset of the playground, for `GET` and `HEAD`; 404 for anything else, 405
/// for other methods on an asset's path.
async fn static_asset(req: &Request, env: &Env) -> worker::Result<Response> {
    let method = req.method();
    if !matches!(method, Method::Get | Method::Head) {
        let mut response = json(
            405,
            &mcp::error_response(
                None,
                -32601,
                "method not allowed: only GET and HEAD serve the playground; the MCP endpoint is POST /mcp",
            ),
        )?;
        response.headers_mut().set("allow", "GET, HEAD")?;
        return Ok(response);
    }
    let Ok(assets) = env.assets("ASSETS") else {
        return not_found();
    };
    let headers = Headers::new();
    for name in [
        "accept",
        "accept-encoding",
        "if-none-match",
        "if-modified-since",
        "range",
    ] {
        if let Ok(Some(value)) = req.headers().get(name) {
            headers.set(name, &value)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    let forwarded = Request::new_with_init(&req.inner().url(), &init)?;
    let response = assets.fetch_request(forwarded).await?;
    if response.status_code() == 404 {
        return not_found();
    }
    Ok(response)
}

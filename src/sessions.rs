//! Sessions bound to grants (CONTRACT §3, "Another grant's session").
//!
//! The session id an agent sees is the origin's id wrapped with a MAC over the grant and
//! the id: `tg1.` + 32 hex digits of HMAC-SHA256(key, grant, origin id) + `.` + the
//! origin's id. The gateway unwraps it on every request, `GET` and `DELETE`: an id it did
//! not issue to this grant (made up, altered, or another grant's) does not verify, is
//! answered 404, and is never forwarded. No storage is read: the MAC is the proof. The
//! key is random, made once per deployment and kept by the control object.
//!
//! A `scope: "session"` counter is keyed by the unwrapped origin id, so an agent cannot
//! get a fresh budget by sending a session id of its own.

use crate::config::constant_time_eq;
use sha2::{Digest, Sha256};

/// The prefix of every session id the gateway issues.
pub const PREFIX: &str = "tg1.";

/// The longest session id an agent may send.
pub const MAX_SESSION_ID: usize = 1_024;

/// HMAC-SHA256 (RFC 2104) of `parts`, each length-prefixed so that no two inputs collide.
fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, byte) in key.iter().enumerate() {
        if let (Some(ip), Some(op)) = (inner_pad.get_mut(i), outer_pad.get_mut(i)) {
            *ip ^= byte;
            *op ^= byte;
        }
    }
    let mut inner = Sha256::new();
    inner.update(inner_pad);
    for part in parts {
        inner.update((part.len() as u64).to_be_bytes());
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(outer_pad);
    outer.update(inner);
    outer.finalize().into()
}

fn tag(key: &[u8; 32], grant: &str, origin_id: &str) -> [u8; 16] {
    let full = mac(
        key,
        &[
            b"toolgate session v1",
            grant.as_bytes(),
            origin_id.as_bytes(),
        ],
    );
    let mut out = [0u8; 16];
    out.copy_from_slice(full.get(..16).unwrap_or(&[0u8; 16]));
    out
}

/// The session id the agent of `grant` sees for the origin's session `origin_id`.
pub fn wrap(key: &[u8; 32], grant: &str, origin_id: &str) -> String {
    format!(
        "{PREFIX}{}.{origin_id}",
        crate::json::hex(&tag(key, grant, origin_id))
    )
}

/// The origin's session id inside `agent_id`, if the gateway issued it to `grant`.
pub fn unwrap<'a>(key: &[u8; 32], grant: &str, agent_id: &'a str) -> Option<&'a str> {
    if agent_id.len() > MAX_SESSION_ID {
        return None;
    }
    let rest = agent_id.strip_prefix(PREFIX)?;
    let (tag_hex, origin_id) = rest.split_once('.')?;
    let sent = crate::json::unhex(tag_hex)?;
    if sent.len() != 16 || origin_id.is_empty() {
        return None;
    }
    let expected = tag(key, grant, origin_id);
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.get_mut(..16)?.copy_from_slice(&expected);
    b.get_mut(..16)?.copy_from_slice(&sent);
    constant_time_eq(&a, &b).then_some(origin_id)
}

/// Whether an origin's session id is one a header can carry (visible ASCII, as MCP
/// requires), so that it can be wrapped.
pub fn is_valid_origin_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID - 64
        && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

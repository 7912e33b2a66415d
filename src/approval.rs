//! Human approvals (CONTRACT §6), as a pure state machine over one binding.
//!
//! An approval is bound to the grant, the tool, the SHA-256 of the arguments' canonical
//! JSON (RFC 8785) and the policy version ([`crate::eval::approval_binding`]). Whoever
//! stores approvals (a Durable Object in the gateway) looks up the newest approval of a
//! binding and asks [`on_call`] what to do; [`decide`] applies an operator's verdict.
//!
//! - **pending**: the call is held; the same approval is returned until it expires.
//! - **approved**: the identical call passes the approval step **once**. The approval is
//!   `used` ([`use_approved`]) only when the call has also passed its limits and goes to
//!   the origin, so a call refused by a limit (or by a counter that cannot be reached)
//!   keeps its approval; after that, the next identical call creates a new pending one.
//! - **denied**: the identical call is denied with the operator's note, for as long as
//!   the approval lives.
//! - Pending and approved approvals expire `ttl` after they were created; an expired one
//!   is gone, and the next identical call creates a new one. Denied ones expire too, so a
//!   refusal is not forever.
//!
//! Arguments are kept only while they may still be needed (pending or approved and
//! unused): the approver must see them, and nobody needs them afterwards. They are kept
//! **sealed** ([`seal`], ChaCha20-Poly1305 under a key derived from a Worker secret), so
//! storage never holds an argument value in the clear, not even in a database's journal;
//! only the admin API opens them, for the approver.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Arguments up to this size are shown in approval lists; larger ones only by id.
pub const LIST_ARGUMENTS_BYTES: usize = 4 << 10;

/// The most approvals one grant may have waiting at once. Asking for approval costs an
/// agent no rate-limit budget, so without a cap a looping agent could fill the store and
/// the operators' queue; past it, new requests are denied until operators catch up.
pub const MAX_PENDING_PER_GRANT: u64 = 100;

/// How long a finished (used, denied or expired) approval is kept for the record.
pub const KEEP_FINISHED_MS: u64 = 30 * 86_400_000;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Used,
    Expired,
}

impl Status {
    /// The name used in the admin API.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Used => "used",
            Status::Expired => "expired",
        }
    }

    /// Parses an admin API status filter.
    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Approved,
            Status::Denied,
            Status::Used,
            Status::Expired,
        ]
        .into_iter()
        .find(|s| s.name() == text)
    }
}

/// One approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    /// The binding (`approval_binding`), unique per live approval.
    pub binding: String,
    pub grant: String,
    pub tool: String,
    pub arguments_sha256: String,
    pub policy_version: u64,
    /// The pointer of the rule that asks for approval.
    pub rule: String,
    /// The call's arguments, sealed ([`seal`]), while the approval is pending or approved.
    pub arguments_sealed: Option<String>,
    pub status: Status,
    pub created_at: u64,
    pub expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

crate::json_names!(Status {
    Pending = "pending",
    Approved = "approved",
    Denied = "denied",
    Used = "used",
    Expired = "expired",
});

crate::json_struct!(Approval {
    id: req,
    binding: req,
    grant: req,
    tool: req,
    arguments_sha256: req,
    policy_version: req,
    rule: req,
    arguments_sealed: req,
    status: req,
    created_at: req,
    expires_at: req,
    decided_by: skip,
    decided_at: skip,
    note: skip,
});

crate::json_struct!(Request {
    binding: req,
    grant: req,
    tool: req,
    arguments_sha256: req,
    policy_version: req,
    rule: req,
    ttl_ms: req,
    arguments_sealed: req,
});

impl Approval {
    /// The status as of `now_ms`: expired once `expires_at` has passed, unless used.
    pub fn status_at(&self, now_ms: u64) -> Status {
        match self.status {
            Status::Pending | Status::Approved | Status::Denied if now_ms >= self.expires_at => {
                Status::Expired
            }
            status => status,
        }
    }
}

/// What a call that needs approval meets.
#[derive(Debug, Clone, PartialEq)]
pub enum OnCall {
    /// Held: the approval is pending (`created` is true when it was just made).
    Pending { approval: Approval, created: bool },
    /// Approved: the call passes the approval step. The approval is unchanged: it is used
    /// ([`use_approved`]) once the call has passed its limits.
    Pass { approval: Approval },
    /// An operator refused: the call is denied with the note.
    Denied { approval: Approval },
}

impl OnCall {
    /// The approval in its new state, to be stored.
    pub fn approval(&self) -> &Approval {
        match self {
            OnCall::Pending { approval, .. }
            | OnCall::Pass { approval }
            | OnCall::Denied { approval } => approval,
        }
    }
}

/// A call that needs approval, as the store receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub binding: String,
    pub grant: String,
    pub tool: String,
    pub arguments_sha256: String,
    pub policy_version: u64,
    pub rule: String,
    pub ttl_ms: u64,
    /// The call's arguments, sealed ([`seal`]); `None` when no key is configured.
    pub arguments_sealed: Option<String>,
}

/// What to do with a call, given the newest approval of its binding (if any). `new_id`
/// is used only when a new pending approval is created.
pub fn on_call(existing: Option<Approval>, request: &Request, now_ms: u64, new_id: &str) -> OnCall {
    if let Some(approval) = existing {
        match approval.status_at(now_ms) {
            Status::Pending => {
                return OnCall::Pending {
                    approval,
                    created: false,
                }
            }
            Status::Approved => return OnCall::Pass { approval },
            Status::Denied => return OnCall::Denied { approval },
            Status::Used | Status::Expired => {}
        }
    }
    OnCall::Pending {
        approval: Approval {
            id: new_id.to_owned(),
            binding: request.binding.clone(),
            grant: request.grant.clone(),
            tool: request.tool.clone(),
            arguments_sha256: request.arguments_sha256.clone(),
            policy_version: request.policy_version,
            rule: request.rule.clone(),
            arguments_sealed: request.arguments_sealed.clone(),
            status: Status::Pending,
            created_at: now_ms,
            expires_at: now_ms.saturating_add(request.ttl_ms),
            decided_by: None,
            decided_at: None,
            note: None,
        },
        created: true,
    }
}

/// Uses an approved approval for the one call it lets through: `Err` with its status when
/// it is no longer approved (another identical call used it first, or it expired).
pub fn use_approved(mut approval: Approval, now_ms: u64) -> Result<Approval, Status> {
    match approval.status_at(now_ms) {
        Status::Approved => {
            approval.status = Status::Used;
            approval.arguments_sealed = None;
            Ok(approval)
        }
        status => Err(status),
    }
}

/// Why an operator's decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    #[error("approval `{0}` is {1}, not pending")]
    NotPending(String, &'static str),
}

/// Applies an operator's verdict to a pending approval.
pub fn decide(
    mut approval: Approval,
    approve: bool,
    admin: &str,
    note: Option<String>,
    now_ms: u64,
) -> Result<Approval, DecideError> {
    let status = approval.status_at(now_ms);
    if status != Status::Pending {
        return Err(DecideError::NotPending(approval.id, status.name()));
    }
    approval.status = if approve {
        Status::Approved
    } else {
        approval.arguments_sealed = None;
        Status::Denied
    };
    approval.decided_by = Some(admin.to_owned());
    approval.decided_at = Some(now_ms);
    approval.note = note.filter(|n| !n.trim().is_empty());
    Ok(approval)
}

/// The key that seals approval arguments, derived from secret material (the
/// `APPROVAL_KEY` secret, or else the `ADMINS` secret).
pub fn sealing_key(secret: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"toolgate approval arguments v1\n")
        .chain_update(secret.as_bytes())
        .finalize()
        .into()
}

/// Seals a text (the arguments' exact JSON): hex of the 12-byte `nonce` followed by the
/// ChaCha20-Poly1305 ciphertext. The nonce must never repeat under one key (use random
/// bytes).
pub fn seal(key: &[u8; 32], nonce: [u8; 12], plain: &str) -> String {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
        .unwrap_or_default();
    let mut out = crate::json::hex(&nonce);
    out.push_str(&crate::json::hex(&sealed));
    out
}

/// Opens what [`seal`] sealed; `None` if the key is not the one it was sealed with, or
/// the text was altered.
pub fn open(key: &[u8; 32], sealed: &str) -> Option<String> {
    let bytes = crate::json::unhex(sealed)?;
    let (nonce, ciphertext) = bytes.split_at_checked(12)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let plain = cipher.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

/// The approval as the admin API shows it (JSON text), with its arguments opened with
/// `key`: `arguments` (the exact JSON, every digit as sent) and `arguments_json` (the
/// same as a string, for a page that must not round numbers), or `"arguments": null` once
/// they are gone or cannot be opened. Unless `whole`, arguments over
/// [`LIST_ARGUMENTS_BYTES`] are left out with `"arguments_truncated": true`.
pub fn for_admin(approval: &Approval, key: Option<&[u8; 32]>, whole: bool) -> String {
    // Only an approval that may still let a call through shows what it would let through.
    let live = matches!(approval.status, Status::Pending | Status::Approved);
    let opened = approval
        .arguments_sealed
        .as_deref()
        .filter(|_| live)
        .zip(key)
        .and_then(|(sealed, key)| open(key, sealed))
        .filter(|text| crate::json::Document::parse(text.as_bytes()).is_ok());
    // The members in the order of their names (as this API has always written them),
    // the opened arguments last.
    let mut out = String::with_capacity(512);
    let mut obj = crate::wire::Obj::new(&mut out);
    let truncated = opened
        .as_deref()
        .filter(|text| !whole && text.len() > LIST_ARGUMENTS_BYTES);
    if opened.is_none() {
        obj.raw("arguments", "null");
    }
    if let Some(text) = truncated {
        obj.field("arguments_bytes", &text.len());
    }
    obj.field("arguments_sha256", &approval.arguments_sha256);
    if truncated.is_some() {
        obj.field("arguments_truncated", &true);
    }
    obj.field("created_at", &approval.created_at)
        .skip_none("decided_at", &approval.decided_at)
        .skip_none("decided_by", &approval.decided_by)
        .field("expires_at", &approval.expires_at)
        .field("grant", &approval.grant)
        .field("id", &approval.id)
        .skip_none("note", &approval.note)
        .field("policy_version", &approval.policy_version)
        .field("rule", &approval.rule)
        .field("status", &approval.status)
        .field("tool", &approval.tool);
    if let (Some(text), None) = (&opened, truncated) {
        obj.raw("arguments", text)
            .field("arguments_json", text.as_str());
    }
    obj.end();
    out
}

/// The Slack-compatible webhook body announcing a new pending approval, with its
/// arguments in the clear for the approver. `admin_url` is where it is decided.
pub fn webhook_body(
    approval: &Approval,
    key: Option<&[u8; 32]>,
    admin_url: Option<&str>,
) -> String {
    let place = admin_url.map_or_else(
        || "the admin page".to_owned(),
        |url| format!("{url}#approval={}", approval.id),
    );
    let text = format!(
        "toolgate: grant `{}` wants to call `{}` (approval `{}`, expires at {} ms). Approve or deny it at {place}, or with POST /admin/approvals/{}/approve.",
        approval.grant, approval.tool, approval.id, approval.expires_at, approval.id
    );
    let mut out = String::with_capacity(1024);
    crate::wire::Obj::new(&mut out)
        .field("text", &text)
        .raw("approval", &for_admin(approval, key, true))
        .end();
    out
}

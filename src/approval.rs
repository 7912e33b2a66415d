//! Human approvals (CONTRACT §6), as a pure state machine over one binding.
//!
//! An approval is bound to the grant, the tool, the SHA-256 of the arguments' canonical
//! JSON (RFC 8785) and the policy version ([`crate::eval::approval_binding`]). Whoever
//! stores approvals (a Durable Object in the gateway) looks up the newest approval of a
//! binding and asks [`on_call`] what to do; [`decide`] applies an operator's verdict.
//!
//! - **pending**: the call is held; the same approval is returned until it expires.
//! - **approved**: the identical call passes the approval step **once**; the approval is
//!   then `used`, and the next identical call creates a new pending approval.
//! - **denied**: the identical call is denied with the operator's note, for as long as
//!   the approval lives.
//! - Pending and approved approvals expire `ttl` after they were created; an expired one
//!   is gone, and the next identical call creates a new one. Denied ones expire too, so a
//!   refusal is not forever.
//!
//! Arguments are kept only while they may still be needed (pending or approved and
//! unused): the approver must see them, and nobody needs them afterwards.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// The call's arguments, while the approval is pending or approved.
    pub arguments: Option<Value>,
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
    /// Approved: the call passes the approval step, and the approval is now used.
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
    pub arguments: Value,
}

/// What to do with a call, given the newest approval of its binding (if any). `new_id`
/// is used only when a new pending approval is created.
pub fn on_call(existing: Option<Approval>, request: &Request, now_ms: u64, new_id: &str) -> OnCall {
    if let Some(mut approval) = existing {
        match approval.status_at(now_ms) {
            Status::Pending => {
                return OnCall::Pending {
                    approval,
                    created: false,
                }
            }
            Status::Approved => {
                approval.status = Status::Used;
                approval.arguments = None;
                return OnCall::Pass { approval };
            }
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
            arguments: Some(request.arguments.clone()),
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
        approval.arguments = None;
        Status::Denied
    };
    approval.decided_by = Some(admin.to_owned());
    approval.decided_at = Some(now_ms);
    approval.note = note.filter(|n| !n.trim().is_empty());
    Ok(approval)
}

/// The Slack-compatible webhook body announcing a new pending approval.
pub fn webhook_body(approval: &Approval) -> Value {
    serde_json::json!({
        "text": format!(
            "toolgate: grant `{}` wants to call `{}` (approval `{}`, expires at {} ms). Approve or deny it in the admin page or with POST /admin/approvals/{}/approve.",
            approval.grant, approval.tool, approval.id, approval.expires_at, approval.id
        ),
        "approval": approval,
    })
}

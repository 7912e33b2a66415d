//! The admin API (CONTRACT §6): approvals, the audit log and live policy updates.
//!
//! Every request needs `Authorization: Bearer <admin token>`, checked in constant time
//! against `ADMINS`. Without `ADMINS`, every `/admin/*` path is 404. A policy sent with
//! `PUT /admin/policy` is validated by the core before it is stored: a bad one is refused
//! with its JSON Pointer errors and nothing changes.

use crate::approval::{self, Approval, Status};
use crate::audit::Query;
use crate::gateway::{
    active_policy, bearer, config, json_response, new_active, object_passthrough, set_active,
    unauthorized, CONTROL_BINDING,
};
use crate::json;
use crate::policy::Policy;
use crate::store::{AuditOp, ControlOp, AUDIT, CONTROL};
use serde_json::{json, Value};
use worker::{Env, Method, Request, Response, Result};

#[derive(serde::Deserialize)]
struct Listed {
    approvals: Vec<Approval>,
}

#[derive(serde::Deserialize)]
struct Decided {
    approval: Approval,
}

fn error(status: u16, message: &str) -> Result<Response> {
    json_response(status, &json!({ "error": message }))
}

/// Answers one `/admin/*` request.
pub async fn handle(mut req: Request, env: &Env) -> Result<Response> {
    let config = config(env);
    let Ok(config) = config.as_ref() else {
        return error(
            503,
            "toolgate is not configured correctly; see the Worker log",
        );
    };
    if !config.has_admins() {
        return error(404, "not found");
    }
    let Some(admin) = bearer(&req).and_then(|t| config.admin_for(&t).map(str::to_owned)) else {
        return unauthorized();
    };
    let path = req.path();
    let url = req.url()?;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["admin", "approvals"]) => {
            let status = match url.query_pairs().find(|(k, _)| k == "status") {
                None => None,
                Some((_, v)) => match Status::parse(&v) {
                    Some(s) => Some(s),
                    None => {
                        return error(
                            400,
                            &format!("unknown status `{v}`, expected `pending`, `approved`, `denied`, `used` or `expired`"),
                        )
                    }
                },
            };
            let mut reply =
                object_passthrough(env, CONTROL_BINDING, CONTROL, &ControlOp::List { status })
                    .await?;
            if reply.status_code() != 200 {
                return Ok(reply);
            }
            let listed: Listed = reply.json().await?;
            let key = config.approval_key.as_ref();
            let approvals: Vec<Value> = listed
                .approvals
                .iter()
                .map(|a| approval::for_admin(a, key))
                .collect();
            json_response(200, &json!({ "approvals": approvals }))
        }
        (Method::Post, ["admin", "approvals", id, verdict @ ("approve" | "deny")]) => {
            let body = req.text().await.unwrap_or_default();
            let note = if body.trim().is_empty() {
                None
            } else {
                match json::parse(body.as_bytes()) {
                    Ok(Value::Object(map)) => match map.get("note") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(note)) => Some(note.clone()),
                        Some(_) => return error(400, "`note` must be a string"),
                    },
                    _ => {
                        return error(
                            400,
                            "the body must be a json object such as {\"note\": \"...\"}",
                        )
                    }
                }
            };
            let op = ControlOp::Decide {
                id: (*id).to_owned(),
                approve: *verdict == "approve",
                admin,
                note,
            };
            let mut reply = object_passthrough(env, CONTROL_BINDING, CONTROL, &op).await?;
            if reply.status_code() != 200 {
                return Ok(reply);
            }
            let decided: Decided = reply.json().await?;
            json_response(
                200,
                &json!({ "approval": approval::for_admin(&decided.approval, config.approval_key.as_ref()) }),
            )
        }
        (Method::Get, ["admin", "audit"]) => {
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let query = match Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            {
                Ok(query) => query,
                Err(why) => return error(400, &why),
            };
            object_passthrough(env, "AUDIT", AUDIT, &AuditOp::Query { query }).await
        }
        (Method::Get, ["admin", "policy"]) => {
            let active = match active_policy(env, config).await {
                Ok(active) => active,
                Err(why) => return error(503, &format!("policy store unavailable: {why}")),
            };
            let updated_at = if active.version == 0 {
                Value::Null
            } else {
                stored_updated_at(env).await.unwrap_or(Value::Null)
            };
            json_response(
                200,
                &json!({
                    "version": active.version,
                    "policy": active.policy.source(),
                    "updated_at": updated_at,
                }),
            )
        }
        (Method::Put, ["admin", "policy"]) => {
            let text = req.text().await.unwrap_or_default();
            let policy = match Policy::from_json(&text) {
                Ok(policy) => policy,
                Err(errors) => return json_response(400, &json!(errors.0)),
            };
            let op = ControlOp::PutPolicy {
                policy: policy.source().clone(),
                admin,
            };
            let mut stored = object_passthrough(env, CONTROL_BINDING, CONTROL, &op).await?;
            if stored.status_code() != 200 {
                return Ok(stored);
            }
            let reply: Value = stored.json().await?;
            let version = reply.get("version").and_then(Value::as_u64).unwrap_or(0);
            set_active(new_active(version, policy));
            json_response(200, &reply)
        }
        (Method::Get, ["admin", "policy", "history"]) => {
            let mut stored =
                object_passthrough(env, CONTROL_BINDING, CONTROL, &ControlOp::History).await?;
            if stored.status_code() != 200 {
                return Ok(stored);
            }
            let mut reply: Value = stored.json().await?;
            let base = config.policy.source().to_string();
            if let Some(versions) = reply.get_mut("versions").and_then(Value::as_array_mut) {
                versions.push(json!({
                    "version": 0,
                    "sha256": json::sha256_hex(base.as_bytes()),
                    "updated_at": null,
                    "updated_by": "POLICY",
                }));
            }
            json_response(200, &reply)
        }
        _ => error(404, "not found"),
    }
}

async fn stored_updated_at(env: &Env) -> Option<Value> {
    let mut response = object_passthrough(
        env,
        CONTROL_BINDING,
        CONTROL,
        &ControlOp::Policy { have: None },
    )
    .await
    .ok()?;
    let reply: Value = response.json().await.ok()?;
    reply.get("updated_at").cloned()
}

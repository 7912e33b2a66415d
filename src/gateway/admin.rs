//! The admin API (CONTRACT §6 and §8): approvals, the audit log, live policy updates,
//! pins and the catalogue.
//!
//! Every request needs `Authorization: Bearer <admin token>`, checked in constant time
//! against `ADMINS`. Without `ADMINS`, every `/admin/*` path is 404. A policy sent with
//! `PUT /admin/policy` is validated by the core before it is stored: a bad one is refused
//! with its JSON Pointer errors and nothing changes.
//!
//! **Sizes.** `GET /admin/approvals` is at most 100 approvals with at most 4 KiB of
//! arguments each (≈ 500 KiB; measured: 36 KB for 100 approvals whose arguments are
//! truncated, 31 KB for 100 with small ones); `GET /admin/approvals/{id}` one approval with
//! its whole arguments twice, as `arguments` and as the string `arguments_json` (≤ 64 KiB
//! each before escaping; measured 131 KB for 64 KiB of arguments); `GET /admin/audit` at
//! most 1,000 records and 2 MiB (plus one record, ≤ 21 KiB; measured: the worst record an
//! agent can make is 17 KB, a page of them 2,096,299 bytes); `GET /admin/pins` one line per tool seen (≈ 200 bytes
//! each); `GET /admin/catalogue` the origin's own catalogue plus warnings.

use super::audit_store::AuditOp;
use super::catalogue_store::CatalogueOp;
use super::control::ControlOp;
use super::isolate;
use super::objects::{self, AUDIT, AUDIT_NAME, CATALOGUE, CATALOGUE_NAME, CONTROL, CONTROL_NAME};
use super::routing::{json, Body};
use crate::approval::{self, Approval, Status};
use crate::audit::Query;
use crate::config::Config;
use crate::json::{self, Document};
use crate::pipeline::{bearer, unauthorized};
use crate::policy::Policy;
use crate::wire::{self, FromJson, Members, Obj};
use worker::{Env, Method, Request, Response, Result};

fn error(status: u16, message: &str) -> Result<Response> {
    let mut body = String::new();
    Obj::new(&mut body).field("error", message).end();
    json(status, &body)
}

/// A page of approvals as the control object sends it.
struct Listed {
    approvals: Vec<Approval>,
    cursor: Option<String>,
}

crate::json_struct!(Listed {
    approvals: req,
    cursor: req,
});

/// One approval as the control object sends it.
struct One {
    approval: Approval,
}

crate::json_struct!(One { approval: req });

/// Reads a control object's answer; a bad one is the Worker's error.
fn read<T: FromJson>(text: &str) -> Result<T> {
    wire::from_str(text).map_err(worker::Error::RustError)
}

/// Answers one `/admin/*` request.
pub async fn handle(req: &Request, body: Body, env: &Env) -> Result<Response> {
    let config = isolate::config(env);
    let Ok(config) = config.as_ref() else {
        return error(
            503,
            "toolgate is not configured correctly; see the Worker log",
        );
    };
    if !config.has_admins() {
        return error(
            404,
            "not found: the admin API is off (set the ADMINS secret)",
        );
    }
    let token = req.headers().get("authorization")?.unwrap_or_default();
    let Some(admin) = bearer(&token)
        .and_then(|t| config.admin_for(t))
        .map(str::to_owned)
    else {
        let answer = unauthorized();
        return super::call::answer_response(answer);
    };
    let body = match body {
        Body::Read(bytes) => bytes,
        Body::TooLarge => return error(413, "request body too large"),
        Body::Broken => return error(400, "the request body could not be read"),
    };
    let path = req.path();
    let pairs = super::routing::query_pairs(req);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let admin_ctx = Admin { env, config, admin };
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["admin", "approvals"]) => admin_ctx.approvals(&pairs).await,
        (Method::Get, ["admin", "approvals", id]) => admin_ctx.approval(id).await,
        (Method::Post, ["admin", "approvals", id, verdict @ ("approve" | "deny")]) => {
            admin_ctx.decide(id, *verdict == "approve", &body).await
        }
        (Method::Get, ["admin", "audit"]) => admin_ctx.audit(&pairs).await,
        (Method::Get, ["admin", "policy"]) => admin_ctx.policy().await,
        (Method::Put, ["admin", "policy"]) => admin_ctx.put_policy(&body).await,
        (Method::Get, ["admin", "policy", "history"]) => admin_ctx.history().await,
        (Method::Get, ["admin", "pins"]) => admin_ctx.catalogue_op(&CatalogueOp::Pins).await,
        (Method::Delete, ["admin", "pins"]) => {
            let answer = admin_ctx.catalogue_op(&CatalogueOp::Forget).await;
            isolate::forget_view();
            answer
        }
        (Method::Get, ["admin", "pins", tool]) => {
            admin_ctx
                .catalogue_op(&CatalogueOp::Pin {
                    tool: super::routing::percent_decode(tool),
                })
                .await
        }
        (Method::Post, ["admin", "pins", tool, "accept"]) => {
            admin_ctx
                .accept(&super::routing::percent_decode(tool), &body)
                .await
        }
        (Method::Get, ["admin", "catalogue"]) => admin_ctx.catalogue().await,
        _ => error(404, "not found"),
    }
}

struct Admin<'a> {
    env: &'a Env,
    config: &'a Config,
    admin: String,
}

impl Admin<'_> {
    async fn control(&self, op: &ControlOp) -> Result<(u16, String)> {
        objects::call_text(self.env, CONTROL, CONTROL_NAME, op)
            .await
            .map_err(worker::Error::RustError)
    }

    async fn approvals(&self, pairs: &[(String, String)]) -> Result<Response> {
        let mut status = None;
        let mut limit = super::control::MAX_PAGE;
        let mut cursor = None;
        for (key, v) in pairs {
            match key.as_str() {
                "status" => match Status::parse(v) {
                    Some(s) => status = Some(s),
                    None => {
                        return error(
                            400,
                            &format!("unknown status `{v}`, expected `pending`, `approved`, `denied`, `used` or `expired`"),
                        )
                    }
                },
                "limit" => match v.parse::<usize>() {
                    Ok(n) if n >= 1 => limit = n.min(super::control::MAX_PAGE),
                    _ => return error(400, "`limit` must be a positive integer (at most 100)"),
                },
                "cursor" => cursor = Some(v.clone()),
                other => {
                    return error(
                        400,
                        &format!("unknown parameter `{other}`, expected `status`, `limit` or `cursor`"),
                    )
                }
            }
        }
        let (code, text) = self
            .control(&ControlOp::List {
                status,
                limit,
                cursor,
            })
            .await?;
        if code != 200 {
            return json(code, &text);
        }
        let listed: Listed = read(&text)?;
        let key = self.config.approval_key.as_ref();
        let items: Vec<String> = listed
            .approvals
            .iter()
            .map(|a| approval::for_admin(a, key, false))
            .collect();
        json(
            200,
            &format!(
                r#"{{"approvals":[{}],"cursor":{}}}"#,
                items.join(","),
                wire::to_string(&listed.cursor)
            ),
        )
    }

    async fn approval(&self, id: &str) -> Result<Response> {
        let (code, text) = self.control(&ControlOp::Get { id: id.to_owned() }).await?;
        self.one_approval(code, &text)
    }

    fn one_approval(&self, code: u16, text: &str) -> Result<Response> {
        if code != 200 {
            return json(code, text);
        }
        let one: One = read(text)?;
        let shown = approval::for_admin(&one.approval, self.config.approval_key.as_ref(), true);
        json(200, &format!(r#"{{"approval":{shown}}}"#))
    }

    async fn decide(&self, id: &str, approve: bool, body: &[u8]) -> Result<Response> {
        let note = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let Ok(doc) = Document::parse(body) else {
                return error(
                    400,
                    "the body must be a json object such as {\"note\": \"...\"}",
                );
            };
            let root = doc.root();
            if !root.is_object() {
                return error(
                    400,
                    "the body must be a json object such as {\"note\": \"...\"}",
                );
            }
            match root.get("note") {
                None => None,
                Some(n) if n.is_null() => None,
                Some(n) => match n.as_str() {
                    Some(note) => Some(crate::audit::bounded(&note, 2_048)),
                    None => return error(400, "`note` must be a string"),
                },
            }
        };
        let op = ControlOp::Decide {
            id: id.to_owned(),
            approve,
            admin: self.admin.clone(),
            note,
        };
        let (code, text) = self.control(&op).await?;
        self.one_approval(code, &text)
    }

    async fn audit(&self, pairs: &[(String, String)]) -> Result<Response> {
        let query = match Query::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(query) => query,
            Err(why) => return error(400, &why),
        };
        // This isolate's records still waiting for their batch are written first.
        super::call::write_audit(self.env, self.config.audit_retention_days).await;
        let (code, text) =
            objects::call_text(self.env, AUDIT, AUDIT_NAME, &AuditOp::Query { query })
                .await
                .map_err(worker::Error::RustError)?;
        json(code, &text)
    }

    async fn policy(&self) -> Result<Response> {
        let active = match isolate::active(self.env, self.config).await {
            Ok(active) => active,
            Err(why) => return error(503, &format!("policy store unavailable: {why}")),
        };
        let updated_at = if active.version == 0 {
            "null".to_owned()
        } else {
            let (_, text) = self
                .control(&ControlOp::Policy {
                    have: Some(active.version),
                    new_key: json::hex(&isolate::random::<32>()),
                })
                .await?;
            Document::parse(text.as_bytes())
                .ok()
                .and_then(|d| d.root().get("updated_at").map(|u| u.raw().to_owned()))
                .unwrap_or_else(|| "null".to_owned())
        };
        json(
            200,
            &format!(
                r#"{{"version":{},"policy":{},"updated_at":{updated_at}}}"#,
                active.version,
                active.policy.source_text()
            ),
        )
    }

    async fn put_policy(&self, body: &[u8]) -> Result<Response> {
        let text = String::from_utf8_lossy(body).into_owned();
        let policy = match Policy::from_json(&text) {
            Ok(policy) => policy,
            Err(errors) => {
                // Each error's members in the order of their names, as always.
                let list: Vec<Members<_>> = errors
                    .0
                    .iter()
                    .map(|e| {
                        Members(move |o| {
                            o.field("message", &e.message).field("pointer", &e.pointer);
                        })
                    })
                    .collect();
                return json(400, &wire::to_string(&list));
            }
        };
        let op = ControlOp::PutPolicy {
            policy: text,
            admin: self.admin.clone(),
        };
        let (code, reply) = self.control(&op).await?;
        if code != 200 {
            return json(code, &reply);
        }
        let version = Document::parse(reply.as_bytes())
            .ok()
            .and_then(|d| {
                d.root()
                    .get("version")
                    .and_then(|v| v.as_number())
                    .and_then(|n| n.as_u64())
            })
            .unwrap_or(0);
        isolate::adopt_policy(version, policy);
        json(200, &reply)
    }

    async fn history(&self) -> Result<Response> {
        let (code, text) = self.control(&ControlOp::History).await?;
        if code != 200 {
            return json(code, &text);
        }
        let reply = Document::parse(text.as_bytes())
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let Some(versions) = reply.root().get("versions").filter(|v| v.is_array()) else {
            return json(200, &text);
        };
        // The stored versions as the object wrote them, then the base policy, version 0.
        let base = self.config.policy.source_text();
        let mut out = String::from("{\"versions\":[");
        for item in versions.items() {
            out.push_str(item.raw());
            out.push(',');
        }
        Obj::new(&mut out)
            .field("sha256", &json::sha256_hex(base.as_bytes()))
            .raw("updated_at", "null")
            .field("updated_by", "POLICY")
            .field("version", &0u64)
            .end();
        out.push_str("]}");
        json(200, &out)
    }

    async fn catalogue_op(&self, op: &CatalogueOp) -> Result<Response> {
        let (code, text) = objects::call_text(self.env, CATALOGUE, CATALOGUE_NAME, op)
            .await
            .map_err(worker::Error::RustError)?;
        json(code, &text)
    }

    async fn accept(&self, tool: &str, body: &[u8]) -> Result<Response> {
        let sha256 = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let Ok(doc) = Document::parse(body) else {
                return error(
                    400,
                    "the body must be a json object such as {\"sha256\": \"...\"}",
                );
            };
            match doc.root().get("sha256") {
                None => None,
                Some(s) => match s.as_str() {
                    Some(s) => Some(s.into_owned()),
                    None => return error(400, "`sha256` must be a string"),
                },
            }
        };
        let answer = self
            .catalogue_op(&CatalogueOp::Accept {
                tool: tool.to_owned(),
                sha256,
            })
            .await;
        isolate::forget_view();
        answer
    }

    async fn catalogue(&self) -> Result<Response> {
        let view = isolate::view(self.env).await;
        let names = view.names();
        let tools: Vec<crate::catalogue::Tool> = names
            .iter()
            .filter_map(|name| {
                let raw = view.current(name)?;
                let doc = Document::parse_answer(raw).ok()?;
                Some(crate::catalogue::Tool {
                    name: (*name).to_owned(),
                    description: doc
                        .root()
                        .get("description")
                        .and_then(|d| d.as_str())
                        .unwrap_or_default()
                        .into_owned(),
                    raw: raw.to_owned(),
                })
            })
            .collect();
        let median = crate::catalogue::median_description(&tools);
        let mut items = Vec::with_capacity(tools.len());
        for tool in &tools {
            let Ok(doc) = Document::parse_answer(&tool.raw) else {
                continue;
            };
            let warnings = crate::catalogue::warnings(doc.root(), median);
            let status = match view.pin_state(&tool.name) {
                crate::eval::PinState::Changed => "changed",
                crate::eval::PinState::New => "new",
                _ => "pinned",
            };
            // The origin's tool object, with the gateway's fields added at its end.
            let raw = tool.raw.trim_end();
            let head = raw.strip_suffix('}').unwrap_or(raw);
            let sep = if doc.root().is_empty() { "" } else { "," };
            items.push(format!(
                r#"{head}{sep}"pin_status":"{status}","warnings":{}}}"#,
                wire::to_string(&warnings)
            ));
        }
        json(
            200,
            &format!(
                r#"{{"tools":[{}],"known":{}}}"#,
                items.join(","),
                view.is_known()
            ),
        )
    }
}

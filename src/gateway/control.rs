//! The control object (one, named `control`): approvals, the policy versions stored
//! through the admin API, and the deployment's session key.
//!
//! Everything lives in its SQLite storage, so an eviction loses nothing, and each request
//! is handled without an `await` between reading and writing, so each is atomic. The
//! decisions are the core's ([`crate::approval`]); this object stores what it returns.
//!
//! **Bounded.** Approvals are listed by status *in storage* (an index on status and
//! creation time), newest first, at most [`MAX_PAGE`] a page with a cursor, so no number
//! of approvals of one status can hide another's. Stored arguments are at most 64 KiB
//! (the core denies larger ones), sealed; finished approvals are kept 30 days after they
//! expire. A stored approval is at most about 130 KiB (its sealed arguments in hex), a
//! list page at most 100 × (4 KiB of arguments + 1 KiB) ≈ 500 KiB.

use super::objects::{fail, faulty, int, reply, rows, sql_int, text};
use crate::approval::{self, Approval, OnCall, Status};
use crate::json::{self, Node};
use crate::pipeline::{ApprovalReply, ApprovalUse};
use crate::wire::{self, field, FromJson, Members, Obj, ToJson};
use std::cell::Cell;
use worker::{
    durable_object, wasm_bindgen, Date, DurableObject, Env, Request, Response, Result, SqlStorage,
    State,
};

/// The most approvals one list page holds.
pub const MAX_PAGE: usize = 100;

/// How often expired approvals are scrubbed of their arguments.
const SCRUB_EVERY_MS: u64 = 60_000;

/// Requests to the control object.
#[derive(Debug)]
pub enum ControlOp {
    /// A call that needs approval arrived: find or create its approval.
    Call {
        request: approval::Request,
        new_id: String,
    },
    /// The call an approval let through passed its limits: use the approval, if it is
    /// still approved (answers [`UseReply`]).
    Use { id: String },
    /// A page of approvals, newest first, optionally of one status.
    List {
        status: Option<Status>,
        limit: usize,
        /// `created_at.id` of the last approval of the previous page.
        cursor: Option<String>,
    },
    /// One approval.
    Get { id: String },
    /// An operator approves or denies a pending approval.
    Decide {
        id: String,
        approve: bool,
        admin: String,
        note: Option<String>,
    },
    /// The active stored policy, unless it is still version `have`; and the session key
    /// (made from `new_key` the first time).
    Policy { have: Option<u64>, new_key: String },
    /// Store a new (already validated) policy version.
    PutPolicy { policy: String, admin: String },
    /// Every stored version.
    History,
}

impl ToJson for ControlOp {
    fn write_json(&self, out: &mut String) {
        match self {
            ControlOp::Call { request, new_id } => wire::write_variant(out, "call", |o| {
                o.field("request", request).field("new_id", new_id);
            }),
            ControlOp::Use { id } => wire::write_variant(out, "use", |o| {
                o.field("id", id);
            }),
            ControlOp::List {
                status,
                limit,
                cursor,
            } => wire::write_variant(out, "list", |o| {
                o.field("status", status)
                    .field("limit", limit)
                    .field("cursor", cursor);
            }),
            ControlOp::Get { id } => wire::write_variant(out, "get", |o| {
                o.field("id", id);
            }),
            ControlOp::Decide {
                id,
                approve,
                admin,
                note,
            } => wire::write_variant(out, "decide", |o| {
                o.field("id", id)
                    .field("approve", approve)
                    .field("admin", admin)
                    .field("note", note);
            }),
            ControlOp::Policy { have, new_key } => wire::write_variant(out, "policy", |o| {
                o.field("have", have).field("new_key", new_key);
            }),
            ControlOp::PutPolicy { policy, admin } => wire::write_variant(out, "put_policy", |o| {
                o.field("policy", policy).field("admin", admin);
            }),
            ControlOp::History => "history".write_json(out),
        }
    }
}

impl FromJson for ControlOp {
    fn from_json(node: Node<'_>) -> std::result::Result<Self, String> {
        let (name, fields) = wire::variant(node)?;
        if name == "history" {
            return Ok(ControlOp::History);
        }
        let f = wire::fields(&name, fields)?;
        Ok(match &*name {
            "call" => ControlOp::Call {
                request: field(f, "request")?,
                new_id: field(f, "new_id")?,
            },
            "use" => ControlOp::Use {
                id: field(f, "id")?,
            },
            "list" => ControlOp::List {
                status: field(f, "status")?,
                limit: field(f, "limit")?,
                cursor: field(f, "cursor")?,
            },
            "get" => ControlOp::Get {
                id: field(f, "id")?,
            },
            "decide" => ControlOp::Decide {
                id: field(f, "id")?,
                approve: field(f, "approve")?,
                admin: field(f, "admin")?,
                note: field(f, "note")?,
            },
            "policy" => ControlOp::Policy {
                have: field(f, "have")?,
                new_key: field(f, "new_key")?,
            },
            "put_policy" => ControlOp::PutPolicy {
                policy: field(f, "policy")?,
                admin: field(f, "admin")?,
            },
            other => return Err(wire::unknown_variant(other)),
        })
    }
}

/// The control object's answer to [`ControlOp::Call`].
#[derive(Debug)]
pub struct CallReply {
    pub outcome: String,
    pub created: bool,
    pub approval: Approval,
}

// The members in the order of their names, as the object has always written them.
crate::json_struct!(CallReply {
    approval: req,
    created: req,
    outcome: req,
});

/// The control object's answer to [`ControlOp::Use`].
#[derive(Debug)]
pub struct UseReply {
    /// Whether this call used the approval; if not, `status` says what it is now.
    pub used: bool,
    pub status: String,
}

impl UseReply {
    /// The answer as the call's state machine takes it.
    pub fn into_pipeline(self) -> ApprovalUse {
        if self.used {
            ApprovalUse::Used
        } else {
            ApprovalUse::Gone {
                status: self.status,
            }
        }
    }
}

// The members in the order of their names, as json! wrote them.
crate::json_struct!(UseReply {
    status: req,
    used: req,
});

impl CallReply {
    /// The answer as the call's state machine takes it.
    pub fn into_pipeline(self) -> ApprovalReply {
        match self.outcome.as_str() {
            "pass" => ApprovalReply::Pass {
                id: self.approval.id,
            },
            "denied" => ApprovalReply::Denied {
                approval: self.approval,
            },
            "full" => ApprovalReply::Full,
            _ => ApprovalReply::Held {
                approval: self.approval,
                created: self.created,
            },
        }
    }
}

#[durable_object]
pub struct ControlStore {
    sql: SqlStorage,
    faulty: bool,
    scrubbed_at: Cell<u64>,
}

impl ControlStore {
    fn schema(&self) -> Result<()> {
        for statement in [
            "CREATE TABLE IF NOT EXISTS approval (
                id TEXT PRIMARY KEY, binding TEXT NOT NULL, grant_id TEXT NOT NULL,
                status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                sealed INTEGER NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS approval_by_binding ON approval (binding, created_at)",
            "CREATE INDEX IF NOT EXISTS approval_sealed ON approval (sealed, expires_at)",
            "CREATE INDEX IF NOT EXISTS approval_by_grant ON approval (grant_id, status, expires_at)",
            "CREATE INDEX IF NOT EXISTS approval_by_status ON approval (status, created_at, id)",
            "CREATE INDEX IF NOT EXISTS approval_by_time ON approval (created_at, id)",
            "CREATE TABLE IF NOT EXISTS policies (
                version INTEGER PRIMARY KEY, policy TEXT NOT NULL, sha256 TEXT NOT NULL,
                updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ] {
            self.sql.exec(statement, None)?;
        }
        Ok(())
    }

    fn save(&self, approval: &Approval) -> Result<()> {
        let body = wire::to_string(approval);
        self.sql.exec(
            "INSERT INTO approval (id, binding, grant_id, status, created_at, expires_at, sealed, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, sealed = excluded.sealed,
               body = excluded.body",
            vec![
                approval.id.as_str().into(),
                approval.binding.as_str().into(),
                approval.grant.as_str().into(),
                approval.status.name().into(),
                sql_int(approval.created_at),
                sql_int(approval.expires_at),
                i64::from(approval.arguments_sealed.is_some()).into(),
                body.into(),
            ],
        )?;
        Ok(())
    }

    /// Drops the sealed arguments of approvals that have expired (nobody will need them;
    /// an index finds them, so this costs nothing when there are none), and, at most once
    /// a minute, approvals finished long ago.
    fn scrub(&self, now: u64) -> Result<()> {
        let expired = self.approvals(
            "SELECT body FROM approval WHERE sealed = 1 AND expires_at <= ? LIMIT 1000",
            vec![sql_int(now)],
        )?;
        for mut approval in expired {
            approval.arguments_sealed = None;
            self.save(&approval)?;
        }
        if now.saturating_sub(self.scrubbed_at.get()) < SCRUB_EVERY_MS {
            return Ok(());
        }
        self.scrubbed_at.set(now);
        self.sql.exec(
            "DELETE FROM approval WHERE expires_at < ?",
            vec![sql_int(now.saturating_sub(approval::KEEP_FINISHED_MS))],
        )?;
        Ok(())
    }

    /// How many approvals `grant` has waiting.
    fn pending_of(&self, grant: &str, now: u64) -> Result<u64> {
        let rows = rows(
            &self.sql,
            "SELECT COUNT(*) AS n FROM approval WHERE grant_id = ? AND status = 'pending' AND expires_at > ?",
            vec![grant.into(), sql_int(now)],
        )?;
        Ok(rows.first().map_or(0, |r| int(r, 0)))
    }

    fn approvals(
        &self,
        query: &str,
        bindings: Vec<worker::SqlStorageValue>,
    ) -> Result<Vec<Approval>> {
        let rows = rows(&self.sql, query, bindings)?;
        Ok(rows
            .iter()
            .filter_map(|r| wire::from_str(&text(r, 0)).ok())
            .collect())
    }

    fn on_call(&self, request: approval::Request, new_id: &str, now: u64) -> Result<Response> {
        let newest = self
            .approvals(
                "SELECT body FROM approval WHERE binding = ? ORDER BY created_at DESC LIMIT 1",
                vec![request.binding.as_str().into()],
            )?
            .into_iter()
            .next();
        let outcome = approval::on_call(newest, &request, now, new_id);
        if matches!(outcome, OnCall::Pending { created: true, .. })
            && self.pending_of(&request.grant, now)? >= approval::MAX_PENDING_PER_GRANT
        {
            return reply(&Called("full", false, outcome.approval()));
        }
        // An approved approval is used only once its call has passed its limits (`Use`).
        if !matches!(outcome, OnCall::Pass { .. }) {
            self.save(outcome.approval())?;
        }
        let (kind, created) = match &outcome {
            OnCall::Pending { created, .. } => ("pending", *created),
            OnCall::Pass { .. } => ("pass", false),
            OnCall::Denied { .. } => ("denied", false),
        };
        reply(&Called(kind, created, outcome.approval()))
    }

    fn use_approval(&self, id: &str, now: u64) -> Result<Response> {
        let Some(approval) = self.find(id)? else {
            return reply(&UseReply {
                used: false,
                status: "expired".to_owned(),
            });
        };
        match approval::use_approved(approval, now) {
            Ok(used) => {
                self.save(&used)?;
                reply(&UseReply {
                    used: true,
                    status: used.status.name().to_owned(),
                })
            }
            Err(status) => reply(&UseReply {
                used: false,
                status: status.name().to_owned(),
            }),
        }
    }

    /// A page of approvals of one status (or all), filtered and ordered in storage.
    fn list(
        &self,
        status: Option<Status>,
        limit: usize,
        cursor: Option<&str>,
        now: u64,
    ) -> Result<Response> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut sql = String::from("SELECT body FROM approval WHERE ");
        let mut bindings: Vec<worker::SqlStorageValue> = Vec::new();
        match status {
            Some(Status::Expired) => {
                sql.push_str(
                    "(status = 'expired' OR (status IN ('pending', 'approved', 'denied') AND expires_at <= ?))",
                );
                bindings.push(sql_int(now));
            }
            Some(Status::Used) => sql.push_str("status = 'used'"),
            Some(live) => {
                sql.push_str("status = ? AND expires_at > ?");
                bindings.push(live.name().into());
                bindings.push(sql_int(now));
            }
            None => sql.push_str("1 = 1"),
        }
        if let Some((at, id)) = cursor.and_then(|c| c.split_once('.')) {
            let at: u64 = at.parse().unwrap_or(0);
            sql.push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
            bindings.push(sql_int(at));
            bindings.push(sql_int(at));
            bindings.push(id.into());
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        bindings.push(sql_int(limit as u64 + 1));
        let mut list = self.approvals(&sql, bindings)?;
        let more = list.len() > limit;
        list.truncate(limit);
        for approval in &mut list {
            approval.status = approval.status_at(now);
        }
        let cursor = if more {
            list.last().map(|a| format!("{}.{}", a.created_at, a.id))
        } else {
            None
        };
        reply(&Members(|o| {
            o.field("approvals", &list).field("cursor", &cursor);
        }))
    }

    fn decide(
        &self,
        id: &str,
        approve: bool,
        admin: &str,
        note: Option<String>,
        now: u64,
    ) -> Result<Response> {
        let Some(found) = self.find(id)? else {
            return fail(404, &format!("no approval `{id}`"));
        };
        match approval::decide(found, approve, admin, note, now) {
            Ok(decided) => {
                self.save(&decided)?;
                reply(&Members(|o| {
                    o.field("approval", &decided);
                }))
            }
            Err(e) => fail(409, &e.to_string()),
        }
    }

    fn find(&self, id: &str) -> Result<Option<Approval>> {
        Ok(self
            .approvals("SELECT body FROM approval WHERE id = ?", vec![id.into()])?
            .into_iter()
            .next())
    }

    fn session_key(&self, new_key: &str) -> Result<String> {
        self.sql.exec(
            "INSERT OR IGNORE INTO settings (key, value) VALUES ('session_key', ?)",
            vec![new_key.into()],
        )?;
        let rows = rows(
            &self.sql,
            "SELECT value FROM settings WHERE key = 'session_key'",
            Vec::new(),
        )?;
        Ok(rows.first().map(|r| text(r, 0)).unwrap_or_default())
    }

    fn policy(&self, have: Option<u64>, new_key: &str) -> Result<Response> {
        let session_key = self.session_key(new_key)?;
        let rows = rows(
            &self.sql,
            "SELECT version, policy, updated_at FROM policies ORDER BY version DESC LIMIT 1",
            Vec::new(),
        )?;
        match rows.first() {
            None => reply(&Members(|o| {
                o.field("session_key", &session_key).field("version", &0u64);
            })),
            Some(row) if Some(int(row, 0)) == have => reply(&Members(|o| {
                o.field("session_key", &session_key)
                    .field("updated_at", &int(row, 2))
                    .field("version", &int(row, 0));
            })),
            Some(row) => reply(&Members(|o| {
                o.field("policy", &text(row, 1))
                    .field("session_key", &session_key)
                    .field("updated_at", &int(row, 2))
                    .field("version", &int(row, 0));
            })),
        }
    }

    fn put_policy(&self, text: &str, admin: &str, now: u64) -> Result<Response> {
        let last = rows(
            &self.sql,
            "SELECT MAX(version) AS version FROM policies",
            Vec::new(),
        )?;
        let version = last.first().map_or(0, |r| int(r, 0)) + 1;
        let sha256 = json::sha256_hex(text.as_bytes());
        self.sql.exec(
            "INSERT INTO policies (version, policy, sha256, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)",
            vec![
                sql_int(version),
                text.into(),
                sha256.as_str().into(),
                sql_int(now),
                admin.into(),
            ],
        )?;
        reply(&Members(|o| {
            o.field("sha256", &sha256)
                .field("updated_at", &now)
                .field("version", &version);
        }))
    }

    fn history(&self) -> Result<Response> {
        let rows = rows(
            &self.sql,
            "SELECT version, sha256, updated_at, updated_by FROM policies ORDER BY version DESC LIMIT 1000",
            Vec::new(),
        )?;
        let versions: Vec<Version> = rows
            .iter()
            .map(|r| Version {
                sha256: text(r, 1),
                updated_at: int(r, 2),
                updated_by: text(r, 3),
                version: int(r, 0),
            })
            .collect();
        reply(&Members(|o| {
            o.field("versions", &versions);
        }))
    }

    fn handle(&self, op: ControlOp) -> Result<Response> {
        self.schema()?;
        let now = Date::now().as_millis();
        self.scrub(now)?;
        match op {
            ControlOp::Call { request, new_id } => self.on_call(request, &new_id, now),
            ControlOp::Use { id } => self.use_approval(&id, now),
            ControlOp::List {
                status,
                limit,
                cursor,
            } => self.list(status, limit, cursor.as_deref(), now),
            ControlOp::Get { id } => match self.find(&id)? {
                Some(mut approval) => {
                    approval.status = approval.status_at(now);
                    reply(&Members(|o| {
                        o.field("approval", &approval);
                    }))
                }
                None => fail(404, &format!("no approval `{id}`")),
            },
            ControlOp::Decide {
                id,
                approve,
                admin,
                note,
            } => self.decide(&id, approve, &admin, note, now),
            ControlOp::Policy { have, new_key } => self.policy(have, &new_key),
            ControlOp::PutPolicy { policy, admin } => self.put_policy(&policy, &admin, now),
            ControlOp::History => self.history(),
        }
    }
}

/// An answer to [`ControlOp::Call`]: outcome, created, approval.
struct Called<'a>(&'a str, bool, &'a Approval);

impl ToJson for Called<'_> {
    fn write_json(&self, out: &mut String) {
        Obj::new(out)
            .field("approval", self.2)
            .field("created", &self.1)
            .field("outcome", self.0)
            .end();
    }
}

/// One stored policy version, as [`ControlOp::History`] lists it.
struct Version {
    sha256: String,
    updated_at: u64,
    updated_by: String,
    version: u64,
}

crate::json_struct!(Version {
    sha256: req,
    updated_at: req,
    updated_by: req,
    version: req,
});

impl DurableObject for ControlStore {
    fn new(state: State, env: Env) -> Self {
        ControlStore {
            sql: state.storage().sql(),
            faulty: faulty(&env, "control"),
            scrubbed_at: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if self.faulty {
            return fail(500, "control storage failed (injected fault)");
        }
        match super::objects::read_op::<ControlOp>(&mut req).await {
            Ok(op) => self
                .handle(op)
                .or_else(|e| fail(500, &format!("control storage failed: {e}"))),
            Err(e) => fail(400, &format!("bad control request: {e}")),
        }
    }
}

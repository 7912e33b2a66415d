//! The gateway's own Durable Objects, besides the rate counters:
//!
//! - [`ControlStore`], one object (named `control`): approvals and the policy versions
//!   stored through the admin API. Listing approvals reads one table of one object; it
//!   never scans the namespace.
//! - [`AuditStore`], one object (named `audit`): the audit log, with an alarm that
//!   deletes records older than the retention.
//!
//! Both keep everything in their SQLite storage, so an eviction loses nothing, and handle
//! each request without an `await` between reading and writing, so each request is
//! atomic. The decisions are the core's ([`crate::approval`], [`crate::audit`]); these
//! objects store what it returns.

use crate::approval::{self, Approval, OnCall, Status};
use crate::audit::{Query, Record};
use crate::json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{
    durable_object, wasm_bindgen, Date, DurableObject, Env, Request, Response, Result, SqlStorage,
    State,
};

/// The one [`ControlStore`] object's name.
pub const CONTROL: &str = "control";
/// The one [`AuditStore`] object's name.
pub const AUDIT: &str = "audit";

const DAY_MS: u64 = 86_400_000;

/// Requests to the control object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ControlOp {
    /// A call that needs approval arrived: find or create its approval.
    Call {
        request: approval::Request,
        new_id: String,
    },
    /// List approvals, newest first, optionally of one status.
    List { status: Option<Status> },
    /// An operator approves or denies a pending approval.
    Decide {
        id: String,
        approve: bool,
        admin: String,
        note: Option<String>,
    },
    /// The active stored policy, unless it is still version `have`.
    Policy { have: Option<u64> },
    /// Store a new (already validated) policy version.
    PutPolicy { policy: Value, admin: String },
    /// Every stored version.
    History,
}

/// Requests to the audit object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AuditOp {
    Append {
        records: Vec<Record>,
        retention_days: u64,
    },
    Query {
        query: Query,
    },
}

fn sql_int(n: u64) -> worker::SqlStorageValue {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

fn reply(value: &Value) -> Result<Response> {
    Response::from_json(value)
}

fn fail(status: u16, message: &str) -> Result<Response> {
    Response::from_json(&json!({ "error": message })).map(|r| r.with_status(status))
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

#[durable_object]
pub struct ControlStore {
    sql: SqlStorage,
}

impl ControlStore {
    fn schema(&self) -> Result<()> {
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS approval (
                id TEXT PRIMARY KEY, binding TEXT NOT NULL, grant_id TEXT NOT NULL,
                status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                sealed INTEGER NOT NULL, body TEXT NOT NULL)",
            None,
        )?;
        self.sql.exec(
            "CREATE INDEX IF NOT EXISTS approval_by_binding ON approval (binding, created_at)",
            None,
        )?;
        self.sql.exec(
            "CREATE INDEX IF NOT EXISTS approval_sealed ON approval (sealed, expires_at)",
            None,
        )?;
        self.sql.exec(
            "CREATE INDEX IF NOT EXISTS approval_by_grant ON approval (grant_id, status, expires_at)",
            None,
        )?;
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS policies (
                version INTEGER PRIMARY KEY, policy TEXT NOT NULL, sha256 TEXT NOT NULL,
                updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL)",
            None,
        )?;
        Ok(())
    }

    fn save(&self, approval: &Approval) -> Result<()> {
        let body = serde_json::to_string(approval).map_err(|e| e.to_string())?;
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

    /// Drops the sealed arguments of approvals that have expired: nobody will need them.
    fn scrub(&self, now: u64) -> Result<()> {
        let expired = self.approvals(
            "SELECT body FROM approval WHERE sealed = 1 AND expires_at <= ?",
            vec![sql_int(now)],
        )?;
        for mut approval in expired {
            approval.arguments_sealed = None;
            self.save(&approval)?;
        }
        self.sql.exec(
            "DELETE FROM approval WHERE expires_at < ?",
            vec![sql_int(now.saturating_sub(approval::KEEP_FINISHED_MS))],
        )?;
        Ok(())
    }

    /// How many approvals `grant` has waiting.
    fn pending_of(&self, grant: &str, now: u64) -> Result<u64> {
        #[derive(Deserialize)]
        struct Row {
            n: f64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT COUNT(*) AS n FROM approval WHERE grant_id = ? AND status = 'pending' AND expires_at > ?",
                vec![grant.into(), sql_int(now)],
            )?
            .to_array()?;
        Ok(rows.first().map_or(0, |r| r.n as u64))
    }

    fn approvals(
        &self,
        query: &str,
        bindings: Vec<worker::SqlStorageValue>,
    ) -> Result<Vec<Approval>> {
        let rows: Vec<BodyRow> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect())
    }

    fn handle(&self, op: ControlOp) -> Result<Response> {
        self.schema()?;
        let now = Date::now().as_millis();
        self.scrub(now)?;
        match op {
            ControlOp::Call { request, new_id } => {
                let newest = self
                    .approvals(
                        "SELECT body FROM approval WHERE binding = ? ORDER BY created_at DESC LIMIT 1",
                        vec![request.binding.as_str().into()],
                    )?
                    .into_iter()
                    .next();
                let outcome = approval::on_call(newest, &request, now, &new_id);
                if matches!(outcome, OnCall::Pending { created: true, .. })
                    && self.pending_of(&request.grant, now)? >= approval::MAX_PENDING_PER_GRANT
                {
                    return reply(
                        &json!({ "outcome": "full", "created": false, "approval": outcome.approval() }),
                    );
                }
                self.save(outcome.approval())?;
                let (kind, created) = match &outcome {
                    OnCall::Pending { created, .. } => ("pending", *created),
                    OnCall::Pass { .. } => ("pass", false),
                    OnCall::Denied { .. } => ("denied", false),
                };
                reply(
                    &json!({ "outcome": kind, "created": created, "approval": outcome.approval() }),
                )
            }
            ControlOp::List { status } => {
                let mut list = self.approvals(
                    "SELECT body FROM approval ORDER BY created_at DESC LIMIT 1000",
                    Vec::new(),
                )?;
                for approval in &mut list {
                    approval.status = approval.status_at(now);
                }
                list.retain(|a| status.is_none_or(|s| a.status == s));
                reply(&json!({ "approvals": list }))
            }
            ControlOp::Decide {
                id,
                approve,
                admin,
                note,
            } => {
                let Some(found) = self
                    .approvals(
                        "SELECT body FROM approval WHERE id = ?",
                        vec![id.as_str().into()],
                    )?
                    .into_iter()
                    .next()
                else {
                    return fail(404, &format!("no approval `{id}`"));
                };
                match approval::decide(found, approve, &admin, note, now) {
                    Ok(decided) => {
                        self.save(&decided)?;
                        reply(&json!({ "approval": decided }))
                    }
                    Err(e) => fail(409, &e.to_string()),
                }
            }
            ControlOp::Policy { have } => {
                #[derive(Deserialize)]
                struct Row {
                    version: f64,
                    policy: String,
                    updated_at: f64,
                }
                let row: Option<Row> = self
                    .sql
                    .exec(
                        "SELECT version, policy, updated_at FROM policies ORDER BY version DESC LIMIT 1",
                        None,
                    )?
                    .to_array::<Row>()?
                    .into_iter()
                    .next();
                match row {
                    None => reply(&json!({ "version": 0 })),
                    Some(row) if Some(row.version as u64) == have => {
                        reply(&json!({ "version": row.version as u64 }))
                    }
                    Some(row) => reply(&json!({
                        "version": row.version as u64,
                        "policy": row.policy,
                        "updated_at": row.updated_at as u64,
                    })),
                }
            }
            ControlOp::PutPolicy { policy, admin } => {
                #[derive(Deserialize)]
                struct Row {
                    version: Option<f64>,
                }
                let last: Vec<Row> = self
                    .sql
                    .exec("SELECT MAX(version) AS version FROM policies", None)?
                    .to_array()?;
                let version = last.first().and_then(|r| r.version).unwrap_or(0.0) as u64 + 1;
                let text = policy.to_string();
                let sha256 = json::sha256_hex(text.as_bytes());
                self.sql.exec(
                    "INSERT INTO policies (version, policy, sha256, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        sql_int(version),
                        text.into(),
                        sha256.as_str().into(),
                        sql_int(now),
                        admin.as_str().into(),
                    ],
                )?;
                reply(&json!({ "version": version, "updated_at": now, "sha256": sha256 }))
            }
            ControlOp::History => {
                #[derive(Deserialize, Serialize)]
                struct Row {
                    version: f64,
                    sha256: String,
                    updated_at: f64,
                    updated_by: String,
                }
                let rows: Vec<Row> = self
                    .sql
                    .exec(
                        "SELECT version, sha256, updated_at, updated_by FROM policies ORDER BY version DESC",
                        None,
                    )?
                    .to_array()?;
                let versions: Vec<Value> = rows
                    .into_iter()
                    .map(|r| {
                        json!({
                            "version": r.version as u64,
                            "sha256": r.sha256,
                            "updated_at": r.updated_at as u64,
                            "updated_by": r.updated_by,
                        })
                    })
                    .collect();
                reply(&json!({ "versions": versions }))
            }
        }
    }
}

impl DurableObject for ControlStore {
    fn new(state: State, _env: Env) -> Self {
        ControlStore {
            sql: state.storage().sql(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.json::<ControlOp>().await {
            Ok(op) => self
                .handle(op)
                .or_else(|e| fail(500, &format!("control storage failed: {e}"))),
            Err(e) => fail(400, &format!("bad control request: {e}")),
        }
    }
}

#[durable_object]
pub struct AuditStore {
    state: State,
    sql: SqlStorage,
}

impl AuditStore {
    fn schema(&self) -> Result<()> {
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS audit (
                id TEXT PRIMARY KEY, at INTEGER NOT NULL, grant_id TEXT NOT NULL,
                tool TEXT, decision TEXT NOT NULL, body TEXT NOT NULL)",
            None,
        )?;
        self.sql.exec(
            "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at, id)",
            None,
        )?;
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            None,
        )?;
        Ok(())
    }

    fn append(&self, records: &[Record], retention_days: u64) -> Result<usize> {
        let mut written = 0;
        for record in records {
            let body = serde_json::to_string(record).map_err(|e| e.to_string())?;
            let cursor = self.sql.exec(
                "INSERT OR IGNORE INTO audit (id, at, grant_id, tool, decision, body) VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    record.id.as_str().into(),
                    sql_int(record.at),
                    record.grant.as_str().into(),
                    record.tool.clone().map_or(worker::SqlStorageValue::Null, Into::into),
                    record.decision.as_str().into(),
                    body.into(),
                ],
            )?;
            written += cursor.rows_written();
        }
        self.sql.exec(
            "INSERT INTO settings (key, value) VALUES ('retention_days', ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            vec![sql_int(retention_days)],
        )?;
        Ok(written)
    }

    fn query(&self, query: &Query) -> Result<Value> {
        let mut sql = String::from("SELECT body FROM audit WHERE 1 = 1");
        let mut bindings: Vec<worker::SqlStorageValue> = Vec::new();
        if let Some(since) = query.since {
            sql.push_str(" AND at >= ?");
            bindings.push(sql_int(since));
        }
        if let Some(until) = query.until {
            sql.push_str(" AND at <= ?");
            bindings.push(sql_int(until));
        }
        if let Some(grant) = &query.grant {
            sql.push_str(" AND grant_id = ?");
            bindings.push(grant.as_str().into());
        }
        if let Some(tool) = &query.tool {
            sql.push_str(" AND tool = ?");
            bindings.push(tool.as_str().into());
        }
        if let Some(decision) = &query.decision {
            sql.push_str(" AND decision = ?");
            bindings.push(decision.as_str().into());
        }
        if let Some((at, id)) = &query.cursor {
            sql.push_str(" AND (at < ? OR (at = ? AND id < ?))");
            bindings.push(sql_int(*at));
            bindings.push(sql_int(*at));
            bindings.push(id.as_str().into());
        }
        sql.push_str(" ORDER BY at DESC, id DESC LIMIT ?");
        bindings.push(sql_int(query.limit as u64 + 1));
        let rows: Vec<BodyRow> = self.sql.exec(&sql, bindings)?.to_array()?;
        let mut records: Vec<Record> = rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect();
        let more = records.len() > query.limit;
        records.truncate(query.limit);
        let cursor = if more {
            records.last().map(Query::cursor_after)
        } else {
            None
        };
        Ok(json!({ "records": records, "cursor": cursor }))
    }
}

impl DurableObject for AuditStore {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        AuditStore { state, sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op = match req.json::<AuditOp>().await {
            Ok(op) => op,
            Err(e) => return fail(400, &format!("bad audit request: {e}")),
        };
        let result = self.schema().and_then(|()| match &op {
            AuditOp::Append {
                records,
                retention_days,
            } => self
                .append(records, *retention_days)
                .map(|n| json!({ "written": n })),
            AuditOp::Query { query } => self.query(query),
        });
        let value = match result {
            Ok(value) => value,
            Err(e) => return fail(500, &format!("audit storage failed: {e}")),
        };
        if matches!(op, AuditOp::Append { .. }) {
            let storage = self.state.storage();
            if storage.get_alarm().await.ok().flatten().is_none() {
                storage
                    .set_alarm(std::time::Duration::from_millis(DAY_MS / 24))
                    .await?;
            }
        }
        reply(&value)
    }

    async fn alarm(&self) -> Result<Response> {
        self.schema()?;
        #[derive(Deserialize)]
        struct Row {
            value: f64,
        }
        let days = self
            .sql
            .exec(
                "SELECT value FROM settings WHERE key = 'retention_days'",
                None,
            )?
            .to_array::<Row>()?
            .first()
            .map_or(30, |r| r.value as u64);
        let cutoff = crate::audit::retention_cutoff(Date::now().as_millis(), days);
        self.sql
            .exec("DELETE FROM audit WHERE at < ?", vec![sql_int(cutoff)])?;
        self.state
            .storage()
            .set_alarm(std::time::Duration::from_millis(DAY_MS / 24))
            .await?;
        Response::ok("pruned")
    }
}

//! The audit object (one, named `audit`): the audit log, with an alarm that deletes
//! records older than the retention.
//!
//! Records are keyed by a per-request id (a retried write never duplicates) and indexed
//! by time; a query is filtered in storage and answered newest first, at most
//! [`crate::audit::MAX_PAGE`] records and [`crate::audit::MAX_PAGE_BYTES`] a page, with a
//! cursor. A record is at most about 21 KiB (see [`crate::audit`]), so a page is at most
//! 2 MiB plus one record.

use super::objects::{fail, faulty, int, json_answer, rows, sql_int, text};
use crate::audit::{Query, Record, MAX_PAGE_BYTES};
use crate::json::Node;
use crate::wire::{self, field, FromJson, Members, ToJson};
use std::cell::Cell;
use worker::{
    durable_object, wasm_bindgen, Date, DurableObject, Env, Request, Response, Result, SqlStorage,
    State,
};

const DAY_MS: u64 = 86_400_000;

/// Requests to the audit object.
#[derive(Debug)]
pub enum AuditOp {
    Append {
        records: Vec<Record>,
        retention_days: u64,
    },
    Query {
        query: Query,
    },
}

impl ToJson for AuditOp {
    fn write_json(&self, out: &mut String) {
        match self {
            AuditOp::Append {
                records,
                retention_days,
            } => wire::write_variant(out, "append", |o| {
                o.field("records", records)
                    .field("retention_days", retention_days);
            }),
            AuditOp::Query { query } => wire::write_variant(out, "query", |o| {
                o.field("query", query);
            }),
        }
    }
}

impl FromJson for AuditOp {
    fn from_json(node: Node<'_>) -> std::result::Result<Self, String> {
        let (name, fields) = wire::variant(node)?;
        let f = wire::fields(&name, fields)?;
        match &*name {
            "append" => Ok(AuditOp::Append {
                records: field(f, "records")?,
                retention_days: field(f, "retention_days")?,
            }),
            "query" => Ok(AuditOp::Query {
                query: field(f, "query")?,
            }),
            other => Err(wire::unknown_variant(other)),
        }
    }
}

#[durable_object]
pub struct AuditStore {
    state: State,
    sql: SqlStorage,
    faulty: bool,
    /// What this instance has done once and need not redo on every append: made its
    /// tables, stored the retention (the last value written), seen the alarm set.
    ready: Cell<bool>,
    retention_days: Cell<Option<u64>>,
    alarm_set: Cell<bool>,
}

impl AuditStore {
    fn schema(&self) -> Result<()> {
        if self.ready.get() {
            return Ok(());
        }
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
        // Added in v2: whether the monitor decision refused the call.
        let _ = self.sql.exec(
            "ALTER TABLE audit ADD COLUMN monitor_refused INTEGER NOT NULL DEFAULT 0",
            None,
        );
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            None,
        )?;
        self.ready.set(true);
        Ok(())
    }

    fn append(&self, records: &[Record], retention_days: u64) -> Result<usize> {
        let mut written = 0;
        for record in records {
            let body = wire::to_string(record);
            let monitor_refused = record
                .monitor
                .as_ref()
                .is_some_and(|m| m.decision != crate::eval::Outcome::Allow)
                || record.monitor_hidden.is_some_and(|n| n > 0);
            let cursor = self.sql.exec(
                "INSERT OR IGNORE INTO audit (id, at, grant_id, tool, decision, body, monitor_refused) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    record.id.as_str().into(),
                    sql_int(record.at),
                    record.grant.as_str().into(),
                    record.tool.clone().map_or(worker::SqlStorageValue::Null, Into::into),
                    record.decision.as_str().into(),
                    body.into(),
                    i64::from(monitor_refused).into(),
                ],
            )?;
            written += cursor.rows_written();
        }
        if self.retention_days.get() != Some(retention_days) {
            self.sql.exec(
                "INSERT INTO settings (key, value) VALUES ('retention_days', ?)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                vec![sql_int(retention_days)],
            )?;
            self.retention_days.set(Some(retention_days));
        }
        Ok(written)
    }

    fn query(&self, query: &Query) -> Result<String> {
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
        if query.monitor_refused {
            sql.push_str(" AND monitor_refused = 1");
        }
        if let Some((at, id)) = &query.cursor {
            sql.push_str(" AND (at < ? OR (at = ? AND id < ?))");
            bindings.push(sql_int(*at));
            bindings.push(sql_int(*at));
            bindings.push(id.as_str().into());
        }
        sql.push_str(" ORDER BY at DESC, id DESC LIMIT ?");
        bindings.push(sql_int(query.limit as u64 + 1));
        let rows: Vec<String> = rows(&self.sql, &sql, bindings)?
            .iter()
            .map(|r| text(r, 0))
            .collect();
        let mut bytes = 0usize;
        let mut kept: Vec<&str> = Vec::new();
        let mut last: Option<Record> = None;
        let mut more = rows.len() > query.limit;
        for row in rows.iter().take(query.limit) {
            if bytes + row.len() > MAX_PAGE_BYTES && !kept.is_empty() {
                more = true;
                break;
            }
            bytes += row.len();
            kept.push(row);
            last = wire::from_str(row).ok();
        }
        let cursor = if more {
            last.as_ref().map(Query::cursor_after)
        } else {
            None
        };
        // The stored bodies are already the records' JSON.
        Ok(format!(
            r#"{{"records":[{}],"cursor":{}}}"#,
            kept.join(","),
            wire::to_string(&cursor)
        ))
    }
}

impl DurableObject for AuditStore {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        AuditStore {
            state,
            sql,
            faulty: faulty(&env, "audit"),
            ready: Cell::new(false),
            retention_days: Cell::new(None),
            alarm_set: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op = match super::objects::read_op::<AuditOp>(&mut req).await {
            Ok(op) => op,
            Err(e) => return fail(400, &format!("bad audit request: {e}")),
        };
        if self.faulty {
            return fail(500, "audit storage failed (injected fault)");
        }
        let result = self.schema().and_then(|()| match &op {
            AuditOp::Append {
                records,
                retention_days,
            } => self.append(records, *retention_days).map(|n| {
                wire::to_string(&Members(|o| {
                    o.field("written", &n);
                }))
            }),
            AuditOp::Query { query } => self.query(query),
        });
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                // Storage is the truth after a failure: check everything again next time.
                self.ready.set(false);
                self.retention_days.set(None);
                return fail(500, &format!("audit storage failed: {e}"));
            }
        };
        if matches!(op, AuditOp::Append { .. }) && !self.alarm_set.get() {
            let storage = self.state.storage();
            if storage.get_alarm().await.ok().flatten().is_none() {
                storage
                    .set_alarm(std::time::Duration::from_millis(DAY_MS / 24))
                    .await?;
            }
            // The alarm, once set, sets itself again each time it runs.
            self.alarm_set.set(true);
        }
        json_answer(200, value)
    }

    async fn alarm(&self) -> Result<Response> {
        // Until this run has set the next alarm, appends check for one again.
        self.alarm_set.set(false);
        self.schema()?;
        let days = rows(
            &self.sql,
            "SELECT value FROM settings WHERE key = 'retention_days'",
            Vec::new(),
        )?
        .first()
        .map_or(30, |r| int(r, 0));
        let cutoff = crate::audit::retention_cutoff(Date::now().as_millis(), days);
        self.sql
            .exec("DELETE FROM audit WHERE at < ?", vec![sql_int(cutoff)])?;
        self.state
            .storage()
            .set_alarm(std::time::Duration::from_millis(DAY_MS / 24))
            .await?;
        self.alarm_set.set(true);
        Response::ok("pruned")
    }
}

//! The rate-counter Durable Object: one object per (counter, scope key), addressed with
//! `idFromName(CounterKey::storage_name())`, so that a limit holds across every
//! Cloudflare location at once.
//!
//! The object keeps the counter's [`WindowLog`] in memory and mirrors every change into
//! its SQLite storage (`runs(t, n)`) within the same request, so an eviction loses
//! nothing: the next request reloads the log from storage. Each request is handled
//! without an `await` between reading and writing, so the runtime's input gate makes it
//! atomic. All window arithmetic is the core's ([`crate::ratelimit`]).
//!
//! Protocol (JSON over the stub's `fetch`):
//! - `{"op":"reserve","window_ms":W,"max":M}` → `{"ok":true,"at":T}` or
//!   `{"ok":false,"retry_after_ms":R}`;
//! - `{"op":"refund","at":T}` → `{"ok":true}`.

use super::objects::{fail, faulty, int, rows, sql_int};
use crate::json::Node;
use crate::ratelimit::WindowLog;
use crate::wire::{self, FromJson, Obj, ToJson};
use std::cell::RefCell;
use worker::{
    durable_object, wasm_bindgen, Date, DurableObject, Env, Request, Response, Result, SqlStorage,
    State,
};

/// A request to a counter object.
#[derive(Debug)]
pub enum CounterOp {
    /// Admit one call if it fits.
    Reserve { window_ms: u64, max: u32 },
    /// Give back a call admitted at `at`.
    Refund { at: u64 },
}

/// A counter object's answer.
#[derive(Debug)]
pub struct CounterReply {
    pub ok: bool,
    pub at: Option<u64>,
    pub retry_after_ms: Option<u64>,
}

crate::json_struct!(CounterReply {
    ok: req,
    at: skip,
    retry_after_ms: skip,
});

impl ToJson for CounterOp {
    fn write_json(&self, out: &mut String) {
        match self {
            CounterOp::Reserve { window_ms, max } => {
                wire::write_variant(out, "reserve", |o: &mut Obj<'_>| {
                    o.field("window_ms", window_ms).field("max", max);
                })
            }
            CounterOp::Refund { at } => wire::write_variant(out, "refund", |o: &mut Obj<'_>| {
                o.field("at", at);
            }),
        }
    }
}

impl FromJson for CounterOp {
    fn from_json(node: Node<'_>) -> std::result::Result<Self, String> {
        let (name, fields) = wire::variant(node)?;
        match &*name {
            "reserve" => {
                let f = wire::fields(&name, fields)?;
                Ok(CounterOp::Reserve {
                    window_ms: wire::field(f, "window_ms")?,
                    max: wire::field(f, "max")?,
                })
            }
            "refund" => Ok(CounterOp::Refund {
                at: wire::field(wire::fields(&name, fields)?, "at")?,
            }),
            other => Err(wire::unknown_variant(other)),
        }
    }
}

#[durable_object]
pub struct RateCounter {
    sql: SqlStorage,
    log: RefCell<Option<WindowLog>>,
    faulty: bool,
}

impl RateCounter {
    /// The log: the in-memory copy, or, after an eviction, the one in storage.
    fn load(&self) -> Result<WindowLog> {
        if let Some(log) = self.log.borrow_mut().take() {
            return Ok(log);
        }
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS runs (t INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
            None,
        )?;
        let rows = rows(&self.sql, "SELECT t, n FROM runs ORDER BY t", Vec::new())?;
        Ok(WindowLog::from_runs(rows.iter().map(|r| {
            (int(r, 0), u32::try_from(int(r, 1)).unwrap_or(u32::MAX))
        })))
    }

    fn apply(&self, op: CounterOp) -> Result<CounterReply> {
        let mut log = self.load()?;
        let reply = match op {
            CounterOp::Reserve { window_ms, max } => {
                let now = Date::now().as_millis();
                if let Some(cutoff) = log.prune(now, window_ms) {
                    self.sql
                        .exec("DELETE FROM runs WHERE t <= ?", vec![sql_int(cutoff)])?;
                }
                match log.check(now, window_ms, max) {
                    Ok(()) => {
                        let at = log.record(now);
                        self.sql.exec(
                            "INSERT INTO runs (t, n) VALUES (?, ?) ON CONFLICT (t) DO UPDATE SET n = excluded.n",
                            vec![sql_int(at), i64::from(log.count_at(at)).into()],
                        )?;
                        CounterReply {
                            ok: true,
                            at: Some(at),
                            retry_after_ms: None,
                        }
                    }
                    Err(exhausted) => CounterReply {
                        ok: false,
                        at: None,
                        retry_after_ms: Some(exhausted.retry_after_ms),
                    },
                }
            }
            CounterOp::Refund { at } => {
                if log.refund(at) {
                    match log.count_at(at) {
                        0 => self
                            .sql
                            .exec("DELETE FROM runs WHERE t = ?", vec![sql_int(at)])?,
                        n => self.sql.exec(
                            "UPDATE runs SET n = ? WHERE t = ?",
                            vec![i64::from(n).into(), sql_int(at)],
                        )?,
                    };
                }
                CounterReply {
                    ok: true,
                    at: None,
                    retry_after_ms: None,
                }
            }
        };
        *self.log.borrow_mut() = Some(log);
        Ok(reply)
    }
}

impl DurableObject for RateCounter {
    fn new(state: State, env: Env) -> Self {
        RateCounter {
            sql: state.storage().sql(),
            log: RefCell::new(None),
            faulty: faulty(&env, "counter"),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: CounterOp = match super::objects::read_op(&mut req).await {
            Ok(op) => op,
            Err(e) => return fail(400, &format!("bad counter request: {e}")),
        };
        if self.faulty {
            return fail(500, "counter storage failed (injected fault)");
        }
        match self.apply(op) {
            Ok(reply) => super::objects::reply(&reply),
            Err(e) => {
                // Forget the in-memory copy: storage is the truth after a failed write.
                *self.log.borrow_mut() = None;
                fail(500, &format!("counter storage failed: {e}"))
            }
        }
    }
}

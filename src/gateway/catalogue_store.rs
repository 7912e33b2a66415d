//! The catalogue object (one, named `catalogue`): the origin's tools as the gateway knows
//! them, and their pins (CONTRACT §3 and §8). The logic is the core's
//! ([`crate::catalogue::Pins`]); this object keeps it in its SQLite storage (one row per
//! tool), in memory between requests, and hands isolates a [`Snapshot`] whenever its
//! version changed.
//!
//! **Size.** One row per tool the origin ever listed: its pinned and current definitions
//! (each bounded by the 8 MiB a `tools/list` answer may have; the Odoo server's largest
//! tool is under 4 KiB).

use super::objects::{
    self, fail, faulty, int, json_answer, reply, rows, text, CATALOGUE, CATALOGUE_NAME,
};
use crate::catalogue::{Change, Pins, Seen, Snapshot, View};
use crate::json::Node;
use crate::wire::{self, field, FromJson, Members, ToJson};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, Result, SqlStorage, State,
};

/// Requests to the catalogue object.
#[derive(Debug)]
pub enum CatalogueOp {
    /// The snapshot, unless it is still version `have`.
    Snapshot { have: Option<u64> },
    /// The tools of one answer (`complete` when it is the whole list).
    Observe { seen: Vec<Seen>, complete: bool },
    /// Every pin.
    Pins,
    /// One tool's pin, with both definitions.
    Pin { tool: String },
    /// Accept a tool's current definition (only if it is still `sha256`, when given).
    Accept {
        tool: String,
        sha256: Option<String>,
    },
    /// Forget every pin.
    Forget,
}

impl ToJson for CatalogueOp {
    fn write_json(&self, out: &mut String) {
        match self {
            CatalogueOp::Snapshot { have } => wire::write_variant(out, "snapshot", |o| {
                o.field("have", have);
            }),
            CatalogueOp::Observe { seen, complete } => wire::write_variant(out, "observe", |o| {
                o.field("seen", seen).field("complete", complete);
            }),
            CatalogueOp::Pins => "pins".write_json(out),
            CatalogueOp::Pin { tool } => wire::write_variant(out, "pin", |o| {
                o.field("tool", tool);
            }),
            CatalogueOp::Accept { tool, sha256 } => wire::write_variant(out, "accept", |o| {
                o.field("tool", tool).field("sha256", sha256);
            }),
            CatalogueOp::Forget => "forget".write_json(out),
        }
    }
}

impl FromJson for CatalogueOp {
    fn from_json(node: Node<'_>) -> std::result::Result<Self, String> {
        let (name, fields) = wire::variant(node)?;
        match &*name {
            "pins" => return Ok(CatalogueOp::Pins),
            "forget" => return Ok(CatalogueOp::Forget),
            _ => {}
        }
        let f = wire::fields(&name, fields)?;
        Ok(match &*name {
            "snapshot" => CatalogueOp::Snapshot {
                have: field(f, "have")?,
            },
            "observe" => CatalogueOp::Observe {
                seen: field(f, "seen")?,
                complete: field(f, "complete")?,
            },
            "pin" => CatalogueOp::Pin {
                tool: field(f, "tool")?,
            },
            "accept" => CatalogueOp::Accept {
                tool: field(f, "tool")?,
                sha256: field(f, "sha256")?,
            },
            other => return Err(wire::unknown_variant(other)),
        })
    }
}

/// The catalogue object's answer to [`CatalogueOp::Snapshot`] and
/// [`CatalogueOp::Observe`].
pub struct Reply {
    pub version: u64,
    pub snapshot: Option<Snapshot>,
    pub changes: Vec<Change>,
}

crate::json_struct!(Reply {
    changes: default,
    snapshot: req,
    version: req,
});

/// Tells the catalogue object what an answer listed; returns the new view (also made
/// this isolate's) and the changes detected.
pub async fn observe(
    env: &Env,
    seen: Vec<Seen>,
    complete: bool,
) -> std::result::Result<(Rc<View>, Vec<Change>), String> {
    let reply: Reply = objects::call(
        env,
        CATALOGUE,
        CATALOGUE_NAME,
        &CatalogueOp::Observe { seen, complete },
    )
    .await?;
    let snapshot = reply.snapshot.unwrap_or_default();
    let view = Rc::new(View::new(Snapshot {
        version: reply.version,
        ..snapshot
    }));
    super::isolate::set_view(view.clone(), super::isolate::now());
    Ok((view, reply.changes))
}

#[durable_object]
pub struct CatalogueStore {
    sql: SqlStorage,
    pins: RefCell<Option<(Pins, u64)>>,
    faulty: bool,
}

impl CatalogueStore {
    fn schema(&self) -> Result<()> {
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS pins (tool TEXT PRIMARY KEY, body TEXT NOT NULL)",
            None,
        )?;
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
            None,
        )?;
        Ok(())
    }

    /// The pins and the version: in memory, or read back after an eviction.
    fn load(&self) -> Result<(Pins, u64)> {
        if let Some(loaded) = self.pins.borrow_mut().take() {
            return Ok(loaded);
        }
        self.schema()?;
        let settings = rows(&self.sql, "SELECT key, value FROM settings", Vec::new())?;
        let setting = |name: &str| {
            settings
                .iter()
                .find(|s| text(s, 0) == name)
                .map_or(0, |s| int(s, 1))
        };
        let bodies = rows(&self.sql, "SELECT body FROM pins", Vec::new())?;
        let mut pins = Pins {
            seeded: setting("seeded") == 1,
            ..Pins::default()
        };
        for row in &bodies {
            if let Ok(record) = wire::from_str::<crate::catalogue::PinRecord>(&text(row, 0)) {
                pins.records.insert(record.tool.clone(), record);
            }
        }
        Ok((pins, setting("version")))
    }

    /// Writes what changed between `before` and `after`, and the version.
    fn store(&self, before: &Pins, after: &Pins, version: u64) -> Result<()> {
        for (tool, record) in &after.records {
            if before.records.get(tool) != Some(record) {
                let body = wire::to_string(record);
                self.sql.exec(
                    "INSERT INTO pins (tool, body) VALUES (?, ?) ON CONFLICT (tool) DO UPDATE SET body = excluded.body",
                    vec![tool.as_str().into(), body.into()],
                )?;
            }
        }
        for tool in before.records.keys() {
            if !after.records.contains_key(tool) {
                self.sql.exec(
                    "DELETE FROM pins WHERE tool = ?",
                    vec![tool.as_str().into()],
                )?;
            }
        }
        for (key, value) in [
            ("seeded", i64::from(after.seeded)),
            ("version", i64::try_from(version).unwrap_or(i64::MAX)),
        ] {
            self.sql.exec(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                vec![key.into(), value.into()],
            )?;
        }
        Ok(())
    }

    /// Applies a change to the pins; stores it and moves the version when anything changed.
    fn change<T>(&self, apply: impl FnOnce(&mut Pins) -> T) -> Result<(T, Pins, u64, bool)> {
        let (pins, version) = self.load()?;
        let mut after = pins.clone();
        let out = apply(&mut after);
        let changed = after != pins;
        let version = if changed { version + 1 } else { version };
        if changed {
            self.store(&pins, &after, version)?;
        }
        *self.pins.borrow_mut() = Some((after.clone(), version));
        Ok((out, after, version, changed))
    }

    fn handle(&self, op: CatalogueOp) -> Result<Response> {
        match op {
            CatalogueOp::Snapshot { have } => {
                let (pins, version) = self.load()?;
                let snapshot = (have != Some(version)).then(|| pins.snapshot(version));
                *self.pins.borrow_mut() = Some((pins, version));
                reply(&Members(|o| {
                    o.field("snapshot", &snapshot).field("version", &version);
                }))
            }
            CatalogueOp::Observe { seen, complete } => {
                let (changes, pins, version, _) = self.change(|p| p.observe(&seen, complete))?;
                reply(&Reply {
                    version,
                    snapshot: Some(pins.snapshot(version)),
                    changes,
                })
            }
            CatalogueOp::Pins => {
                let (pins, version) = self.load()?;
                let list: Vec<Members<_>> = pins
                    .records
                    .values()
                    .map(|r| {
                        Members(move |o| {
                            o.field("current_sha256", &r.current_sha256)
                                .field("pinned_sha256", &r.pinned_sha256)
                                .field("status", &r.status())
                                .field("tool", &r.tool);
                        })
                    })
                    .collect();
                let out = wire::to_string(&Members(|o| {
                    o.field("pins", &list)
                        .field("seeded", &pins.seeded)
                        .field("version", &version);
                }));
                drop(list);
                *self.pins.borrow_mut() = Some((pins, version));
                json_answer(200, out)
            }
            CatalogueOp::Pin { tool } => {
                let (pins, version) = self.load()?;
                let found = pins.records.get(&tool).cloned();
                *self.pins.borrow_mut() = Some((pins, version));
                match found {
                    Some(record) => json_answer(200, pin_json(&record)),
                    None => fail(404, &format!("no tool `{tool}` has been seen")),
                }
            }
            CatalogueOp::Accept { tool, sha256 } => {
                let (result, _, _, _) = self.change(|p| p.accept(&tool, sha256.as_deref()))?;
                match result {
                    Ok(record) => json_answer(200, pin_json(&record)),
                    Err(e @ crate::catalogue::AcceptError::NotFound(_)) => {
                        fail(404, &e.to_string())
                    }
                    Err(e) => fail(409, &e.to_string()),
                }
            }
            CatalogueOp::Forget => {
                let (_, _, version, _) = self.change(Pins::forget)?;
                reply(&Members(|o| {
                    o.field("forgotten", &true).field("version", &version);
                }))
            }
        }
    }
}

/// A pin with both definitions, as the admin API shows it: the definitions as the
/// origin's exact JSON.
fn pin_json(record: &crate::catalogue::PinRecord) -> String {
    fn definition(d: &Option<String>) -> &str {
        d.as_deref().unwrap_or("null")
    }
    let mut out = String::new();
    wire::Obj::new(&mut out)
        .field("tool", &record.tool)
        .field("status", &record.status())
        .field("pinned_sha256", &record.pinned_sha256)
        .field("current_sha256", &record.current_sha256)
        .raw("pinned", definition(&record.pinned))
        .raw("current", definition(&record.current))
        .end();
    out
}

impl DurableObject for CatalogueStore {
    fn new(state: State, env: Env) -> Self {
        CatalogueStore {
            sql: state.storage().sql(),
            pins: RefCell::new(None),
            faulty: faulty(&env, "catalogue"),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if self.faulty {
            return fail(500, "catalogue storage failed (injected fault)");
        }
        match super::objects::read_op::<CatalogueOp>(&mut req).await {
            Ok(op) => self.handle(op).or_else(|e| {
                *self.pins.borrow_mut() = None;
                fail(500, &format!("catalogue storage failed: {e}"))
            }),
            Err(e) => fail(400, &format!("bad catalogue request: {e}")),
        }
    }
}

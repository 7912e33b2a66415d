//! What each isolate keeps between requests, and how it stays fresh.
//!
//! - the configuration, read and checked once;
//! - the policy in force, its version and the session key, confirmed with the control
//!   object at most every [`RECHECK_MS`] (one round trip; the policy is fetched and
//!   compiled only when its version changed);
//! - the catalogue view ([`crate::catalogue::View`]), confirmed with the catalogue object
//!   at most every [`RECHECK_MS`] in the same way;
//! - the request ids in flight, per session;
//! - each grant's coarse request budget, as exact rolling windows;
//! - whether the origin answered the last request sent to it;
//! - the audit records waiting for their batch's write.
//!
//! Both checks run in parallel; if the control object cannot be reached, the gateway
//! fails closed.

use super::control::ControlOp;
use super::objects::{self, CATALOGUE, CATALOGUE_NAME, CONTROL, CONTROL_NAME};
use crate::audit::Record;
use crate::catalogue::{Snapshot, View};
use crate::config::{Config, Vars};
use crate::policy::Policy;
use crate::ratelimit::WindowLog;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use worker::{console_error, Date, Env};

/// How long an isolate trusts its copy of the policy and of the catalogue. Below 5 s,
/// so every isolate applies a new policy within 5 s of its `PUT`.
pub const RECHECK_MS: u64 = 4_000;

/// A compiled policy, its version and the session key.
#[derive(Clone)]
pub struct Active {
    pub version: u64,
    pub policy: Rc<Policy>,
    pub session_key: [u8; 32],
    checked_at: u64,
}

#[derive(Clone)]
struct Catalogue {
    view: Rc<View>,
    checked_at: u64,
}

#[derive(Default)]
struct State {
    config: Option<Rc<Result<Config, String>>>,
    active: Option<Active>,
    catalogue: Option<Catalogue>,
    in_flight: HashSet<String>,
    budgets: HashMap<String, WindowLog>,
    /// Whether the origin's last answer was one (a fetch that failed clears it).
    origin_answering: bool,
    /// Audit records waiting for their batch's write ([`queue_audit`]).
    audit: Vec<Record>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The time, in milliseconds since the epoch.
pub fn now() -> u64 {
    Date::now().as_millis()
}

/// `N` random bytes (the runtime's CSPRNG).
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Never expected on Workers; a time-based value is still unique per isolate.
        for (byte, time) in bytes.iter_mut().zip(now().to_le_bytes().iter().cycle()) {
            *byte = *time;
        }
    }
    bytes
}

fn read_var(env: &Env, name: &str) -> Option<String> {
    if let Ok(secret) = env.secret(name) {
        return Some(secret.to_string());
    }
    if let Ok(var) = env.var(name) {
        return Some(var.to_string());
    }
    // A var written as a TOML table in wrangler.toml is an object: read it as JSON text.
    let value = js_sys::Reflect::get(env.as_ref(), &wasm_bindgen::JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

/// The configuration, read once per isolate (CONTRACT §3). A bad one is logged once,
/// naming the variables, never their values.
pub fn config(env: &Env) -> Rc<Result<Config, String>> {
    if let Some(config) = STATE.with(|s| s.borrow().config.clone()) {
        return config;
    }
    const NAMES: [&str; 11] = [
        "ORIGIN_URL",
        "POLICY",
        "GRANTS",
        "ORIGIN_HEADERS",
        "ADMINS",
        "MAX_BODY_BYTES",
        "ORIGIN_TIMEOUT_MS",
        "APPROVAL_WEBHOOK_URL",
        "AUDIT_RETENTION_DAYS",
        "APPROVAL_KEY",
        "REQUESTS_PER_MINUTE",
    ];
    let vars: Vec<Option<String>> = NAMES.iter().map(|name| read_var(env, name)).collect();
    let get = |i: usize| vars.get(i).and_then(|v| v.as_deref());
    let loaded = Config::from_vars(&Vars {
        origin_url: get(0),
        policy: get(1),
        grants: get(2),
        origin_headers: get(3),
        admins: get(4),
        max_body_bytes: get(5),
        origin_timeout_ms: get(6),
        approval_webhook_url: get(7),
        audit_retention_days: get(8),
        approval_key: get(9),
        requests_per_minute: get(10),
    })
    .map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    });
    if let Err(why) = &loaded {
        console_error!("toolgate: bad configuration:\n{why}");
    }
    let loaded = Rc::new(loaded);
    STATE.with(|s| s.borrow_mut().config = Some(loaded.clone()));
    loaded
}

struct PolicyReply {
    version: u64,
    policy: Option<String>,
    session_key: String,
}

crate::json_struct!(PolicyReply {
    version: req,
    policy: req,
    session_key: req,
});

/// The policy in force and the session key. Costs nothing on most requests: at most once
/// every [`RECHECK_MS`] per isolate, one round trip asks the control object whether a
/// newer version was stored (and fetches and compiles it only if so).
pub async fn active(env: &Env, config: &Config) -> Result<Active, String> {
    let now = now();
    let cached = STATE.with(|s| s.borrow().active.clone());
    if let Some(active) = &cached {
        if now.saturating_sub(active.checked_at) < RECHECK_MS {
            return Ok(active.clone());
        }
    }
    let have = cached.as_ref().map(|a| a.version);
    let reply: PolicyReply = objects::call(
        env,
        CONTROL,
        CONTROL_NAME,
        &ControlOp::Policy {
            have,
            new_key: crate::json::hex(&random::<32>()),
        },
    )
    .await?;
    let session_key = crate::json::unhex(&reply.session_key)
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or("the control object sent no session key")?;
    let policy = match (reply.version, reply.policy, cached) {
        (version, _, Some(cached)) if cached.version == version => cached.policy,
        (0, _, _) => Rc::new(config.policy.clone()),
        (version, Some(text), _) => Rc::new(
            Policy::from_json(&text)
                .map_err(|e| format!("stored policy version {version} is invalid: {e}"))?,
        ),
        (version, None, _) => return Err(format!("policy version {version} was not sent")),
    };
    let active = Active {
        version: reply.version,
        policy,
        session_key,
        checked_at: now,
    };
    set_active(active.clone());
    Ok(active)
}

/// Makes a policy just stored the one in force in this isolate, at once.
pub fn adopt_policy(version: u64, policy: Policy) {
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        if let Some(active) = state.active.as_mut() {
            active.version = version;
            active.policy = Rc::new(policy);
        }
    });
}

fn set_active(active: Active) {
    STATE.with(|s| s.borrow_mut().active = Some(active));
}

struct SnapshotReply {
    version: u64,
    snapshot: Option<Snapshot>,
}

crate::json_struct!(SnapshotReply {
    version: req,
    snapshot: req,
});

/// The catalogue view, confirmed with the catalogue object at most every
/// [`RECHECK_MS`]. If that object cannot be reached, the last view is kept (or an empty
/// one: the call path then reads the catalogue from the origin itself).
pub async fn view(env: &Env) -> Rc<View> {
    let now = now();
    let cached = STATE.with(|s| s.borrow().catalogue.clone());
    if let Some(catalogue) = &cached {
        if now.saturating_sub(catalogue.checked_at) < RECHECK_MS {
            return catalogue.view.clone();
        }
    }
    let have = cached.as_ref().map(|c| c.view.version);
    let op = super::catalogue_store::CatalogueOp::Snapshot { have };
    match objects::call::<_, SnapshotReply>(env, CATALOGUE, CATALOGUE_NAME, &op).await {
        Ok(reply) => {
            let view = match (reply.snapshot, cached) {
                (Some(snapshot), _) => Rc::new(View::new(snapshot)),
                (None, Some(cached)) if cached.view.version == reply.version => cached.view,
                (None, _) => Rc::new(View::empty()),
            };
            set_view(view.clone(), now);
            view
        }
        Err(why) => {
            console_error!("toolgate: catalogue object unavailable: {why}");
            cached.map_or_else(|| Rc::new(View::empty()), |c| c.view)
        }
    }
}

/// Whether this isolate's catalogue view agrees with a list ([`View::agrees`]): then
/// telling the catalogue object about it would change nothing.
pub fn view_agrees(seen: &[crate::catalogue::Seen], complete: bool) -> bool {
    STATE.with(|s| {
        s.borrow()
            .catalogue
            .as_ref()
            .is_some_and(|c| c.view.agrees(seen, complete))
    })
}

/// Makes `view` this isolate's catalogue (after an observation changed it).
pub fn set_view(view: Rc<View>, checked_at: u64) {
    STATE.with(|s| {
        s.borrow_mut().catalogue = Some(Catalogue { view, checked_at });
    });
}

/// Forgets this isolate's catalogue view (after the pins were reset or accepted).
pub fn forget_view() {
    STATE.with(|s| s.borrow_mut().catalogue = None);
}

/// A request id in flight: claimed until dropped.
pub struct Claim(String);

impl Claim {
    /// Claims `key`, unless it is in flight already.
    pub fn take(key: String) -> Option<Claim> {
        STATE
            .with(|s| s.borrow_mut().in_flight.insert(key.clone()))
            .then_some(Claim(key))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        STATE.with(|s| {
            s.borrow_mut().in_flight.remove(&self.0);
        });
    }
}

/// Whether the last request this isolate sent to the origin was answered (false before
/// the first one): while it is not, requests are preceded by a connect probe.
pub fn origin_answering() -> bool {
    STATE.with(|s| s.borrow().origin_answering)
}

/// Records whether a request to the origin was answered.
pub fn note_origin(answered: bool) {
    STATE.with(|s| s.borrow_mut().origin_answering = answered);
}

/// Whether `grant` may make one more request this minute in this isolate (an exact
/// rolling window of `per_minute`), counting it if so.
pub fn within_budget(grant: &str, per_minute: u64) -> bool {
    let max = u32::try_from(per_minute).unwrap_or(u32::MAX);
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        if state.budgets.len() > 10_000 {
            let now = now();
            state.budgets.retain(|_, log| log.count(now, 60_000) > 0);
        }
        state
            .budgets
            .entry(grant.to_owned())
            .or_default()
            .admit(now(), 60_000, max)
            .is_ok()
    })
}

/// The most audit records one write carries; the record that fills a batch writes it
/// at once.
pub const AUDIT_BATCH_MAX: usize = 50;

/// What queueing an audit record asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// The record is the first of a new batch: its caller writes the batch later.
    Opened,
    /// An open batch took it.
    Joined,
    /// It filled the batch: its caller writes the batch now.
    Full,
}

/// Queues an audit record for this isolate's next batch write.
pub fn queue_audit(record: Record) -> Batch {
    STATE.with(|s| {
        let queue = &mut s.borrow_mut().audit;
        queue.push(record);
        match queue.len() {
            n if n >= AUDIT_BATCH_MAX => Batch::Full,
            1 => Batch::Opened,
            _ => Batch::Joined,
        }
    })
}

/// Takes every queued audit record, oldest first.
pub fn take_audit() -> Vec<Record> {
    STATE.with(|s| std::mem::take(&mut s.borrow_mut().audit))
}

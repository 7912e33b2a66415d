//! The Cloudflare Worker (feature `worker`): the edge around the core.
//!
//! Every decision is the core's: the flow of a call is [`crate::pipeline::Call`], the
//! filter of origin answers [`crate::filter`], the counters' arithmetic
//! [`crate::ratelimit`]. This module and its children move bytes and call storage:
//!
//! - [`routing`]: reads (or discards) every request body first, then routes: `/mcp`,
//!   `/admin/*`, the playground's assets;
//! - [`call`]: drives one [`crate::pipeline::Call`] for `/mcp`, performing its steps;
//! - [`origin`]: requests to the origin, its answers streamed through the filter, and
//!   the gateway's own catalogue fetch;
//! - [`isolate`]: what each isolate keeps (configuration, the policy in force, the
//!   session key, the catalogue view, ids in flight, the coarse budget);
//! - the Durable Objects: [`counter`] (rate counters), [`control`] (approvals, stored
//!   policies, the session key), [`audit_store`] (the audit log), [`catalogue_store`]
//!   (the origin's catalogue and its pins);
//! - [`objects`]: how the Worker talks to them;
//! - [`admin`]: the admin API.

pub mod admin;
pub mod audit_store;
pub mod call;
pub mod catalogue_store;
pub mod control;
pub mod counter;
pub mod isolate;
pub mod objects;
pub mod origin;
pub mod routing;

pub use audit_store::AuditStore;
pub use catalogue_store::CatalogueStore;
pub use control::ControlStore;
pub use counter::RateCounter;

use worker::{event, Context, Env, Request, Response};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    Ok(routing::route(req, env, ctx).await)
}

//! toolgate: an MCP policy gateway.
//!
//! The crate is one pure core and thin adapters around it. The core (no features) does
//! no I/O and reads no clock: time comes in as `now_ms`, stored state comes in as a value.
//!
//! - [`json`]: the strict JSON parser every message and policy goes through;
//! - [`policy`]: the policy format, validation with JSON Pointer errors, matching;
//! - [`mcp`]: the JSON-RPC envelope, header checks, the answers toolgate gives;
//! - [`eval`]: what a policy decides for one message;
//! - [`ratelimit`]: exact rolling-window counters, as a pure state machine;
//! - [`approval`], [`audit`]: human approvals and audit records;
//! - [`config`]: the gateway's vars and secrets, and authentication;
//! - [`sse`]: event-by-event rewriting of an SSE stream;
//! - [`catalogue`]: a tool's risk category and status under a policy;
//! - [`json_api`]: strings in, strings out, for the CLI and the playground.
//!
//! Adapters: `gateway`, `counter`, `store` and `admin` (feature `worker`) make the
//! Cloudflare Worker; `playground` (feature `playground`) is the browser module.

pub mod approval;
pub mod audit;
pub mod catalogue;
pub mod config;
pub mod eval;
pub mod json;
pub mod json_api;
pub mod mcp;
pub mod policy;
pub mod ratelimit;
pub mod sse;

#[cfg(feature = "worker")]
pub mod admin;
#[cfg(feature = "worker")]
pub mod counter;
#[cfg(feature = "worker")]
pub mod gateway;
#[cfg(feature = "playground")]
pub mod playground;
#[cfg(feature = "worker")]
pub mod store;

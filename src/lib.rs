//! toolgate: an MCP policy gateway.
//!
//! The crate is one pure core and thin adapters around it:
//!
//! - [`policy`]: the policy format, validation with JSON Pointer errors, matching;
//! - [`mcp`]: strict JSON-RPC parsing and the answers toolgate gives in place of the origin;
//! - [`eval`]: what a policy decides for one message;
//! - [`ratelimit`]: the exact rolling-window counters, as a pure state machine;
//! - [`json_api`]: strings in, strings out, for the CLI and the playground;
//! - `gateway` (feature `worker`): the Cloudflare Worker;
//! - `playground` (feature `playground`): the browser module.
//!
//! The core does no I/O and reads no clock: time comes in as `now_ms`.

pub mod catalogue;
pub mod config;
pub mod eval;
pub mod json;
pub mod json_api;
pub mod mcp;
#[cfg(feature = "playground")]
pub mod playground;
pub mod policy;
pub mod ratelimit;
pub mod sse;

pub mod approval;
pub mod audit;
#[cfg(feature = "worker")]
pub mod counter;
#[cfg(feature = "worker")]
pub mod gateway;

#[cfg(feature = "worker")]
pub mod admin;
#[cfg(feature = "worker")]
pub mod store;

//! toolgate: an MCP policy gateway.
//!
//! The crate is one pure core and thin adapters around it. The core (no features) does
//! no I/O and reads no clock: time comes in as `now_ms`, randomness as bytes, stored
//! state as a value.
//!
//! - [`json`]: the strict JSON parser every message, answer and policy goes through,
//!   with exact numbers;
//! - [`policy`]: the policy format, validation with JSON Pointer errors, matching;
//! - [`mcp`]: the JSON-RPC envelope, header checks, the answers toolgate gives;
//! - [`eval`]: what a policy decides for one message, monitor mode included;
//! - [`ratelimit`]: exact rolling-window counters, as a pure state machine;
//! - [`approval`], [`audit`]: human approvals and audit records;
//! - [`catalogue`]: the origin's tools as the gateway knows them, their pins and
//!   warnings, and what a policy does to each (for the playground);
//! - [`filter`]: the one filter every message from the origin passes;
//! - [`sse`]: event-by-event rewriting of an SSE stream;
//! - [`sessions`]: session ids bound to grants;
//! - [`config`]: the gateway's vars and secrets, and authentication;
//! - [`pipeline`]: one gateway request as a state machine the Worker drives;
//! - [`json_api`]: strings in, strings out, for the CLI and the playground.
//! - [`wire`]: the JSON of stored records and Durable Object messages, without serde.
//!
//! Adapters: [`gateway`] (feature `worker`, with its Durable Objects and admin API under
//! `gateway/`) is the Cloudflare Worker; `playground` (feature `playground`) is the
//! browser module.

pub mod approval;
pub mod audit;
pub mod catalogue;
pub mod config;
pub mod eval;
pub mod filter;
pub mod json;
pub mod json_api;
pub mod mcp;
pub mod pipeline;
pub mod policy;
pub mod ratelimit;
pub mod sessions;
pub mod sort;
pub mod sse;
pub mod wire;

#[cfg(feature = "worker")]
pub mod gateway;
#[cfg(feature = "playground")]
pub mod playground;

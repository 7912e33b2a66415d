//! The policy file as users write it: the documented format, and the source of
//! `policy.schema.json` (`toolgate schema`).
//!
//! These types describe the format; [`crate::policy::Policy::from_json`] is what reads it.
//! The loader walks the document itself because serde stops at the first error, while a
//! policy author wants every error at once, each at its JSON Pointer. The test
//! `spec_types_and_loader_agree` keeps the two in step.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A toolgate policy (`policy.json`). Every PolicyLayer v1 policy is a valid toolgate
/// policy with the same meaning.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "toolgate policy", extend("$id" = "https://toolgate.dev/policy.schema.json"))]
pub struct PolicySpec {
    /// The format version. Always `"1"`.
    pub version: VersionSpec,
    /// The fate of a tool that no key of `tools` matches: `allow` lets it through,
    /// `deny` hides it (it is removed from `tools/list` and calls to it are answered as
    /// if it did not exist).
    pub default: DefaultSpec,
    /// Tool names or `*` patterns removed from `tools/list`. A call to one is answered
    /// as if the tool did not exist. `hide` wins over every rule in `tools`.
    #[serde(default)]
    pub hide: Vec<ToolPattern>,
    /// Restrictions counted for every `tools/call`.
    #[serde(default)]
    pub all_tools: Option<AllToolsSpec>,
    /// Per-tool rules. Keys are exact tool names or patterns in which `*` matches any
    /// run of characters. Every matching key applies: all their conditions must pass
    /// and all their limits are counted, so the order of keys never matters.
    #[serde(default)]
    pub tools: BTreeMap<ToolPattern, ToolRuleSpec>,
    /// `enforce` (the default) or `monitor`: monitored rules are reported in the
    /// decision's `monitor` field and the audit log, never applied. An entry's own `mode`
    /// overrides this one. Under a monitored policy nothing is hidden from `tools/list`.
    #[serde(default)]
    pub mode: Option<ModeSpec>,
    /// Tool-definition pinning: the gateway pins each tool's definition the first time it
    /// sees it; a tool that appears later, or whose definition changes, is unreviewed
    /// until an operator accepts it. Absent means off.
    #[serde(default)]
    pub pin: Option<PinSpec>,
}

/// Whether rules are applied or only reported.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModeSpec {
    /// Rules are applied.
    Enforce,
    /// Rules are reported, never applied.
    Monitor,
}

/// Tool-definition pinning.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinSpec {
    /// What happens to a tool whose definition changed since it was pinned (a new tool
    /// is always hidden until accepted): `hide` removes it from `tools/list` and answers
    /// calls as if it did not exist; `deny` lists it with its pinned definition and
    /// denies calls.
    pub on_change: OnChangeSpec,
}

/// What happens to a changed tool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnChangeSpec {
    /// Hidden until accepted.
    Hide,
    /// Listed with its pinned definition; calls denied until accepted.
    Deny,
}

/// The only supported format version.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum VersionSpec {
    /// Version 1.
    #[serde(rename = "1")]
    V1,
}

/// What happens to a tool that no key of `tools` matches.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefaultSpec {
    /// Unlisted tools are allowed.
    Allow,
    /// Unlisted tools are hidden.
    Deny,
}

/// An exact tool name, or a pattern where `*` matches any run of characters.
/// Characters: `A-Z a-z 0-9 _ . -` and `*`, 1 to 128 of them.
#[derive(Debug, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
pub struct ToolPattern(#[schemars(pattern(r"^[A-Za-z0-9_.*-]{1,128}$"))] pub String);

/// Restrictions that apply to every tool call.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllToolsSpec {
    /// Rate limits counted for every `tools/call`.
    #[serde(default)]
    pub limits: Vec<LimitSpec>,
}

/// The rule for the tools a key of `tools` matches.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolRuleSpec {
    /// `allow` (the default) or `deny`. A denied tool stays visible in `tools/list`, and
    /// every call to it is denied.
    #[serde(default)]
    pub action: Option<ActionSpec>,
    /// The call is denied if **any** of these conditions holds, or cannot be evaluated.
    #[serde(default)]
    pub deny_if: Vec<ConditionSpec>,
    /// The call is denied unless **all** of these conditions hold. A condition that
    /// cannot be evaluated denies.
    #[serde(default)]
    pub require: Vec<ConditionSpec>,
    /// Rate limits counted for each call to a matching tool.
    #[serde(default)]
    pub limits: Vec<LimitSpec>,
    /// The call waits for a human to approve it.
    #[serde(default)]
    pub approval: Option<ApprovalSpec>,
    /// The message the agent reads when this entry denies a call.
    #[serde(default)]
    pub on_deny: Option<String>,
    /// PolicyLayer's name for `on_deny` (give one of the two, not both).
    #[serde(default)]
    pub reason: Option<String>,
    /// PolicyLayer's shorthand for one limit on the counter `KEY_rate`, scope `grant`.
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// `enforce` or `monitor`, for this entry's rules only (overrides the policy's).
    #[serde(default)]
    pub mode: Option<ModeSpec>,
}

/// PolicyLayer's rate-limit shorthand.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// The most calls in one window (1 to 1,000,000).
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max: u32,
    /// A window name, or its length in seconds: `1`, `60`, `3600` or `86400`.
    pub window: RateWindowSpec,
}

/// A window by name or by seconds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RateWindowSpec {
    /// `second`, `minute`, `hour` or `day`.
    Name(WindowSpec),
    /// 1, 60, 3600 or 86400 seconds.
    Seconds(u32),
}

/// Allow or deny every call to the tool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionSpec {
    /// Calls go on to conditions, approval and limits.
    Allow,
    /// Every call is denied.
    Deny,
}

/// A test on the call's arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// Where in the call to look: `args.` then object keys, array indexes or `*` (every
    /// element: in `deny_if` the condition holds if it holds for any, in `require` only
    /// if it holds for all), separated by dots, as in `args.lines.*.amount`. A step that
    /// meets the wrong kind of value (a key on an array, anything on a string) cannot be
    /// evaluated, and the call is denied.
    pub path: String,
    /// The comparison.
    pub op: OpSpec,
    /// What to compare with. Required by every op but `exists`, where `false` means
    /// "must be absent" and no value or `true` means "must be present".
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

/// Condition operators. Numbers compare by their exact decimal value. A condition that
/// cannot be evaluated (its path is missing for any op but `exists`, a step meets the
/// wrong kind of value, or the value has the wrong type for `lt`, `lte`, `gt`, `gte`,
/// `regex` or `contains`) denies the call.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpSpec {
    /// Equal JSON values; numbers compare by value, other types are never equal.
    Eq,
    /// Not equal, as `eq` reads equality.
    Neq,
    /// Equal to one of the values of an array.
    In,
    /// Equal to none of the values of an array.
    NotIn,
    /// A number less than the value.
    Lt,
    /// A number less than or equal to the value.
    Lte,
    /// A number greater than the value.
    Gt,
    /// A number greater than or equal to the value.
    Gte,
    /// A string matched anywhere by a regular expression (unanchored; the syntax of Rust's
    /// `regex-lite`: Rust regex syntax, with `\\d`, `\\w`, `\\s` and case folding over ASCII,
    /// and no Unicode classes).
    Regex,
    /// A string containing the value as a substring, or an array containing the value.
    Contains,
    /// The path is present (no value, or `true`) or absent (`false`).
    Exists,
}

/// A rolling-window rate limit: no more than `max` calls are admitted in any span of one
/// window, for each scope key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// The counter's name. Every limit that names a counter shares its budget, so every
    /// such limit must give the same `window`, `max` and `scope`.
    #[schemars(length(min = 1, max = 128))]
    pub counter: String,
    /// The span of the rolling window.
    pub window: WindowSpec,
    /// The most calls admitted in any one window (1 to 1,000,000).
    #[schemars(range(min = 1, max = 1_000_000))]
    pub max: u32,
    /// Who shares the budget: each grant (the default), each session of each grant, or
    /// everyone.
    #[serde(default)]
    pub scope: Option<ScopeSpec>,
}

/// Rolling window lengths.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WindowSpec {
    /// 1,000 ms.
    Second,
    /// 60,000 ms.
    Minute,
    /// 3,600,000 ms.
    Hour,
    /// 86,400,000 ms.
    Day,
}

/// Who shares a counter's budget.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeSpec {
    /// One budget per grant.
    Grant,
    /// One budget per grant and `Mcp-Session-Id`; requests without a session share the
    /// grant's session-less budget.
    Session,
    /// One budget for everyone.
    Global,
}

/// Human approval.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSpec {
    /// Approval is needed only when **all** these conditions hold; without `if`, every
    /// call needs it. A condition that cannot be evaluated needs approval.
    #[serde(default, rename = "if")]
    pub if_: Vec<ConditionSpec>,
    /// How long a pending or approved approval lives: a number and a unit, `s`, `m`,
    /// `h` or `d` (`30s`, `15m`, `1h`, `1d`). Default `1h`.
    #[serde(default)]
    #[schemars(pattern(r"^[0-9]+[smhd]$"))]
    pub ttl: Option<String>,
}

/// The policy's JSON Schema, generated from these types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PolicySpec)).unwrap_or_default()
}

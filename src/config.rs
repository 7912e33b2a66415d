//! The gateway's configuration (CONTRACT §3): Worker vars and secrets, read and checked
//! once per isolate, and bearer-token authentication against it.
//!
//! Nothing here echoes a secret's value: errors name the variable and what is wrong.

use crate::json::Document;
use crate::policy::{Policy, PolicyErrors};
use sha2::{Digest, Sha256};

/// The default limit on a request body: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// The default time the origin has to start answering.
pub const DEFAULT_ORIGIN_TIMEOUT_MS: u64 = 30_000;

/// The raw variables, as the Worker's environment gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars<'a> {
    pub origin_url: Option<&'a str>,
    pub policy: Option<&'a str>,
    pub grants: Option<&'a str>,
    pub origin_headers: Option<&'a str>,
    pub admins: Option<&'a str>,
    pub max_body_bytes: Option<&'a str>,
    pub origin_timeout_ms: Option<&'a str>,
    pub approval_webhook_url: Option<&'a str>,
    pub audit_retention_days: Option<&'a str>,
    pub approval_key: Option<&'a str>,
    pub requests_per_minute: Option<&'a str>,
}

/// A problem with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("`{0}` is not set")]
    Missing(&'static str),
    #[error("`{0}` must be an absolute http or https url")]
    Url(&'static str),
    #[error("`POLICY` is invalid:\n{0}")]
    Policy(PolicyErrors),
    #[error("`{0}` must be a json object of id to lowercase hex sha-256 of the token: {1}")]
    Tokens(&'static str, String),
    #[error("`ORIGIN_HEADERS` must be a json object of header name to string value: {0}")]
    OriginHeaders(String),
    #[error("`{0}` must be a positive integer")]
    Number(&'static str),
}

/// A token digest and whom it belongs to.
#[derive(Debug, Clone)]
struct Credential {
    id: String,
    sha256: [u8; 32],
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub origin_url: String,
    pub policy: Policy,
    grants: Vec<Credential>,
    /// Headers added to every origin request.
    pub origin_headers: Vec<(String, String)>,
    admins: Option<Vec<Credential>>,
    pub max_body_bytes: usize,
    pub origin_timeout_ms: u64,
    /// Where new pending approvals are announced, if anywhere.
    pub approval_webhook_url: Option<String>,
    /// How long audit records are kept.
    pub audit_retention_days: u64,
    /// The key that seals approval arguments at rest: from `APPROVAL_KEY`, or else derived
    /// from `ADMINS`. Without either, nobody can decide an approval, and no arguments are
    /// kept.
    pub approval_key: Option<[u8; 32]>,
    /// Each grant's coarse request budget over all methods (CONTRACT §3).
    pub requests_per_minute: u64,
}

/// The default audit retention.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 30;

/// The default coarse request budget of a grant.
pub const DEFAULT_REQUESTS_PER_MINUTE: u64 = 600;

impl Config {
    /// Reads and checks every variable; returns every problem found.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let origin_url = match vars.origin_url.map(str::trim) {
            None | Some("") => {
                errors.push(ConfigError::Missing("ORIGIN_URL"));
                None
            }
            Some(url) if is_http_url(url) => Some(url.to_owned()),
            Some(_) => {
                errors.push(ConfigError::Url("ORIGIN_URL"));
                None
            }
        };
        let policy = match vars.policy {
            None => {
                errors.push(ConfigError::Missing("POLICY"));
                None
            }
            Some(text) => Policy::from_json(text)
                .map_err(|e| errors.push(ConfigError::Policy(e)))
                .ok(),
        };
        let grants = match vars.grants {
            None => {
                errors.push(ConfigError::Missing("GRANTS"));
                None
            }
            Some(text) => credentials("GRANTS", text).map_err(|e| errors.push(e)).ok(),
        };
        let admins = match vars.admins {
            None => None,
            Some(text) => credentials("ADMINS", text).map_err(|e| errors.push(e)).ok(),
        };
        let origin_headers = match vars.origin_headers {
            None => Some(Vec::new()),
            Some(text) => origin_headers(text).map_err(|e| errors.push(e)).ok(),
        };
        let max_body_bytes = number(
            vars.max_body_bytes,
            "MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES as u64,
        )
        .map_err(|e| errors.push(e))
        .ok();
        let origin_timeout_ms = number(
            vars.origin_timeout_ms,
            "ORIGIN_TIMEOUT_MS",
            DEFAULT_ORIGIN_TIMEOUT_MS,
        )
        .map_err(|e| errors.push(e))
        .ok();
        let approval_webhook_url = match vars.approval_webhook_url.map(str::trim) {
            None | Some("") => None,
            Some(url) if is_http_url(url) => Some(url.to_owned()),
            Some(_) => {
                errors.push(ConfigError::Url("APPROVAL_WEBHOOK_URL"));
                None
            }
        };
        let audit_retention_days = number(
            vars.audit_retention_days,
            "AUDIT_RETENTION_DAYS",
            DEFAULT_AUDIT_RETENTION_DAYS,
        )
        .map_err(|e| errors.push(e))
        .unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS);
        let requests_per_minute = number(
            vars.requests_per_minute,
            "REQUESTS_PER_MINUTE",
            DEFAULT_REQUESTS_PER_MINUTE,
        )
        .map_err(|e| errors.push(e))
        .unwrap_or(DEFAULT_REQUESTS_PER_MINUTE);
        match (
            origin_url,
            policy,
            grants,
            origin_headers,
            max_body_bytes,
            origin_timeout_ms,
        ) {
            (
                Some(origin_url),
                Some(policy),
                Some(grants),
                Some(origin_headers),
                Some(max),
                Some(timeout),
            ) if errors.is_empty() => Ok(Config {
                origin_url,
                policy,
                grants,
                origin_headers,
                admins,
                max_body_bytes: usize::try_from(max).unwrap_or(DEFAULT_MAX_BODY_BYTES),
                origin_timeout_ms: timeout,
                approval_webhook_url,
                audit_retention_days,
                approval_key: vars
                    .approval_key
                    .filter(|k| !k.trim().is_empty())
                    .or(vars.admins)
                    .map(crate::approval::sealing_key),
                requests_per_minute,
            }),
            _ => Err(errors),
        }
    }

    /// The grant a bearer token belongs to. Every grant's digest is compared, in constant
    /// time, whatever the token.
    pub fn grant_for(&self, token: &str) -> Option<&str> {
        find(&self.grants, token)
    }

    /// Whether `/admin/*` is enabled (`ADMINS` is set).
    pub fn has_admins(&self) -> bool {
        self.admins.is_some()
    }

    /// The admin a bearer token belongs to, compared in constant time.
    pub fn admin_for(&self, token: &str) -> Option<&str> {
        find(self.admins.as_deref().unwrap_or_default(), token)
    }
}

fn find<'c>(credentials: &'c [Credential], token: &str) -> Option<&'c str> {
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut found = None;
    for credential in credentials {
        if constant_time_eq(&credential.sha256, &digest) && found.is_none() {
            found = Some(credential.id.as_str());
        }
    }
    found
}

/// Compares two digests without an early exit.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !r.contains(char::is_whitespace)
    })
}

/// The host and port an `http(s)://` URL connects to: the port written, or the
/// scheme's (80, 443). An IPv6 host is given without its brackets.
pub fn host_port(url: &str) -> Option<(&str, u16)> {
    let (rest, default_port) = match url.strip_prefix("https://") {
        Some(rest) => (rest, 443),
        None => (url.strip_prefix("http://")?, 80),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = match port {
        None => default_port,
        Some(p) => p.parse().ok()?,
    };
    (!host.is_empty()).then_some((host, port))
}

fn number(text: Option<&str>, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match text.map(str::trim) {
        None | Some("") => Ok(default),
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(ConfigError::Number(name)),
    }
}

fn credentials(name: &'static str, text: &str) -> Result<Vec<Credential>, ConfigError> {
    let doc = Document::parse(text.as_bytes())
        .map_err(|e| ConfigError::Tokens(name, format!("invalid json: {}", e.kind)))?;
    let root = doc.root();
    if !root.is_object() {
        return Err(ConfigError::Tokens(name, "not an object".to_owned()));
    }
    root.members()
        .map(|(id, digest)| {
            let id = id.as_str().unwrap_or_default().into_owned();
            let hex = digest.as_str().unwrap_or_default();
            let sha256 = parse_hex32(&hex).ok_or_else(|| {
                ConfigError::Tokens(
                    name,
                    format!("the value for `{id}` is not 64 lowercase hex digits"),
                )
            })?;
            if id.is_empty() {
                return Err(ConfigError::Tokens(name, "an id is empty".to_owned()));
            }
            Ok(Credential { id, sha256 })
        })
        .collect()
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

fn origin_headers(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let doc = Document::parse(text.as_bytes())
        .map_err(|e| ConfigError::OriginHeaders(format!("invalid json: {}", e.kind)))?;
    let root = doc.root();
    if !root.is_object() {
        return Err(ConfigError::OriginHeaders("not an object".to_owned()));
    }
    root.members()
        .map(|(name, value)| {
            let name = name.as_str().unwrap_or_default().into_owned();
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                return Err(ConfigError::OriginHeaders(format!(
                    "`{name}` is not a valid header name"
                )));
            }
            match value.as_str() {
                Some(v) if !v.contains(['\r', '\n']) => Ok((name, v.into_owned())),
                _ => Err(ConfigError::OriginHeaders(format!(
                    "the value of `{name}` must be a string on one line"
                ))),
            }
        })
        .collect()
}

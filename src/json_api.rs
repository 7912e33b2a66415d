//! The JSON façade: strings in, strings out. The `toolgate` CLI and the browser
//! playground both call these functions, so they give the same answers for the same input.

use crate::eval::{CallContext, Decision, Session};
use crate::json;
use crate::policy::{Policy, PolicyError, PolicyErrors};
use serde_json::{json, Value};

/// Validates a policy: `{"ok":true,"summary":...}` or
/// `{"ok":false,"errors":[{"pointer":...,"message":...}]}`.
pub fn check(policy: &str) -> String {
    match Policy::from_json(policy) {
        Ok(p) => json!({ "ok": true, "summary": p.summary() }).to_string(),
        Err(PolicyErrors(errors)) => json!({ "ok": false, "errors": errors }).to_string(),
    }
}

/// The policy's JSON Schema, pretty-printed.
pub fn schema() -> String {
    serde_json::to_string_pretty(&crate::policy::spec::schema()).unwrap_or_default()
}

/// One line of `toolgate eval` input, read.
#[derive(Debug)]
pub struct EvalLine {
    /// The message's raw bytes.
    pub body: Vec<u8>,
    pub grant: String,
    pub session: Option<String>,
    pub at_ms: u64,
}

/// Reads one `eval` line: `{"body": MESSAGE, "grant": "g1", "session": "s1", "at_ms": 0}`,
/// where MESSAGE is the message as a JSON value, or a JSON string holding its raw bytes.
pub fn parse_eval_line(line: &str) -> Result<EvalLine, String> {
    let members = json::raw_members(line).map_err(|e| format!("not a json object: {e}"))?;
    let mut out = EvalLine {
        body: Vec::new(),
        grant: "anonymous".to_owned(),
        session: None,
        at_ms: 0,
    };
    let mut has_body = false;
    for (key, raw) in members {
        let field = || json::parse(raw.as_bytes()).map_err(|e| format!("`{key}`: {e}"));
        match key.as_str() {
            "body" => {
                has_body = true;
                out.body = if raw.starts_with('"') {
                    match field()? {
                        Value::String(s) => s.into_bytes(),
                        _ => return Err("`body` must be a json value or a string".to_owned()),
                    }
                } else {
                    raw.as_bytes().to_vec()
                };
            }
            "grant" => match field()? {
                Value::String(s) => out.grant = s,
                _ => return Err("`grant` must be a string".to_owned()),
            },
            "session" => match field()? {
                Value::String(s) => out.session = Some(s),
                Value::Null => out.session = None,
                _ => return Err("`session` must be a string or null".to_owned()),
            },
            "at_ms" => match field()? {
                Value::Number(n) if n.is_u64() => out.at_ms = n.as_u64().unwrap_or(0),
                _ => return Err("`at_ms` must be a non-negative integer".to_owned()),
            },
            other => {
                return Err(format!(
                    "unknown field `{other}`, expected `body`, `grant`, `session` or `at_ms`"
                ))
            }
        }
    }
    if !has_body {
        return Err("missing field `body`".to_owned());
    }
    Ok(out)
}

/// A running `toolgate eval`: one policy, counters that persist from line to line.
#[derive(Debug)]
pub struct Evaluator {
    session: Session,
    line: usize,
    /// Whether some input line could not be read.
    pub had_bad_line: bool,
}

impl Evaluator {
    /// Loads the policy, or returns its errors.
    pub fn new(policy: &str) -> Result<Self, Vec<PolicyError>> {
        let policy = Policy::from_json(policy).map_err(|e| e.0)?;
        Ok(Evaluator {
            session: Session::new(policy),
            line: 0,
            had_bad_line: false,
        })
    }

    /// Evaluates one input line. Blank lines give `None`; every other line gives one
    /// decision object. A line that cannot be read gives an `invalid` decision naming
    /// the line.
    pub fn line(&mut self, line: &str) -> Option<Decision> {
        self.line += 1;
        self.decide_line(line)
    }

    /// Like [`Evaluator::line`], for a line as raw bytes. A line that is not UTF-8 holds
    /// a body the gateway would refuse as a parse error (`-32700`), and gets that decision.
    pub fn line_bytes(&mut self, line: &[u8]) -> Option<Decision> {
        self.line += 1;
        match std::str::from_utf8(line) {
            Ok(text) => self.decide_line(text),
            Err(e) => Some(Decision::invalid(&crate::mcp::Invalid {
                code: crate::mcp::PARSE_ERROR,
                message: format!(
                    "parse error: invalid utf-8 at byte {} of eval line {}",
                    e.valid_up_to(),
                    self.line
                ),
                method: None,
                tool: None,
                id: None,
            })),
        }
    }

    fn decide_line(&mut self, line: &str) -> Option<Decision> {
        if line.trim().is_empty() {
            return None;
        }
        Some(match parse_eval_line(line) {
            Ok(call) => self.session.decide(
                &call.body,
                CallContext {
                    grant: &call.grant,
                    session: call.session.as_deref(),
                    at_ms: call.at_ms,
                },
            ),
            Err(why) => {
                self.had_bad_line = true;
                Decision {
                    decision: crate::eval::Outcome::Invalid,
                    method: None,
                    tool: None,
                    rule: None,
                    message: Some(format!("eval line {}: {why}", self.line)),
                    retry_after_ms: None,
                    approval_id: None,
                    expires_at: None,
                    code: None,
                }
            }
        })
    }
}

/// Runs `toolgate eval` over a whole input: one decision object a line, or
/// `{"ok":false,"errors":[...]}` when the policy is invalid.
pub fn eval_jsonl(policy: &str, input: &str) -> String {
    let mut evaluator = match Evaluator::new(policy) {
        Ok(e) => e,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let mut out = String::new();
    for line in input.lines() {
        if let Some(decision) = evaluator.line(line) {
            out.push_str(&serde_json::to_string(&decision).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

/// Evaluates one `eval` line on a fresh session and returns the decision with what the
/// agent would receive: `{"decision":{...},"response":{"status":200,"body":{...}}}`, where
/// `response` is `null` when the call would go to the origin.
pub fn simulate(policy: &str, line: &str) -> String {
    let mut evaluator = match Evaluator::new(policy) {
        Ok(e) => e,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let id = parse_eval_line(line)
        .ok()
        .and_then(|l| json::parse(&l.body).ok())
        .and_then(|v| v.get("id").cloned());
    let Some(decision) = evaluator.line(line) else {
        return json!({ "ok": false, "errors": [{"pointer": "", "message": "empty call"}] })
            .to_string();
    };
    let response = decision
        .agent_response(id.as_ref())
        .map(|(status, body)| json!({ "status": status, "body": body }));
    json!({ "ok": true, "decision": decision, "response": response }).to_string()
}

/// Filters a `tools/list` response (or a bare array of tools) as the gateway would.
pub fn list_tools(policy: &str, tools: &str) -> String {
    let policy = match Policy::from_json(policy) {
        Ok(p) => p,
        Err(PolicyErrors(errors)) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let mut response = match json::parse(tools.as_bytes()) {
        Ok(Value::Array(items)) => json!({ "jsonrpc": "2.0", "id": 1, "result": { "tools": items } }),
        Ok(v) => v,
        Err(e) => {
            return json!({ "ok": false, "errors": [{"pointer": e.pointer, "message": e.to_string()}] })
                .to_string()
        }
    };
    policy.filter_tools_list(&mut response);
    json!({ "ok": true, "response": response }).to_string()
}

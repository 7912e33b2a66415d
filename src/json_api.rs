//! The JSON façade: strings in, strings out. The `toolgate` CLI and the browser
//! playground both call these functions, so they give the same answers for the same input.

use crate::catalogue::{self, tools_from_json, View};
use crate::eval::{CallContext, Decision, Outcome, Session};
use crate::filter::{Filter, Report};
use crate::json::{self, json_eq, raw_members, Document};
use crate::policy::{Policy, PolicyError, PolicyErrors};
use serde_json::json;
use std::borrow::Cow;

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
pub struct EvalLine<'a> {
    /// The message's raw bytes.
    pub body: Cow<'a, [u8]>,
    pub grant: Cow<'a, str>,
    pub session: Option<Cow<'a, str>>,
    pub at_ms: u64,
    /// For `toolgate test`: the expected fields, as JSON text.
    pub expect: Option<&'a str>,
}

/// Reads one `eval` line: `{"body": MESSAGE, "grant": "g1", "session": "s1", "at_ms": 0}`,
/// where MESSAGE is the message as a JSON value, or a JSON string holding its raw bytes.
/// With `expect_allowed`, an `expect` member is taken too (`toolgate test`).
pub fn parse_eval_line(line: &str, expect_allowed: bool) -> Result<EvalLine<'_>, String> {
    let members = raw_members(line).map_err(|e| format!("not a json object: {e}"))?;
    let mut out = EvalLine {
        body: Cow::Borrowed(&[]),
        grant: Cow::Borrowed("anonymous"),
        session: None,
        at_ms: 0,
        expect: None,
    };
    let mut has_body = false;
    for (key, raw) in members {
        let field = || Document::parse(raw.as_bytes()).map_err(|e| format!("`{key}`: {e}"));
        match key.as_ref() {
            "body" => {
                has_body = true;
                out.body = if raw.starts_with('"') {
                    let doc = field()?;
                    match doc.root().as_str() {
                        Some(s) => Cow::Owned(s.into_owned().into_bytes()),
                        None => return Err("`body` must be a json value or a string".to_owned()),
                    }
                } else {
                    Cow::Borrowed(raw.as_bytes())
                };
            }
            "grant" => {
                let doc = field()?;
                match doc.root().as_str() {
                    Some(s) => out.grant = Cow::Owned(s.into_owned()),
                    None => return Err("`grant` must be a string".to_owned()),
                }
            }
            "session" => {
                let doc = field()?;
                let root = doc.root();
                if root.is_null() {
                    out.session = None;
                } else {
                    match root.as_str() {
                        Some(s) => out.session = Some(Cow::Owned(s.into_owned())),
                        None => return Err("`session` must be a string or null".to_owned()),
                    }
                }
            }
            "at_ms" => {
                let doc = field()?;
                match doc.root().as_number().and_then(|n| {
                    n.as_str()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                        .then(|| n.as_u64())
                        .flatten()
                }) {
                    Some(n) => out.at_ms = n,
                    None => return Err("`at_ms` must be a non-negative integer".to_owned()),
                }
            }
            "expect" if expect_allowed => {
                let doc = field()?;
                if !doc.root().is_object() {
                    return Err("`expect` must be an object of decision fields".to_owned());
                }
                out.expect = Some(raw);
            }
            other => {
                let expected = if expect_allowed {
                    "`body`, `grant`, `session`, `at_ms` or `expect`"
                } else {
                    "`body`, `grant`, `session` or `at_ms`"
                };
                return Err(format!("unknown field `{other}`, expected {expected}"));
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
    /// Parse buffers, reused from line to line.
    tape: Option<crate::json::Tape>,
}

/// The members of a well-formed eval line, as slots of its document (the fast path).
struct LineFields {
    body: u32,
    grant: Option<u32>,
    session: Option<u32>,
    at_ms: u64,
    expect: Option<std::ops::Range<usize>>,
}

/// Reads an eval line that is strict JSON with a JSON object as `body` and fields of the
/// right types; `None` for anything else (the slow path then says exactly what is wrong,
/// or reads a `body` given as a string of raw bytes).
fn line_fields(doc: &Document<'_>, test: bool) -> Option<LineFields> {
    let root = doc.root();
    if !root.is_object() {
        return None;
    }
    let mut fields = LineFields {
        body: 0,
        grant: None,
        session: None,
        at_ms: 0,
        expect: None,
    };
    let mut has_body = false;
    for (key, value) in root.members() {
        if key.str_eq("body") && value.is_object() {
            fields.body = value.index();
            has_body = true;
        } else if key.str_eq("grant") && value.kind() == crate::json::Kind::String {
            fields.grant = Some(value.index());
        } else if key.str_eq("session") && value.kind() == crate::json::Kind::String {
            fields.session = Some(value.index());
        } else if key.str_eq("session") && value.is_null() {
        } else if key.str_eq("at_ms") {
            let n = value.as_number()?;
            if !n.as_str().bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            fields.at_ms = match n.as_small_integer() {
                Some(small) => small.unsigned_abs(),
                None => n.as_u64()?,
            };
        } else if test && key.str_eq("expect") && value.is_object() {
            fields.expect = Some(value.span());
        } else {
            return None;
        }
    }
    has_body.then_some(fields)
}

impl Evaluator {
    /// Loads the policy, or returns its errors.
    pub fn new(policy: &str) -> Result<Self, Vec<PolicyError>> {
        let policy = Policy::from_json(policy).map_err(|e| e.0)?;
        Ok(Evaluator {
            session: Session::new(policy),
            line: 0,
            had_bad_line: false,
            tape: Some(crate::json::Tape::default()),
        })
    }

    /// Evaluates one input line. Blank lines give `None`; every other line gives one
    /// decision object. A line that cannot be read gives an `invalid` decision naming
    /// the line.
    pub fn line(&mut self, line: &str) -> Option<Decision> {
        self.line += 1;
        self.decide_line(line, false).map(|(d, _)| d)
    }

    /// Like [`Evaluator::line`], for a line as raw bytes. A line that is not UTF-8 holds
    /// a body the gateway would refuse as a parse error (`-32700`), and gets that decision.
    pub fn line_bytes(&mut self, line: &[u8]) -> Option<Decision> {
        self.line += 1;
        match std::str::from_utf8(line) {
            Ok(text) => self.decide_line(text, false).map(|(d, _)| d),
            Err(e) => Some(self.unreadable(
                format!(
                    "parse error: invalid utf-8 at byte {} of eval line {}",
                    e.valid_up_to(),
                    self.line
                ),
                crate::mcp::PARSE_ERROR,
            )),
        }
    }

    fn unreadable(&self, message: String, code: i64) -> Decision {
        Decision::invalid(&crate::mcp::Invalid {
            code,
            message,
            method: None,
            tool: None,
            id: None,
        })
    }

    /// Decides a line; returns the decision and, for `test`, the `expect` text.
    // Not inlined: V8 moves a wasm function to its optimizing tier only between calls,
    // so the work of a line must be a call of its own for a long input to run fast.
    #[inline(never)]
    fn decide_line<'l>(
        &mut self,
        line: &'l str,
        test: bool,
    ) -> Option<(Decision, Option<&'l str>)> {
        // A line of a call starts with `{`; anything else may be blank.
        if !line.starts_with('{') && line.trim().is_empty() {
            return None;
        }
        // The fast path: the line is strict JSON and its body a message object, read once.
        let tape = self.tape.take().unwrap_or_default();
        let tape = match Document::parse_str_reusing(line, tape) {
            Ok(doc) => match line_fields(&doc, test) {
                Some(fields) => return Some(self.decide_fields(doc, fields, line)),
                None => doc.into_tape(),
            },
            Err(_) => crate::json::Tape::default(),
        };
        self.tape = Some(tape);
        Some(match parse_eval_line(line, test) {
            Ok(call) => {
                let decision = self.session.decide(
                    &call.body,
                    CallContext {
                        grant: &call.grant,
                        session: call.session.as_deref(),
                        at_ms: call.at_ms,
                    },
                );
                (decision, call.expect)
            }
            Err(why) => {
                self.had_bad_line = true;
                let mut decision = self.unreadable(format!("eval line {}: {why}", self.line), 0);
                decision.code = None;
                (decision, None)
            }
        })
    }

    fn decide_fields<'l>(
        &mut self,
        doc: Document<'_>,
        fields: LineFields,
        line: &'l str,
    ) -> (Decision, Option<&'l str>) {
        let expect = fields.expect.and_then(|span| line.get(span));
        match crate::mcp::classify_at(doc, fields.body) {
            Ok(message) => {
                let text =
                    |slot: Option<u32>| slot.and_then(|s| message.node(s)).and_then(|n| n.as_str());
                let grant = text(fields.grant);
                let session = text(fields.session);
                let decision = self.session.decide_message(
                    &message,
                    CallContext {
                        grant: grant.as_deref().unwrap_or("anonymous"),
                        session: session.as_deref(),
                        at_ms: fields.at_ms,
                    },
                );
                drop(grant);
                drop(session);
                self.tape = Some(message.into_tape());
                (decision, expect)
            }
            Err(invalid) => (Decision::invalid(&invalid), expect),
        }
    }
}

/// Runs `toolgate eval` over a whole input: one decision object a line, or
/// `{"ok":false,"errors":[...]}` when the policy is invalid.
pub fn eval_jsonl(policy: &str, input: &str) -> String {
    let mut evaluator = match Evaluator::new(policy) {
        Ok(e) => e,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let mut out = String::with_capacity(input.len());
    for line in input.lines() {
        if let Some(decision) = evaluator.line(line) {
            decision.write_json(&mut out);
            out.push('\n');
        }
    }
    out
}

/// One case of `toolgate test` that failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    /// The line of the case, from 1.
    pub line: usize,
    /// The expected fields.
    pub expected: serde_json::Value,
    /// The same fields of the decision (absent ones as `null`).
    pub actual: serde_json::Value,
    /// The whole decision, or why the line could not be read.
    pub decision: serde_json::Value,
}

/// The outcome of `toolgate test`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TestRun {
    pub passed: usize,
    pub failed: usize,
    pub failures: Vec<Failure>,
}

impl TestRun {
    /// What `toolgate test` prints: one line per failing case, then `N passed, M failed`.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for f in &self.failures {
            out.push_str(&format!(
                "FAIL line {}: expected {}, got {}\n",
                f.line, f.expected, f.actual
            ));
        }
        out.push_str(&format!("{} passed, {} failed\n", self.passed, self.failed));
        out
    }
}

/// Runs policy tests: `eval` lines with `expect`, in order, with shared counters.
pub fn run_tests(policy: &str, cases: &str) -> Result<TestRun, Vec<PolicyError>> {
    let mut evaluator = Evaluator::new(policy)?;
    let mut run = TestRun::default();
    for (index, line) in cases.lines().enumerate() {
        evaluator.line = index + 1;
        let Some((decision, expect)) = evaluator.decide_line(line, true) else {
            continue;
        };
        let decision_json = serde_json::to_value(&decision).unwrap_or_default();
        let Some(expect) = expect else {
            run.failed += 1;
            run.failures.push(Failure {
                line: index + 1,
                expected: json!(null),
                actual: json!({"decision": decision_json.get("decision"), "message": decision.message.as_deref()}),
                decision: decision_json,
            });
            if decision.decision != Outcome::Invalid {
                if let Some(f) = run.failures.last_mut() {
                    f.actual = json!({ "error": "the case has no `expect`" });
                }
            }
            continue;
        };
        let (pass, expected, actual) = compare(expect, &decision);
        if pass {
            run.passed += 1;
        } else {
            run.failed += 1;
            run.failures.push(Failure {
                line: index + 1,
                expected,
                actual,
                decision: decision_json,
            });
        }
    }
    Ok(run)
}

/// Whether every field of `expect` equals the decision's field (numbers by exact value;
/// `null` expects the field to be absent). Returns the expected and actual fields too.
fn compare(expect: &str, decision: &Decision) -> (bool, serde_json::Value, serde_json::Value) {
    let decision_text = decision.to_json();
    let (Ok(expect_doc), Ok(decision_doc)) = (
        Document::parse(expect.as_bytes()),
        Document::parse(decision_text.as_bytes()),
    ) else {
        return (false, json!(null), json!(null));
    };
    let mut pass = true;
    let mut expected = serde_json::Map::new();
    let mut actual = serde_json::Map::new();
    for (key, want) in expect_doc.root().members() {
        let key = key.as_str().unwrap_or_default().into_owned();
        let got = decision_doc.root().get(&key);
        let ok = match got {
            Some(got) => json_eq(want, got),
            None => want.is_null(),
        };
        pass &= ok;
        expected.insert(
            key.clone(),
            serde_json::from_str(want.raw()).unwrap_or_default(),
        );
        actual.insert(
            key,
            got.map(|g| serde_json::from_str(g.raw()).unwrap_or_default())
                .unwrap_or(serde_json::Value::Null),
        );
    }
    (pass, expected.into(), actual.into())
}

/// `toolgate check --tools`: the policy's errors, or its summary and the warnings of the
/// catalogue against it (keys, `hide` entries and patterns that match no tool; tools left
/// to `default`; descriptions that address the model). `{"ok":...,"summary",
/// "warnings":[{"pointer","message"}]}`.
pub fn check_tools(policy: &str, tools: &str) -> String {
    let policy = match Policy::from_json(policy) {
        Ok(p) => p,
        Err(PolicyErrors(errors)) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let tools = match tools_from_json(tools) {
        Ok(t) => t,
        Err(errors) => {
            let errors: Vec<PolicyError> = errors
                .into_iter()
                .map(|e| PolicyError {
                    pointer: format!("tools:{}", e.pointer),
                    message: e.message,
                })
                .collect();
            return json!({ "ok": false, "errors": errors }).to_string();
        }
    };
    let warnings = tools_warnings(&policy, &tools);
    json!({ "ok": true, "summary": policy.summary(), "warnings": warnings }).to_string()
}

/// The warnings of [`check_tools`].
pub fn tools_warnings(policy: &Policy, tools: &[catalogue::Tool]) -> Vec<PolicyError> {
    let mut warnings = Vec::new();
    let warn = |warnings: &mut Vec<PolicyError>, pointer: String, message: String| {
        warnings.push(PolicyError { pointer, message });
    };
    for entry in policy.entries() {
        if !tools.iter().any(|t| entry.pattern.matches(&t.name)) {
            let what = if entry.pattern.is_glob() {
                "pattern"
            } else {
                "key"
            };
            warn(
                &mut warnings,
                entry.pointer().to_string(),
                format!(
                    "the {what} `{}` matches no tool of the catalogue (a typo?)",
                    entry.pattern.as_str()
                ),
            );
        }
    }
    for (i, hide) in policy.hide().iter().enumerate() {
        if !tools.iter().any(|t| hide.matches(&t.name)) {
            warn(
                &mut warnings,
                format!("/hide/{i}"),
                format!(
                    "`{}` matches no tool of the catalogue (a typo?)",
                    hide.as_str()
                ),
            );
        }
    }
    let default = match policy.default_action() {
        crate::policy::DefaultAction::Allow => "allow: it is listed and callable",
        crate::policy::DefaultAction::Deny => "deny: it is hidden",
    };
    for tool in tools {
        if policy.matching(&tool.name).is_empty() && policy.hidden_by(&tool.name).is_none() {
            warn(
                &mut warnings,
                "/default".to_owned(),
                format!(
                    "tool `{}` is left to `default` ({default}); no key of `tools` matches it",
                    tool.name
                ),
            );
        }
    }
    let median = catalogue::median_description(tools);
    for tool in tools {
        let Ok(doc) = Document::parse(tool.raw.as_bytes()) else {
            continue;
        };
        for message in catalogue::warnings(doc.root(), median) {
            warn(
                &mut warnings,
                format!("tools:{}", json::push_pointer("", &tool.name)),
                format!("tool `{}`: {message}", tool.name),
            );
        }
    }
    warnings
}

/// Evaluates one `eval` line on a fresh session and returns the decision with what the
/// agent would receive: `{"decision":{...},"response":{"status":200,"body":{...}}}`, where
/// `response` is `null` when the call would go to the origin.
pub fn simulate(policy: &str, line: &str) -> String {
    simulate_with(policy, line, None)
}

/// [`simulate`], with the gateway's pin statuses when there are some.
fn simulate_with(
    policy: &str,
    line: &str,
    pins: Option<std::collections::HashMap<String, crate::eval::PinState>>,
) -> String {
    let mut evaluator = match Evaluator::new(policy) {
        Ok(e) => e,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let id = parse_eval_line(line, false).ok().and_then(|l| {
        Document::parse(&l.body)
            .ok()
            .and_then(|d| d.root().get("id").map(|i| i.raw().to_owned()))
    });
    if let Some(pins) = pins {
        evaluator.session.set_pins(pins);
    }
    let Some(decision) = evaluator.line(line) else {
        return json!({ "ok": false, "errors": [{"pointer": "", "message": "empty call"}] })
            .to_string();
    };
    let response = (decision.decision != Outcome::Allow).then(|| {
        let status = if decision.decision == Outcome::Invalid {
            400
        } else {
            200
        };
        let body = crate::pipeline::refusal_body(&decision, id.as_deref(), false);
        json!({ "status": status, "body": serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default() })
    });
    json!({ "ok": true, "decision": decision, "response": response }).to_string()
}

/// Filters a `tools/list` response (or a bare array of tools) as the gateway would, with
/// no pins known: `{"ok":true,"response":...,"removed":N,"monitor_hidden":M}`.
pub fn list_tools(policy: &str, tools: &str) -> String {
    let policy = match Policy::from_json(policy) {
        Ok(p) => p,
        Err(PolicyErrors(errors)) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let text = match Document::parse(tools.as_bytes()) {
        Ok(doc) if doc.root().is_array() => {
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"tools":{}}}}}"#, doc.text())
        }
        Ok(doc) => doc.text().to_owned(),
        Err(e) => {
            return json!({ "ok": false, "errors": [{"pointer": e.pointer, "message": e.to_string()}] })
                .to_string()
        }
    };
    let view = View::empty();
    let mut report = Report::default();
    match Filter::new(&policy, &view).message(&text, &mut report) {
        Ok(filtered) => format!(
            r#"{{"ok":true,"response":{filtered},"removed":{},"monitor_hidden":{}}}"#,
            report.removed, report.monitor_hidden
        ),
        Err(e) => json!({ "ok": false, "errors": [{"pointer": "", "message": e.to_string()}] })
            .to_string(),
    }
}

/// [`run_tests`] as JSON, for the playground: `{"ok":true,"passed","failed","failures",
/// "report"}` or `{"ok":false,"errors":[...]}`.
pub fn run_tests_json(policy: &str, cases: &str) -> String {
    match run_tests(policy, cases) {
        Ok(run) => json!({
            "ok": true,
            "passed": run.passed,
            "failed": run.failed,
            "failures": run.failures,
            "report": run.report(),
        })
        .to_string(),
        Err(errors) => json!({ "ok": false, "errors": errors }).to_string(),
    }
}

// ----------------------------------------------------------------- pins in the playground

/// Reads `{"tool": "pinned" | "changed" | "new", ...}`: the pin status of each tool of a
/// gateway's catalogue (CONTRACT §8), as [`crate::catalogue::view::pin_state`] reads it.
/// An empty text is no pins.
fn pins_from_json(
    pins: &str,
) -> Result<std::collections::HashMap<String, crate::eval::PinState>, PolicyError> {
    let mut out = std::collections::HashMap::new();
    if pins.trim().is_empty() {
        return Ok(out);
    }
    let doc = Document::parse(pins.as_bytes()).map_err(|e| PolicyError {
        pointer: format!("pins:{}", e.pointer),
        message: format!("invalid json: {e}"),
    })?;
    if !doc.root().is_object() {
        return Err(PolicyError {
            pointer: "pins:".to_owned(),
            message: "expected an object of tool name to pin status".to_owned(),
        });
    }
    for (name, status) in doc.root().members() {
        let pin = crate::catalogue::view::pin_state(status.as_str().as_deref());
        if pin != crate::eval::PinState::Unknown {
            out.insert(name.as_str().unwrap_or_default().into_owned(), pin);
        }
    }
    Ok(out)
}

/// [`simulate`] for a catalogue with pins: `pins` is `{"tool": "changed", ...}`, and a
/// call is decided as the gateway that holds those pins decides it.
pub fn simulate_pinned(policy: &str, line: &str, pins: &str) -> String {
    let pins = match pins_from_json(pins) {
        Ok(p) => p,
        Err(e) => return json!({ "ok": false, "errors": [e] }).to_string(),
    };
    simulate_with(policy, line, (!pins.is_empty()).then_some(pins))
}

/// [`eval_jsonl`] for a catalogue with pins (see [`simulate_pinned`]).
pub fn eval_jsonl_pinned(policy: &str, input: &str, pins: &str) -> String {
    let pins = match pins_from_json(pins) {
        Ok(p) => p,
        Err(e) => return json!({ "ok": false, "errors": [e] }).to_string(),
    };
    let mut evaluator = match Evaluator::new(policy) {
        Ok(e) => e,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    evaluator.session.set_pins(pins);
    let mut out = String::with_capacity(input.len());
    for line in input.lines() {
        if let Some(decision) = evaluator.line(line) {
            decision.write_json(&mut out);
            out.push('\n');
        }
    }
    out
}

/// [`list_tools`] for a catalogue with pins: `pins` is `{"tool": "changed", ...}`. A tool
/// with no pin status counts as pinned. A changed tool that `pin.on_change: "deny"` would
/// list with its pinned definition is removed here, since only the gateway holds that
/// definition; `pinned_elsewhere` names those tools.
pub fn list_tools_pinned(policy: &str, tools: &str, pins: &str) -> String {
    use crate::catalogue::{definition_sha256, PinStatus, Snapshot, SnapshotTool};
    let pins = match pins_from_json(pins) {
        Ok(p) => p,
        Err(e) => return json!({ "ok": false, "errors": [e] }).to_string(),
    };
    if pins.is_empty() {
        return list_tools(policy, tools);
    }
    let parsed = match Policy::from_json(policy) {
        Ok(p) => p,
        Err(PolicyErrors(errors)) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let catalogue = match tools_from_json(tools) {
        Ok(t) => t,
        Err(errors) => return json!({ "ok": false, "errors": errors }).to_string(),
    };
    let mut snapshot = Snapshot {
        version: 1,
        seeded: true,
        tools: Vec::with_capacity(catalogue.len()),
    };
    let mut pinned_elsewhere = Vec::new();
    let deny_changes = parsed.mode().enforced()
        && parsed
            .pin()
            .is_some_and(|p| p.on_change == crate::policy::OnChange::Deny);
    for tool in &catalogue {
        let Ok(doc) = Document::parse(tool.raw.as_bytes()) else {
            continue;
        };
        let sha = definition_sha256(doc.root());
        let pin = pins
            .get(&tool.name)
            .copied()
            .unwrap_or(crate::eval::PinState::Pinned);
        let (status, pinned_sha256) = match pin {
            crate::eval::PinState::New => (PinStatus::New, None),
            // Only the gateway knows the pinned definition: any other hash stands for it.
            crate::eval::PinState::Changed => (PinStatus::Changed, Some(format!("not-{sha}"))),
            _ => (PinStatus::Pinned, Some(sha.clone())),
        };
        if status == PinStatus::Changed
            && deny_changes
            && parsed
                .listed(&tool.name, crate::eval::ToolFacts { pin }, false)
                .0
        {
            pinned_elsewhere.push(tool.name.clone());
        }
        snapshot.tools.push(SnapshotTool {
            name: tool.name.clone(),
            status,
            current_sha256: Some(sha),
            current: Some(tool.raw.clone()),
            pinned_sha256,
            pinned: None,
        });
    }
    let text = match Document::parse(tools.as_bytes()) {
        Ok(doc) if doc.root().is_array() => {
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"tools":{}}}}}"#, doc.text())
        }
        Ok(doc) => doc.text().to_owned(),
        Err(e) => {
            return json!({ "ok": false, "errors": [{"pointer": e.pointer, "message": e.to_string()}] })
                .to_string()
        }
    };
    let view = View::new(snapshot);
    let mut report = Report::default();
    match Filter::new(&parsed, &view).message(&text, &mut report) {
        Ok(filtered) => format!(
            r#"{{"ok":true,"response":{filtered},"removed":{},"monitor_hidden":{},"pinned_elsewhere":{}}}"#,
            report.removed,
            report.monitor_hidden,
            serde_json::to_string(&pinned_elsewhere).unwrap_or_else(|_| "[]".to_owned())
        ),
        Err(e) => json!({ "ok": false, "errors": [{"pointer": "", "message": e.to_string()}] })
            .to_string(),
    }
}

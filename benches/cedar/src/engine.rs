//! The Cedar side: loading `policy.cedar`, building one request per `eval` line and
//! reading Cedar's answer as a toolgate verdict. The child mode (`--cedar-child`) is a
//! loop over stdin around [`Engine::verdict`]; the parent uses [`Engine::evaluate`] once
//! more, untimed, for the coverage check.

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid,
    PolicyId, PolicySet, Request, Response, RestrictedExpression,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// "Cedar, whole policy set per request".
    Whole,
    /// "Cedar, tuned: only the action's policies" (the set split per action at load).
    Tuned,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "whole" => Some(Mode::Whole),
            "tuned" => Some(Mode::Tuned),
            _ => None,
        }
    }
    pub fn arg(self) -> &'static str {
        match self {
            Mode::Whole => "whole",
            Mode::Tuned => "tuned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    Hidden,
    /// A line the child could not read as an `eval` line (the workload has none).
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Hidden => "hidden",
            Verdict::Invalid => "invalid",
        }
    }
}

pub struct Engine {
    mode: Mode,
    whole: PolicySet,
    by_action: HashMap<String, PolicySet>,
    /// For an action no policy names: only the policies whose scope is any action.
    fallback: PolicySet,
    authorizer: Authorizer,
    entities: Entities,
    grant_type: EntityTypeName,
    action_type: EntityTypeName,
    resource: EntityUid,
}

/// What one line gave, with Cedar's response when a request was made.
pub struct Evaluated<'e> {
    pub verdict: Verdict,
    pub answer: Option<(Response, &'e PolicySet)>,
}

fn type_name(s: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(s).map_err(|e| e.to_string())
}

impl Engine {
    /// Parses the policy text; each policy takes its `@id` annotation as its id. The tuned
    /// split is made here, at load time, from each policy's action scope.
    pub fn load(text: &str, mode: Mode) -> Result<Engine, String> {
        let parsed = PolicySet::from_str(text).map_err(|e| format!("policy.cedar: {e}"))?;
        let mut whole = PolicySet::new();
        let mut by_action: HashMap<String, PolicySet> = HashMap::new();
        let mut any_action = Vec::new();
        let action_type = type_name("Action")?;
        for policy in parsed.policies() {
            let id = policy
                .annotation("id")
                .ok_or_else(|| format!("policy without @id: {policy}"))?
                .to_owned();
            let policy = policy.new_id(PolicyId::new(&id));
            let actions: Option<Vec<EntityUid>> = match policy.action_constraint() {
                ActionConstraint::Any => None,
                ActionConstraint::Eq(uid) => Some(vec![uid]),
                ActionConstraint::In(uids) => Some(uids),
            };
            match actions {
                // `action in Action::"group"` would need the entity hierarchy: such a
                // policy, or one over another action type, goes everywhere.
                Some(uids) if uids.iter().all(|u| u.type_name() == &action_type) => {
                    for uid in uids {
                        by_action
                            .entry(uid.id().unescaped().to_owned())
                            .or_default()
                            .add(policy.clone())
                            .map_err(|e| e.to_string())?;
                    }
                }
                _ => any_action.push(policy.clone()),
            }
            whole
                .add(policy)
                .map_err(|e| format!("policy `{id}`: {e}"))?;
        }
        let mut fallback = PolicySet::new();
        for policy in &any_action {
            fallback.add(policy.clone()).map_err(|e| e.to_string())?;
            for set in by_action.values_mut() {
                set.add(policy.clone()).map_err(|e| e.to_string())?;
            }
        }
        if mode == Mode::Whole {
            by_action.clear();
        }
        Ok(Engine {
            mode,
            whole,
            by_action,
            fallback,
            authorizer: Authorizer::new(),
            entities: Entities::empty(),
            grant_type: type_name("Grant")?,
            action_type,
            resource: EntityUid::from_type_name_and_id(type_name("Server")?, EntityId::new("odoo")),
        })
    }

    pub fn policy_count(&self) -> usize {
        self.whole.policies().count()
    }

    /// The largest per-action set of the tuned split, and the number of actions.
    pub fn split_stats(&self) -> (usize, usize) {
        let max = self
            .by_action
            .values()
            .map(|s| s.policies().count())
            .max()
            .unwrap_or(0);
        (max, self.by_action.len())
    }

    fn policies_for(&self, tool: &str) -> &PolicySet {
        match self.mode {
            Mode::Whole => &self.whole,
            Mode::Tuned => self.by_action.get(tool).unwrap_or(&self.fallback),
        }
    }

    /// One `eval` line, as a real integration would handle it: methods other than
    /// `tools/call` are allowed before Cedar is asked (as toolgate allows them); a
    /// `tools/call` becomes a Cedar request.
    pub fn evaluate(&self, line: &str) -> Evaluated<'_> {
        let invalid = Evaluated {
            verdict: Verdict::Invalid,
            answer: None,
        };
        let Ok(parsed) = serde_json::from_str::<Value>(line) else {
            return invalid;
        };
        let reparsed;
        let body = match parsed.get("body") {
            Some(Value::String(raw)) => match serde_json::from_str::<Value>(raw) {
                Ok(v) => {
                    reparsed = v;
                    &reparsed
                }
                Err(_) => return invalid,
            },
            Some(body) => body,
            None => return invalid,
        };
        if body.get("method").and_then(Value::as_str) != Some("tools/call") {
            return Evaluated {
                verdict: Verdict::Allow,
                answer: None,
            };
        }
        let params = body.get("params");
        let Some(tool) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
            return invalid;
        };
        let arguments = match params.and_then(|p| p.get("arguments")) {
            None => Ok(RestrictedExpression::new_record(std::iter::empty()).map_err(|_| ())),
            Some(args @ Value::Object(_)) => Ok(to_cedar(args)),
            Some(_) => Err(()),
        };
        let Ok(arguments) = arguments else {
            return invalid;
        };
        let grant = parsed
            .get("grant")
            .and_then(Value::as_str)
            .unwrap_or("anonymous");
        let policies = self.policies_for(tool);
        // Arguments Cedar cannot represent (null, a non-integer number): fail closed.
        let Ok(arguments) = arguments else {
            return Evaluated {
                verdict: Verdict::Deny,
                answer: None,
            };
        };
        let Ok(context) = Context::from_pairs([("args".to_owned(), arguments)]) else {
            return Evaluated {
                verdict: Verdict::Deny,
                answer: None,
            };
        };
        let request = Request::new(
            EntityUid::from_type_name_and_id(self.grant_type.clone(), EntityId::new(grant)),
            EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(tool)),
            self.resource.clone(),
            context,
            None,
        );
        let Ok(request) = request else {
            return Evaluated {
                verdict: Verdict::Deny,
                answer: None,
            };
        };
        let response = self
            .authorizer
            .is_authorized(&request, policies, &self.entities);
        Evaluated {
            verdict: verdict(&response),
            answer: Some((response, policies)),
        }
    }

    pub fn verdict(&self, line: &str) -> Verdict {
        self.evaluate(line).verdict
    }
}

/// Cedar's answer as toolgate's verdict, in toolgate's order (hidden before deny):
/// 1. a satisfied policy whose id starts with `hidden` → hidden;
/// 2. any evaluation error → deny (fail closed: Cedar skipped that policy, toolgate
///    denies a condition it cannot evaluate);
/// 3. Allow → allow; Deny with a reason (a satisfied forbid) → deny;
/// 4. Deny with no reason and no error: no policy names the action at all, a tool
///    outside the catalogue, hidden by `"default": "deny"`.
pub fn verdict(response: &Response) -> Verdict {
    let diagnostics = response.diagnostics();
    if diagnostics
        .reason()
        .any(|id| AsRef::<str>::as_ref(id).starts_with("hidden"))
    {
        return Verdict::Hidden;
    }
    if diagnostics.errors().next().is_some() {
        return Verdict::Deny;
    }
    match response.decision() {
        Decision::Allow => Verdict::Allow,
        Decision::Deny if diagnostics.reason().next().is_some() => Verdict::Deny,
        Decision::Deny => Verdict::Hidden,
    }
}

/// A JSON value as a Cedar value: strings, booleans, 64-bit integers, arrays as sets,
/// objects as records. `null` and other numbers have no Cedar value (`Err`). Built
/// directly, never through Cedar's JSON format, so an argument named `__entity` or
/// `__extn` stays plain data.
pub fn to_cedar(v: &Value) -> Result<RestrictedExpression, ()> {
    Ok(match v {
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => RestrictedExpression::new_long(n.as_i64().ok_or(())?),
        Value::Array(items) => RestrictedExpression::new_set(
            items.iter().map(to_cedar).collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Object(map) => RestrictedExpression::new_record(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), to_cedar(v)?)))
                .collect::<Result<Vec<_>, ()>>()?,
        )
        .map_err(|_| ())?,
        Value::Null => return Err(()),
    })
}

/// The child: `versus-cedar --cedar-child tuned|whole --policy policy.cedar < calls.jsonl`,
/// one verdict a line on stdout. Startup (reading and parsing the policy, the split) is
/// inside the timed process, as toolgate's is.
pub fn child(mode: Mode, policy_path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(policy_path).map_err(|e| format!("{policy_path}: {e}"))?;
    let engine = Engine::load(&text, mode)?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut line = String::new();
    loop {
        line.clear();
        let n = input
            .read_line(&mut line)
            .map_err(|e| format!("stdin: {e}"))?;
        if n == 0 {
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", engine.verdict(text).as_str()).map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))
}

//! One request through [`pipeline::Call`], step by step, with a fake host in place of the
//! Worker: every branch of CONTRACT §3 as a case of one table, each named for what it
//! shows, with the exact answer (status, headers, body), the steps the host was asked to
//! perform, what went to the origin, and the work left for after the answer (audit
//! records, refunds, observations, webhooks).

// The fake host's helpers are test code too (clippy.toml allows these in `#[test]` fns).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use toolgate::approval::{Approval, Status};
use toolgate::catalogue::{definition_sha256, Pins, Seen, View};
use toolgate::config::{Config, Vars};
use toolgate::filter::Report;
use toolgate::json::{sha256_hex, Document};
use toolgate::mcp;
use toolgate::pipeline::{
    self, Answer, ApprovalReply, ApprovalUse, Call, Context, Forwarded, Inbound, Reserved, Side,
    Step, Verb,
};
use toolgate::policy::Policy;
use toolgate::sessions;

const TOKEN: &str = "agent-token-1";
const OTHER_TOKEN: &str = "agent-token-2";
const KEY: [u8; 32] = [7; 32];
const ORIGIN_SESSION: &str = "origin-session-1";
const NOW: u64 = 1_000_000;
const ADMIN_URL: &str = "https://gw.example/admin.html";

const POLICY: &str = r#"{
  "version": "1",
  "default": "allow",
  "hide": ["ssh_execute", "secret_regional"],
  "tools": {
    "write_file": { "action": "deny", "on_deny": "writes are not allowed" },
    "deploy": { "approval": { "ttl": "15m" } },
    "release": { "approval": { "ttl": "15m" }, "limits": [ { "counter": "releases", "window": "hour", "max": 1, "scope": "grant" } ] },
    "search": { "limits": [
      { "counter": "search", "window": "minute", "max": 2, "scope": "grant" },
      { "counter": "search_session", "window": "hour", "max": 5, "scope": "session" }
    ] },
    "watched": { "mode": "monitor", "limits": [ { "counter": "watched", "window": "minute", "max": 1, "scope": "grant" } ] }
  }
}"#;

/// The origin's catalogue as the gateway learned it.
const TOOLS: &[&str] = &[
    r#"{"name":"read_file","inputSchema":{"type":"object"}}"#,
    r#"{"name":"ssh_execute","inputSchema":{"type":"object"}}"#,
    r#"{"name":"write_file","inputSchema":{"type":"object"}}"#,
    r#"{"name":"deploy","inputSchema":{"type":"object"}}"#,
    r#"{"name":"search","inputSchema":{"type":"object"}}"#,
    r#"{"name":"watched","inputSchema":{"type":"object"}}"#,
    r#"{"name":"regional","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}}"#,
    r#"{"name":"secret_regional","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}}"#,
    r#"{"name":"release","inputSchema":{"type":"object"}}"#,
];

// ---------------------------------------------------------------------------- the world

fn seen(raw: &str) -> Seen {
    let doc = Document::parse(raw.as_bytes()).unwrap();
    let root = doc.root();
    Seen {
        name: root.get("name").unwrap().as_str().unwrap().into_owned(),
        sha256: definition_sha256(root),
        raw: raw.to_owned(),
    }
}

fn catalogue() -> View {
    let mut pins = Pins::default();
    let tools: Vec<Seen> = TOOLS.iter().map(|t| seen(t)).collect();
    pins.observe(&tools, true);
    View::new(pins.snapshot(1))
}

/// What the isolate holds: configuration, policy, catalogue view.
struct World {
    config: Config,
    policy: Policy,
    view: View,
}

impl World {
    fn new(policy: &str, webhook: Option<&str>, requests_per_minute: Option<&str>) -> World {
        let grants = serde_json::json!({
            "g1": sha256_hex(TOKEN.as_bytes()),
            "g2": sha256_hex(OTHER_TOKEN.as_bytes()),
        })
        .to_string();
        let config = Config::from_vars(&Vars {
            origin_url: Some("https://origin.example/mcp"),
            policy: Some(policy),
            grants: Some(&grants),
            origin_headers: Some(r#"{"Authorization":"Bearer origin-secret","X-Tenant":"t1"}"#),
            approval_webhook_url: webhook,
            approval_key: Some("approval-key"),
            requests_per_minute,
            ..Vars::default()
        })
        .unwrap();
        World {
            policy: config.policy.clone(),
            config,
            view: catalogue(),
        }
    }

    fn cx(&self) -> Context<'_> {
        Context {
            config: &self.config,
            policy: &self.policy,
            policy_version: 3,
            view: &self.view,
            session_key: &KEY,
        }
    }
}

// ---------------------------------------------------------------------------- requests

#[derive(Clone)]
struct Request {
    verb: Verb,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn request(verb: Verb, body: &str) -> Request {
    Request {
        verb,
        headers: vec![
            ("authorization".into(), format!("Bearer {TOKEN}")),
            ("content-type".into(), "application/json".into()),
            (
                "accept".into(),
                "application/json, text/event-stream".into(),
            ),
            ("mcp-protocol-version".into(), "2025-06-18".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn post(body: &str) -> Request {
    request(Verb::Post, body)
}

fn call(id: &str, name: &str, arguments: &str) -> Request {
    post(&format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{name}","arguments":{arguments}}}}}"#
    ))
}

fn wrapped(grant: &str) -> String {
    sessions::wrap(&KEY, grant, ORIGIN_SESSION)
}

impl Request {
    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.into(), value.into()));
        self
    }
    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }
    /// With the session the gateway issued to grant g1.
    fn in_session(self) -> Self {
        self.header("mcp-session-id", &wrapped("g1"))
    }
    fn inbound(&self) -> Inbound {
        Inbound {
            verb: self.verb,
            headers: self.headers.clone(),
            body: self.body.clone(),
            now_ms: NOW,
            random: [9; 32],
            admin_url: Some(ADMIN_URL.into()),
        }
    }
}

// ---------------------------------------------------------------------------- the fake host

/// What the outside world answers. Defaults: the budget and the claim admit, every counter
/// takes the call (at 1000, 1001, …), the origin answers 200 JSON.
#[derive(Clone)]
struct Host {
    budget: bool,
    claim: bool,
    /// What the gateway's own catalogue fetch learns (`None`: it fails).
    fetched: Option<View>,
    approval: Option<Result<ApprovalReply, String>>,
    /// What using the approval says (by default: used).
    used: Option<Result<ApprovalUse, String>>,
    /// The counters' answers, one list per Reserve step.
    reserved: Vec<Vec<Result<Reserved, String>>>,
    origin: Forwarded,
    body: Result<Vec<u8>, String>,
}

fn host() -> Host {
    answered(200, &[("content-type", "application/json")], OK_RESULT)
}

const OK_RESULT: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"done"}]}}"#;

fn answered(status: u16, headers: &[(&str, &str)], body: &str) -> Host {
    Host {
        budget: true,
        claim: true,
        fetched: None,
        approval: None,
        used: None,
        reserved: Vec::new(),
        origin: Forwarded::Answered {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        },
        body: Ok(body.as_bytes().to_vec()),
    }
}

impl Host {
    fn origin(mut self, origin: Forwarded) -> Self {
        self.origin = origin;
        self
    }
    fn approval(mut self, reply: Result<ApprovalReply, String>) -> Self {
        self.approval = Some(reply);
        self
    }
    fn used(mut self, reply: Result<ApprovalUse, String>) -> Self {
        self.used = Some(reply);
        self
    }
    fn reserved(mut self, replies: Vec<Result<Reserved, String>>) -> Self {
        self.reserved.push(replies);
        self
    }
}

/// What one call did.
struct Run {
    steps: Vec<Step>,
    answer: Option<Answer>,
    stream: Option<pipeline::Stream>,
    sides: Vec<Side>,
    call: Call,
}

impl Run {
    fn forwarded(&self) -> Option<&pipeline::Forward> {
        self.steps.iter().find_map(|s| match s {
            Step::Forward(f) => Some(f),
            _ => None,
        })
    }
}

fn run(world: &mut World, request: &Request, mut host: Host) -> Run {
    let mut call = Call::new(request.inbound());
    let mut steps = Vec::new();
    let mut reserved = std::mem::take(&mut host.reserved).into_iter();
    let (mut answer, mut stream) = (None, None);
    for _ in 0..32 {
        let step = call.poll(&world.cx());
        steps.push(step.clone());
        match step {
            Step::Budget { .. } => call.on_budget(host.budget),
            Step::Claim { .. } => call.on_claim(host.claim),
            Step::FetchCatalogue => match host.fetched.take() {
                Some(view) => {
                    world.view = view;
                    call.on_catalogue(true);
                }
                None => call.on_catalogue(false),
            },
            Step::Approval { .. } => {
                let reply = host.approval.take().expect("an approval reply");
                call.on_approval(reply, &world.cx());
            }
            Step::UseApproval { .. } => {
                call.on_approval_used(host.used.take().unwrap_or(Ok(ApprovalUse::Used)));
            }
            Step::Reserve(list) => {
                let replies = reserved.next().unwrap_or_else(|| {
                    (0..list.len())
                        .map(|i| {
                            Ok(Reserved::Taken {
                                at: 1000 + i as u64,
                            })
                        })
                        .collect()
                });
                call.on_reserved(replies);
            }
            Step::Forward(_) => call.on_forwarded(host.origin.clone()),
            Step::ReadBody { .. } => call.on_body(host.body.clone(), &world.cx()),
            Step::Respond(a) => {
                answer = Some(a);
                break;
            }
            Step::Stream(s) => {
                stream = Some(s);
                break;
            }
        }
    }
    let sides = call.take_sides();
    Run {
        steps,
        answer,
        stream,
        sides,
        call,
    }
}

// ---------------------------------------------------------------------------- summaries

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Budget { .. } => "budget",
        Step::Claim { .. } => "claim",
        Step::FetchCatalogue => "fetch_catalogue",
        Step::Approval { .. } => "approval",
        Step::UseApproval { .. } => "use_approval",
        Step::Reserve(_) => "reserve",
        Step::Forward(_) => "forward",
        Step::ReadBody { .. } => "read_body",
        Step::Respond(_) => "respond",
        Step::Stream(_) => "stream",
    }
}

fn side_summary(side: &Side) -> String {
    match side {
        Side::Audit(r) => format!(
            "audit {} {} {}{}",
            r.decision,
            r.rule.as_deref().unwrap_or("-"),
            r.origin_status.map_or("-".to_owned(), |s| s.to_string()),
            r.monitor
                .as_ref()
                .map(|m| format!(" monitor={}", m.decision.name()))
                .unwrap_or_default()
        ),
        Side::Refund(taken) => format!(
            "refund {}",
            taken
                .iter()
                .map(|(k, at)| format!("{}@{at}", k.counter))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Side::Observe { seen, complete } => format!(
            "observe {} {}",
            seen.len(),
            if *complete { "complete" } else { "partial" }
        ),
        Side::Webhook(_) => "webhook".to_owned(),
        Side::Refresh => "refresh".to_owned(),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn error(id: &str, code: i64, message: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{}}}}}"#,
        serde_json::to_string(message).unwrap()
    )
}

fn refusal(id: &str, message: &str, decision: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":{}}}],"isError":true,"_meta":{{"toolgate/decision":{decision}}}}}}}"#,
        serde_json::to_string(message).unwrap()
    )
}

fn held(status: Status, note: Option<&str>) -> Approval {
    Approval {
        id: "ap-1".into(),
        binding: "binding".into(),
        grant: "g1".into(),
        tool: "deploy".into(),
        arguments_sha256: "0".repeat(64),
        policy_version: 3,
        rule: "/tools/deploy/approval".into(),
        arguments_sealed: None,
        status,
        created_at: NOW,
        expires_at: NOW + 900_000,
        decided_by: None,
        decided_at: None,
        note: note.map(Into::into),
    }
}

// ---------------------------------------------------------------------------- the table

/// One branch: what comes in, what the world answers, what must come out.
struct Case {
    name: &'static str,
    policy: &'static str,
    webhook: bool,
    /// The catalogue is not known yet.
    unknown_catalogue: bool,
    request: Request,
    host: Host,
    steps: &'static [&'static str],
    /// The answer, or for a stream its status and headers (body empty).
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    /// What went to the origin, headers exactly, when it went.
    forwarded: Option<Vec<(String, String)>>,
    sides: &'static [&'static str],
}

fn case(name: &'static str, request: Request) -> Case {
    Case {
        name,
        policy: POLICY,
        webhook: false,
        unknown_catalogue: false,
        request,
        host: host(),
        steps: &[],
        status: 0,
        headers: Vec::new(),
        body: String::new(),
        forwarded: None,
        sides: &[],
    }
}

impl Case {
    fn host(mut self, host: Host) -> Self {
        self.host = host;
        self
    }
    fn steps(mut self, steps: &'static [&'static str]) -> Self {
        self.steps = steps;
        self
    }
    fn answer(mut self, status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        self.status = status;
        self.headers = pairs(headers);
        self.body = body.to_owned();
        self
    }
    fn answer_headers(mut self, status: u16, headers: Vec<(String, String)>, body: &str) -> Self {
        self.status = status;
        self.headers = headers;
        self.body = body.to_owned();
        self
    }
    fn forwarded(mut self, headers: Vec<(String, String)>) -> Self {
        self.forwarded = Some(headers);
        self
    }
    fn sides(mut self, sides: &'static [&'static str]) -> Self {
        self.sides = sides;
        self
    }
    fn policy(mut self, policy: &'static str) -> Self {
        self.policy = policy;
        self
    }
    fn webhook(mut self) -> Self {
        self.webhook = true;
        self
    }
    fn unknown_catalogue(mut self) -> Self {
        self.unknown_catalogue = true;
        self
    }

    fn check(self) -> Vec<String> {
        let mut world = World::new(
            self.policy,
            self.webhook.then_some("https://hooks.example/x"),
            None,
        );
        if self.unknown_catalogue {
            world.view = View::empty();
        }
        let run = run(&mut world, &self.request, self.host.clone());
        let mut problems = Vec::new();
        let mut expect = |what: &str, got: String, want: String| {
            if got != want {
                problems.push(format!(
                    "{}: {what}\n     got: {got}\n    want: {want}",
                    self.name
                ));
            }
        };
        let steps: Vec<&str> = run.steps.iter().map(step_name).collect();
        expect("steps", format!("{steps:?}"), format!("{:?}", self.steps));
        let (status, headers, body) = match (&run.answer, &run.stream) {
            (Some(a), _) => (a.status, a.headers.clone(), a.body.clone()),
            (None, Some(s)) => (s.status, s.headers.clone(), String::new()),
            (None, None) => (0, Vec::new(), String::new()),
        };
        expect("status", status.to_string(), self.status.to_string());
        expect(
            "headers",
            format!("{headers:?}"),
            format!("{:?}", self.headers),
        );
        expect("body", body, self.body.clone());
        match (&self.forwarded, run.forwarded()) {
            (Some(want), Some(got)) => {
                expect(
                    "forwarded headers",
                    format!("{:?}", got.headers),
                    format!("{want:?}"),
                );
                if self.request.verb == Verb::Post {
                    expect(
                        "forwarded body",
                        String::from_utf8_lossy(got.body.as_deref().unwrap_or_default())
                            .into_owned(),
                        String::from_utf8_lossy(&self.request.body).into_owned(),
                    );
                } else {
                    expect(
                        "forwarded body",
                        format!("{:?}", got.body),
                        "None".to_owned(),
                    );
                }
            }
            (Some(_), None) => expect("forwarded", "nothing".into(), "a request".into()),
            (None, _) => {}
        }
        let sides: Vec<String> = run.sides.iter().map(side_summary).collect();
        expect("sides", format!("{sides:?}"), format!("{:?}", self.sides));
        problems
    }
}

/// The headers an allowed call carries to the origin, in order.
fn origin_headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut headers = pairs(&[
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-06-18"),
    ]);
    headers.extend(pairs(extra));
    headers.extend(pairs(&[
        ("authorization", "Bearer origin-secret"),
        ("x-tenant", "t1"),
    ]));
    headers
}

const HIDDEN_SSH: &str =
    r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unknown tool: ssh_execute"}}"#;
const TO_ORIGIN: &[&str] = &["budget", "claim", "forward", "read_body", "respond"];
const DENY_DEFAULT: &str =
    r#"{"version":"1","default":"deny","tools":{"read_file":{},"not_at_origin":{}}}"#;

fn cases() -> Vec<Case> {
    let session = wrapped("g1");
    let json_and_session = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("mcp-session-id".to_owned(), session.clone()),
    ];
    let unreachable = "bad gateway: the origin is unreachable: connection refused";
    vec![
        // ------------------------------------------------------------ authentication, budget
        case("no token: 401 with WWW-Authenticate, nothing else asked", call("1", "read_file", "{}").without("authorization"))
            .steps(&["respond"])
            .answer(401, &[JSON, ("www-authenticate", "Bearer realm=\"toolgate\"")], &error("null", -32001, "unauthorized: a valid bearer token is required")),
        case("an unknown token: 401", call("1", "read_file", "{}").header("authorization", "Bearer nope"))
            .steps(&["respond"])
            .answer(401, &[JSON, ("www-authenticate", "Bearer realm=\"toolgate\"")], &error("null", -32001, "unauthorized: a valid bearer token is required")),
        case("the coarse budget used up: 429 with Retry-After, before parsing", post("not json"))
            .host(Host { budget: false, ..host() })
            .steps(&["budget", "respond"])
            .answer(429, &[JSON, ("retry-after", "60")], &error("null", -32600, "too many requests: this grant's request budget is used up; retry in a minute")),
        // ------------------------------------------------------------ parse and headers
        case("not JSON: 400 -32700, no audit record (no method)", post("not json"))
            .steps(&["budget", "respond"])
            .answer(400, &[JSON], &parse_error("not json"))
            .sides(&[]),
        case("a bad tools/call envelope: 400 -32600 with an invalid record", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":[1]}}"#))
            .steps(&["budget", "respond"])
            .answer(400, &[JSON], &parse_error(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","arguments":[1]}}"#))
            .sides(&["audit invalid - -"]),
        case("Mcp-Method disagrees on tools/list: 400 -32020, no record", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).header("mcp-method", "tools/call"))
            .steps(&["budget", "respond"])
            .answer(400, &[JSON], &error("1", -32020, "header mismatch: Mcp-Method header `tools/call` does not match body `tools/list`"))
            .sides(&[]),
        case("Mcp-Name disagrees on tools/call: 400 -32020 with an invalid record", call("1", "read_file", "{}").header("mcp-name", "ssh_execute"))
            .steps(&["budget", "respond"])
            .answer(400, &[JSON], &error("1", -32020, "header mismatch: Mcp-Name header `ssh_execute` does not match body `read_file`"))
            .sides(&["audit invalid - -"]),
        // ------------------------------------------------------------ sessions
        case("POST with another grant's session: 404, nothing forwarded", call("1", "read_file", "{}").header("mcp-session-id", &wrapped("g2")))
            .steps(&["budget", "respond"])
            .answer(404, &[JSON], &error("1", -32600, SESSION_NOT_FOUND)),
        case("POST with the origin's raw id: 404", call("1", "read_file", "{}").header("mcp-session-id", ORIGIN_SESSION))
            .steps(&["budget", "respond"])
            .answer(404, &[JSON], &error("1", -32600, SESSION_NOT_FOUND)),
        case("GET with a made-up session: 404", request(Verb::Get, "").header("mcp-session-id", "tg1.00000000000000000000000000000000.x"))
            .steps(&["budget", "respond"])
            .answer(404, &[JSON], &error("null", -32600, SESSION_NOT_FOUND)),
        case("DELETE with another grant's session: 404", request(Verb::Delete, "").header("mcp-session-id", &wrapped("g2")))
            .steps(&["budget", "respond"])
            .answer(404, &[JSON], &error("null", -32600, SESSION_NOT_FOUND)),
        case("a session issued to the grant: forwarded with the origin's own id, the answer's id wrapped", call("1", "read_file", "{}").in_session())
            .host(answered(200, &[("content-type", "application/json"), ("mcp-session-id", ORIGIN_SESSION), ("set-cookie", "origin=1")], OK_RESULT))
            .steps(TO_ORIGIN)
            .answer_headers(200, json_and_session.clone(), OK_RESULT)
            .forwarded(origin_headers(&[("mcp-session-id", ORIGIN_SESSION)]))
            .sides(&["audit allow /default 200"]),
        case("GET: Last-Event-ID and the unwrapped session go on, no body; the stream is filtered", request(Verb::Get, "").in_session().header("last-event-id", "e7").header("user-agent", "agent/1"))
            .host(answered(200, &[("content-type", "text/event-stream"), ("mcp-session-id", ORIGIN_SESSION)], ""))
            .steps(&["budget", "forward", "stream"])
            .answer_headers(200, vec![("content-type".into(), "text/event-stream".into()), ("mcp-session-id".into(), session.clone())], "")
            .forwarded(origin_headers(&[("last-event-id", "e7"), ("mcp-session-id", ORIGIN_SESSION)])),
        case("DELETE: forwarded with the unwrapped session; the empty answer passes", request(Verb::Delete, "").in_session())
            .host(answered(200, &[("content-length", "0")], ""))
            .steps(&["budget", "forward", "respond"])
            .answer(200, &[], "")
            .forwarded(origin_headers(&[("mcp-session-id", ORIGIN_SESSION)])),
        // ------------------------------------------------------------ ids in flight
        case("a request id already in flight on the session: 409, nothing forwarded", call("\"x\"", "read_file", "{}").in_session())
            .host(Host { claim: false, ..host() })
            .steps(&["budget", "claim", "respond"])
            .answer(409, &[JSON], &error("\"x\"", -32600, "invalid request: request id \"x\" is already in flight on this session; wait for its answer or use another id")),
        // ------------------------------------------------------------ the catalogue
        case("the catalogue unknown: fetched first, then the call decided on it", call("1", "ssh_execute", "{}"))
            .unknown_catalogue()
            .host(Host { fetched: Some(catalogue()), ..host() })
            .steps(&["budget", "claim", "fetch_catalogue", "respond"])
            .answer(200, &[JSON], HIDDEN_SSH)
            .sides(&["audit hidden /hide/0 -"]),
        case("the catalogue cannot be read: 502, nothing forwarded, fail closed", call("1", "read_file", "{}"))
            .unknown_catalogue()
            .steps(&["budget", "claim", "fetch_catalogue", "respond"])
            .answer(502, &[JSON], &error("1", -32603, "toolgate could not read the origin's list of tools, so it cannot tell which tools exist; the call was not forwarded. Try again shortly"))
            .sides(&["audit deny - -"]),
        case("a name the origin does not list, under default allow: the hidden answer", call("1", "not_at_origin", "{}"))
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], &error("1", -32602, "Unknown tool: not_at_origin"))
            .sides(&["audit hidden - -"]),
        case("a name the origin does not list, listed by the policy: the hidden answer", call("1", "not_at_origin", "{}"))
            .policy(DENY_DEFAULT)
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], &error("1", -32602, "Unknown tool: not_at_origin"))
            .sides(&["audit hidden - -"]),
        // ------------------------------------------------------------ the policy
        case("hidden by `hide`: -32602 Unknown tool, nothing forwarded", call("1", "ssh_execute", "{}"))
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], HIDDEN_SSH)
            .sides(&["audit hidden /hide/0 -"]),
        case("hidden by `default: deny`", call("1", "ssh_execute", "{}"))
            .policy(DENY_DEFAULT)
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], HIDDEN_SSH)
            .sides(&["audit hidden /default -"]),
        case("a hidden tool with a declared Mcp-Param header that disagrees: still the hidden answer", call("1", "secret_regional", r#"{"region":"eu"}"#).header("mcp-param-region", "us"))
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], &error("1", -32602, "Unknown tool: secret_regional"))
            .sides(&["audit hidden /hide/1 -"]),
        case("denied: the isError result with the decision, nothing forwarded", call("1", "write_file", "{}"))
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], &refusal("1", "writes are not allowed", r#"{"decision":"deny","method":"tools/call","tool":"write_file","rule":"/tools/write_file/action","message":"writes are not allowed"}"#))
            .sides(&["audit deny /tools/write_file/action -"]),
        case("denied under 2026-07-28: resultType complete", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_file","arguments":{}}}"#).header("mcp-protocol-version", "2026-07-28").header("mcp-method", "tools/call").header("mcp-name", "write_file"))
            .steps(&["budget", "claim", "respond"])
            .answer(200, &[JSON], &refusal("1", "writes are not allowed", r#"{"decision":"deny","method":"tools/call","tool":"write_file","rule":"/tools/write_file/action","message":"writes are not allowed"}"#).replace(r#"}}}}"#, r#"}},"resultType":"complete"}}"#))
            .sides(&["audit deny /tools/write_file/action -"]),
        // ------------------------------------------------------------ approval
        case("approval held, just created: approval_required, and the webhook is called", call("1", "deploy", r#"{"env":"prod"}"#))
            .webhook()
            .host(host().approval(Ok(ApprovalReply::Held { approval: held(Status::Pending, None), created: true })))
            .steps(&["budget", "claim", "approval", "respond"])
            .answer(200, &[JSON], &refusal("1", APPROVAL_TEXT, &format!(r#"{{"decision":"approval_required","method":"tools/call","tool":"deploy","rule":"/tools/deploy/approval","message":{},"approval_id":"ap-1","expires_at":{}}}"#, serde_json::to_string(APPROVAL_TEXT).unwrap(), NOW + 900_000)))
            .sides(&["webhook", "audit approval_required /tools/deploy/approval -"]),
        case("approval held, already pending: no second webhook", call("1", "deploy", r#"{"env":"prod"}"#))
            .webhook()
            .host(host().approval(Ok(ApprovalReply::Held { approval: held(Status::Pending, None), created: false })))
            .steps(&["budget", "claim", "approval", "respond"])
            .answer(200, &[JSON], &refusal("1", APPROVAL_TEXT, &format!(r#"{{"decision":"approval_required","method":"tools/call","tool":"deploy","rule":"/tools/deploy/approval","message":{},"approval_id":"ap-1","expires_at":{}}}"#, serde_json::to_string(APPROVAL_TEXT).unwrap(), NOW + 900_000)))
            .sides(&["audit approval_required /tools/deploy/approval -"]),
        case("approval denied by an operator: deny with the operator's note", call("1", "deploy", r#"{"env":"prod"}"#))
            .host(host().approval(Ok(ApprovalReply::Denied { approval: held(Status::Denied, Some("not on a Friday")) })))
            .steps(&["budget", "claim", "approval", "respond"])
            .answer(200, &[JSON], &refusal("1", "not on a Friday", r#"{"decision":"deny","method":"tools/call","tool":"deploy","rule":"/tools/deploy/approval","message":"not on a Friday"}"#))
            .sides(&["audit deny /tools/deploy/approval -"]),
        case("approvals full for the grant: deny", call("1", "deploy", "{}"))
            .host(host().approval(Ok(ApprovalReply::Full)))
            .steps(&["budget", "claim", "approval", "respond"])
            .answer(200, &[JSON], &refusal("1", FULL_TEXT, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"deploy","rule":"/tools/deploy/approval","message":{}}}"#, serde_json::to_string(FULL_TEXT).unwrap())))
            .sides(&["audit deny /tools/deploy/approval -"]),
        case("approval store down: fail closed, nothing forwarded", call("1", "deploy", "{}"))
            .host(host().approval(Err("status 500".into())))
            .steps(&["budget", "claim", "approval", "respond"])
            .answer(200, &[JSON], &refusal("1", STORE_DOWN, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"deploy","rule":"/tools/deploy/approval","message":{}}}"#, serde_json::to_string(STORE_DOWN).unwrap())))
            .sides(&["audit deny /tools/deploy/approval -"]),
        case("approved: the approval is used, and the call passes to the origin", call("1", "deploy", "{}"))
            .host(host().approval(Ok(pass())))
            .steps(&["budget", "claim", "approval", "use_approval", "forward", "read_body", "respond"])
            .answer(200, &[JSON], OK_RESULT)
            .forwarded(origin_headers(&[]))
            .sides(&["audit allow /tools/deploy 200"]),
        case("approved with a limit: reserved first, then the approval used, then forwarded", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())))
            .steps(&["budget", "claim", "approval", "reserve", "use_approval", "forward", "read_body", "respond"])
            .answer(200, &[JSON], OK_RESULT)
            .forwarded(origin_headers(&[]))
            .sides(&["audit allow /tools/release 200"]),
        case("approved but the limit is full: rate_limited, and the approval is not used", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())).reserved(vec![Ok(Reserved::Full { retry_after_ms: 60_000 })]))
            .steps(&["budget", "claim", "approval", "reserve", "respond"])
            .answer(200, &[JSON], &refusal("1", RELEASES_FULL, &format!(r#"{{"decision":"rate_limited","method":"tools/call","tool":"release","rule":"/tools/release/limits/0","message":{},"retry_after_ms":60000}}"#, serde_json::to_string(RELEASES_FULL).unwrap())))
            .sides(&["audit rate_limited /tools/release/limits/0 -"]),
        case("approved but the counter unreachable: deny, and the approval is not used", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())).reserved(vec![Err("status 500".into())]))
            .steps(&["budget", "claim", "approval", "reserve", "respond"])
            .answer(200, &[JSON], &refusal("1", RELEASES_DOWN, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"release","rule":"/tools/release/limits/0","message":{}}}"#, serde_json::to_string(RELEASES_DOWN).unwrap())))
            .sides(&["audit deny /tools/release/limits/0 -"]),
        case("approved, but an identical call used the approval first: deny, the reservation refunded", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())).used(Ok(ApprovalUse::Gone { status: "used".into() })))
            .steps(&["budget", "claim", "approval", "reserve", "use_approval", "respond"])
            .answer(200, &[JSON], &refusal("1", USED_FIRST, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"release","rule":"/tools/release/approval","message":{}}}"#, serde_json::to_string(USED_FIRST).unwrap())))
            .sides(&["refund releases@1000", "audit deny /tools/release/approval -"]),
        case("approved, but it expired before it was used: deny, the reservation refunded", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())).used(Ok(ApprovalUse::Gone { status: "expired".into() })))
            .steps(&["budget", "claim", "approval", "reserve", "use_approval", "respond"])
            .answer(200, &[JSON], &refusal("1", EXPIRED_MEANWHILE, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"release","rule":"/tools/release/approval","message":{}}}"#, serde_json::to_string(EXPIRED_MEANWHILE).unwrap())))
            .sides(&["refund releases@1000", "audit deny /tools/release/approval -"]),
        case("approved, but the store fails when the approval is used: fail closed, the reservation refunded", call("1", "release", "{}"))
            .host(host().approval(Ok(pass())).used(Err("status 500".into())))
            .steps(&["budget", "claim", "approval", "reserve", "use_approval", "respond"])
            .answer(200, &[JSON], &refusal("1", STORE_DOWN, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"release","rule":"/tools/release/approval","message":{}}}"#, serde_json::to_string(STORE_DOWN).unwrap())))
            .sides(&["refund releases@1000", "audit deny /tools/release/approval -"]),
        // ------------------------------------------------------------ limits
        case("limits admit: both counters reserved, the call forwarded", call("1", "search", "{}").in_session())
            .steps(&["budget", "claim", "reserve", "forward", "read_body", "respond"])
            .answer(200, &[JSON], OK_RESULT)
            .forwarded(origin_headers(&[("mcp-session-id", ORIGIN_SESSION)]))
            .sides(&["audit allow /tools/search 200"]),
        case("a limit full: rate_limited, and what was taken is refunded", call("1", "search", "{}").in_session())
            .host(host().reserved(vec![Ok(Reserved::Taken { at: 1000 }), Ok(Reserved::Full { retry_after_ms: 4200 })]))
            .steps(&["budget", "claim", "reserve", "respond"])
            .answer(200, &[JSON], &refusal("1", "rate limit `search_session` exceeded: at most 5 calls per hour; retry in 4.2 s", r#"{"decision":"rate_limited","method":"tools/call","tool":"search","rule":"/tools/search/limits/1","message":"rate limit `search_session` exceeded: at most 5 calls per hour; retry in 4.2 s","retry_after_ms":4200}"#))
            .sides(&["refund search@1000", "audit rate_limited /tools/search/limits/1 -"]),
        case("a counter unreachable: fail closed, what was taken refunded", call("1", "search", "{}").in_session())
            .host(host().reserved(vec![Ok(Reserved::Taken { at: 1000 }), Err("status 500".into())]))
            .steps(&["budget", "claim", "reserve", "respond"])
            .answer(200, &[JSON], &refusal("1", COUNTER_DOWN, &format!(r#"{{"decision":"deny","method":"tools/call","tool":"search","rule":"/tools/search/limits/1","message":{}}}"#, serde_json::to_string(COUNTER_DOWN).unwrap())))
            .sides(&["refund search@1000", "audit deny /tools/search/limits/1 -"]),
        case("a monitored limit full: the call still goes, the record says what monitor would do", call("1", "watched", "{}"))
            .host(host().reserved(vec![Ok(Reserved::Full { retry_after_ms: 500 })]))
            .steps(&["budget", "claim", "reserve", "forward", "read_body", "respond"])
            .answer(200, &[JSON], OK_RESULT)
            .forwarded(origin_headers(&[]))
            .sides(&["audit allow /tools/watched 200 monitor=rate_limited"]),
        case("a monitored limit with room: counted, and given back with the rest when the origin refuses", call("1", "watched", "{}"))
            .host(answered(400, &[("content-type", "application/json")], r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#))
            .steps(&["budget", "claim", "reserve", "forward", "read_body", "respond"])
            .answer(400, &[JSON], r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#)
            .sides(&["refund watched@1000", "audit allow /tools/watched 400"]),
        // ------------------------------------------------------------ what reaches the origin
        case("only the allowlist, the validated Mcp-Param-*, and ORIGIN_HEADERS (which win) reach the origin", call("1", "regional", r#"{"region":"eu"}"#)
            .in_session()
            .header("mcp-param-region", "eu")
            .header("mcp-param-other", "x")
            .header("mcp-grant", "admin")
            .header("cookie", "sid=1")
            .header("user-agent", "agent/1")
            .header("accept-language", "fr")
            .header("x-forwarded-for", "203.0.113.1")
            .header("last-event-id", "e1")
            .header("x-tenant", "agent-tenant")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "regional"))
            .steps(TO_ORIGIN)
            .answer(200, &[JSON], OK_RESULT)
            .forwarded({
                let mut h = pairs(&[
                    ("content-type", "application/json"),
                    ("accept", "application/json, text/event-stream"),
                    ("mcp-protocol-version", "2025-06-18"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "regional"),
                    ("mcp-session-id", ORIGIN_SESSION),
                    ("mcp-param-region", "eu"),
                ]);
                h.extend(pairs(&[("authorization", "Bearer origin-secret"), ("x-tenant", "t1")]));
                h
            })
            .sides(&["audit allow /default 200"]),
        case("a declared Mcp-Param header that disagrees with the body: 400 -32020, not forwarded", call("1", "regional", r#"{"region":"eu"}"#).header("mcp-param-region", "us"))
            .steps(&["budget", "claim", "respond"])
            .answer(400, &[JSON], &error("1", -32020, "header mismatch: the mcp-param-region header does not match the argument `region`"))
            .sides(&["audit invalid - -"]),
        // ------------------------------------------------------------ the origin's answer
        case("origin unreachable: 502 with the id, refunded", call("1", "search", "{}"))
            .host(host().origin(Forwarded::Unreachable("connection refused".into())))
            .steps(&["budget", "claim", "reserve", "forward", "respond"])
            .answer(502, &[JSON], &error("1", -32603, unreachable))
            .sides(&["refund search@1000,search_session@1001", "audit allow /tools/search -"]),
        case("connection broken after sending: 502, not refunded", call("1", "search", "{}"))
            .host(host().origin(Forwarded::Broken("reset".into())))
            .steps(&["budget", "claim", "reserve", "forward", "respond"])
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the connection to the origin broke: reset (the call may have run, so its budget is not refunded)"))
            .sides(&["audit allow /tools/search -"]),
        case("origin timed out: 502, not refunded", call("1", "search", "{}"))
            .host(host().origin(Forwarded::TimedOut))
            .steps(&["budget", "claim", "reserve", "forward", "respond"])
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin did not answer within 30000 ms (the call may have run, so its budget is not refunded)"))
            .sides(&["audit allow /tools/search -"]),
        case("origin 5xx: 502, not refunded", call("1", "search", "{}"))
            .host(answered(503, &[("content-type", "text/plain")], "down"))
            .steps(&["budget", "claim", "reserve", "forward", "respond"])
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin answered HTTP 503 (the call may have run, so its budget is not refunded)"))
            .sides(&["audit allow /tools/search 503"]),
        case("origin 4xx JSON: refunded (not run), the answer filtered and passed", call("1", "search", "{}").in_session())
            .host(answered(404, &[("content-type", "application/json")], r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#))
            .steps(&["budget", "claim", "reserve", "forward", "read_body", "respond"])
            .answer(404, &[JSON], r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#)
            .sides(&["refund search@1000,search_session@1001", "audit allow /tools/search 404"]),
        case("origin 4xx plain text: refunded, then 502 (it cannot be checked)", call("1", "search", "{}"))
            .host(answered(400, &[("content-type", "text/plain")], "Bad Request: Missing session ID"))
            .steps(&["budget", "claim", "reserve", "forward", "read_body", "respond"])
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin's answer is neither json nor an event stream (`text/plain`), so toolgate cannot check it"))
            .sides(&["refund search@1000,search_session@1001", "audit allow /tools/search 400"]),
        case("a tools list in the answer to a tools/call is filtered too", call("1", "read_file", "{}"))
            .host(answered(200, &[("content-type", "application/json; charset=utf-8")], r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file"},{"name":"ssh_execute"},{"name":"secret_regional"}]}}"#))
            .steps(TO_ORIGIN)
            .answer(200, &[JSON], r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file"}]}}"#)
            .sides(&["audit allow /default 200"]),
        case("an answer that is a JSON array: 502, nothing passed on", call("1", "read_file", "{}"))
            .host(answered(200, &[("content-type", "application/json")], r#"[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ssh_execute"}]}}]"#))
            .steps(TO_ORIGIN)
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin sent an array where a json-rpc message (one object) belongs"))
            .sides(&["audit allow /default 200"]),
        case("a JSON answer with a byte-order mark: 502", call("1", "read_file", "{}"))
            .host(Host { body: Ok(format!("\u{feff}{OK_RESULT}").into_bytes()), ..host() })
            .steps(TO_ORIGIN)
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin's answer starts with a byte-order mark"))
            .sides(&["audit allow /default 200"]),
        case("a JSON answer larger than the read limit: 502", call("1", "read_file", "{}"))
            .host(Host { body: Err("the origin's answer is larger than the 16777216 bytes toolgate checks".into()), ..host() })
            .steps(TO_ORIGIN)
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin's answer is larger than the 16777216 bytes toolgate checks"))
            .sides(&["audit allow /default 200"]),
        case("an SSE answer: the Stream step, the gateway's content type, the session wrapped", call("1", "read_file", "{}").in_session())
            .host(answered(200, &[("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache"), ("mcp-session-id", ORIGIN_SESSION)], ""))
            .steps(&["budget", "claim", "forward", "stream"])
            .answer_headers(200, vec![("content-type".into(), "text/event-stream".into()), ("cache-control".into(), "no-cache".into()), ("mcp-session-id".into(), session.clone())], "")
            .sides(&["audit allow /default 200"]),
        case("an empty 202 to a notification passes, without a content type", post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).in_session())
            .host(answered(202, &[], ""))
            .steps(&["budget", "forward", "read_body", "respond"])
            .answer(202, &[], "")
            .forwarded(origin_headers(&[("mcp-session-id", ORIGIN_SESSION)])),
        case("another content type with a body: 502", post(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            .host(answered(200, &[("content-type", "text/html")], "<html>hi</html>"))
            .steps(TO_ORIGIN)
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin's answer is neither json nor an event stream (`text/html`), so toolgate cannot check it")),
        case("another content type, empty by its length: passes empty", post(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#))
            .host(answered(200, &[("content-type", "text/html"), ("content-length", "0")], ""))
            .steps(&["budget", "claim", "forward", "respond"])
            .answer(200, &[], ""),
        // ------------------------------------------------------------ tools/list
        case("tools/list JSON: filtered, its record and a complete observation", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))
            .host(answered(200, &[("content-type", "application/json")], &list_answer(None)))
            .steps(TO_ORIGIN)
            .answer(200, &[JSON], r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}}]}}"#)
            .sides(&["audit allow - 200", "observe 3 complete"]),
        case("tools/list with a next page: a partial observation", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))
            .host(answered(200, &[("content-type", "application/json")], &list_answer(Some("p2"))))
            .steps(TO_ORIGIN)
            .answer(200, &[JSON], r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}}],"nextCursor":"p2"}}"#)
            .sides(&["audit allow - 200", "observe 3 partial"]),
        case("tools/list of a later page: a partial observation", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"p2"}}"#))
            .host(answered(200, &[("content-type", "application/json")], &list_answer(None)))
            .steps(TO_ORIGIN)
            .answer(200, &[JSON], r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read_file","inputSchema":{"type":"object"}}]}}"#)
            .sides(&["audit allow - 200", "observe 3 partial"]),
        case("tools/list answered over 8 MiB: the read limit refuses it, 502 with a record", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#))
            .host(Host { body: Err("the origin's answer is larger than the 8388608 bytes toolgate checks".into()), ..host() })
            .steps(TO_ORIGIN)
            .answer(502, &[JSON], &error("1", -32603, "bad gateway: the origin's answer is larger than the 8388608 bytes toolgate checks"))
            .sides(&["audit allow - 200"]),
    ]
}

const SESSION_NOT_FOUND: &str = "session not found: this session id was not issued to this grant (start a new session with initialize)";
const APPROVAL_TEXT: &str = "calling `deploy` needs human approval: approval `ap-1` is pending. An operator must approve it at https://gw.example/admin.html#approval=ap-1; then repeat the identical call";
const FULL_TEXT: &str = "grant `g1` already has 100 approvals waiting; ask an operator to decide them before asking for more";
const STORE_DOWN: &str =
    "toolgate could not reach its approval store, so the call was not forwarded; try again shortly";
const RELEASES_FULL: &str =
    "rate limit `releases` exceeded: at most 1 call per hour; retry in 1 min";
const RELEASES_DOWN: &str = "toolgate could not reach the rate-limit store for `releases`, so the call was not forwarded; try again shortly";
const USED_FIRST: &str = "approval `ap-1` was used by an identical call that got there first (an approval lets one call through); this call was not forwarded, and repeating it asks for a new approval";
const EXPIRED_MEANWHILE: &str = "approval `ap-1` is expired now, so the call was not forwarded; repeating it asks for a new approval";

fn pass() -> ApprovalReply {
    ApprovalReply::Pass { id: "ap-1".into() }
}

const COUNTER_DOWN: &str = "toolgate could not reach the rate-limit store for `search_session`, so the call was not forwarded; try again shortly";

fn parse_error(body: &str) -> String {
    let invalid = mcp::parse_message(body.as_bytes()).unwrap_err();
    mcp::error_response(invalid.id.as_deref(), invalid.code, &invalid.message)
}

fn list_answer(next: Option<&str>) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"result":{{"tools":[{},{},{}]{}}}}}"#,
        TOOLS[0],
        TOOLS[1],
        TOOLS[7],
        next.map(|c| format!(r#","nextCursor":"{c}""#))
            .unwrap_or_default()
    )
}

#[test]
fn every_branch_of_a_call_answers_exactly() {
    let cases = cases();
    let names: std::collections::HashSet<&str> = cases.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let problems: Vec<String> = cases.into_iter().flat_map(Case::check).collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------- beyond the table

#[test]
fn a_missing_tool_is_answered_exactly_as_a_hidden_one() {
    for policy in [POLICY, DENY_DEFAULT] {
        for version in ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"] {
            let answer = |name: &str| {
                let mut world = World::new(policy, None, None);
                let mut req = call("\"q\"", name, r#"{"region":"eu"}"#)
                    .header("mcp-protocol-version", version)
                    .header("mcp-param-region", "us");
                if version == "2026-07-28" {
                    req = req
                        .header("mcp-method", "tools/call")
                        .header("mcp-name", name);
                }
                let run = run(&mut world, &req, host());
                assert!(run.forwarded().is_none(), "{name} was forwarded");
                let a = run.answer.expect("an answer");
                (a.status, a.headers, a.body.replace(name, "NAME"))
            };
            let hidden = answer("ssh_execute");
            assert_eq!(answer("not_at_origin"), hidden, "{version}");
            assert_eq!(answer("secret_regional"), hidden, "{version}");
            assert_eq!(
                hidden.2,
                r#"{"jsonrpc":"2.0","id":"q","error":{"code":-32602,"message":"Unknown tool: NAME"}}"#
            );
        }
    }
}

#[test]
fn scope_session_counts_under_the_origins_session_not_the_agents() {
    let mut world = World::new(POLICY, None, None);
    let run = run(&mut world, &call("1", "search", "{}").in_session(), host());
    let Some(Step::Reserve(list)) = run.steps.iter().find(|s| matches!(s, Step::Reserve(_))) else {
        panic!("no reserve step");
    };
    let keys: Vec<String> = list
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:?} {} {}",
                r.key.counter, r.key.scope, r.key.grant, r.key.session, r.window_ms, r.max
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            r#"search grant Some("g1") None 60000 2"#,
            r#"search_session session Some("g1") Some("origin-session-1") 3600000 5"#,
        ]
    );
    // Without a session (2026-07-28 has none) the session-less key of the grant.
    let run2 = self::run(&mut world, &call("1", "search", "{}"), host());
    let Some(Step::Reserve(list)) = run2.steps.iter().find(|s| matches!(s, Step::Reserve(_)))
    else {
        panic!("no reserve step");
    };
    assert_eq!(list.get(1).unwrap().key.session, None);
}

#[test]
fn ids_the_origin_keys_as_one_stream_are_one_claim() {
    let claim = |id: &str| {
        let mut world = World::new(POLICY, None, None);
        let run = run(
            &mut world,
            &call(id, "read_file", "{}").in_session(),
            host(),
        );
        run.steps
            .iter()
            .find_map(|s| match s {
                Step::Claim { key } => Some(key.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(claim("7"), claim("\"7\""));
    assert_eq!(claim("0"), claim("-0"));
    assert_eq!(claim("\"a\""), claim("\"\\u0061\""));
    assert_ne!(claim("7"), claim("\"07\""));
    assert_ne!(claim("7"), claim("8"));
    // Another session or grant is another key.
    let other = {
        let mut world = World::new(POLICY, None, None);
        let req = call("7", "read_file", "{}")
            .header("mcp-session-id", &sessions::wrap(&KEY, "g1", "other"));
        run(&mut world, &req, host())
            .steps
            .iter()
            .find_map(|s| match s {
                Step::Claim { key } => Some(key.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert_ne!(claim("7"), other);
    assert_eq!(pipeline::stream_key("\"7\""), "7");
    assert_eq!(pipeline::stream_key("-0"), "0");
}

#[test]
fn a_streamed_tools_list_is_recorded_and_observed_when_it_ends() {
    let mut world = World::new(POLICY, None, None);
    let req = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).in_session();
    let mut run = run(
        &mut world,
        &req,
        answered(200, &[("content-type", "text/event-stream")], ""),
    );
    let stream = run.stream.clone().expect("a stream");
    assert!(stream.learn, "a tools/list stream teaches the catalogue");
    assert!(run.sides.is_empty(), "nothing before the stream ends");
    let report = Report {
        lists: 1,
        removed: 2,
        seen: TOOLS.iter().take(2).map(|t| seen(t)).collect(),
        ..Report::default()
    };
    run.call.on_stream_end(report, None);
    let sides: Vec<String> = run.call.take_sides().iter().map(side_summary).collect();
    assert_eq!(sides, ["audit allow - 200", "observe 2 complete"]);

    // A stream cut off is recorded with why.
    let mut cut = self::run(
        &mut world,
        &req,
        answered(200, &[("content-type", "text/event-stream")], ""),
    );
    cut.call.on_stream_end(
        Report::default(),
        Some("the origin's answer starts with a byte-order mark".into()),
    );
    let sides = cut.call.take_sides();
    let [Side::Audit(record)] = sides.as_slice() else {
        panic!("{sides:?}");
    };
    assert_eq!(
        record.message.as_deref(),
        Some("the origin's answer starts with a byte-order mark")
    );
    // A stream that says the list changed asks for a fresh catalogue.
    let mut changed = self::run(
        &mut world,
        &call("1", "read_file", "{}"),
        answered(200, &[("content-type", "text/event-stream")], ""),
    );
    assert!(!changed.stream.as_ref().unwrap().learn);
    changed.call.on_stream_end(
        Report {
            list_changed: true,
            ..Report::default()
        },
        None,
    );
    let sides: Vec<String> = changed.call.take_sides().iter().map(side_summary).collect();
    assert_eq!(sides, ["refresh"]);
}

#[test]
fn an_approval_request_is_bound_to_grant_tool_arguments_and_policy_version() {
    let mut world = World::new(POLICY, None, None);
    let run = run(
        &mut world,
        &call("1", "deploy", r#"{"env":"prod","n":1}"#),
        host().approval(Ok(ApprovalReply::Full)),
    );
    let Some(Step::Approval { request, new_id }) = run
        .steps
        .iter()
        .find(|s| matches!(s, Step::Approval { .. }))
    else {
        panic!("no approval step");
    };
    assert_eq!(new_id, &"09".repeat(16));
    assert_eq!(request.grant, "g1");
    assert_eq!(request.tool, "deploy");
    assert_eq!(request.policy_version, 3);
    assert_eq!(request.rule, "/tools/deploy/approval");
    assert_eq!(request.ttl_ms, 900_000);
    assert_eq!(
        request.arguments_sha256,
        sha256_hex(br#"{"env":"prod","n":1}"#)
    );
    assert!(
        request.arguments_sealed.is_some(),
        "sealed with the approval key"
    );
}

#[test]
fn a_budget_step_names_the_grant_and_its_budget() {
    let mut world = World::new(POLICY, None, Some("42"));
    let run = run(&mut world, &call("1", "read_file", "{}"), host());
    assert_eq!(
        run.steps.first(),
        Some(&Step::Budget {
            grant: "g1".into(),
            per_minute: 42
        })
    );
}

//! The calls: `toolgate eval` lines, drawn deterministically from the catalogue's input
//! schemas and from the policy's conditions (so that each condition holds, fails and
//! cannot be evaluated, in some calls).
//!
//! Shapes the workload leaves out on purpose, each because the two engines cannot agree
//! on it for a reason that is not a bug in the Cedar translation (README, "What Cedar
//! cannot express", "Shapes the workload leaves out"):
//! - numbers that are not integers, or outside i64: Cedar's only number is a 64-bit Long
//!   (toolgate compares them exactly, as CONTRACT v2 section 1 says);
//! - JSON `null`: Cedar has no null value;
//! - an object argument that an `exists` condition looks into (`args.values.company_id`)
//!   is never sent as a string, number, boolean or array: CONTRACT v2 says such a path
//!   "cannot be evaluated, for `exists` too" (deny), as `toolgate eval` and Cedar's
//!   `has` both do now; left out since an earlier toolgate read it as absent;
//! - an argument that a `contains` condition tests is never sent as the other of
//!   string / array: toolgate's `contains` is substring or membership by the value's
//!   runtime type, and Cedar has no runtime type test;
//! - tools outside the catalogue whose names a pattern key matches: the Cedar policy set
//!   is expanded over the catalogue, while `toolgate eval` has no catalogue (the gateway
//!   answers a tool its origin does not list as hidden, CONTRACT section 3);
//! - `*` path segments and array indexes in paths: Cedar sets are unordered and have no
//!   quantifier (`toolgate eval` reads `*` as every element).

use crate::catalogue::{Kind, Tool};
use crate::policy::{glob, Cond, Model, Op};
use crate::rng::Rng;
use serde_json::{json, Map, Value};

pub const SEED: u64 = 0x7001_6a7e_ced4_2026;

/// What a call is meant to exercise (the actual decision is the engines' business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    OtherMethod,
    UnknownTool,
    HiddenTool,
    UnlistedTool,
    NoArguments,
    Listed,
}

pub struct Generated {
    pub jsonl: String,
    pub shapes: Vec<Shape>,
}

struct Gen<'a> {
    rng: Rng,
    model: &'a Model,
}

const WORDS: [&str; 13] = [
    "alpha",
    "beta",
    "draft",
    "demo",
    "staging",
    "notes.md",
    "report",
    "hello world",
    "sale",
    "Q3 plan",
    "x",
    "config.json",
    "café ☕ 日本",
];
const MODELS: [&str; 10] = [
    "res.partner",
    "sale.order",
    "account.move",
    "product.product",
    "res.users",
    "ir.config_parameter",
    "ir.rule",
    "ir.cron",
    "res.company",
    "res.groups",
];
/// Keys the workload puts into object arguments besides those the conditions name.
const OBJECT_KEYS: [(&str, Kind); 6] = [
    (
        "name",
        Kind::String {
            enumeration: Vec::new(),
        },
    ),
    ("partner_id", Kind::Integer),
    ("active", Kind::Boolean),
    ("amount", Kind::Integer),
    (
        "state",
        Kind::String {
            enumeration: Vec::new(),
        },
    ),
    (
        "note",
        Kind::String {
            enumeration: Vec::new(),
        },
    ),
];

impl Gen<'_> {
    fn word(&mut self) -> String {
        (*self.rng.pick(&WORDS)).to_owned()
    }

    fn int(&mut self) -> i64 {
        match self.rng.below(10) {
            0 => self.rng.range(-1000, 0),
            1 => self.rng.range(1_000, 1_000_000_000_000),
            2 => 1,
            _ => self.rng.range(0, 600),
        }
    }

    fn string_for(&mut self, arg: &str, kind: &Kind) -> Value {
        if let Kind::String { enumeration } = kind {
            if !enumeration.is_empty() && !self.rng.percent(4) {
                return json!(self.rng.pick(enumeration));
            }
        }
        if arg == "model" || arg.ends_with("_model") {
            return json!(self.rng.pick(&MODELS));
        }
        json!(self.word())
    }

    /// A value of the schema's type.
    fn plain(&mut self, arg: &str, kind: &Kind, path: &[&str], conds: &[&Cond]) -> Value {
        match kind {
            Kind::String { .. } => self.string_for(arg, kind),
            Kind::Integer | Kind::Number => json!(self.int()),
            Kind::Boolean => json!(self.rng.percent(50)),
            Kind::Array { items } => {
                let n = self.rng.below(4);
                Value::Array((0..n).map(|_| self.plain(arg, items, path, &[])).collect())
            }
            Kind::Object => self.object(path, conds),
            Kind::Any => match self.rng.below(3) {
                0 => json!(self.word()),
                1 => json!(self.int()),
                _ => json!(self.rng.percent(50)),
            },
        }
    }

    /// An object at `path`: the keys the conditions look at below it (often), and a few
    /// ordinary ones.
    fn object(&mut self, path: &[&str], conds: &[&Cond]) -> Value {
        let mut map = Map::new();
        let depth = path.len();
        let mut below: Vec<&'static str> = Vec::new();
        for cond in conds {
            let segs = cond.segments();
            if segs.len() > depth && segs[..depth] == *path && !below.contains(&segs[depth]) {
                below.push(segs[depth]);
            }
        }
        for key in below {
            if self.rng.percent(65) {
                let mut sub = path.to_vec();
                sub.push(key);
                let kind = inferred_kind(&sub, conds);
                let v = self.value(key, &kind, &sub, conds);
                map.insert(key.to_owned(), v);
            }
        }
        for (key, kind) in OBJECT_KEYS.iter() {
            if !map.contains_key(*key) && self.rng.percent(30) {
                let mut sub = path.to_vec();
                sub.push(key);
                let v = self.value(key, kind, &sub, conds);
                map.insert((*key).to_owned(), v);
            }
        }
        Value::Object(map)
    }

    /// A value aimed at one condition on exactly this path: on either side of it.
    fn targeted(&mut self, arg: &str, kind: &Kind, cond: &Cond, path: &[&str]) -> Value {
        let near = |g: &mut Gen<'_>, n: i64| match g.rng.below(6) {
            0 => n - 1,
            1 => n,
            2 => n + 1,
            3 => n - g.rng.range(2, 1_000),
            4 => n + g.rng.range(2, 1_000),
            _ => g.rng.range(-5, 5),
        };
        match &cond.op {
            Op::Eq(v) | Op::Neq(v) => {
                if self.rng.percent(45) {
                    v.clone()
                } else {
                    self.plain(arg, kind, path, &[])
                }
            }
            Op::In(vs) | Op::NotIn(vs) => {
                if self.rng.percent(45) {
                    self.rng.pick(vs).clone()
                } else {
                    self.plain(arg, kind, path, &[])
                }
            }
            Op::Lt(n) | Op::Lte(n) | Op::Gt(n) | Op::Gte(n) => json!(near(self, *n)),
            Op::Regex(re) => {
                let lit: String = re
                    .trim_start_matches('^')
                    .trim_end_matches('$')
                    .replace('\\', "");
                let w = self.word();
                json!(match self.rng.below(5) {
                    0 => lit,
                    1 => format!("{lit}{w}"),
                    2 => format!("{w}{lit}"),
                    3 => format!("{w} {lit} {w}"),
                    _ => w,
                })
            }
            Op::Contains(v) => match (kind, v) {
                (Kind::Array { items }, _) => {
                    let n = self.rng.below(4);
                    let mut list: Vec<Value> =
                        (0..n).map(|_| self.plain(arg, items, path, &[])).collect();
                    if self.rng.percent(45) {
                        let at = self.rng.below(list.len() + 1);
                        list.insert(at, v.clone());
                    }
                    Value::Array(list)
                }
                (_, Value::String(s)) => {
                    let w = self.word();
                    json!(match self.rng.below(4) {
                        0 => format!("{w} {s}"),
                        1 => format!("{s}{w}"),
                        2 => s.clone(),
                        _ => w,
                    })
                }
                _ => self.plain(arg, kind, path, &[]),
            },
            Op::Exists(_) => self.plain(arg, kind, path, &[]),
        }
    }

    /// A value of the wrong JSON type for `kind`, or `None` when this path must keep its
    /// type (see the module docs).
    fn wrong(&mut self, kind: &Kind, path: &[&str], conds: &[&Cond]) -> Option<Value> {
        let deeper_exists = conds.iter().any(|c| {
            let segs = c.segments();
            matches!(c.op, Op::Exists(_)) && segs.len() > path.len() && segs[..path.len()] == *path
        });
        if deeper_exists {
            return None;
        }
        let contains_here = conds
            .iter()
            .any(|c| matches!(c.op, Op::Contains(_)) && c.segments() == *path);
        let n = self.int();
        let mut options: Vec<Value> = match kind {
            Kind::String { .. } => {
                vec![json!(n), json!({ "text": "x" }), json!(true), json!(["a"])]
            }
            Kind::Integer | Kind::Number => {
                vec![
                    json!(n.to_string()),
                    json!({ "value": n }),
                    json!(false),
                    json!([n]),
                ]
            }
            Kind::Boolean => vec![json!("true"), json!(1), json!({})],
            Kind::Array { .. } => vec![json!("1,2"), json!({ "0": 1 }), json!(n)],
            Kind::Object => vec![json!("{}"), json!([{ "id": 1 }]), json!(n), json!(true)],
            Kind::Any => return None,
        };
        if contains_here {
            options.retain(|v| !(v.is_array() || v.is_string()));
        }
        if options.is_empty() {
            return None;
        }
        Some(self.rng.pick(&options).clone())
    }

    fn value(&mut self, arg: &str, kind: &Kind, path: &[&str], conds: &[&Cond]) -> Value {
        if self.rng.percent(7) {
            if let Some(v) = self.wrong(kind, path, conds) {
                return v;
            }
        }
        let here: Vec<&&Cond> = conds.iter().filter(|c| c.segments() == *path).collect();
        if !here.is_empty() && self.rng.percent(60) {
            let cond = **self.rng.pick(&here);
            return self.targeted(arg, kind, cond, path);
        }
        self.plain(arg, kind, path, conds)
    }

    fn arguments(&mut self, tool: &Tool) -> Map<String, Value> {
        let conds: Vec<&Cond> = self
            .model
            .matching(&tool.name)
            .flat_map(|e| e.deny_if.iter().chain(&e.require))
            .collect();
        let mut args = Map::new();
        for arg in &tool.args {
            let tested = conds.iter().any(|c| c.segments()[0] == arg.name);
            let keep = if arg.required {
                93
            } else if tested {
                75
            } else {
                45
            };
            if self.rng.percent(keep) {
                let path = [arg.name.as_str()];
                let v = self.value(&arg.name, &arg.kind, &path, &conds);
                args.insert(arg.name.clone(), v);
            }
        }
        // Arguments the schema does not declare: what pattern conditions on schemaless
        // tools test (`ee__*` denies `force`), and stray extras.
        if tool.args.is_empty() && self.rng.percent(30) {
            let (k, v) = match self.rng.below(4) {
                0 => ("force", json!(true)),
                1 => ("dry_run", json!(true)),
                2 => ("path", json!("/srv/odoo/addons")),
                _ => ("bcc", json!("audit@example.com")),
            };
            args.insert(k.to_owned(), v);
        }
        if self.rng.percent(4) {
            args.insert("x_trace".to_owned(), json!(self.word()));
        }
        args
    }
}

/// The kind of a key that a condition names below an object argument.
fn inferred_kind(path: &[&str], conds: &[&Cond]) -> Kind {
    for c in conds {
        let segs = c.segments();
        if segs.len() > path.len() && segs[..path.len()] == *path {
            return Kind::Object;
        }
        if segs == path {
            return match &c.op {
                Op::Lt(_) | Op::Lte(_) | Op::Gt(_) | Op::Gte(_) => Kind::Integer,
                Op::Regex(_) => Kind::String {
                    enumeration: Vec::new(),
                },
                Op::Contains(Value::String(_)) => Kind::String {
                    enumeration: Vec::new(),
                },
                Op::Eq(v) | Op::Neq(v) => match v {
                    Value::Bool(_) => Kind::Boolean,
                    Value::Number(_) => Kind::Integer,
                    _ => Kind::String {
                        enumeration: Vec::new(),
                    },
                },
                _ => Kind::Any,
            };
        }
    }
    Kind::Any
}

/// Names no catalogue tool has and no `tools` key matches.
fn unknown_name(rng: &mut Rng, model: &Model, tools: &[Tool]) -> String {
    const HEADS: [&str; 7] = ["zz", "shell", "k8s", "slack", "jira", "aws.s3", "stripe-v2"];
    const TAILS: [&str; 6] = ["list", "delete", "exec", "get_secret", "run", "export"];
    loop {
        let name = format!(
            "{}_{}_{}",
            rng.pick(&HEADS),
            rng.pick(&TAILS),
            rng.below(40)
        );
        if !tools.iter().any(|t| t.name == name)
            && !model.entries.iter().any(|e| glob(&e.key, &name))
        {
            return name;
        }
    }
}

pub fn generate(model: &Model, tools: &[Tool], calls: usize) -> Generated {
    let mut g = Gen {
        rng: Rng::new(SEED),
        model,
    };
    let hidden: Vec<&Tool> = tools.iter().filter(|t| model.hidden(&t.name)).collect();
    let unlisted: Vec<&Tool> = tools
        .iter()
        .filter(|t| !model.hidden(&t.name) && !model.listed(&t.name))
        .collect();
    let listed: Vec<&Tool> = tools
        .iter()
        .filter(|t| !model.hidden(&t.name) && model.listed(&t.name))
        .collect();
    let guarded: Vec<&Tool> = listed
        .iter()
        .copied()
        .filter(|t| {
            model
                .matching(&t.name)
                .any(|e| e.action_deny || !e.deny_if.is_empty() || !e.require.is_empty())
        })
        .collect();
    let mut jsonl = String::with_capacity(calls * 200);
    let mut shapes = Vec::with_capacity(calls);
    for i in 0..calls {
        let id = i as u64 + 1;
        let grant = format!("g{}", g.rng.below(5) + 1);
        let roll = g.rng.below(1000);
        let (shape, body) = if roll < 20 {
            let body = if g.rng.percent(50) {
                json!({ "jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {} })
            } else {
                json!({ "jsonrpc": "2.0", "id": id, "method": "ping" })
            };
            (Shape::OtherMethod, body)
        } else {
            let (shape, tool_name, args) = if roll < 70 {
                (
                    Shape::UnknownTool,
                    unknown_name(&mut g.rng, model, tools),
                    Some(Map::new()),
                )
            } else if roll < 160 {
                let t = *g.rng.pick(&hidden);
                (Shape::HiddenTool, t.name.clone(), Some(g.arguments(t)))
            } else if roll < 220 {
                let t = *g.rng.pick(&unlisted);
                (Shape::UnlistedTool, t.name.clone(), Some(g.arguments(t)))
            } else if roll < 240 {
                let t = *g.rng.pick(&listed);
                (Shape::NoArguments, t.name.clone(), None)
            } else {
                let t = if g.rng.percent(60) {
                    *g.rng.pick(&guarded)
                } else {
                    *g.rng.pick(&listed)
                };
                (Shape::Listed, t.name.clone(), Some(g.arguments(t)))
            };
            let mut params = Map::new();
            params.insert("name".into(), json!(tool_name));
            if let Some(args) = args {
                params.insert("arguments".into(), Value::Object(args));
            }
            (
                shape,
                json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params }),
            )
        };
        let line = json!({ "body": body, "grant": grant, "at_ms": id * 10 });
        jsonl.push_str(&line.to_string());
        jsonl.push('\n');
        shapes.push(shape);
    }
    Generated { jsonl, shapes }
}

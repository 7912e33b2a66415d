//! versus-cedar: toolgate against Cedar on the same policy and the same calls.
//!
//! ```sh
//! CARGO_TARGET_DIR=target/cedar-bench cargo run --release \
//!     --manifest-path benches/cedar/Cargo.toml -- [--calls N] [--rounds R]
//! ```
//!
//! One run generates the workload into `target/cedar-bench/work/` (a toolgate policy over
//! the 198 tools of `www/odoo-tools.json`, the same policy in Cedar, and the calls), times
//! `$TOOLGATE_BIN eval` and this binary's Cedar child modes as whole processes on the same
//! calls file, compares every verdict, checks that the workload exercises every verdict
//! and every op, and prints a table (also `target/cedar-bench/result.jsonl`). See
//! README.md.

mod catalogue;
mod engine;
mod policy;
mod rng;
mod workload;

use engine::{Engine, Mode, Verdict};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const USAGE: &str = "usage: versus-cedar [--calls N] [--rounds R]
  (environment: TOOLGATE_BIN, the toolgate binary; default target/release/toolgate
   under the repository root)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--cedar-child") {
        return match (
            args.get(1).and_then(|m| Mode::parse(m)),
            args.get(2),
            args.get(3),
        ) {
            (Some(mode), Some(flag), Some(path)) if flag == "--policy" => {
                match engine::child(mode, path) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("versus-cedar child: {e}");
                        ExitCode::FAILURE
                    }
                }
            }
            _ => {
                eprintln!("usage: versus-cedar --cedar-child tuned|whole --policy POLICY.cedar < calls.jsonl");
                ExitCode::from(2)
            }
        };
    }
    let mut calls = 50_000usize;
    let mut rounds = 3usize;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let number = |v: Option<&String>| {
            v.and_then(|v| v.replace('_', "").parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        match arg.as_str() {
            "--calls" => match number(it.next()) {
                Some(n) => calls = n,
                None => return usage(),
            },
            "--rounds" => match number(it.next()) {
                Some(n) => rounds = n,
                None => return usage(),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }
    match run(calls, rounds) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("versus-cedar: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

struct Paths {
    root: PathBuf,
    work: PathBuf,
    policy_json: PathBuf,
    policy_cedar: PathBuf,
    calls: PathBuf,
    toolgate: PathBuf,
    exe: PathBuf,
}

impl Paths {
    /// `p` relative to the repository root when it is under it (for commands to copy).
    fn show(&self, p: &Path) -> String {
        p.strip_prefix(&self.root)
            .unwrap_or(p)
            .display()
            .to_string()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Engine3 {
    Toolgate,
    Tuned,
    Whole,
}

impl Engine3 {
    const ALL: [Engine3; 3] = [Engine3::Toolgate, Engine3::Tuned, Engine3::Whole];
    fn label(self) -> &'static str {
        match self {
            Engine3::Toolgate => "toolgate eval",
            Engine3::Tuned => "Cedar, tuned: only the action's policies",
            Engine3::Whole => "Cedar, whole policy set per request",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Engine3::Toolgate => "toolgate",
            Engine3::Tuned => "cedar-tuned",
            Engine3::Whole => "cedar-whole",
        }
    }
    fn out(self, p: &Paths) -> PathBuf {
        p.work.join(format!("{}.out", self.key()))
    }
    fn command(self, p: &Paths) -> Command {
        let mut c = match self {
            Engine3::Toolgate => {
                let mut c = Command::new(&p.toolgate);
                c.arg("eval").arg("--policy").arg(&p.policy_json);
                c
            }
            Engine3::Tuned | Engine3::Whole => {
                let mode = if self == Engine3::Tuned {
                    Mode::Tuned
                } else {
                    Mode::Whole
                };
                let mut c = Command::new(&p.exe);
                c.arg("--cedar-child")
                    .arg(mode.arg())
                    .arg("--policy")
                    .arg(&p.policy_cedar);
                c
            }
        };
        c.current_dir(&p.root);
        c
    }
    fn shell(self, p: &Paths) -> String {
        let (bin, rest) = match self {
            Engine3::Toolgate => (
                p.show(&p.toolgate),
                format!("eval --policy {}", p.show(&p.policy_json)),
            ),
            Engine3::Tuned | Engine3::Whole => (
                p.show(&p.exe),
                format!(
                    "--cedar-child {} --policy {}",
                    if self == Engine3::Tuned {
                        "tuned"
                    } else {
                        "whole"
                    },
                    p.show(&p.policy_cedar)
                ),
            ),
        };
        format!(
            "{bin} {rest} < {} > {}",
            p.show(&p.calls),
            p.show(&self.out(p))
        )
    }
}

/// Runs one engine as a whole process, stdin the calls file, stdout a file; the wall
/// time from spawn to exit, in seconds.
fn time_once(engine: Engine3, p: &Paths) -> Result<f64, String> {
    let stdin = std::fs::File::open(&p.calls).map_err(|e| format!("{}: {e}", p.calls.display()))?;
    let out_path = engine.out(p);
    let stdout =
        std::fs::File::create(&out_path).map_err(|e| format!("{}: {e}", out_path.display()))?;
    let mut cmd = engine.command(p);
    cmd.stdin(Stdio::from(stdin))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::inherit());
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{}: cannot run: {e}", engine.label()))?;
    let elapsed = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "{} exited with {status}: {}",
            engine.label(),
            engine.shell(p)
        ));
    }
    Ok(elapsed)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// UTC now as `YYYY-MM-DDTHH:MM:SSZ` (days to civil date: H. Hinnant's algorithm).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn read_lines(path: &Path) -> Result<Vec<String>, String> {
    Ok(std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .lines()
        .map(str::to_owned)
        .collect())
}

fn run(calls: usize, rounds: usize) -> Result<bool, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("repository root: {e}"))?;
    let work = root.join("target/cedar-bench/work");
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let toolgate = match std::env::var_os("TOOLGATE_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => root.join("target/release/toolgate"),
    };
    let toolgate = if toolgate.is_absolute() {
        toolgate
    } else {
        std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(toolgate)
    };
    if !toolgate.is_file() {
        return Err(format!(
            "no toolgate binary at {} (build it: `cargo build --release --bin toolgate` at the repository root, or set TOOLGATE_BIN)",
            toolgate.display()
        ));
    }
    let p = Paths {
        policy_json: work.join("policy.json"),
        policy_cedar: work.join("policy.cedar"),
        calls: work.join("calls.jsonl"),
        exe: std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?,
        toolgate,
        work,
        root,
    };

    // 1. The workload.
    let tools = catalogue::load(&p.root.join("www/odoo-tools.json"))?;
    if tools.len() != 198 {
        return Err(format!(
            "expected 198 tools in www/odoo-tools.json, found {}",
            tools.len()
        ));
    }
    let model = policy::Model::build(&tools)?;
    let policy_json =
        serde_json::to_string_pretty(&model.toolgate_json()).map_err(|e| e.to_string())?;
    let cedar_text = model.cedar_text(&tools)?;
    let generated = workload::generate(&model, &tools, calls);
    for (path, text) in [
        (&p.policy_json, &policy_json),
        (&p.policy_cedar, &cedar_text),
        (&p.calls, &generated.jsonl),
    ] {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let check = Command::new(&p.toolgate)
        .arg("check")
        .arg(&p.policy_json)
        .output()
        .map_err(|e| format!("toolgate check: {e}"))?;
    if !check.status.success() {
        return Err(format!(
            "toolgate check refuses the generated policy:\n{}",
            String::from_utf8_lossy(&check.stdout)
        ));
    }
    let engine = Engine::load(&cedar_text, Mode::Tuned)?;
    let (largest, actions) = engine.split_stats();
    println!(
        "policy: {} tools in the catalogue, {} exact keys, {} patterns, {} hide entries, {} conditions; toolgate check: {}",
        tools.len(),
        model.exact_key_count(),
        model.entries.len() - model.exact_key_count(),
        model.hide.len(),
        model.condition_count(),
        String::from_utf8_lossy(&check.stdout).trim()
    );
    println!(
        "cedar: {} policies in the whole set; tuned split over {actions} actions, at most {largest} policies per action",
        engine.policy_count()
    );
    println!("workload: {calls} calls in {}", p.show(&p.calls));

    // 2. Timing: a warm-up run of each (page cache, not counted), then the rounds, the
    // engines' order rotating every round.
    for e in Engine3::ALL {
        time_once(e, &p)?;
    }
    let mut times: HashMap<Engine3, Vec<f64>> = HashMap::new();
    let mut first_output: HashMap<Engine3, Vec<u8>> = HashMap::new();
    for r in 0..rounds {
        for k in 0..3 {
            let e = Engine3::ALL[(r + k) % 3];
            let t = time_once(e, &p)?;
            times.entry(e).or_default().push(t);
            let out = std::fs::read(e.out(&p)).map_err(|err| err.to_string())?;
            match first_output.get(&e) {
                None => {
                    first_output.insert(e, out);
                }
                Some(first) if *first != out => {
                    return Err(format!(
                        "{} gave a different output in round {}",
                        e.label(),
                        r + 1
                    ))
                }
                Some(_) => {}
            }
        }
    }

    // 3. Every verdict compared.
    let call_lines = read_lines(&p.calls)?;
    let toolgate_lines = read_lines(&Engine3::Toolgate.out(&p))?;
    let toolgate_decisions: Vec<String> = toolgate_lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| v.get("decision").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| format!("unreadable: {l}"))
        })
        .collect();
    let tuned = read_lines(&Engine3::Tuned.out(&p))?;
    let whole = read_lines(&Engine3::Whole.out(&p))?;
    let mut ok = true;
    for (name, lines) in [
        ("toolgate", toolgate_decisions.len()),
        ("Cedar tuned", tuned.len()),
        ("Cedar whole", whole.len()),
    ] {
        if lines != calls {
            println!("FAIL: {name} printed {lines} lines for {calls} calls");
            ok = false;
        }
    }
    let mut differences = 0usize;
    for i in 0..calls
        .min(toolgate_decisions.len())
        .min(tuned.len())
        .min(whole.len())
    {
        let (t, a, b) = (&toolgate_decisions[i], &tuned[i], &whole[i]);
        if t != a || t != b {
            differences += 1;
            if differences <= 10 {
                println!(
                    "DIFFERENCE at line {}: toolgate {t}, Cedar tuned {a}, Cedar whole {b}",
                    i + 1
                );
                println!("  call:     {}", call_lines[i]);
                println!("  toolgate: {}", toolgate_lines[i]);
            }
        }
    }
    if differences > 0 {
        println!("FAIL: {differences} of {calls} verdicts differ");
        ok = false;
    }

    // 4. The workload must exercise every verdict and every op.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for d in &toolgate_decisions {
        *counts.entry(d.as_str()).or_default() += 1;
    }
    let share = |d: &str| counts.get(d).copied().unwrap_or(0) as f64 * 100.0 / calls as f64;
    for d in ["allow", "deny", "hidden"] {
        if share(d) <= 5.0 {
            println!(
                "FAIL: `{d}` is {:.1} % of the calls (must be over 5 %)",
                share(d)
            );
            ok = false;
        }
    }
    let other_methods = generated
        .shapes
        .iter()
        .filter(|s| **s == workload::Shape::OtherMethod)
        .count();
    let (coverage, (named, agreed, disagreements)) =
        op_coverage(&engine, &call_lines, &toolgate_lines);
    for label in policy::OP_LABELS {
        let (held, passed, unevaluable) = coverage.get(label).copied().unwrap_or((0, 0, 0));
        // `exists` can never be unevaluable in this workload (see workload.rs).
        let needs_error = !label.starts_with("exists");
        if held == 0 || passed == 0 || (needs_error && unevaluable == 0) {
            println!("FAIL: op `{label}` not exercised both ways: denied {held}, passed {passed}, unevaluable {unevaluable}");
            ok = false;
        }
    }
    println!(
        "verdicts: allow {:.1} %, deny {:.1} %, hidden {:.1} % ({} calls of other methods); {} differences",
        share("allow"),
        share("deny"),
        share("hidden"),
        other_methods,
        differences
    );
    print!("ops (deny / pass / cannot evaluate, in Cedar's diagnostics):");
    for label in policy::OP_LABELS {
        let (h, pa, u) = coverage.get(label).copied().unwrap_or((0, 0, 0));
        print!(" {label} {h}/{pa}/{u}");
    }
    println!();
    if named > 0 {
        println!(
            "rules (information): {agreed} of {named} deny and hidden decisions name a rule that Cedar also reports"
        );
        for d in &disagreements {
            println!("  {d}");
        }
    }

    // 5. The table, and one JSON line per row.
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let cpu = cpu_model();
    let date = utc_now();
    let tg_median = median(&times[&Engine3::Toolgate]);
    let harness = format!(
        "CARGO_TARGET_DIR=target/cedar-bench cargo run --release --manifest-path benches/cedar/Cargo.toml -- --calls {calls} --rounds {rounds}"
    );
    println!();
    println!("versus-cedar, {date}: {nproc} CPUs (nproc), {cpu}");
    println!("whole-process wall time, median of {rounds} rounds (after one warm-up run each), divided by {calls} calls; startup included");
    println!();
    println!(
        "{:<42} {:>12} {:>11} {:>8} {:>11}  rounds (ms)",
        "engine", "µs/decision", "× toolgate", "calls", "median ms"
    );
    let mut jsonl = String::new();
    for e in Engine3::ALL {
        let t = &times[&e];
        let m = median(t);
        let us = m * 1e6 / calls as f64;
        let ratio = m / tg_median;
        let all: Vec<String> = t.iter().map(|s| format!("{:.1}", s * 1e3)).collect();
        println!(
            "{:<42} {:>12.2} {:>11.2} {:>8} {:>11.1}  {}",
            e.label(),
            us,
            ratio,
            calls,
            m * 1e3,
            all.join(" ")
        );
        let row = json!({
            "bench": "versus-cedar",
            "engine": e.key(),
            "label": e.label(),
            "us_per_decision": (us * 1000.0).round() / 1000.0,
            "ratio_to_toolgate": (ratio * 1000.0).round() / 1000.0,
            "calls": calls,
            "rounds": rounds,
            "median_wall_ms": (m * 1e6).round() / 1000.0,
            "wall_ms": t.iter().map(|s| (s * 1e6).round() / 1000.0).collect::<Vec<_>>(),
            "nproc": nproc,
            "cpu": cpu,
            "date": date,
            "command": format!("cd {} && {}", p.root.display(), e.shell(&p)),
            "harness": harness,
            "toolgate_bin": p.toolgate.display().to_string(),
            "verdicts_match": differences == 0,
            "checks_pass": ok,
        });
        jsonl.push_str(&row.to_string());
        jsonl.push('\n');
    }
    println!();
    println!("reproduce a row (from the repository root, after one harness run made the files):");
    for e in Engine3::ALL {
        println!("  {:<42} {}", e.label(), e.shell(&p));
    }
    println!("the whole comparison: {harness}");
    let result = p.root.join("target/cedar-bench/result.jsonl");
    std::fs::write(&result, jsonl).map_err(|e| format!("{}: {e}", result.display()))?;
    println!("rows as JSON lines: {}", p.show(&result));
    if !ok {
        println!("FAIL: see above");
    }
    Ok(ok)
}

/// Per op label: (denied, passed, could not be evaluated).
type OpCounts = HashMap<&'static str, (usize, usize, usize)>;
/// (deny and hidden decisions naming a rule, those Cedar agrees with, first disagreements).
type RuleAgreement = (usize, usize, Vec<String>);

/// For each op label: how many (call, condition) pairs denied (the forbid was satisfied),
/// passed (evaluated without firing) and could not be evaluated (an error), over the
/// tuned split, so only conditions of the called tool count.
///
/// Also, for information only (the harness relies on `decision` alone): how many of
/// toolgate's deny and hidden decisions name in `rule` a policy that Cedar reports as
/// satisfied or erroring (the Cedar ids are `deny /tools/K/deny_if/N` and the like).
fn op_coverage(
    engine: &Engine,
    lines: &[String],
    toolgate_lines: &[String],
) -> (OpCounts, RuleAgreement) {
    let mut out: OpCounts = HashMap::new();
    let (mut named, mut agreed, mut disagreements) = (0usize, 0usize, Vec::new());
    for (i, line) in lines.iter().enumerate() {
        let evaluated = engine.evaluate(line);
        let Some((response, set)) = evaluated.answer else {
            continue;
        };
        let fired: HashSet<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        let errored: HashSet<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    e.policy_id().to_string()
                }
            })
            .collect();
        let toolgate = toolgate_lines
            .get(i)
            .and_then(|l| serde_json::from_str::<Value>(l).ok());
        let decision = toolgate
            .as_ref()
            .and_then(|v| v.get("decision"))
            .and_then(Value::as_str);
        let rule = toolgate
            .as_ref()
            .and_then(|v| v.get("rule"))
            .and_then(Value::as_str);
        if let (Some(d @ ("deny" | "hidden")), Some(rule)) = (decision, rule) {
            named += 1;
            let id = format!("{d} {rule}");
            let unlisted_unknown = d == "hidden" && rule == "/default" && fired.is_empty();
            if fired.contains(&id) || errored.contains(&id) || unlisted_unknown {
                agreed += 1;
            } else if disagreements.len() < 3 {
                disagreements.push(format!(
                    "line {}: toolgate rule {rule}, Cedar {fired:?} errors {errored:?}",
                    i + 1
                ));
            }
        }
        if evaluated.verdict == Verdict::Hidden {
            continue;
        }
        for policy in set.policies() {
            let Some(op) = policy.annotation("op") else {
                continue;
            };
            let Some(label) = policy::OP_LABELS.iter().find(|l| **l == op) else {
                continue;
            };
            let id = policy.id().to_string();
            let entry = out.entry(label).or_default();
            if errored.contains(&id) {
                entry.2 += 1;
            } else if fired.contains(&id) {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    (out, (named, agreed, disagreements))
}

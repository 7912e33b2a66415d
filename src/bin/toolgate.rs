//! The `toolgate` command line: `check`, `eval`, `test` and `schema` (CONTRACT §4).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use toolgate::json_api::{self, Evaluator};
use toolgate::policy::Policy;

const USAGE: &str = "usage:
  toolgate check POLICY.json                  validate a policy
  toolgate check --tools TOOLS.json POLICY.json
                                              also warn about keys that match no tool,
                                              tools left to `default`, suspicious descriptions
  toolgate eval --policy POLICY.json < calls.jsonl
                                              print one decision per call
  toolgate test POLICY.json CASES.jsonl       run policy tests (eval lines with `expect`)
  toolgate schema                             print the policy's JSON Schema";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check", "--tools", tools, path] | ["check", path, "--tools", tools] => {
            check_tools(path, tools)
        }
        ["check", flag, path] if flag.starts_with("--tools=") => {
            check_tools(path, flag.trim_start_matches("--tools="))
        }
        ["check", path] => check(path),
        ["eval", "--policy", path] => eval(path),
        ["eval", flag] if flag.starts_with("--policy=") => {
            eval(flag.trim_start_matches("--policy="))
        }
        ["test", policy, cases] => test(policy, cases),
        ["schema"] => {
            println!("{}", json_api::schema());
            ExitCode::SUCCESS
        }
        ["--help" | "-h" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &str) -> Result<String, ExitCode> {
    std::fs::read_to_string(path).map_err(|e| {
        eprintln!("error: cannot read `{path}`: {e}");
        ExitCode::FAILURE
    })
}

fn check(path: &str) -> ExitCode {
    let text = match read(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    match Policy::from_json(&text) {
        Ok(policy) => {
            println!("{}", policy.summary());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in errors.0 {
                println!("{error}");
            }
            ExitCode::FAILURE
        }
    }
}

fn check_tools(path: &str, tools_path: &str) -> ExitCode {
    let (text, tools) = match (read(path), read(tools_path)) {
        (Ok(text), Ok(tools)) => (text, tools),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let policy = match Policy::from_json(&text) {
        Ok(policy) => policy,
        Err(errors) => {
            for error in errors.0 {
                println!("{error}");
            }
            return ExitCode::FAILURE;
        }
    };
    let tools = match toolgate::catalogue::tools_from_json(&tools) {
        Ok(tools) => tools,
        Err(errors) => {
            for error in errors {
                println!("{tools_path}: {error}");
            }
            return ExitCode::FAILURE;
        }
    };
    println!("{}", policy.summary());
    let warnings = json_api::tools_warnings(&policy, &tools);
    for warning in &warnings {
        println!("warning: {warning}");
    }
    println!(
        "{} tool{} in {tools_path}, {} warning{}",
        tools.len(),
        if tools.len() == 1 { "" } else { "s" },
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    ExitCode::SUCCESS
}

fn eval(path: &str) -> ExitCode {
    let text = match read(path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let mut evaluator = match Evaluator::new(&text) {
        Ok(e) => e,
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            return ExitCode::FAILURE;
        }
    };
    let mut stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut line = Vec::new();
    let mut json = String::with_capacity(256);
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if let Some(decision) = evaluator.line_bytes(text) {
            json.clear();
            decision.write_json(&mut json);
            json.push('\n');
            if out.write_all(json.as_bytes()).is_err() {
                return ExitCode::FAILURE;
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    if evaluator.had_bad_line {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn test(path: &str, cases_path: &str) -> ExitCode {
    let (text, cases) = match (read(path), read(cases_path)) {
        (Ok(text), Ok(cases)) => (text, cases),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match json_api::run_tests(&text, &cases) {
        Ok(run) => {
            print!("{}", run.report());
            if run.failed == 0 && run.passed > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(errors) => {
            for error in errors {
                println!("{path}: {error}");
            }
            println!("0 passed, 0 failed");
            ExitCode::FAILURE
        }
    }
}

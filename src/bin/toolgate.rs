//! The `toolgate` command line: `check`, `eval` and `schema` (CONTRACT §4).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use toolgate::json_api::{self, Evaluator};
use toolgate::policy::Policy;

const USAGE: &str = "usage:
  toolgate check POLICY.json                  validate a policy
  toolgate eval --policy POLICY.json < calls.jsonl
                                              print one decision per call
  toolgate schema                             print the policy's JSON Schema";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check", path] => check(path),
        ["eval", "--policy", path] | ["eval", "--policy=", path] => eval(path),
        ["eval", flag] if flag.starts_with("--policy=") => {
            eval(flag.trim_start_matches("--policy="))
        }
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
    let mut stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut line = Vec::new();
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
            let json = serde_json::to_string(&decision).unwrap_or_default();
            if writeln!(out, "{json}").is_err() {
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

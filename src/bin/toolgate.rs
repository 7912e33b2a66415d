//! The `toolgate` command line: `check`, `eval`, `test` and `schema` (CONTRACT §4).

use std::io::Write;
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
    let mut input = Lines::new(std::io::stdin().lock());
    let mut out = std::io::stdout().lock();
    // Decisions are written into one buffer and handed to stdout when it is full.
    let mut json = String::with_capacity(OUT_BUFFER + 4096);
    loop {
        let line = match input.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
        };
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(decision) = evaluator.line_bytes(text) {
            decision.write_json(&mut json);
            json.push('\n');
            if json.len() >= OUT_BUFFER {
                if out.write_all(json.as_bytes()).is_err() {
                    return ExitCode::FAILURE;
                }
                json.clear();
            }
        }
    }
    if out.write_all(json.as_bytes()).is_err() || out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    if evaluator.had_bad_line {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Output is written in blocks of about this many bytes.
const OUT_BUFFER: usize = 1 << 16;

/// The lines of an input, without their `\n`, read in large blocks and handed out from
/// the block itself: a line is copied only when it spans two blocks.
struct Lines<R> {
    reader: R,
    block: Vec<u8>,
    /// The unread part of `block`.
    start: usize,
    end: usize,
    /// A line that began in an earlier block.
    carry: Vec<u8>,
}

impl<R: std::io::Read> Lines<R> {
    const BLOCK: usize = 1 << 17;

    fn new(reader: R) -> Self {
        Lines {
            reader,
            block: vec![0; Self::BLOCK],
            start: 0,
            end: 0,
            carry: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the input.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        self.carry.clear();
        loop {
            let unread = self.block.get(self.start..self.end).unwrap_or_default();
            if let Some(newline) = toolgate::json::find_any(unread, [b'\n']) {
                let (from, to) = (self.start, self.start + newline);
                self.start = to + 1;
                if self.carry.is_empty() {
                    return Ok(self.block.get(from..to));
                }
                self.carry
                    .extend_from_slice(unread.get(..newline).unwrap_or_default());
                return Ok(Some(self.carry.as_slice()));
            }
            self.carry.extend_from_slice(unread);
            self.start = 0;
            self.end = 0;
            let read = loop {
                match self.reader.read(&mut self.block) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other?,
                }
            };
            if read == 0 {
                // The end: a last line without its `\n`.
                return Ok((!self.carry.is_empty()).then_some(self.carry.as_slice()));
            }
            self.end = read;
        }
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

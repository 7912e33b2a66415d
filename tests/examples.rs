//! Every shipped example is a test: each policy in `examples/` and `www/examples/`, and
//! each policy in a ```json block of README.md, parses and validates.
//!
//! The files checked are printed (`cargo test --test examples -- --nocapture`).

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use toolgate::policy::Policy;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn check(label: &str, text: &str) -> Result<(), String> {
    Policy::from_json(text)
        .map(|_| ())
        .map_err(|errors| format!("{label}:\n{errors}"))
}

#[test]
fn every_example_policy_validates() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for dir in ["examples", "www/examples"] {
        let files = json_files(&repo().join(dir));
        assert!(!files.is_empty(), "no policies in {dir}/");
        for path in files {
            let label = path.strip_prefix(repo()).unwrap().display().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            match check(&label, &text) {
                Ok(()) => println!("ok: {label}"),
                Err(e) => failures.push(e),
            }
            checked += 1;
        }
    }
    println!("{checked} example policies checked");
    assert!(
        failures.is_empty(),
        "invalid example policies:\n{}",
        failures.join("\n")
    );
}

/// The ```json blocks of a Markdown text, with the line each starts on.
fn json_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match &mut current {
            None if fence.starts_with("```json") && fence.trim_end() == "```json" => {
                current = Some((i + 1, String::new()));
            }
            Some(_) if fence.starts_with("```") => {
                blocks.extend(current.take());
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn every_policy_in_the_readme_validates() {
    let path = repo().join("README.md");
    let Ok(readme) = std::fs::read_to_string(&path) else {
        println!("README.md not found: no README policies checked");
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (line, block) in json_blocks(&readme) {
        if !block.contains("\"version\"") {
            continue;
        }
        let label = format!("README.md, ```json block at line {line}");
        match check(&label, &block) {
            Ok(()) => println!("ok: {label}"),
            Err(e) => failures.push(e),
        }
        checked += 1;
    }
    println!("{checked} README.md policies checked");
    assert!(
        failures.is_empty(),
        "invalid README policies:\n{}",
        failures.join("\n")
    );
}

#[test]
fn finds_json_blocks_in_markdown() {
    let markdown = "# t\n```json\n{\"version\":\"1\"}\n```\ntext\n```sh\nls\n```\n  ```json\n[]\n  ```\n```jsonc\n{}\n```\n";
    assert_eq!(
        json_blocks(markdown),
        [
            (2, "{\"version\":\"1\"}\n".to_owned()),
            (9, "[]\n".to_owned())
        ]
    );
}

/// Every example policy (`examples/` and `www/examples/`), with the tests file beside it:
/// `NAME.policy.json` and `NAME.tests.jsonl`.
fn example_policies() -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for dir in ["examples", "www/examples"] {
        for path in json_files(&repo().join(dir)) {
            let name = path.file_name().unwrap().to_str().unwrap();
            let Some(stem) = name.strip_suffix(".policy.json") else {
                continue;
            };
            let tests = path.with_file_name(format!("{stem}.tests.jsonl"));
            let label = path.strip_prefix(repo()).unwrap().display().to_string();
            out.push((label, path, tests));
        }
    }
    out
}

/// The policy tests shipped beside each example pass, run as `toolgate test` runs them;
/// an example without tests, or tests without their example, fail.
#[test]
fn every_example_policy_has_tests_and_they_pass() {
    let mut failures = Vec::new();
    let examples = example_policies();
    assert!(examples.len() >= 7, "examples found: {}", examples.len());
    for (label, policy, tests) in &examples {
        let Ok(cases) = std::fs::read_to_string(tests) else {
            failures.push(format!("{label}: no tests file {}", tests.display()));
            continue;
        };
        let policy = std::fs::read_to_string(policy).unwrap();
        match toolgate::json_api::run_tests(&policy, &cases) {
            Err(errors) => failures.push(format!("{label}: the policy is invalid: {errors:?}")),
            Ok(run) if run.failed > 0 || run.passed == 0 => {
                failures.push(format!("{label}:\n{}", run.report()));
            }
            Ok(run) => println!("ok: {label}: {} passed", run.passed),
        }
    }
    for dir in ["examples", "www/examples"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if let Some(stem) = name.strip_suffix(".tests.jsonl") {
                if !path.with_file_name(format!("{stem}.policy.json")).exists() {
                    failures.push(format!(
                        "{dir}/{name}: no policy {stem}.policy.json beside it"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "example tests failed:\n{}",
        failures.join("\n")
    );
}

/// Rules that no call in `toolgate test` can reach, with the reason.
const UNREACHABLE: &[(&str, &str, &str)] = &[(
    "www/examples/sales-assistant.policy.json",
    "/tools/google_gmail_send/limits/0",
    "every call needs approval first, and `toolgate test` never grants one",
)];

/// Each example's tests reach every rule it writes: each `hide` item, `action`, condition,
/// approval and limit is the `rule` of at least one decision.
#[test]
fn every_rule_of_an_example_is_exercised_by_its_tests() {
    let mut failures = Vec::new();
    for (label, policy_path, tests) in example_policies() {
        let text = std::fs::read_to_string(&policy_path).unwrap();
        let Ok(cases) = std::fs::read_to_string(&tests) else {
            continue; // reported by every_example_policy_has_tests_and_they_pass
        };
        let policy = Policy::from_json(&text).unwrap();
        let mut rules: Vec<String> = (0..policy.hide().len())
            .map(|i| format!("/hide/{i}"))
            .collect();
        rules.extend(policy.all_tools_limits().map(|l| l.pointer.to_string()));
        for entry in policy.entries() {
            if entry.deny {
                rules.push(entry.action_pointer().to_string());
            }
            rules.extend(
                entry
                    .deny_if
                    .iter()
                    .chain(&entry.require)
                    .map(|c| c.pointer.to_string()),
            );
            rules.extend(entry.approval.iter().map(|a| a.pointer.to_string()));
            rules.extend(
                entry
                    .limits
                    .iter()
                    .map(|i| policy.limits()[*i].pointer.to_string()),
            );
        }
        // The decisions of the cases, as `toolgate eval` gives them.
        let calls: Vec<String> = cases
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut line: serde_json::Value = serde_json::from_str(l).unwrap();
                line.as_object_mut().unwrap().remove("expect");
                line.to_string()
            })
            .collect();
        let decisions = toolgate::json_api::eval_jsonl(&text, &calls.join("\n"));
        let reached: Vec<String> = decisions
            .lines()
            .filter_map(|l| {
                let d: serde_json::Value = serde_json::from_str(l).unwrap();
                d["rule"].as_str().map(str::to_owned)
            })
            .collect();
        for rule in rules {
            let unreachable = UNREACHABLE
                .iter()
                .any(|(l, r, _)| *l == label && *r == rule);
            if !unreachable && !reached.contains(&rule) {
                failures.push(format!("{label}: no case reaches {rule}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rules without a case:\n{}",
        failures.join("\n")
    );
}

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

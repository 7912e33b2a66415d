//! An SSE stream through `SseRewriter` with the real `Filter` of a fixed policy, fed in
//! chunks whose lengths come from the input, and fed whole.
//!
//! Input: byte 0 says how many chunk lengths follow (`byte0 % 8`); each following byte
//! is one chunk length (0 pushes an empty chunk), used in turn until the stream is all
//! pushed. With no lengths (or only zeros) the stream is pushed one byte at a time. The
//! rest of the input is the stream. So `0data: {}\n\n` is the stream `data: {}\n\n`
//! pushed byte by byte.
//!
//! Properties: the output is UTF-8 made of normalized lines only (`event: `, `id: `,
//! `retry: DIGITS`, `data: ` or a bare `data:`, `:` and blank lines); every `data` payload
//! of an event it emits is a JSON object that the filter passed (the exact text the
//! filter returned, which the filter passes unchanged if asked again); chunking changes
//! nothing: the output, the error that cuts the stream, the events counted and what
//! `finish` drops are the same as for the stream pushed whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toolgate::catalogue::View;
use toolgate::filter::{Filter, FilterError, Report};
use toolgate::json::Document;
use toolgate::policy::Policy;
use toolgate::sse::SseRewriter;

/// The fixed policy, loaded once. A policy is not `Sync` (it caches plans), and a
/// fuzz target runs on one thread: one per thread, kept for the process.
fn policy() -> &'static Policy {
    thread_local! {
        static POLICY: &'static Policy = match Policy::from_json(toolgate_fuzz::FILTER_POLICY) {
            Ok(p) => Box::leak(Box::new(p)),
            Err(e) => panic!("the fixed policy is invalid: {e}"),
        };
    }
    POLICY.with(|p| *p)
}

struct Run {
    out: Vec<u8>,
    error: Option<FilterError>,
    events: usize,
    dropped: Option<usize>,
    /// Every payload the filter passed, as it passed it.
    passed: Vec<String>,
}

fn run(stream: &[u8], chunks: &[usize]) -> Run {
    let view = View::empty();
    let filter = Filter::new(policy(), &view);
    let mut report = Report::default();
    let mut passed = Vec::new();
    let mut rewriter = SseRewriter::new();
    let mut out = Vec::new();
    let mut error = None;
    let mut at = 0;
    let mut turn = 0;
    loop {
        let len = chunks
            .get(turn % chunks.len().max(1))
            .copied()
            .unwrap_or(stream.len());
        turn += 1;
        let end = (at + len).min(stream.len());
        let chunk = &stream[at..end];
        at = end;
        let result = rewriter.push(chunk, &mut out, &mut |data| {
            let text = filter.message(data, &mut report)?;
            passed.push(text.to_string());
            Ok(match text {
                std::borrow::Cow::Borrowed(_) => None,
                std::borrow::Cow::Owned(text) => Some(text),
            })
        });
        if let Err(e) = result {
            error = Some(e);
            break;
        }
        if at >= stream.len() {
            break;
        }
    }
    let dropped = error.is_none().then(|| rewriter.finish());
    Run {
        out,
        error,
        events: rewriter.events,
        dropped,
        passed,
    }
}

fn check_output(r: &Run) {
    let text = match std::str::from_utf8(&r.out) {
        Ok(t) => t,
        Err(e) => panic!("output is not utf-8: {e}"),
    };
    assert!(!text.contains('\r'), "output holds a CR: {text:?}");
    let mut payloads = Vec::new();
    let mut data: Option<String> = None;
    let mut has_data_line = false;
    let lines: Vec<&str> = text.split('\n').collect();
    // The text ends with a newline (or is empty): the last piece is empty.
    assert_eq!(
        lines.last(),
        Some(&""),
        "output does not end with a newline: {text:?}"
    );
    for line in &lines[..lines.len() - 1] {
        if line.is_empty() {
            if let Some(d) = data.take() {
                payloads.push(d);
            }
            has_data_line = false;
            continue;
        }
        if *line == ":" {
            continue;
        }
        if *line == "data:" {
            assert!(
                data.is_none() && !has_data_line,
                "a bare `data:` among data lines: {text:?}"
            );
            has_data_line = true;
            continue;
        }
        if let Some(value) = line.strip_prefix("data: ") {
            let d = data.get_or_insert_with(String::new);
            if has_data_line {
                d.push('\n');
            }
            d.push_str(value);
            has_data_line = true;
            continue;
        }
        if let Some(value) = line.strip_prefix("retry: ") {
            assert!(
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
                "retry {value:?}"
            );
            continue;
        }
        if let Some(value) = line.strip_prefix("id: ") {
            assert!(!value.contains('\0'), "an id with NUL");
            continue;
        }
        if line.starts_with("event: ") {
            continue;
        }
        panic!("line {line:?} is not a normalized SSE line: {text:?}");
    }
    // A stream cut by an error may end with the fields of the event that was refused,
    // never with its data.
    assert!(
        data.is_none() && !has_data_line,
        "data after the last event ended: {text:?}"
    );
    assert_eq!(
        payloads, r.passed,
        "the data sent is not what the filter passed"
    );
    let view = View::empty();
    let filter = Filter::new(policy(), &view);
    for payload in &payloads {
        let doc = Document::parse(payload.as_bytes()).expect("a payload that passed is json");
        assert!(
            doc.root().is_object(),
            "a payload that is not an object: {payload:?}"
        );
        let mut report = Report::default();
        let again = filter
            .message(payload, &mut report)
            .expect("a payload that passed passes again");
        assert_eq!(
            again.as_ref(),
            payload.as_str(),
            "the filter changed its own output"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(head % 8).min(rest.len());
    let (lengths, stream) = rest.split_at(n);
    let mut chunks: Vec<usize> = lengths.iter().map(|b| usize::from(*b)).collect();
    if chunks.iter().all(|c| *c == 0) {
        chunks = vec![1];
    }

    let whole = run(stream, &[stream.len().max(1)]);
    check_output(&whole);
    let chunked = run(stream, &chunks);
    check_output(&chunked);
    if whole.out != chunked.out {
        panic!(
            "chunking changed the output:\n whole:   {:?}\n chunked: {:?}",
            String::from_utf8_lossy(&whole.out),
            String::from_utf8_lossy(&chunked.out)
        );
    }
    assert_eq!(whole.error, chunked.error, "chunking changed the error");
    assert_eq!(
        whole.events, chunked.events,
        "chunking changed the events counted"
    );
    assert_eq!(
        whole.dropped, chunked.dropped,
        "chunking changed what finish drops"
    );
});

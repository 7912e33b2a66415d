//! Arbitrary bytes through toolgate's strict JSON parser. On success every node is read
//! every way (`toolgate_fuzz::walk`), and the canonical form round-trips: it parses
//! again, its own canonical form is identical, and it is `json_eq` to the original.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toolgate::json::{json_eq, Document};

fuzz_target!(|data: &[u8]| {
    let parsed = Document::parse(data);
    // The owned entry point must agree with the borrowed one, error for error.
    let owned = Document::parse_owned_bytes(data.to_vec());
    match (&parsed, &owned) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b, "parse and parse_owned_bytes disagree"),
        _ => panic!("parse and parse_owned_bytes disagree: {parsed:?} vs {owned:?}"),
    }
    let doc = match parsed {
        Ok(doc) => doc,
        Err(e) => {
            assert!(e.offset <= data.len(), "error offset past the end: {e:?}");
            assert!(e.line >= 1 && e.column >= 1);
            return;
        }
    };
    let root = doc.root();
    toolgate_fuzz::walk(root);

    let canonical = root.canonical();
    let again = match Document::parse(canonical.as_bytes()) {
        Ok(again) => again,
        Err(e) => {
            if toolgate_fuzz::tolerated("canonical-exponent")
                && e.kind == toolgate::json::JsonErrorKind::NumberOutOfRange
                && toolgate_fuzz::is_canonical_exponent_bug(&canonical)
            {
                return;
            }
            panic!("the canonical form {canonical:?} does not parse: {e}")
        }
    };
    let canonical_again = again.root().canonical();
    assert_eq!(
        canonical, canonical_again,
        "canonical form is not a fixed point"
    );
    assert!(
        json_eq(root, again.root()),
        "canonical form is not json_eq to the original"
    );
    assert!(json_eq(again.root(), root), "json_eq is not symmetric");

    // Reusing a tape gives the same document.
    let reused = Document::parse_reusing(data, again.into_tape()).expect("parsed once already");
    assert_eq!(reused.root().canonical(), canonical);
});

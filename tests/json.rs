//! The strict parser's edges that fuzzing found (see `fuzz/regressions/`).

use toolgate::json::{Document, JsonErrorKind};

fn error_of(text: &str) -> Option<JsonErrorKind> {
    Document::parse(text.as_bytes()).err().map(|e| e.kind)
}

#[test]
fn sharp_s_folds_with_its_capital_and_with_ss() {
    for (a, b) in [("ß", "ẞ"), ("ẞ", "ss"), ("ß", "SS"), ("ẞ", "ß")] {
        let text = format!(r#"{{"{a}":1,"{b}":2}}"#);
        assert_eq!(
            error_of(&text),
            Some(JsonErrorKind::AmbiguousKeys(a.to_owned(), b.to_owned())),
            "{text}"
        );
    }
    // Escaped forms fold the same, through the slow path.
    assert!(matches!(
        error_of(r#"{"\u00df":1,"\u1e9e":2}"#),
        Some(JsonErrorKind::AmbiguousKeys(..))
    ));
}

#[test]
fn a_number_is_in_range_only_if_its_canonical_form_is() {
    for text in [
        "0.1e-999999",
        "0.09E-999999",
        "-0.0001e-999998",
        "10e999999",
    ] {
        assert_eq!(
            error_of(text),
            Some(JsonErrorKind::NumberOutOfRange),
            "{text}"
        );
    }
    for (text, canonical) in [
        ("1e-999999", "1e-999999"),
        ("0.1e-999998", "1e-999999"),
        ("0e-999999", "0"),
        ("0.0e999999", "0"),
        ("1.5e300", "1.5e+300"),
    ] {
        let doc = Document::parse(text.as_bytes()).expect(text);
        let written = doc.root().canonical();
        assert_eq!(written, canonical, "{text}");
        assert!(
            Document::parse(written.as_bytes()).is_ok(),
            "{written} parses again"
        );
    }
}

#[test]
fn numbers_order_by_exact_value_whether_written_as_small_integers_or_not() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let cases = [
        ("1", "2", Less),
        ("-3", "2", Less),
        ("-3", "-20", Greater),
        ("0", "-0", Equal),
        ("500", "5e2", Equal),
        ("500", "500.0", Equal),
        ("499", "499.5", Less),
        ("-1", "-1.5", Greater),
        ("999999999999999999", "1000000000000000000", Less),
        ("123456789012345678901", "123456789012345678900", Greater),
        ("-123456789012345678901", "-1", Less),
        ("1", "0.99999999999999999999", Greater),
    ];
    for (a, b, expected) in cases {
        let text = format!("[{a},{b}]");
        let doc = Document::parse(text.as_bytes()).expect("json");
        let items: Vec<_> = doc.root().items().collect();
        let (x, y) = (items[0].as_number().unwrap(), items[1].as_number().unwrap());
        assert_eq!(x.cmp_exact(&y), expected, "{a} against {b}");
        assert_eq!(y.cmp_exact(&x), expected.reverse(), "{b} against {a}");
    }
}

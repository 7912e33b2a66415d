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

/// 2^1024 − 2^970: the least magnitude a double cannot hold (it rounds to infinity).
const F64_OVERFLOW: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

/// Whether the parser takes `number` in range: as `str::parse::<f64>` finds it finite.
#[cfg(test)]
fn in_range_as_f64_says(number: &str) {
    let finite = number.parse::<f64>().unwrap().is_finite();
    let taken = error_of(number) != Some(JsonErrorKind::NumberOutOfRange);
    assert_eq!(taken, finite, "{number}");
}

#[test]
fn a_number_is_in_range_exactly_when_it_is_a_finite_double() {
    let below = format!("{}1", &F64_OVERFLOW[..F64_OVERFLOW.len() - 1]);
    for number in [
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "1.797693134862315807937289714053034150799341327100378269361e308",
        "1e308",
        "9.99e308",
        "1e309",
        "10e308",
        "0.0001e312",
        "0.00001e312",
        "-1.7976931348623159e308",
        "-1e308",
        "1e-400",
        "0e999999",
        F64_OVERFLOW,
        &format!("-{F64_OVERFLOW}"),
        &format!("{F64_OVERFLOW}.0"),
        &format!("{F64_OVERFLOW}.0000001"),
        &format!("{F64_OVERFLOW}e-1"),
        &format!("0.{F64_OVERFLOW}e309"),
        &format!("0.{F64_OVERFLOW}1e309"),
        &below,
        &format!("{below}.99999999999"),
        &format!("{F64_OVERFLOW}0e-1"),
        &format!("{F64_OVERFLOW}1e-1"),
    ] {
        in_range_as_f64_says(number);
    }
}

proptest::proptest! {
    #[test]
    fn numbers_near_the_largest_double_are_in_range_as_doubles_say(
        keep in 1usize..330,
        change in 0usize..330,
        up in proptest::bool::ANY,
        shift in -3i64..4,
        negative in proptest::bool::ANY,
    ) {
        let mut digits: Vec<u8> = F64_OVERFLOW.bytes().chain(std::iter::repeat(b'0')).take(keep).collect();
        if let Some(d) = digits.get_mut(change) {
            // The first digit stays non-zero: a leading zero is not JSON.
            let least = if change == 0 { b'1' } else { b'0' };
            *d = if up { (*d + 1).min(b'9') } else { d.saturating_sub(1).max(least) };
        }
        let digits = String::from_utf8(digits).unwrap();
        let exponent = 309 - i64::try_from(keep).unwrap() + shift;
        let sign = if negative { "-" } else { "" };
        in_range_as_f64_says(&format!("{sign}{digits}e{exponent}"));
        in_range_as_f64_says(&format!("{sign}0.{digits}e{}", 309 + shift));
    }
}

#[test]
fn objects_of_many_keys_refuse_repeated_and_case_equal_keys_wherever_they_are() {
    // Over 16 keys, the check goes through the parser's index of folded-key hashes.
    let keys: Vec<String> = (0..300).map(|i| format!("\"key{i}\":{i}")).collect();
    let object = |extra: &str| format!("{{{},{extra}}}", keys.join(","));
    assert_eq!(error_of(&object("\"other\":1")), None);
    for (extra, repeated) in [
        ("\"key0\":1", "key0"),
        ("\"key15\":1", "key15"),
        ("\"key16\":1", "key16"),
        ("\"key299\":1", "key299"),
        (r#""\u006bey7":1"#, "key7"),
    ] {
        match error_of(&object(extra)) {
            Some(JsonErrorKind::DuplicateKey(key)) => assert_eq!(key, repeated, "{extra}"),
            other => panic!("{extra}: {other:?}"),
        }
    }
    for extra in ["\"KEY3\":1", "\"Key250\":1", r#""\u004bey20":1"#] {
        assert!(
            matches!(
                error_of(&object(extra)),
                Some(JsonErrorKind::AmbiguousKeys(..))
            ),
            "{extra}"
        );
    }
}

#[test]
fn find_any_finds_the_first_wanted_byte_at_every_place() {
    // The word-at-a-time search against the plain one: every length up to three pairs of
    // words, a wanted byte in every place (and a second one after it), next to the bytes
    // one above and below the wanted ones.
    let plain = |bytes: &[u8], wanted: &[u8]| bytes.iter().position(|b| wanted.contains(b));
    for len in 0..50 {
        for at in 0..len {
            for byte in [b'~', b'/', b'}', b'.', b'0', b'\n', b'\t', 0x0b, b'*', 0xff] {
                let mut bytes = vec![b'a'; len];
                bytes[at] = byte;
                if at + 3 < len {
                    bytes[at + 3] = b'/';
                }
                let shown = String::from_utf8_lossy(&bytes).into_owned();
                let two = toolgate::json::find_any(&bytes, [b'~', b'/']);
                assert_eq!(two, plain(&bytes, b"~/"), "{shown:?}");
                let one = toolgate::json::find_any(&bytes, [b'\n']);
                assert_eq!(one, plain(&bytes, b"\n"), "{shown:?}");
            }
        }
    }
}

//! Operands decoded at load (`policy::Operand`: strings, short integers, lists of
//! strings) decide exactly as the same operands compared as JSON values. Each case
//! writes an operand twice: in a form the loader decodes, and in an equal form it does
//! not (`5.0` for `5`, a list with an extra member no value here equals), and every
//! called value must get the same verdict from both.

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use toolgate::json_api::eval_jsonl;

/// Values a call may send, of every kind, with strings escaped and numbers written in
/// several ways.
const VALUES: &[&str] = &[
    r#""res.partner""#,
    r#""res.\u0070artner""#,
    r#""RES.PARTNER""#,
    r#""res""#,
    r#""""#,
    r#""a password here""#,
    r#""caf\u00e9""#,
    r#""café""#,
    "5",
    "5.0",
    "5e0",
    "50e-1",
    "-5",
    "4",
    "6",
    "0",
    "-0",
    "123456789012345678",
    "1234567890123456789012",
    "4.999999999999999999999",
    "true",
    "null",
    r#"["res.partner","password"]"#,
    r#"["res.\u0070artner"]"#,
    "[5]",
    "[]",
    r#"{"a":1}"#,
];

/// `(op, decoded operand, the same operand as the loader leaves it)`.
const CASES: &[(&str, &str, &str)] = &[
    ("eq", "5", "5.0"),
    ("neq", "5", "5.0"),
    ("eq", "-5", "-5e0"),
    ("lt", "5", "5.0"),
    ("lte", "5", "5.0"),
    ("gt", "5", "5.0"),
    ("gte", "5", "5.0"),
    ("gt", "123456789012345678", "1.23456789012345678e17"),
    (
        "in",
        r#"["res.partner","res"]"#,
        r#"["res.partner","res",{"never":1}]"#,
    ),
    (
        "not_in",
        r#"["res.partner","res"]"#,
        r#"["res.partner","res",{"never":1}]"#,
    ),
    ("in", r#"["café"]"#, r#"["café",{"never":1}]"#),
];

/// The decision lines of `toolgate eval` for one call per value of `values` (JSON texts),
/// under a policy that denies tool `t` when `args.v` meets `op` with `operand` (JSON).
fn decide_each(op: &str, operand: &str, values: &[&str]) -> Vec<String> {
    let policy = format!(
        r#"{{"version":"1","default":"allow","tools":{{"t":{{"deny_if":[{{"path":"args.v","op":"{op}","value":{operand}}}]}}}}}}"#
    );
    let input: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                r#"{{"body":{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"t","arguments":{{"v":{v}}}}}}}}}"#
            ) + "\n"
        })
        .collect();
    let out = eval_jsonl(&policy, &input);
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), values.len(), "{op} {operand}: {out}");
    lines
}

fn verdicts(op: &str, operand: &str) -> Vec<String> {
    // The verdict and its rule, not the message (which quotes the operand as written).
    decide_each(op, operand, VALUES)
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a decision object");
            format!("{} {}", v["decision"], v["rule"])
        })
        .collect()
}

#[test]
fn decoded_operands_decide_as_json_values() {
    for (op, decoded, generic) in CASES {
        let a = verdicts(op, decoded);
        let b = verdicts(op, generic);
        for ((value, x), y) in VALUES.iter().zip(&a).zip(&b) {
            assert_eq!(x, y, "`{value}` {op} {decoded} against {generic}");
        }
    }
}

/// Regexes whose first byte the loader reads (`Operand::Starts`), each beside the same
/// regex in a form it leaves alone (a `(?:…)` around it).
const REGEXES: &[&str] = &[
    r"^(ir|base)\.",
    r"^/backups/",
    r"^a+b",
    r"^\.env$",
    r"^(res\.users|ir\.|base\.)",
    r"^(a|b)c|d",
    r"^x\|y",
    r"^\<ab",
    r"^a?b",
    r"^a*b",
    r"^(a|x)?c",
    r"^x{0,1}y",
];

/// Strings for [`REGEXES`].
const TEXTS: &[&str] = &[
    r#""ir.rule""#,
    r#""base.x""#,
    r#""\u0069r.rule""#,
    r#""IR.rule""#,
    r#""xir.rule""#,
    r#""res.users""#,
    r#""/backups/2026""#,
    r#""/etc/passwd""#,
    r#""aab""#,
    r#""b""#,
    r#""d""#,
    r#""c""#,
    r#""y""#,
    r#""x|y""#,
    r#""ab""#,
    r#"".env""#,
    r#""""#,
    r#""é""#,
    "7",
];

fn regex_verdicts(regex: &str) -> Vec<bool> {
    let value = serde_json::to_string(regex).expect("a JSON string");
    decide_each("regex", &value, TEXTS)
        .iter()
        .map(|l| l.contains(r#""decision":"deny""#))
        .collect()
}

#[test]
fn regexes_read_at_load_match_as_regexes() {
    for regex in REGEXES {
        let read = regex_verdicts(regex);
        let plain = regex_verdicts(&format!("(?:{regex})"));
        assert_eq!(read.len(), TEXTS.len(), "{regex}");
        for ((text, a), b) in TEXTS.iter().zip(&read).zip(&plain) {
            assert_eq!(a, b, "`{text}` against {regex}");
        }
    }
    // And they match what they say (a number is not a string: denied as unevaluable).
    let ir = regex_verdicts(r"^(ir|base)\.");
    let denied: Vec<&str> = TEXTS
        .iter()
        .zip(&ir)
        .filter(|(_, d)| **d)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        denied,
        [r#""ir.rule""#, r#""base.x""#, r#""\u0069r.rule""#, "7"]
    );
}

#[test]
fn decoded_operands_decide_what_they_say() {
    // A few verdicts checked outright, so that equal wrong answers cannot pass.
    let eq = verdicts("eq", r#""res.partner""#);
    let denied = |v: &Vec<String>, i: usize| v[i].starts_with("\"deny\"");
    assert!(denied(&eq, 0) && denied(&eq, 1), "{eq:?}");
    assert!(!denied(&eq, 2) && !denied(&eq, 3), "{eq:?}");
    let gt = verdicts("gt", "5");
    let index = |v: &str| VALUES.iter().position(|x| *x == v).expect("a listed value");
    assert!(denied(&gt, index("6")) && denied(&gt, index("1234567890123456789012")));
    assert!(!denied(&gt, index("5.0")) && !denied(&gt, index("4.999999999999999999999")));
    // A string is not a number: the condition cannot be evaluated and fails closed.
    assert!(denied(&gt, index(r#""res""#)), "{gt:?}");
    let contains = verdicts("contains", r#""password""#);
    assert!(denied(&contains, index(r#""a password here""#)));
    assert!(denied(&contains, index(r#"["res.partner","password"]"#)));
    assert!(!denied(&contains, index(r#""res""#)));
    let in_list = verdicts("in", r#"["café","x"]"#);
    assert!(denied(&in_list, index(r#""caf\u00e9""#)) && denied(&in_list, index(r#""café""#)));
    assert!(!denied(&in_list, index("5")));
}

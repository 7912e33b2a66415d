//! Helpers shared by the fuzz targets: the fixed policies they evaluate under, JSON
//! Pointer checks, and a walk over every node of a document.

use toolgate::json::{json_eq, Kind, Node};

/// A policy that uses every op, `*` paths, limits of every scope and window, the
/// `rate_limit` shorthand, an approval with and without conditions, monitor mode, `hide`
/// globs and `on_deny` messages. The MCP target decides every message under it.
pub const EVAL_POLICY: &str = r#"{
  "version": "1",
  "default": "allow",
  "hide": ["ssh_execute", "secret_*", "*_internal"],
  "all_tools": { "limits": [ { "counter": "all", "window": "second", "max": 3, "scope": "grant" } ] },
  "tools": {
    "eq_tool": {
      "deny_if": [ { "path": "args.model", "op": "eq", "value": "res.users" } ],
      "require": [ { "path": "args.model", "op": "neq", "value": 12.50 } ],
      "on_deny": "no users"
    },
    "set_tool": {
      "deny_if": [ { "path": "args.model", "op": "in", "value": ["a", 1, 1e2, null, {"k": [true]}] } ],
      "require": [ { "path": "args.state", "op": "not_in", "value": ["posted", 12345678901234567891] } ]
    },
    "num_tool": {
      "deny_if": [
        { "path": "args.amount", "op": "lt", "value": -1.5 },
        { "path": "args.amount", "op": "gt", "value": 1e21 }
      ],
      "require": [
        { "path": "args.amount", "op": "gte", "value": 0 },
        { "path": "args.amount", "op": "lte", "value": 100000000000000000000.000001 }
      ],
      "reason": "amounts between 0 and 1e20"
    },
    "text_tool": {
      "require": [ { "path": "args.method", "op": "regex", "value": "^(action_confirm|action_draft)$" } ],
      "deny_if": [
        { "path": "args.note", "op": "contains", "value": "DROP" },
        { "path": "args.tags", "op": "contains", "value": {"a": 1} }
      ]
    },
    "exists_tool": {
      "require": [ { "path": "args.ids", "op": "exists" } ],
      "deny_if": [ { "path": "args.force", "op": "exists", "value": true }, { "path": "args.id", "op": "exists", "value": false } ]
    },
    "star_tool": {
      "deny_if": [ { "path": "args.lines.*.amount", "op": "gt", "value": 1000 } ],
      "require": [
        { "path": "args.lines.*.account", "op": "regex", "value": "^[0-9]{3,6}$" },
        { "path": "args.map.*", "op": "neq", "value": "x" },
        { "path": "args.a.0.b.*.c.*", "op": "exists" }
      ]
    },
    "approve_tool": {
      "approval": { "if": [ { "path": "args.amount", "op": "gte", "value": 100 } ], "ttl": "1m" },
      "limits": [ { "counter": "approve", "window": "minute", "max": 2, "scope": "session" } ]
    },
    "always_approve": { "approval": {} },
    "limited": {
      "limits": [
        { "counter": "g", "window": "hour", "max": 2, "scope": "global" },
        { "counter": "s", "window": "day", "max": 1000000, "scope": "session" },
        { "counter": "all", "window": "second", "max": 3, "scope": "grant" }
      ],
      "rate_limit": { "max": 2, "window": 60 }
    },
    "monitored": { "mode": "monitor", "action": "deny", "limits": [ { "counter": "m", "window": "second", "max": 1 } ] },
    "monitored_approval": { "mode": "monitor", "approval": { "ttl": "30s" } },
    "denied": { "action": "deny" },
    "glob_*": { "action": "deny", "on_deny": "glob tools are off" },
    "*.write": { "deny_if": [ { "path": "args.0", "op": "exists" } ] },
    "*": { "deny_if": [ { "path": "args.__proto__", "op": "exists" } ] }
  }
}"#;

/// The policy the SSE target filters tool lists under: unknown tools are hidden, some
/// listed ones are denied on call, one is monitored.
pub const FILTER_POLICY: &str = r#"{
  "version": "1",
  "default": "deny",
  "hide": ["ssh_execute", "odoo_web_*"],
  "tools": {
    "odoo_*": {},
    "read": {},
    "write": { "action": "deny" },
    "watched": { "mode": "monitor", "action": "deny" },
    "secret": { "mode": "monitor", "deny_if": [ { "path": "args.x", "op": "exists" } ] }
  }
}"#;

/// Whether `pointer` is a JSON Pointer (RFC 6901): empty, or `/`-separated tokens in
/// which `~` is always followed by `0` or `1`.
pub fn pointer_is_valid(pointer: &str) -> bool {
    if pointer.is_empty() {
        return true;
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return false;
    };
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

/// The reference tokens of a valid pointer, unescaped.
pub fn pointer_tokens(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .get(1..)
        .unwrap_or_default()
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The node a pointer names, if it names one.
pub fn resolve<'d>(root: Node<'d>, tokens: &[String]) -> Option<Node<'d>> {
    let mut node = root;
    for token in tokens {
        node = match node.kind() {
            Kind::Object => node.get(token)?,
            Kind::Array => {
                let index_ok = token == "0"
                    || (!token.is_empty()
                        && !token.starts_with('0')
                        && token.bytes().all(|b| b.is_ascii_digit()));
                if !index_ok {
                    return None;
                }
                node.item(token.parse().ok()?)?
            }
            _ => return None,
        };
    }
    Some(node)
}

/// Reads every view of every node of a document, checking what each must agree with.
/// Returns the number of nodes.
pub fn walk(node: Node<'_>) -> usize {
    let mut count = 1;
    let raw = node.raw();
    assert_eq!(node.span().len(), raw.len(), "span and raw disagree");
    assert!(
        json_eq(node, node),
        "a node is not json_eq to itself: {raw}"
    );
    let canonical = node.canonical();
    match node.kind() {
        Kind::Null => assert!(node.is_null() && raw == "null"),
        Kind::Bool => {
            let b = node.as_bool().expect("a bool node has a bool");
            assert_eq!(raw, if b { "true" } else { "false" });
        }
        Kind::Number => {
            let n = node.as_number().expect("a number node has a number");
            assert_eq!(n.as_str(), raw);
            assert_eq!(
                n.cmp_exact(&n),
                std::cmp::Ordering::Equal,
                "{raw} != itself"
            );
            assert_eq!(n.canonical(), canonical);
            let _ = (n.as_u64(), n.as_i64(), n.is_integer(), n.as_f64());
            if let Some(u) = n.as_u64() {
                assert!(n.is_integer(), "{raw} is a u64 but not an integer");
                if let Ok(i) = i64::try_from(u) {
                    assert_eq!(n.as_i64(), Some(i), "{raw}: as_u64 {u} but as_i64 differs");
                }
            }
            if let Some(i) = n.as_i64() {
                assert!(n.is_integer(), "{raw} is an i64 but not an integer");
                assert_eq!(canonical, i.to_string(), "{raw}: canonical of an i64");
            }
        }
        Kind::String => {
            let s = node.as_str().expect("a string node has a string");
            assert!(node.str_eq(&s), "str_eq disagrees with as_str for {raw}");
            assert!(raw.starts_with('"') && raw.ends_with('"') && raw.len() >= 2);
        }
        Kind::Array => {
            assert_eq!(node.items().count(), node.len());
            for (i, item) in node.items().enumerate() {
                let again = node.item(i).expect("item(i) of an item");
                assert_eq!(again.index(), item.index());
                count += walk(item);
            }
            assert!(node.item(node.len()).is_none());
        }
        Kind::Object => {
            assert_eq!(node.members().count(), node.len());
            let keys: Vec<String> = node
                .members()
                .map(|(k, _)| k.as_str().unwrap_or_default().into_owned())
                .collect();
            for (i, a) in keys.iter().enumerate() {
                for b in keys.get(i + 1..).unwrap_or_default() {
                    let same = same_but_case(a, b);
                    if same && !tolerated("sharp-s-case") {
                        panic!(
                            "keys {a:?} and {b:?} differ only in case or NUL, and were accepted"
                        );
                    }
                }
            }
            for (key, value) in node.members() {
                assert_eq!(key.kind(), Kind::String, "a key that is not a string");
                let k = key.as_str().expect("a key has a string");
                let got = node.get(&k).expect("get finds every member's key");
                assert_eq!(
                    got.index(),
                    value.index(),
                    "get({k:?}) found another member"
                );
                count += walk(value);
            }
        }
    }
    let owned = node.to_document();
    assert!(json_eq(node, owned.root()), "to_document changed {raw}");
    count
}

/// Whether a known bug of `src/` is to be stepped over rather than reported, so that a
/// long run can go on looking for others: `FUZZ_TOLERATE=canonical-exponent,...`. Each
/// target names the bugs it can step over where it checks for them; without the variable
/// every property is checked. The bugs are described in `fuzz/regressions/README.md`.
pub fn tolerated(bug: &str) -> bool {
    static KNOWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KNOWN
        .get_or_init(|| {
            std::env::var("FUZZ_TOLERATE")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|b| b == bug)
}

/// Whether a canonical number is bug `canonical-exponent`: an exact value so small that
/// its canonical exponent has more than `MAX_EXPONENT_DIGITS` digits, which the parser
/// then refuses (`0.1e-999999` is `1e-1000000`).
pub fn is_canonical_exponent_bug(canonical: &str) -> bool {
    canonical
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')))
        .filter_map(|token| token.split_once('e'))
        .any(|(mantissa, exponent)| {
            mantissa
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
                && exponent.trim_start_matches(['+', '-']).len()
                    > toolgate::json::MAX_EXPONENT_DIGITS
        })
}

/// Whether two keys differ only in case (character by character, by the single-character
/// lowercase or uppercase mappings: `K`/`k`, `ẞ`/`ß`) or by NUL characters: keys the
/// parser documents it refuses.
pub fn same_but_case(a: &str, b: &str) -> bool {
    fn one(mut it: impl Iterator<Item = char>, c: char) -> char {
        match (it.next(), it.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
    let lower = |c: char| one(c.to_lowercase(), c);
    let upper = |c: char| one(c.to_uppercase(), c);
    let a: Vec<char> = a.chars().filter(|c| *c != '\0').collect();
    let b: Vec<char> = b.chars().filter(|c| *c != '\0').collect();
    a.len() == b.len()
        && a.iter().zip(&b).all(|(&c, &d)| {
            c == d
                || lower(c) == lower(d)
                || upper(c) == upper(d)
                || lower(upper(c)) == lower(upper(d))
        })
}

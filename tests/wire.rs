//! The Worker's hand-written JSON (`toolgate::wire`) against what serde_json wrote before
//! it: the same bytes, so that stored bodies and names computed from JSON stay the same,
//! and every body serde_json wrote reads back the same.

use proptest::prelude::*;
use serde_json::Value;
use toolgate::approval::{self, Approval, Status};
use toolgate::audit::{Query, Record};
use toolgate::catalogue::{Change, PinRecord, PinStatus, Seen, Snapshot, SnapshotTool};
use toolgate::eval::{MonitorDecision, Outcome};
use toolgate::wire::{self, FromJson, ToJson};

const TRICKY: &str = "a\"b\\c\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f} é 😀 </script>";

fn approval(status: Status, decided: bool, sealed: Option<&str>) -> Approval {
    Approval {
        id: "ap_1".to_owned(),
        binding: r#"["g","t","abc",3]"#.to_owned(),
        grant: "grant \"one\"".to_owned(),
        tool: TRICKY.to_owned(),
        arguments_sha256: "abc".to_owned(),
        policy_version: 3,
        rule: "/tools/t/approval".to_owned(),
        arguments_sealed: sealed.map(str::to_owned),
        status,
        created_at: 1_700_000_000_000,
        expires_at: u64::MAX,
        decided_by: decided.then(|| "ops".to_owned()),
        decided_at: decided.then_some(1_700_000_000_001),
        note: decided.then(|| TRICKY.to_owned()),
    }
}

fn record(full: bool) -> Record {
    Record {
        id: "r1".to_owned(),
        at: 42,
        request_id: full.then(|| TRICKY.to_owned()),
        grant: "g".to_owned(),
        session: None,
        method: Some("tools/call".to_owned()),
        tool: Some("t".to_owned()),
        decision: "deny".to_owned(),
        rule: full.then(|| "/tools/t".to_owned()),
        message: Some(TRICKY.to_owned()),
        argument_keys: vec!["a".to_owned(), TRICKY.to_owned()],
        argument_key_count: 2,
        arguments_sha256: Some("00ff".to_owned()),
        policy_version: 0,
        origin_status: full.then_some(502),
        latency_ms: 7,
        monitor: full.then(|| MonitorDecision {
            decision: Outcome::RateLimited,
            rule: Some("/all_tools".to_owned()),
            message: None,
            retry_after_ms: Some(1000),
        }),
        removed: full.then_some(3),
        monitor_hidden: None,
        pin: full.then(|| Change {
            tool: "t".to_owned(),
            status: PinStatus::Changed,
            pinned_sha256: Some("a".to_owned()),
            current_sha256: None,
        }),
    }
}

fn pin(pinned: bool) -> PinRecord {
    PinRecord {
        tool: TRICKY.to_owned(),
        pinned_sha256: pinned.then(|| "p".to_owned()),
        pinned: pinned.then(|| r#"{"name":"t"}"#.to_owned()),
        current_sha256: Some("c".to_owned()),
        current: Some(r#"{"name":"t","description":"x"}"#.to_owned()),
    }
}

/// `value` is written as serde_json wrote it and read back from serde_json's text.
#[cfg(test)]
fn same_as_serde<T>(value: &T)
where
    T: ToJson
        + FromJson
        + serde::Serialize
        + serde::de::DeserializeOwned
        + PartialEq
        + std::fmt::Debug,
{
    let theirs = serde_json::to_string(value).unwrap();
    assert_eq!(wire::to_string(value), theirs);
    assert_eq!(&wire::from_str::<T>(&theirs).unwrap(), value);
    let back: T = serde_json::from_str(&wire::to_string(value)).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn approvals_are_written_and_read_as_serde_did() {
    for status in [
        Status::Pending,
        Status::Approved,
        Status::Denied,
        Status::Used,
        Status::Expired,
    ] {
        same_as_serde(&approval(status, false, None));
        same_as_serde(&approval(status, true, Some("00aa")));
    }
}

#[test]
fn audit_records_are_written_and_read_as_serde_did() {
    same_as_serde(&record(false));
    same_as_serde(&record(true));
}

#[test]
fn pins_snapshots_and_queries_are_written_and_read_as_serde_did() {
    same_as_serde(&pin(true));
    same_as_serde(&pin(false));
    same_as_serde(&Seen {
        name: "t".to_owned(),
        sha256: "s".to_owned(),
        raw: TRICKY.to_owned(),
    });
    same_as_serde(&Snapshot {
        version: 9,
        seeded: true,
        tools: vec![SnapshotTool {
            name: "t".to_owned(),
            status: PinStatus::New,
            current_sha256: None,
            current: Some("{}".to_owned()),
            pinned_sha256: None,
            pinned: None,
        }],
    });
    same_as_serde(&Query::default());
    same_as_serde(&Query {
        since: Some(1),
        until: Some(2),
        grant: Some("g".to_owned()),
        tool: Some(TRICKY.to_owned()),
        decision: Some("deny".to_owned()),
        monitor_refused: true,
        limit: 100,
        cursor: Some((5, "id".to_owned())),
    });
}

#[test]
fn fields_serde_defaulted_may_be_absent() {
    // A record stored before `argument_key_count` and `monitor` existed.
    let mut old: Value = serde_json::to_value(record(false)).unwrap();
    old.as_object_mut().unwrap().remove("argument_key_count");
    let read: Record = wire::from_str(&old.to_string()).unwrap();
    assert_eq!(read.argument_key_count, 0);
    // Absent options read as `None`, as serde read them.
    let mut short: Value = serde_json::to_value(pin(true)).unwrap();
    short.as_object_mut().unwrap().remove("pinned");
    assert_eq!(
        wire::from_str::<PinRecord>(&short.to_string())
            .unwrap()
            .pinned,
        None
    );
}

#[test]
fn names_computed_from_json_are_unchanged() {
    for (grant, tool, sha) in [("g", "t", "abc"), (TRICKY, "x\u{0}y", "")] {
        assert_eq!(
            toolgate::eval::approval_binding(grant, tool, sha, 12),
            serde_json::to_string(&(grant, tool, sha, 12u64)).unwrap()
        );
    }
}

#[test]
fn counter_object_names_are_unchanged() {
    for (grant, session) in [
        (None, None),
        (Some(TRICKY), None),
        (Some("g"), Some("s\u{1}")),
    ] {
        let key = toolgate::ratelimit::CounterKey {
            counter: "/tools/t/limits/0".to_owned(),
            scope: "session".to_owned(),
            grant: grant.map(str::to_owned),
            session: session.map(str::to_owned),
        };
        assert_eq!(
            key.storage_name(),
            serde_json::to_string(&(&key.counter, &key.scope, &key.grant, &key.session)).unwrap()
        );
    }
}

#[test]
fn malformed_bodies_are_errors_with_their_reason() {
    for (text, reason) in [
        ("", "unexpected end of input at line 1 column 1"),
        ("[]", "expected an object, found an array"),
        (r#"{"tool":1}"#, "`tool`: expected a string, found a number"),
        (
            r#"{"tool":"t","pinned_sha256":null,"pinned":null,"current_sha256":null,"current":7}"#,
            "`current`: expected a string, found a number",
        ),
    ] {
        assert_eq!(
            wire::from_str::<PinRecord>(text).unwrap_err(),
            reason,
            "{text}"
        );
    }
    // Options may be absent; other fields may not.
    assert!(wire::from_str::<PinRecord>(r#"{"tool":"t"}"#).is_ok());
    assert_eq!(
        wire::from_str::<Approval>(r#"{"id":"a"}"#).unwrap_err(),
        "missing field `binding`"
    );
    let bad_status = serde_json::to_string(&approval(Status::Used, false, None))
        .unwrap()
        .replace("\"used\"", "\"gone\"");
    assert_eq!(
        wire::from_str::<Approval>(&bad_status).unwrap_err(),
        "`status`: unknown variant `gone`"
    );
    assert_eq!(
        wire::from_str::<Query>(r#"{"limit":-1}"#).unwrap_err(),
        "`limit`: expected a usize, found a number"
    );
    assert_eq!(
        wire::from_str::<Query>(r#"{"limit":1,"cursor":[1]}"#).unwrap_err(),
        "`cursor`: expected an array of two, found an array"
    );
}

/// The admin view of an approval, as it was made with serde_json (kept here to show the
/// new writer gives the same bytes).
#[cfg(test)]
fn for_admin_before(approval: &Approval, key: Option<&[u8; 32]>, whole: bool) -> String {
    let mut value = serde_json::to_value(approval).unwrap();
    let live = matches!(approval.status, Status::Pending | Status::Approved);
    let opened = approval
        .arguments_sealed
        .as_deref()
        .filter(|_| live)
        .zip(key)
        .and_then(|(sealed, key)| approval::open(key, sealed))
        .filter(|text| toolgate::json::Document::parse(text.as_bytes()).is_ok());
    let mut tail = String::new();
    let map = value.as_object_mut().unwrap();
    map.remove("arguments_sealed");
    map.remove("binding");
    match &opened {
        Some(text) if !whole && text.len() > approval::LIST_ARGUMENTS_BYTES => {
            map.insert("arguments_truncated".to_owned(), Value::Bool(true));
            map.insert("arguments_bytes".to_owned(), Value::from(text.len()));
        }
        Some(text) => {
            tail = format!(
                r#","arguments":{text},"arguments_json":{}"#,
                toolgate::json::quote(text)
            );
        }
        None => {
            map.insert("arguments".to_owned(), Value::Null);
        }
    }
    let mut out = value.to_string();
    out.pop();
    out.push_str(&tail);
    out.push('}');
    out
}

#[test]
fn the_admin_view_of_an_approval_is_unchanged() {
    const KEY: [u8; 32] = [7; 32];
    let small = approval::seal(&KEY, [1; 12], r#"{"path":"/etc","n":1.50}"#);
    let large_args = format!(
        r#"{{"blob":"{}"}}"#,
        "x".repeat(approval::LIST_ARGUMENTS_BYTES)
    );
    let large = approval::seal(&KEY, [2; 12], &large_args);
    for status in [
        Status::Pending,
        Status::Approved,
        Status::Denied,
        Status::Used,
    ] {
        for decided in [false, true] {
            for sealed in [None, Some(small.as_str()), Some(large.as_str()), Some("zz")] {
                let a = approval(status, decided, sealed);
                for key in [None, Some(&KEY)] {
                    for whole in [false, true] {
                        assert_eq!(
                            approval::for_admin(&a, key, whole),
                            for_admin_before(&a, key, whole),
                            "{status:?} {decided} {sealed:?} {whole}"
                        );
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn any_text_reads_without_panicking(text in "\\PC{0,64}") {
        let _ = wire::from_str::<Approval>(&text);
        let _ = wire::from_str::<Record>(&text);
        let _ = wire::from_str::<Query>(&text);
    }

    #[test]
    fn any_strings_round_trip_as_serde_writes_them(a in "\\PC{0,16}", b in any::<String>(), n in any::<u64>()) {
        let pin = PinRecord {
            tool: a.clone(),
            pinned_sha256: Some(b.clone()),
            pinned: None,
            current_sha256: None,
            current: Some(a),
        };
        prop_assert_eq!(wire::to_string(&pin), serde_json::to_string(&pin).unwrap());
        prop_assert_eq!(wire::from_str::<PinRecord>(&wire::to_string(&pin)).unwrap(), pin);
        let q = Query { limit: 1, cursor: Some((n, b)), ..Query::default() };
        prop_assert_eq!(wire::to_string(&q), serde_json::to_string(&q).unwrap());
    }
}

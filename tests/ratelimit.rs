//! Rolling-window limits (CONTRACT §1 "Limits") on a fake clock: time is only ever the
//! `now_ms` the test passes in.

// Helpers outside `#[test]` functions unwrap and index too: there, a failure is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::json;
use toolgate::eval::{CallContext, Outcome, Session};
use toolgate::policy::{Limit, Mode, Policy, Scope, Window};
use toolgate::ratelimit::{CounterKey, Counters, WindowLog};

fn limit(counter: &str, window: Window, max: u32, scope: Scope) -> Limit {
    Limit {
        pointer: format!("/all_tools/limits/{counter}").into(),
        counter: counter.to_owned(),
        window,
        max,
        scope,
        mode: Mode::Enforce,
    }
}

fn count(
    counters: &Counters,
    limit: &Limit,
    grant: &str,
    session: Option<&str>,
    now_ms: u64,
) -> u64 {
    counters
        .log(&CounterKey::new(limit, grant, session))
        .map_or(0, |log| log.count(now_ms, limit.window.ms()))
}

#[test]
fn admits_exactly_max_calls_in_any_rolling_window() {
    // (case, max, window_ms, [(time, expected: Ok or the exact retry_after_ms)])
    type Step = (u64, Result<(), u64>);
    let cases: Vec<(&str, u32, u64, Vec<Step>)> = vec![
        (
            "admitted_exactly_one_window_after_the_oldest",
            1,
            1_000,
            vec![
                (0, Ok(())),
                (999, Err(1)),
                (1_000, Ok(())),
                (1_999, Err(1)),
                (2_000, Ok(())),
            ],
        ),
        (
            "no_burst_at_a_boundary",
            3,
            60_000,
            vec![
                (59_000, Ok(())),
                (59_500, Ok(())),
                (59_999, Ok(())),
                (60_000, Err(59_000)),
                (61_000, Err(58_000)),
                (118_999, Err(1)),
                (119_000, Ok(())),
                (119_001, Err(499)),
                (119_500, Ok(())),
                (119_998, Err(1)),
                (119_999, Ok(())),
            ],
        ),
        (
            "several_calls_in_one_millisecond",
            3,
            1_000,
            vec![
                (5, Ok(())),
                (5, Ok(())),
                (5, Ok(())),
                (5, Err(1_000)),
                (1_004, Err(1)),
                (1_005, Ok(())),
                (1_005, Ok(())),
                (1_005, Ok(())),
                (1_005, Err(1_000)),
            ],
        ),
        (
            "the_wait_is_for_the_oldest_call_in_the_window",
            2,
            100,
            vec![
                (0, Ok(())),
                (30, Ok(())),
                (50, Err(50)),
                (100, Ok(())),
                (110, Err(20)),
                (130, Ok(())),
                (131, Err(69)),
            ],
        ),
        (
            "refused_calls_do_not_count",
            1,
            100,
            vec![
                (0, Ok(())),
                (10, Err(90)),
                (20, Err(80)),
                (99, Err(1)),
                (100, Ok(())),
            ],
        ),
        (
            "an_idle_window_starts_afresh",
            2,
            10,
            vec![
                (0, Ok(())),
                (1, Ok(())),
                (1_000_000, Ok(())),
                (1_000_000, Ok(())),
                (1_000_001, Err(9)),
            ],
        ),
    ];
    for (name, max, window, steps) in cases {
        let mut log = WindowLog::new();
        for (i, (t, expected)) in steps.into_iter().enumerate() {
            let got = log
                .admit(t, window, max)
                .map(|_| ())
                .map_err(|e| e.retry_after_ms);
            assert_eq!(got, expected, "case {name}, step {i} at {t}");
        }
    }
}

#[test]
fn a_refused_call_consumes_none_of_the_other_limits() {
    let per_second = limit("per_second", Window::Second, 1, Scope::Grant);
    let per_minute = limit("per_minute", Window::Minute, 5, Scope::Grant);
    let limits = [&per_second, &per_minute];
    let mut counters = Counters::default();
    assert!(counters.reserve(&limits, "g", None, 0).is_ok());
    for t in [10, 500, 999] {
        let refused = counters.reserve(&limits, "g", None, t).unwrap_err();
        assert_eq!(refused.limit, &per_second);
        assert_eq!(refused.retry_after_ms, 1_000 - t);
    }
    assert_eq!(count(&counters, &per_minute, "g", None, 999), 1);
    assert!(counters.reserve(&limits, "g", None, 1_000).is_ok());
    assert_eq!(count(&counters, &per_minute, "g", None, 1_000), 2);
    assert_eq!(count(&counters, &per_second, "g", None, 1_000), 1);
}

#[test]
fn reports_the_longest_wait_when_several_limits_are_exhausted() {
    let short = limit("short", Window::Second, 1, Scope::Grant);
    let long = limit("long", Window::Minute, 1, Scope::Grant);
    let other_long = limit("other_long", Window::Minute, 1, Scope::Grant);
    let mut counters = Counters::default();
    assert!(counters
        .reserve(&[&short, &long, &other_long], "g", None, 0)
        .is_ok());
    for order in [
        vec![&short, &long, &other_long],
        vec![&other_long, &short, &long],
        vec![&long, &other_long, &short],
    ] {
        let refused = counters.reserve(&order, "g", None, 500).unwrap_err();
        assert_eq!(refused.retry_after_ms, 59_500, "order {order:?}");
        // On a tie, the first in order.
        let first_long = order.iter().find(|l| l.window == Window::Minute).unwrap();
        assert_eq!(refused.limit, *first_long, "order {order:?}");
    }
    // Once the short one has room, the long one alone is reported.
    let refused = counters
        .reserve(&[&short, &long], "g", None, 1_000)
        .unwrap_err();
    assert_eq!((refused.limit, refused.retry_after_ms), (&long, 59_000));
}

#[test]
fn refund_gives_the_budget_back_to_every_limit() {
    let a = limit("a", Window::Second, 1, Scope::Grant);
    let b = limit("b", Window::Hour, 1, Scope::Global);
    let mut counters = Counters::default();
    let reservation = counters.reserve(&[&a, &b], "g", Some("s"), 100).unwrap();
    assert_eq!(reservation.taken.len(), 2);
    assert!(counters.reserve(&[&a], "g", Some("s"), 200).is_err());
    assert!(counters.reserve(&[&b], "other", None, 200).is_err());
    counters.refund(&reservation);
    assert_eq!(count(&counters, &a, "g", None, 200), 0);
    assert_eq!(count(&counters, &b, "x", None, 200), 0);
    assert!(counters.reserve(&[&a, &b], "g", Some("s"), 200).is_ok());
}

#[test]
fn refund_gives_back_one_call_only() {
    let mut log = WindowLog::new();
    let first = log.admit(10, 1_000, 3).unwrap();
    let second = log.admit(10, 1_000, 3).unwrap();
    assert_eq!((first, second), (10, 10));
    assert!(log.refund(first));
    assert_eq!(log.count(10, 1_000), 1);
    assert!(log.refund(second));
    assert_eq!(log.count(10, 1_000), 0);
    assert!(!log.refund(10), "nothing left to refund");
}

#[test]
fn scope_keys_keep_separate_budgets() {
    let grant = limit("per_grant", Window::Minute, 1, Scope::Grant);
    let session = limit("per_session", Window::Minute, 1, Scope::Session);
    let global = limit("everyone", Window::Minute, 1, Scope::Global);
    // (case, limit, calls as (grant, session, admitted))
    type Call<'a> = (&'a str, Option<&'a str>, bool);
    let cases: Vec<(&str, &Limit, Vec<Call>)> = vec![
        (
            "grant_scope_is_per_grant_across_sessions",
            &grant,
            vec![
                ("g1", Some("s1"), true),
                ("g1", Some("s2"), false),
                ("g1", None, false),
                ("g2", Some("s1"), true),
                ("g2", None, false),
            ],
        ),
        (
            "session_scope_is_per_grant_and_session",
            &session,
            vec![
                ("g1", Some("s1"), true),
                ("g1", Some("s1"), false),
                ("g1", Some("s2"), true),
                ("g2", Some("s1"), true),
                ("g1", None, true),
                ("g1", None, false),
                ("g2", None, true),
            ],
        ),
        (
            "global_scope_is_one_budget",
            &global,
            vec![
                ("g1", Some("s1"), true),
                ("g2", None, false),
                ("g3", Some("s9"), false),
            ],
        ),
    ];
    for (name, limit, calls) in cases {
        let mut counters = Counters::default();
        for (i, (g, s, admitted)) in calls.into_iter().enumerate() {
            assert_eq!(
                counters.reserve(&[limit], g, s, 0).is_ok(),
                admitted,
                "case {name}, call {i} ({g}, {s:?})"
            );
        }
    }
}

#[test]
fn storage_names_are_distinct_and_unambiguous() {
    let grant = limit("c", Window::Minute, 1, Scope::Grant);
    let session = limit("c", Window::Minute, 1, Scope::Session);
    let global = limit("c", Window::Minute, 1, Scope::Global);
    let names = [
        CounterKey::new(&grant, "g1", Some("s1")).storage_name(),
        CounterKey::new(&session, "g1", Some("s1")).storage_name(),
        CounterKey::new(&session, "g1", None).storage_name(),
        CounterKey::new(&session, "g1\",\"s1", None).storage_name(),
        CounterKey::new(&global, "g1", Some("s1")).storage_name(),
    ];
    assert_eq!(
        names,
        [
            r#"["c","grant","g1",null]"#,
            r#"["c","session","g1","s1"]"#,
            r#"["c","session","g1",null]"#,
            r#"["c","session","g1\",\"s1",null]"#,
            r#"["c","global",null,null]"#,
        ]
    );
    assert_eq!(
        CounterKey::new(&global, "g1", None),
        CounterKey::new(&global, "g2", Some("s"))
    );
}

fn call(tool: &str) -> Vec<u8> {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":tool,"arguments":{}}})
        .to_string()
        .into_bytes()
}

#[test]
fn a_counter_shared_by_two_tools_is_one_budget() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","tools":{
            "google_gmail_send":{"limits":[{"counter":"outbound","window":"hour","max":3}]},
            "telegram_send_message":{"limits":[{"counter":"outbound","window":"hour","max":3}]},
            "google_*":{}}}"#,
    )
    .unwrap();
    let mut session = Session::new(policy);
    let at = |at_ms| CallContext {
        grant: "g",
        session: None,
        at_ms,
    };
    let steps = [
        ("google_gmail_send", 0, Outcome::Allow, None),
        ("telegram_send_message", 1_000, Outcome::Allow, None),
        ("google_gmail_send", 2_000, Outcome::Allow, None),
        (
            "telegram_send_message",
            3_000,
            Outcome::RateLimited,
            Some(3_597_000),
        ),
        (
            "google_gmail_send",
            3_000,
            Outcome::RateLimited,
            Some(3_597_000),
        ),
        ("google_gmail_read", 3_000, Outcome::Allow, None),
        ("telegram_send_message", 3_600_000, Outcome::Allow, None),
        (
            "google_gmail_send",
            3_600_001,
            Outcome::RateLimited,
            Some(999),
        ),
    ];
    for (i, (tool, at_ms, outcome, retry)) in steps.into_iter().enumerate() {
        let d = session.decide(&call(tool), at(at_ms));
        assert_eq!(d.decision, outcome, "step {i}: {tool} at {at_ms}");
        assert_eq!(d.retry_after_ms, retry, "step {i}");
    }
}

/// `rule` names a rule that applies to the call: the limit in the called tool's own
/// entry, not the place where another tool's entry first named the shared counter.
#[test]
fn a_shared_counter_names_the_called_tools_own_limit() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"deny","tools":{
            "google_gmail_send":{"limits":[{"counter":"outbound","window":"hour","max":1}]},
            "telegram_send_message":{"limits":[{"counter":"outbound","window":"hour","max":1}]}}}"#,
    )
    .unwrap();
    let mut session = Session::new(policy);
    let at = CallContext {
        grant: "g",
        session: None,
        at_ms: 0,
    };
    assert_eq!(
        session.decide(&call("google_gmail_send"), at).decision,
        Outcome::Allow
    );
    for tool in ["google_gmail_send", "telegram_send_message"] {
        let d = session.decide(&call(tool), at);
        assert_eq!(d.decision, Outcome::RateLimited, "{tool}");
        assert_eq!(
            d.rule.as_deref(),
            Some(format!("/tools/{tool}/limits/0").as_str()),
            "{tool}"
        );
    }
}

#[test]
fn session_scope_through_the_evaluator() {
    let policy = Policy::from_json(
        r#"{"version":"1","default":"allow","all_tools":{"limits":[{"counter":"s","window":"second","max":1,"scope":"session"}]}}"#,
    )
    .unwrap();
    let mut session = Session::new(policy);
    let steps: [(&str, Option<&str>, u64, Outcome); 6] = [
        ("g", Some("a"), 0, Outcome::Allow),
        ("g", Some("b"), 0, Outcome::Allow),
        ("g", None, 0, Outcome::Allow),
        ("g", Some("a"), 999, Outcome::RateLimited),
        ("g", None, 999, Outcome::RateLimited),
        ("g", Some("a"), 1_000, Outcome::Allow),
    ];
    for (i, (grant, s, at_ms, outcome)) in steps.into_iter().enumerate() {
        let d = session.decide(
            &call("t"),
            CallContext {
                grant,
                session: s,
                at_ms,
            },
        );
        assert_eq!(d.decision, outcome, "step {i}");
    }
}

/// One step of a random run: wait `gap` ms, call, and maybe refund the call (as the
/// gateway does when the origin is unreachable).
fn steps() -> impl Strategy<Value = Vec<(u64, bool)>> {
    prop::collection::vec((0u64..60, prop::bool::weighted(0.1)), 1..150)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// For random call times and random max/window: never more than `max` admitted calls
    /// in any `(t − window, t]`; a call is admitted exactly when fewer than `max` lie in
    /// its window; and every refusal's `retry_after_ms` is exact.
    #[test]
    fn never_more_than_max_in_any_window(
        max in 1u32..6,
        window in 1u64..250,
        steps in steps(),
    ) {
        let mut log = WindowLog::new();
        // The admitted calls not refunded: the oracle.
        let mut admitted: Vec<u64> = Vec::new();
        let mut t = 0u64;
        for (gap, refund) in steps {
            t += gap;
            let in_window: Vec<u64> = admitted.iter().copied().filter(|a| a + window > t).collect();
            match log.admit(t, window, max) {
                Ok(at) => {
                    prop_assert_eq!(at, t);
                    prop_assert!(in_window.len() < max as usize, "admitted with {} in the window at {}", in_window.len(), t);
                    if refund {
                        prop_assert!(log.refund(at));
                    } else {
                        admitted.push(t);
                    }
                }
                Err(e) => {
                    let r = e.retry_after_ms;
                    prop_assert_eq!(in_window.len(), max as usize, "refused at {} with {:?} in the window", t, in_window);
                    let oldest = *in_window.iter().min().unwrap();
                    prop_assert_eq!(r, oldest + window - t);
                    prop_assert!(r >= 1 && r <= window);
                    let mut early = log.clone();
                    prop_assert!(early.admit(t + r - 1, window, max).is_err(), "admitted 1 ms early at {}", t + r - 1);
                    let mut on_time = log.clone();
                    prop_assert!(on_time.admit(t + r, window, max).is_ok(), "refused at {} after the wait", t + r);
                }
            }
            prop_assert_eq!(log.count(t, window), in_window_count(&admitted, t, window));
        }
        for &end in &admitted {
            let n = in_window_count(&admitted, end, window);
            prop_assert!(n <= u64::from(max), "{} calls in ({}, {}]", n, end.saturating_sub(window), end);
        }
        prop_assert!(log.runs().len() <= max as usize);
    }

    /// Several limits of one call: all or nothing, each limit's guarantee holds, and the
    /// reported wait is the longest and exact.
    #[test]
    fn several_limits_are_all_or_nothing(
        max_a in 1u32..5,
        max_b in 1u32..8,
        gaps in prop::collection::vec(0u64..400, 1..80),
    ) {
        let a = limit("a", Window::Second, max_a, Scope::Grant);
        let b = limit("b", Window::Minute, max_b, Scope::Grant);
        let limits = [&a, &b];
        let mut counters = Counters::default();
        let mut admitted: Vec<u64> = Vec::new();
        let mut t = 0u64;
        for gap in gaps {
            t += gap;
            let before = (count(&counters, &a, "g", None, t), count(&counters, &b, "g", None, t));
            match counters.reserve(&limits, "g", None, t) {
                Ok(_) => {
                    admitted.push(t);
                    prop_assert_eq!(count(&counters, &a, "g", None, t), before.0 + 1);
                    prop_assert_eq!(count(&counters, &b, "g", None, t), before.1 + 1);
                }
                Err(refused) => {
                    prop_assert_eq!(count(&counters, &a, "g", None, t), before.0);
                    prop_assert_eq!(count(&counters, &b, "g", None, t), before.1);
                    let r = refused.retry_after_ms;
                    prop_assert!(counters.clone().reserve(&limits, "g", None, t + r - 1).is_err());
                    prop_assert!(counters.clone().reserve(&limits, "g", None, t + r).is_ok());
                }
            }
        }
        for &end in &admitted {
            prop_assert!(in_window_count(&admitted, end, 1_000) <= u64::from(max_a));
            prop_assert!(in_window_count(&admitted, end, 60_000) <= u64::from(max_b));
        }
    }
}

fn in_window_count(admitted: &[u64], t: u64, window: u64) -> u64 {
    admitted
        .iter()
        .filter(|a| **a <= t && *a + window > t)
        .count() as u64
}

/// Times at the very end of the clock (a hostile `at_ms`) count like any others: no
/// overflow, and the window still holds.
#[test]
fn times_at_the_end_of_the_clock_neither_overflow_nor_escape_the_limit() {
    let end = u64::MAX;
    let mut log = WindowLog::new();
    assert_eq!(log.admit(end - 5, 1_000, 2), Ok(end - 5));
    assert_eq!(log.admit(end, 1_000, 2), Ok(end));
    let refused = log.admit(end, 1_000, 2).unwrap_err();
    assert_eq!(refused.retry_after_ms, 995);
    assert_eq!(log.count(end, 1_000), 2);
}

//! Exact rolling-window rate limits, as a pure state machine.
//!
//! The guarantee (CONTRACT §1): for each counter and scope key, a call at time `t` is
//! admitted only if fewer than `max` admitted calls lie in `(t − window, t]`. There is no
//! fixed bucket, so there is no burst at a bucket boundary. When a call is refused, the
//! wait is exact: the moment enough admitted calls leave the window for one more to fit.
//!
//! [`WindowLog`] is the state of one counter key: the admitted calls still inside the
//! window, as `(time, count)` runs. Time comes in as `now_ms`; nothing here reads a clock.
//! Time never goes backwards for a log: a call stamped before the newest admitted call is
//! counted as if it came at that newest time.
//!
//! **Size.** A log holds only calls inside the window, and never more than `max` of them,
//! merged by millisecond: at most `min(max, window_ms)` runs of 12 bytes (a `u64` time and
//! a `u32` count). `max` is at most [`crate::policy::MAX_LIMIT`] (1,000,000), so the worst
//! case, a daily limit of 1,000,000 calls spread one per millisecond or more apart, is
//! 1,000,000 runs, 12 MB. A more typical `120 per minute` is at most 1.4 KB. Expired runs
//! are dropped on every call, so an idle counter shrinks to nothing.
//!
//! [`Counters`] holds many logs, and reserves several limits of one call all or nothing.

use crate::policy::Limit;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// The admitted calls of one counter key still inside its window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowLog {
    /// `(time_ms, calls admitted at that millisecond)`, oldest first.
    runs: VecDeque<(u64, u32)>,
}

/// A refused call: how long until one more call fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub retry_after_ms: u64,
}

impl WindowLog {
    /// An empty log.
    pub fn new() -> Self {
        WindowLog::default()
    }

    /// The admitted calls in the window ending at `now_ms`.
    pub fn count(&self, now_ms: u64, window_ms: u64) -> u64 {
        let now = self.effective_now(now_ms);
        self.runs
            .iter()
            .filter(|(t, _)| now.saturating_sub(*t) < window_ms)
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    /// A log from stored `(time_ms, count)` runs (as [`WindowLog::runs`] gives them).
    pub fn from_runs(runs: impl IntoIterator<Item = (u64, u32)>) -> Self {
        let mut runs: Vec<(u64, u32)> = runs.into_iter().filter(|(_, n)| *n > 0).collect();
        crate::sort::sort(&mut runs);
        WindowLog {
            runs: runs.into_iter().collect(),
        }
    }

    /// The `(time_ms, count)` runs held, oldest first. Their number is what bounds the
    /// state's size.
    pub fn runs(&self) -> impl ExactSizeIterator<Item = (u64, u32)> + '_ {
        self.runs.iter().copied()
    }

    /// The count recorded at `at_ms`.
    pub fn count_at(&self, at_ms: u64) -> u32 {
        self.runs
            .iter()
            .find(|(t, _)| *t == at_ms)
            .map_or(0, |(_, n)| *n)
    }

    /// The time the log counts `now_ms` as: never before its newest call.
    pub fn effective_now(&self, now_ms: u64) -> u64 {
        self.runs.back().map_or(now_ms, |(t, _)| now_ms.max(*t))
    }

    /// Whether one more call fits at `now_ms`, without recording it.
    pub fn check(&self, now_ms: u64, window_ms: u64, max: u32) -> Result<(), Exhausted> {
        let now = self.effective_now(now_ms);
        // Runs are in time order, so the ones inside the window are a suffix. `now` is never
        // before a run, so `now - t` cannot overflow, whatever the times.
        let inside = self
            .runs
            .partition_point(|(t, _)| now.saturating_sub(*t) >= window_ms);
        let in_window = self.runs.range(inside..);
        let count: u64 = in_window.clone().map(|(_, n)| u64::from(*n)).sum();
        if count < u64::from(max) {
            return Ok(());
        }
        // One more call fits once `count - max + 1` of the oldest calls have left.
        let must_leave = count - u64::from(max) + 1;
        let mut left = 0u64;
        for (t, n) in in_window {
            left += u64::from(*n);
            if left >= must_leave {
                return Err(Exhausted {
                    retry_after_ms: window_ms.saturating_sub(now.saturating_sub(*t)),
                });
            }
        }
        Err(Exhausted { retry_after_ms: 0 })
    }

    /// Admits one call at `now_ms` if it fits, and returns the time it was recorded at
    /// (the value to pass to [`WindowLog::refund`]).
    pub fn admit(&mut self, now_ms: u64, window_ms: u64, max: u32) -> Result<u64, Exhausted> {
        self.prune(now_ms, window_ms);
        self.check(now_ms, window_ms, max)?;
        Ok(self.record(now_ms))
    }

    /// Records one call at `now_ms` unconditionally; returns the time recorded.
    pub fn record(&mut self, now_ms: u64) -> u64 {
        let now = self.effective_now(now_ms);
        match self.runs.back_mut() {
            Some((t, n)) if *t == now => *n = n.saturating_add(1),
            _ => self.runs.push_back((now, 1)),
        }
        now
    }

    /// Gives back one call recorded at `at_ms` (a call admitted but not delivered).
    /// Returns whether there was one to give back.
    pub fn refund(&mut self, at_ms: u64) -> bool {
        let Some(index) = self.runs.iter().position(|(t, _)| *t == at_ms) else {
            return false;
        };
        if let Some((_, n)) = self.runs.get_mut(index) {
            *n -= 1;
            if *n == 0 {
                self.runs.remove(index);
            }
        }
        true
    }

    /// Drops the runs that have left the window ending at `now_ms`, and returns the
    /// cutoff: every run at or before it is gone.
    pub fn prune(&mut self, now_ms: u64, window_ms: u64) -> Option<u64> {
        let now = self.effective_now(now_ms);
        let cutoff = now.checked_sub(window_ms)?;
        while self.runs.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.runs.pop_front();
        }
        Some(cutoff)
    }
}

/// The key a counter's budget is kept under: counter, scope, and the grant and session
/// the scope asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CounterKey {
    pub counter: String,
    pub scope: String,
    pub grant: Option<String>,
    pub session: Option<String>,
}

impl CounterKey {
    /// The key for `limit` on a call by `grant` in `session`.
    pub fn new(limit: &Limit, grant: &str, session: Option<&str>) -> Self {
        use crate::policy::Scope;
        let (grant, session) = match limit.scope {
            Scope::Grant => (Some(grant.to_owned()), None),
            Scope::Session => (Some(grant.to_owned()), session.map(str::to_owned)),
            Scope::Global => (None, None),
        };
        CounterKey {
            counter: limit.counter.clone(),
            scope: limit.scope.name().to_owned(),
            grant,
            session,
        }
    }

    /// A stable, unambiguous name for the key (a JSON array), used to address the
    /// Durable Object that holds it.
    pub fn storage_name(&self) -> String {
        use crate::wire::ToJson;
        let mut out = String::from("[");
        self.counter.write_json(&mut out);
        out.push(',');
        self.scope.write_json(&mut out);
        out.push(',');
        self.grant.write_json(&mut out);
        out.push(',');
        self.session.write_json(&mut out);
        out.push(']');
        out
    }
}

/// One limit of a call, refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRefused<'p> {
    /// The limit that names the longest wait.
    pub limit: &'p Limit,
    pub retry_after_ms: u64,
}

/// A reservation: the keys and times to refund if the call is not delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reservation {
    pub taken: Vec<(CounterKey, u64)>,
}

/// Of several refusals, the one a caller reports: the longest wait, the first in order on
/// a tie.
pub fn longest_wait<'p>(
    refusals: impl IntoIterator<Item = LimitRefused<'p>>,
) -> Option<LimitRefused<'p>> {
    refusals
        .into_iter()
        .fold(None, |best: Option<LimitRefused<'p>>, r| match best {
            Some(b) if b.retry_after_ms >= r.retry_after_ms => Some(b),
            _ => Some(r),
        })
}

/// Many counter logs in one place: what `toolgate eval` and the playground count with.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    logs: HashMap<CounterKey, WindowLog>,
}

impl Counters {
    /// Reserves one call on every limit, or on none: if any limit is exhausted, nothing is
    /// recorded and the refusal with the longest wait is returned.
    pub fn reserve<'p>(
        &mut self,
        limits: &[&'p Limit],
        grant: &str,
        session: Option<&str>,
        now_ms: u64,
    ) -> Result<Reservation, LimitRefused<'p>> {
        let keyed: Vec<(&'p Limit, CounterKey)> = limits
            .iter()
            .map(|l| (*l, CounterKey::new(l, grant, session)))
            .collect();
        let refusals = keyed.iter().filter_map(|(limit, key)| {
            let window = limit.window.ms();
            let log = self.logs.get(key)?;
            log.check(now_ms, window, limit.max)
                .err()
                .map(|e| LimitRefused {
                    limit,
                    retry_after_ms: e.retry_after_ms,
                })
        });
        if let Some(refused) = longest_wait(refusals) {
            return Err(refused);
        }
        let mut reservation = Reservation::default();
        for (limit, key) in keyed {
            let log = self.logs.entry(key.clone()).or_default();
            log.prune(now_ms, limit.window.ms());
            let at = log.record(now_ms);
            reservation.taken.push((key, at));
        }
        Ok(reservation)
    }

    /// Gives back every call of a reservation.
    pub fn refund(&mut self, reservation: &Reservation) {
        for (key, at) in &reservation.taken {
            if let Some(log) = self.logs.get_mut(key) {
                log.refund(*at);
            }
        }
    }

    /// The log of one key, if it has one.
    pub fn log(&self, key: &CounterKey) -> Option<&WindowLog> {
        self.logs.get(key)
    }
}

//! The functions' CloudWatch datapoints: per-minute aggregates, published late.

use super::{Lambdas, hash, text_hash};
use crate::domain::observed::{Point, Series};
use crate::ports::Statistic;
use crate::time::Timestamp;
use std::time::Duration;

/// One minute of one function, as CloudWatch aggregates it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Minute {
    pub(super) invocations: f64,
    /// Σ invocations × duration, in ms.
    pub(super) duration_ms_sum: f64,
    pub(super) max_duration_ms: f64,
    pub(super) errors: f64,
    pub(super) throttles: f64,
    pub(super) max_concurrency: f64,
    pub(super) concurrency_sum: f64,
    pub(super) rho_sum: f64,
    pub(super) seconds: u32,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Published {
    start: Timestamp,
    published_at: Timestamp,
    minute: Minute,
}

impl Lambdas {
    /// Closes the minute that ended at `now`: its datapoints appear after a seeded delay in
    /// `delays` (seconds), drawn as the DynamoDB datapoints' are.
    pub fn publish(&mut self, now: Timestamp, elapsed: u64, delays: (u64, u64)) {
        let start = now.minus(Duration::from_secs(60));
        let (lo, hi) = delays;
        let mut tipped = false;
        for f in &mut self.functions {
            let m = std::mem::take(&mut f.minute);
            if m.seconds > 0 && m.rho_sum / f64::from(m.seconds) >= 1.0 {
                tipped = true;
            }
            if m.invocations <= 0.0 && m.throttles <= 0.0 {
                continue;
            }
            if m.invocations > 0.0 {
                f.peak_ms = f.peak_ms.max(m.duration_ms_sum / m.invocations);
            }
            let delay = lo + hash(&[self.seed, text_hash(&f.name), start.0, 0x1A]) % (hi - lo + 1);
            f.published.push(Published {
                start,
                published_at: now.plus(Duration::from_secs(delay)),
                minute: m,
            });
        }
        if tipped {
            self.totals.tipped_minutes += 1;
            let minute = elapsed.saturating_sub(60);
            self.totals.first_tipped_at.get_or_insert(minute);
        }
    }

    /// Published datapoints of one AWS/Lambda metric of one function in `[start, end)`;
    /// `None` for a function the simulation does not have.
    #[must_use]
    pub fn series(
        &self,
        function: &str,
        metric: &str,
        statistic: Statistic,
        window: (Timestamp, Timestamp),
        now: Timestamp,
    ) -> Option<Series> {
        let f = self.functions.iter().find(|f| f.name == function)?;
        let points = f
            .published
            .iter()
            .filter(|p| p.start >= window.0 && p.start < window.1 && p.published_at <= now)
            .filter_map(|p| {
                value(&p.minute, metric, statistic).map(|value| Point {
                    start: p.start,
                    value,
                })
            })
            .collect();
        Some(Series { points })
    }
}

/// A minute's value of one metric and statistic. Lambda records each invocation, error and
/// throttle as a sample of 1, so their Average and Maximum are 1; ConcurrentExecutions is
/// sampled once a second here.
fn value(m: &Minute, metric: &str, statistic: Statistic) -> Option<f64> {
    let count = |sum: f64| match statistic {
        Statistic::Sum => Some(sum.round()),
        Statistic::Average | Statistic::Maximum => Some(if sum > 0.0 { 1.0 } else { 0.0 }),
    };
    match metric {
        "Duration" if m.invocations > 0.0 => Some(match statistic {
            Statistic::Average => m.duration_ms_sum / m.invocations,
            Statistic::Maximum => m.max_duration_ms,
            Statistic::Sum => m.duration_ms_sum,
        }),
        "Invocations" => count(m.invocations),
        "Errors" => count(m.errors),
        "Throttles" => count(m.throttles),
        "ConcurrentExecutions" => Some(match statistic {
            Statistic::Maximum => m.max_concurrency,
            Statistic::Average => m.concurrency_sum / f64::from(m.seconds.max(1)),
            Statistic::Sum => m.concurrency_sum,
        }),
        _ => None,
    }
}

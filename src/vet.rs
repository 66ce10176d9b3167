//! Evidence checked before any rule sees it: every reading is held against what the AWS service
//! behind it can produce. A reading outside that (1e300 consumed units, an infinite throttle
//! count, a negative duration, a Lambda duration past the function's timeout) comes from a
//! broken publisher, not from the system: the whole signal is set aside as [`Implausible`], so
//! no rule raises, lowers, pauses or alerts on it, and the implausible rule holds it with the
//! value in the journal and tells people once per escalation interval.
//!
//! Pure, like `decide`: the observation and memory in, the observation without the implausible
//! signals out.

use crate::domain::observed::{Implausible, Observed, Point, Series, figure};
use crate::domain::resource::{CapacityKey, Dimension};
use crate::memory::Memory;
use crate::time::Timestamp;

/// DynamoDB banks up to 300 seconds of unused provisioned capacity as burst credit ("Burst
/// capacity", DynamoDB developer guide), so one minute can at most serve its own 60 seconds
/// plus 300 banked ones: six times the provisioned rate.
const BURST_FACTOR: f64 = (60.0 + 300.0) / 60.0;
/// An on-demand table serves at most its table quota: 40,000 read and 40,000 write request
/// units per second by default (DynamoDB service quotas, "Throughput default quotas"). Four
/// times that leaves room for quotas raised on request, still far below a broken publisher.
const ON_DEMAND_MAX_UNITS: f64 = 160_000.0;
/// Throttle events are requests turned away; the writers that send them are BOSS's lambdas,
/// at most the account's concurrency (1,000 by default, tens of thousands when raised), each a
/// round trip of a millisecond at the very least. A million requests per second per table is
/// beyond any of them.
const MAX_REQUESTS_PER_SECOND: f64 = 1_000_000.0;
/// Lambda's longest timeout is 15 minutes ("Lambda quotas"): no average duration exceeds it.
const MAX_LAMBDA_MS: f64 = crate::policy::bounds::MAX_BASELINE.as_secs_f64() * 1000.0;
/// Lambda accepts at most 10 invocation requests per second per unit of concurrency
/// ("Lambda quotas", invocation requests per function per Region).
const INVOCATIONS_PER_CONCURRENCY_PER_SECOND: f64 = 10.0;
/// Counts a minute cannot reach whatever the concurrency (a broken publisher's 1e300).
const MAX_COUNT_PER_MINUTE: f64 = 1e9;
/// CloudWatch rounds and aggregates: bounds that compare two figures get this much slack.
const SLACK: f64 = 1.01;

/// The first reading of `series` outside `0..=high`, not finite, or for a minute that has not
/// begun by `now` (CloudWatch cannot have measured it).
fn first_outside(series: &Series, high: f64, now: Timestamp) -> Option<Point> {
    series
        .points
        .iter()
        .find(|p| p.start > now || !(p.value.is_finite() && p.value >= 0.0 && p.value <= high))
        .copied()
}

fn bound_text(high: f64, why: &str) -> String {
    format!(
        "finite, 0 to {} {why}, for a minute already begun",
        figure(high)
    )
}

/// Sets aside every signal with an impossible reading; returns the observation without them,
/// the set-aside signals listed in `implausible`.
#[must_use]
pub fn vet(mut observed: Observed, memory: &Memory) -> Observed {
    let period_s = observed.period.as_secs_f64().max(1.0);
    let now = observed.at;
    let mut found: Vec<Implausible> = Vec::new();
    for r in &mut observed.resources {
        for dimension in Dimension::BOTH {
            let key = CapacityKey {
                resource: r.resource.clone(),
                dimension,
            };
            let d = match dimension {
                Dimension::Read => &mut r.read,
                Dimension::Write => &mut r.write,
            };
            let (consumed_max, consumed_why) = match d.provisioned {
                Some(p) => {
                    // Our own recent changes: minutes before a lowering served the old capacity.
                    let remembered = memory
                        .changes
                        .iter()
                        .filter(|c| c.key == key)
                        .map(|c| c.from.max(c.to))
                        .max()
                        .unwrap_or(0);
                    let p = f64::from(p.max(remembered).max(1));
                    (
                        p * BURST_FACTOR * SLACK,
                        format!("units/s: {p} provisioned with 300 s of burst credit"),
                    )
                }
                None => (
                    ON_DEMAND_MAX_UNITS,
                    "units/s: an on-demand table's quota".to_string(),
                ),
            };
            let events_max = MAX_REQUESTS_PER_SECOND * period_s;
            let (consumed_metric, throttle_metric) = match dimension {
                Dimension::Read => ("ConsumedReadCapacityUnits", "ReadThrottleEvents"),
                Dimension::Write => ("ConsumedWriteCapacityUnits", "WriteThrottleEvents"),
            };
            let bad = first_outside(&d.consumed, consumed_max, now)
                .map(|p| (consumed_metric, p, bound_text(consumed_max, &consumed_why)))
                .or_else(|| {
                    first_outside(&d.throttle_events, events_max, now).map(|p| {
                        (
                            throttle_metric,
                            p,
                            bound_text(events_max, "events a minute: a million requests/s"),
                        )
                    })
                });
            if let Some((signal, point, bound)) = bad {
                found.push(Implausible {
                    subject: key.to_string(),
                    signal: signal.to_string(),
                    minute: point.start,
                    value: point.value,
                    bound,
                });
                // Consumed and throttled are read together: one without the other misleads.
                d.consumed = Series::default();
                d.throttle_events = Series::default();
            }
        }
    }
    let minutes = period_s / 60.0;
    observed.functions.retain(|f| {
        let timeout_ms = f
            .timeout
            .map_or(MAX_LAMBDA_MS, |t| t.as_secs_f64() * 1000.0)
            .min(MAX_LAMBDA_MS);
        let invocations_max = f.concurrency_limit.map_or(MAX_COUNT_PER_MINUTE, |c| {
            f64::from(c) * INVOCATIONS_PER_CONCURRENCY_PER_SECOND * period_s * SLACK
        });
        let concurrent_max = f
            .concurrency_limit
            .map_or(MAX_COUNT_PER_MINUTE, |c| f64::from(c) * SLACK + 1.0);
        let count_max = MAX_COUNT_PER_MINUTE * minutes;
        let checks = [
            (
                "Duration",
                &f.duration_ms,
                timeout_ms * SLACK,
                "ms: the function's timeout",
            ),
            (
                "Invocations",
                &f.invocations,
                invocations_max,
                "a minute: 10 requests/s per unit of concurrency",
            ),
            ("Errors", &f.errors, count_max, "a minute"),
            ("Throttles", &f.throttles, count_max, "a minute"),
            (
                "ConcurrentExecutions",
                &f.concurrent,
                concurrent_max,
                "its concurrency limit",
            ),
        ];
        let bad = checks.iter().find_map(|(signal, series, high, why)| {
            first_outside(series, *high, now).map(|p| Implausible {
                subject: f.name.clone(),
                signal: (*signal).to_string(),
                minute: p.start,
                value: p.value,
                bound: bound_text(*high, why),
            })
        });
        match bad {
            Some(i) => {
                found.push(i);
                false
            }
            None => true,
        }
    });
    observed
        .caches
        .retain(|c| match first_outside(&c.engine_cpu, 100.0, now) {
            Some(p) => {
                found.push(Implausible {
                    subject: c.cluster.clone(),
                    signal: "EngineCPUUtilization".into(),
                    minute: p.start,
                    value: p.value,
                    bound: bound_text(100.0, "percent"),
                });
                false
            }
            None => true,
        });
    found.sort_by(|a, b| a.subject.cmp(&b.subject));
    observed.implausible = found;
    observed
}

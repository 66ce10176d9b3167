//! BOSS's autoscaler as its code does it: jhuapl-boss/dynamodb-lambda-autoscale (channl's
//! decision code) with the provisioner settings BOSS deploys (`shared/boss.md`, "Tables", "The
//! existing autoscaler"). `remediator` claims to do better than what BOSS runs today, so this
//! baseline must be that code, not a description of it: the windows it reads, the order of its
//! checks, its float arithmetic and `Math.round` are kept, because each shifts when and how far it
//! moves.
//!
//! The decision (`decide`) is pure: readings, settings, the resource's change history and the
//! time in, new capacity out. `BossAutoscaler` reads the world as the Lambda reads AWS and sends
//! what `decide` returns.

#[cfg(test)]
mod tests;

use super::{Baseline, apply, governed, metric_names};
use crate::domain::resource::{CapacityKey, Dimension, Resource};
use crate::sim::world::World;
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// `Increment.When.UtilisationIsAbovePercent`.
const UP_ABOVE_PERCENT: f64 = 75.0;
/// `Increment.When.ThrottledEventsPerMinuteIsAbove`; despite its name compared with Sum / 60.
const UP_THROTTLED_ABOVE: f64 = 25.0;
/// `Increment.By.Units`, `.ProvisionedPercent`, `.ThrottledEventsWithMultiplier`.
const UP_BY_UNITS: f64 = 3.0;
const UP_BY_PROVISIONED_PERCENT: f64 = 30.0;
const UP_BY_THROTTLED: f64 = 0.7;
/// `Increment.To.ConsumedPercent`.
const UP_TO_CONSUMED_PERCENT: f64 = 130.0;
/// `Decrement.When.UtilisationIsBelowPercent`.
const DOWN_BELOW_PERCENT: f64 = 30.0;
/// `Decrement.When.AfterLastIncrementMinutes` and `.AfterLastDecrementMinutes`, in ms.
const DOWN_GRACE_MS: i64 = 60 * 60 * 1000;
/// `Decrement.When.UnitAdjustmentGreaterThan`.
const DOWN_CUT_ABOVE: f64 = 5.0;
/// `Decrement.To.ConsumedPercent`.
const DOWN_TO_CONSUMED_PERCENT: f64 = 100.0;
/// `RateLimitedDecrement`: decreases it spreads over a UTC day.
const DECREASES_PER_DAY: u32 = 4;
/// `RateLimitedDecrement.getLastAllowedDecrementDate`: 23:30 UTC, in ms after midnight.
const LAST_DECREASE_OF_DAY_MS: i64 = (23 * 3600 + 30 * 60) * 1000;
const DAY_MS: i64 = 86_400_000;
/// `parseDate` of a missing date: the earliest JavaScript `Date`.
const NEVER_MS: i64 = -8_640_000_000_000_000;

/// `Min` and `Max` of a provisioner setting; a GSI uses its table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

/// One capacity dimension of a table or GSI as one run of the Lambda reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// P: the provisioned units DescribeTable reports.
    pub provisioned: u32,
    /// C: the largest 1-minute Sum / 60 over [now − 5 min, now), units/s; 0 with no datapoint.
    pub consumed: f64,
    /// T: the largest throttle-events Sum / 60 over [now − 60 s, now), events/s; 0 with none.
    pub throttled: f64,
}

/// What DescribeTable's `ProvisionedThroughput` says of a table's or GSI's past changes; read
/// and write share it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    pub last_increase: Option<Timestamp>,
    pub last_decrease: Option<Timestamp>,
    /// `NumberOfDecreasesToday`: UpdateTables that lowered this resource this UTC day.
    pub decreases_today: u32,
}

/// JavaScript's `Math.round`: halves round up (towards +∞), not away from zero.
#[must_use]
pub fn js_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// `(C / P) * 100`, as JavaScript computes it (∞ or NaN at P = 0, which no threshold matches).
fn utilisation(r: Reading) -> f64 {
    (r.consumed / f64::from(r.provisioned)) * 100.0
}

/// `isCapacityAdjustmentRequired` for an increment; its grace periods are unset, so it is only
/// whether a raise is wanted.
fn raise_wanted(r: Reading, range: Range) -> bool {
    let (p, min, max) = (r.provisioned, range.min, range.max);
    (p < min || utilisation(r) > UP_ABOVE_PERCENT || r.throttled > UP_THROTTLED_ABOVE) && p < max
}

/// `Throughput.getAdjustedCapacityUnits`: the largest (raise) or smallest (lower) candidate,
/// limited to max, then to min and 1, then `Math.round`.
fn adjusted(r: Reading, range: Range, raise: bool) -> f64 {
    let (min, max) = (f64::from(range.min), f64::from(range.max));
    let (p, c) = (f64::from(r.provisioned), r.consumed);
    if p < min {
        return min;
    }
    if p > max {
        return max;
    }
    let value = if raise {
        let by_throttled = r.throttled * UP_BY_THROTTLED;
        [
            p + by_throttled,
            p + (p / 100.0) * UP_BY_PROVISIONED_PERCENT + by_throttled,
            p + by_throttled,
            p + UP_BY_UNITS + by_throttled,
            p,
            (c / 100.0) * UP_TO_CONSUMED_PERCENT,
            p,
        ]
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max)
    } else {
        p.min((c / 100.0) * DOWN_TO_CONSUMED_PERCENT)
    };
    js_round(value.min(max).max(min).max(1.0))
}

/// `isCapacityAdjustmentRequired` for a decrement, the wanted half: under 30 % (or above max)
/// and above min.
fn lower_wanted(r: Reading, range: Range) -> bool {
    (r.provisioned > range.max || utilisation(r) < DOWN_BELOW_PERCENT) && r.provisioned > range.min
}

/// A time in JavaScript `Date` ms; a missing one is the earliest `Date`, and times beyond the
/// latest `Date` (8.64e15 ms) are held there, so the sums below cannot overflow.
fn ms(t: Option<Timestamp>) -> i64 {
    t.map_or(NEVER_MS, |t| {
        i64::try_from(t.0).map_or(-NEVER_MS, |s| s.min(-NEVER_MS / 1000) * 1000)
    })
}

/// `RateLimitedDecrement.getNextAllowedDecrementDate`, in ms: the four decreases spread over the
/// day up to 23:30, and an hour after the last increase and decrease.
fn next_decrease_allowed_ms(history: History, now_ms: i64) -> i64 {
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    if history.decreases_today >= DECREASES_PER_DAY {
        return today + DAY_MS;
    }
    let last = ms(history.last_decrease);
    let from = if last < today { today } else { last };
    let left = i64::from(DECREASES_PER_DAY + 1 - history.decreases_today);
    // `setMilliseconds` truncates the float quotient towards zero, as integer division does.
    let spaced = from + (today + LAST_DECREASE_OF_DAY_MS - from) / left;
    let after_increase = ms(history.last_increase) + DOWN_GRACE_MS;
    let after_decrease = last + DOWN_GRACE_MS;
    spaced.max(after_increase).max(after_decrease)
}

/// Whether a lower of a dimension provisioned at `provisioned` may go ahead: the grace periods
/// (`isAfterLastAdjustmentGracePeriod`: strictly more than 60 min), the day's spacing, and a cut
/// over 5 units before 23:30. The code sizes the cut as `provisioned − read_lowered`, the READ
/// dimension's lowered value, for writes too (`Provisioner` passes
/// `calculateDecrementedReadCapacityValue` to `RateLimitedDecrement.isDecrementAllowed`).
fn lower_allowed(provisioned: u32, read_lowered: f64, history: History, now: Timestamp) -> bool {
    let now_ms = ms(Some(now));
    let strictly_after = |t: Option<Timestamp>| ms(t) < now_ms - DOWN_GRACE_MS;
    if !strictly_after(history.last_increase) || !strictly_after(history.last_decrease) {
        return false;
    }
    if next_decrease_allowed_ms(history, now_ms) > now_ms {
        return false;
    }
    let cut = f64::from(provisioned) - read_lowered;
    let before_last_of_day = now_ms.rem_euclid(DAY_MS) < LAST_DECREASE_OF_DAY_MS;
    !(cut <= DOWN_CUT_ABOVE && before_last_of_day)
}

/// New provisioned units for one table or GSI, `[read, write]`; `None` keeps a dimension as it
/// is. A raise is tried first and, only when none is wanted, a lower
/// (`getUpdatedProvisionedThroughput`).
#[must_use]
pub fn decide(
    read: Reading,
    write: Reading,
    range: Range,
    history: History,
    now: Timestamp,
) -> [Option<u32>; 2] {
    let read_lowered = adjusted(read, range, false);
    [read, write].map(|r| {
        let to = if raise_wanted(r, range) {
            adjusted(r, range, true)
        } else if lower_wanted(r, range) && lower_allowed(r.provisioned, read_lowered, history, now)
        {
            adjusted(r, range, false)
        } else {
            return None;
        };
        let to = whole(to);
        (to != r.provisioned).then_some(to)
    })
}

/// A rounded, clamped value as capacity units (NaN, impossible here, would give 0 and be refused).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(v: f64) -> u32 {
    v.clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The largest Sum / 60 of one metric's published datapoints starting in [now − window, now),
/// 0 with none (`CapacityCalculator.getProjectedValue`).
fn per_second(world: &World, resource: &Resource, metric: &str, window: Duration) -> f64 {
    world
        .series(resource, metric, world.now.minus(window), world.now)
        .points
        .iter()
        .map(|p| p.value / 60.0)
        .fold(0.0, f64::max)
}

/// One dimension as the Lambda reads it (`CapacityCalculatorBase`): consumed over five
/// minutes, throttles over the last one only, so late datapoints usually leave T at 0.
#[must_use]
pub fn reading(world: &World, key: &CapacityKey, provisioned: u32) -> Reading {
    let (consumed, throttled) = metric_names(key.dimension);
    Reading {
        provisioned,
        consumed: per_second(world, &key.resource, consumed, Duration::from_secs(300)),
        throttled: per_second(world, &key.resource, throttled, Duration::from_secs(60)),
    }
}

/// What DynamoDB keeps per table and GSI that the simulated DescribeTable does not report:
/// `LastIncreaseDateTime`, `LastDecreaseDateTime` and `NumberOfDecreasesToday`. The baseline is
/// the only writer of its tables, so it keeps them itself, counting one decrease per UpdateTable
/// that lowered the resource (read, write or both), per UTC day.
#[derive(Debug, Clone, Copy, Default)]
struct Kept {
    last_increase: Option<Timestamp>,
    last_decrease: Option<Timestamp>,
    /// (UTC day number, decreases that day).
    decreases: (u64, u32),
}

impl Kept {
    fn history(&self, now: Timestamp) -> History {
        let (day, count) = self.decreases;
        History {
            last_increase: self.last_increase,
            last_decrease: self.last_decrease,
            decreases_today: if day == now.0 / 86_400 { count } else { 0 },
        }
    }
}

/// dynamodb-lambda-autoscale as BOSS deploys it: every minute (`rate(1 minute)`), every
/// provisioned table and GSI, both dimensions decided together and one UpdateTable per table
/// carrying the table's throughput and its GSI updates.
#[derive(Debug, Default)]
pub struct BossAutoscaler {
    kept: BTreeMap<Resource, Kept>,
}

impl Baseline for BossAutoscaler {
    fn step(&mut self, world: &mut World) {
        if !world.now.0.is_multiple_of(60) {
            return;
        }
        let now = world.now;
        let mut readings: BTreeMap<Resource, (Range, [Option<Reading>; 2])> = BTreeMap::new();
        for (spec, key, provisioned) in governed(world) {
            let range = Range {
                min: spec.autoscaler_min,
                max: spec.autoscaler_max,
            };
            let entry = readings
                .entry(key.resource.clone())
                .or_insert((range, [None, None]));
            let d = usize::from(key.dimension == Dimension::Write);
            entry.1[d] = Some(reading(world, &key, provisioned));
        }
        let mut changes = Vec::new();
        let mut before = BTreeMap::new();
        for (resource, (range, [read, write])) in readings {
            let (Some(read), Some(write)) = (read, write) else {
                continue;
            };
            let history = self.kept.get(&resource).copied().unwrap_or_default();
            let decided = decide(read, write, range, history.history(now), now);
            for (dimension, to, r) in [
                (Dimension::Read, decided[0], read),
                (Dimension::Write, decided[1], write),
            ] {
                let Some(to) = to else { continue };
                let key = CapacityKey {
                    resource: resource.clone(),
                    dimension,
                };
                before.insert(key.clone(), r.provisioned);
                changes.push((key, to));
            }
        }
        let done = apply(world, &changes);
        let mut raised = BTreeSet::new();
        let mut lowered = BTreeSet::new();
        for (key, to) in changes.iter().filter(|(k, _)| done.contains(k)) {
            let from = before.get(key).copied().unwrap_or(*to);
            if *to > from {
                raised.insert(key.resource.clone());
            } else if *to < from {
                lowered.insert(key.resource.clone());
            }
        }
        for resource in raised {
            self.kept.entry(resource).or_default().last_increase = Some(now);
        }
        for resource in lowered {
            let kept = self.kept.entry(resource).or_default();
            let today = kept.history(now).decreases_today;
            kept.last_decrease = Some(now);
            kept.decreases = (now.0 / 86_400, today.saturating_add(1));
        }
    }
}

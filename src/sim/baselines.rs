//! The controllers `remediator` is measured against, in the same simulated world:
//! the BOSS autoscaler (dynamodb-lambda-autoscale, as `shared/boss.md` states its rule), AWS
//! target tracking, no controller, and an oracle that sees true demand with no metric delay.
//! They see CloudWatch through the same late datapoints and change tables through the same
//! UpdateTable (with its refusals) as `remediator`.

use super::scenario::TableSpec;
use super::world::{PARTITION_READ_LIMIT, PARTITION_WRITE_LIMIT, World};
use crate::model::{BillingMode, CapacityKey, Dimension, Resource, TableStatus};
use crate::ports::{TableUpdate, Throughput};
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// A controller that is not `remediator`; called once per simulated second.
pub trait Baseline {
    fn step(&mut self, world: &mut World);
}

/// Every capacity dimension of every provisioned table and GSI, with its table's spec and the
/// current provisioned units.
fn governed(world: &World) -> Vec<(TableSpec, CapacityKey, u32)> {
    let mut out = Vec::new();
    for (name, spec) in world.table_specs() {
        let Ok(desc) = world.describe(&name) else {
            continue;
        };
        if desc.billing != BillingMode::Provisioned || desc.status != TableStatus::Active {
            continue;
        }
        let mut resources = vec![(Resource::table(&name), desc.throughput)];
        resources.extend(
            desc.indexes
                .iter()
                .map(|x| (Resource::index(&name, &x.name), x.throughput)),
        );
        for (resource, throughput) in resources {
            let Some(t) = throughput else { continue };
            out.push((
                spec.clone(),
                CapacityKey {
                    resource: resource.clone(),
                    dimension: Dimension::Read,
                },
                t.read,
            ));
            out.push((
                spec.clone(),
                CapacityKey {
                    resource,
                    dimension: Dimension::Write,
                },
                t.write,
            ));
        }
    }
    out
}

/// Sends one UpdateTable per table with the given new values; refusals (UPDATING, decrease
/// limits) are ignored, as the real controllers simply try again on their next run.
fn apply(world: &mut World, changes: &[(CapacityKey, u32)]) -> Vec<CapacityKey> {
    let mut per_table: BTreeMap<String, BTreeMap<Option<String>, Throughput>> = BTreeMap::new();
    for (key, to) in changes {
        let Ok(desc) = world.describe(&key.resource.table) else {
            continue;
        };
        let current = match &key.resource.index {
            None => desc.throughput,
            Some(i) => desc
                .indexes
                .iter()
                .find(|x| &x.name == i)
                .and_then(|x| x.throughput),
        };
        let Some(current) = current else { continue };
        let entry = per_table
            .entry(key.resource.table.clone())
            .or_default()
            .entry(key.resource.index.clone())
            .or_insert(current);
        match key.dimension {
            Dimension::Read => entry.read = *to,
            Dimension::Write => entry.write = *to,
        }
    }
    let mut done = Vec::new();
    for (table, targets) in per_table {
        let mut update = TableUpdate {
            table: table.clone(),
            table_throughput: None,
            indexes: Vec::new(),
        };
        for (index, t) in &targets {
            match index {
                None => update.table_throughput = Some(*t),
                Some(i) => update.indexes.push((i.clone(), *t)),
            }
        }
        if world.update(&update).is_ok() {
            done.extend(
                changes
                    .iter()
                    .filter(|(k, _)| k.resource.table == table)
                    .map(|(k, _)| k.clone()),
            );
        }
    }
    done
}

fn metric_names(dimension: Dimension) -> (&'static str, &'static str) {
    match dimension {
        Dimension::Read => ("ConsumedReadCapacityUnits", "ReadThrottleEvents"),
        Dimension::Write => ("ConsumedWriteCapacityUnits", "WriteThrottleEvents"),
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn units(v: f64) -> u32 {
    v.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// No controller: capacity stays as the scenario created it.
#[derive(Debug, Default)]
pub struct NoController;

impl Baseline for NoController {
    fn step(&mut self, _world: &mut World) {}
}

/// dynamodb-lambda-autoscale as deployed by BOSS: every minute, per table and GSI, read and
/// write apart. `consumed` is the highest of the last five 1-minute averages; `throttled` the
/// throttle events of the last minute (`shared/boss.md`, "Tables").
#[derive(Debug, Default)]
pub struct BossAutoscaler {
    last_raise: BTreeMap<CapacityKey, Timestamp>,
    decreases: BTreeMap<CapacityKey, Vec<Timestamp>>,
}

impl Baseline for BossAutoscaler {
    fn step(&mut self, world: &mut World) {
        if !world.now.0.is_multiple_of(60) {
            return;
        }
        let now = world.now;
        let mut changes = Vec::new();
        for (spec, key, prov) in governed(world) {
            let (consumed_metric, throttle_metric) = metric_names(key.dimension);
            let consumed_series = world.series(
                &key.resource,
                consumed_metric,
                now.minus(Duration::from_secs(600)),
                now,
            );
            let recent: Vec<f64> = consumed_series
                .points
                .iter()
                .rev()
                .take(5)
                .map(|p| p.value / 60.0)
                .collect();
            let consumed = recent.iter().copied().fold(0.0, f64::max);
            let throttled = consumed_series
                .latest()
                .and_then(|p| {
                    world
                        .series(
                            &key.resource,
                            throttle_metric,
                            p.start,
                            p.start.plus(Duration::from_secs(60)),
                        )
                        .latest()
                })
                .map_or(0.0, |p| p.value);
            let (min, max) = (
                f64::from(spec.autoscaler_min),
                f64::from(spec.autoscaler_max),
            );
            let p = f64::from(prov);
            if p < min || consumed / p > 0.75 || throttled > 25.0 {
                let to = (p + 3.0 + 0.7 * throttled)
                    .max(p * 1.3 + 0.7 * throttled)
                    .max(1.3 * consumed)
                    .clamp(min, max);
                if units(to) > prov {
                    changes.push((key.clone(), units(to), true));
                }
                continue;
            }
            let hour = Duration::from_secs(3600);
            let quiet_since_raise = self
                .last_raise
                .get(&key)
                .is_none_or(|t| now.since(*t) >= hour);
            let today: Vec<Timestamp> = self
                .decreases
                .get(&key)
                .map(|d| {
                    d.iter()
                        .copied()
                        .filter(|t| now.since(*t) < Duration::from_secs(86_400))
                        .collect()
                })
                .unwrap_or_default();
            let quiet_since_decrease = today.last().is_none_or(|t| now.since(*t) >= hour);
            let to = consumed.max(min);
            if consumed / p < 0.30
                && quiet_since_raise
                && quiet_since_decrease
                && today.len() < 4
                && p - to > 5.0
            {
                changes.push((key.clone(), units(to), false));
            }
        }
        let plain: Vec<(CapacityKey, u32)> =
            changes.iter().map(|(k, to, _)| (k.clone(), *to)).collect();
        for key in apply(world, &plain) {
            let raised = changes.iter().any(|(k, _, up)| *k == key && *up);
            if raised {
                self.last_raise.insert(key, now);
            } else {
                self.decreases.entry(key).or_default().push(now);
            }
        }
    }
}

/// AWS Application Auto Scaling target tracking for DynamoDB at 70 %: scale out when two
/// consecutive 1-minute datapoints are above target, to consumed / target; scale in after 15
/// consecutive datapoints well below it (under 50 %, the target less 20 points).
#[derive(Debug, Default)]
pub struct TargetTracking {
    seen: BTreeMap<CapacityKey, Timestamp>,
    high: BTreeMap<CapacityKey, u32>,
    low: BTreeMap<CapacityKey, u32>,
}

const TARGET: f64 = 0.70;
const SCALE_IN_BELOW: f64 = 0.50;

impl Baseline for TargetTracking {
    fn step(&mut self, world: &mut World) {
        if !world.now.0.is_multiple_of(60) {
            return;
        }
        let now = world.now;
        let mut changes = Vec::new();
        for (spec, key, prov) in governed(world) {
            let (consumed_metric, _) = metric_names(key.dimension);
            let series = world.series(
                &key.resource,
                consumed_metric,
                now.minus(Duration::from_secs(900)),
                now,
            );
            let seen = self.seen.get(&key).copied();
            // CloudWatch alarms evaluate every datapoint in order; a missing minute breaks a run.
            let mut latest_consumed = None;
            for point in series
                .points
                .iter()
                .filter(|p| seen.is_none_or(|s| p.start > s))
            {
                let contiguous =
                    seen.is_none_or(|s| point.start == s.plus(Duration::from_secs(60)));
                let consumed = point.value / 60.0;
                let utilisation = consumed / f64::from(prov.max(1));
                let high = self.high.entry(key.clone()).or_default();
                *high = if utilisation > TARGET {
                    if contiguous { *high + 1 } else { 1 }
                } else {
                    0
                };
                let low = self.low.entry(key.clone()).or_default();
                *low = if utilisation < SCALE_IN_BELOW {
                    if contiguous { *low + 1 } else { 1 }
                } else {
                    0
                };
                self.seen.insert(key.clone(), point.start);
                latest_consumed = Some(consumed);
            }
            let Some(consumed) = latest_consumed else {
                continue;
            };
            let (high, low) = (self.high[&key], self.low[&key]);
            let to = units(consumed / TARGET).clamp(spec.autoscaler_min, spec.autoscaler_max);
            if (high >= 2 && to > prov) || (low >= 15 && to < prov) {
                changes.push((key.clone(), to));
            }
        }
        for key in apply(world, &changes) {
            self.high.insert(key.clone(), 0);
            self.low.insert(key, 0);
        }
    }
}

/// Sees true demand with no metric delay and knows the coming minutes: it raises ahead of the
/// UpdateTable delay and lowers only when the next hour is calm. No real controller can do
/// better; its figures show how far from that limit the others are.
#[derive(Debug, Default)]
pub struct Oracle;

impl Oracle {
    /// True demand on a capacity dimension at a scenario second (hot keys beyond the partition
    /// limit cannot be served by any capacity, so they do not count).
    fn demand(world: &World, spec: &TableSpec, key: &CapacityKey, second: u64) -> f64 {
        let served = |(general, hot): (f64, f64), limit: f64| general + hot.min(limit);
        match (&key.resource.index, key.dimension) {
            (None, Dimension::Read) => served(
                world.demand(&spec.short_name, None, Dimension::Read, second),
                PARTITION_READ_LIMIT,
            ),
            (None, Dimension::Write) => served(
                world.demand(&spec.short_name, None, Dimension::Write, second),
                PARTITION_WRITE_LIMIT,
            ),
            (Some(i), Dimension::Read) => served(
                world.demand(&spec.short_name, Some(i), Dimension::Read, second),
                PARTITION_READ_LIMIT,
            ),
            (Some(i), Dimension::Write) => {
                let share = spec
                    .indexes
                    .iter()
                    .find(|x| &x.name == i)
                    .map_or(0.0, |x| x.write_share);
                served(
                    world.demand(&spec.short_name, None, Dimension::Write, second),
                    PARTITION_WRITE_LIMIT,
                ) * share
            }
        }
    }

    fn peak(world: &World, spec: &TableSpec, key: &CapacityKey, from: u64, seconds: u64) -> f64 {
        (from..=from + seconds)
            .step_by(10)
            .map(|s| Self::demand(world, spec, key, s))
            .fold(0.0, f64::max)
    }
}

impl Baseline for Oracle {
    fn step(&mut self, world: &mut World) {
        if !world.now.0.is_multiple_of(10) {
            return;
        }
        let second = world.elapsed();
        let mut changes = Vec::new();
        for (spec, key, prov) in governed(world) {
            let (min, max) = (spec.autoscaler_min, spec.autoscaler_max);
            // Far enough ahead to cover the slowest UpdateTable and the next decision.
            let soon =
                units(Self::peak(world, &spec, &key, second, 90) * 1.02 + 1.0).clamp(min, max);
            let hour =
                units(Self::peak(world, &spec, &key, second, 3600) * 1.02 + 1.0).clamp(min, max);
            if soon > prov {
                changes.push((key, soon));
            } else if f64::from(hour) < f64::from(prov) * 0.8 {
                changes.push((key, hour));
            }
        }
        apply(world, &changes);
    }
}

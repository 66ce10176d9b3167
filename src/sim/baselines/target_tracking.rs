//! AWS Application Auto Scaling target tracking, the managed alternative a deployment may add to
//! BOSS's tables: it is what AWS offers out of the box, so `remediator` must beat it to be worth
//! running.

use super::{Baseline, apply, governed, metric_names, units};
use crate::domain::resource::CapacityKey;
use crate::sim::world::World;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

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

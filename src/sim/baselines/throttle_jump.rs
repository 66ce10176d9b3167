//! The operator's instinct, "raise hard when it throttles": the rule this simulator first took for
//! BOSS's autoscaler. It is **not** BOSS's autoscaler (that is `boss`, from
//! dynamodb-lambda-autoscale's code). Unlike it, this rule reads throttles from the latest
//! published minute, however late, counts them per minute rather than per second, and keeps its
//! cooldowns per capacity dimension; so it reacts to every throttling minute and raises far above
//! need. It stays as a baseline because it is what a hand-tuned controller tends to do: few
//! throttles, high cost.

use super::{Baseline, apply, governed, metric_names, units};
use crate::domain::resource::CapacityKey;
use crate::sim::world::World;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every minute, per table and GSI, read and write apart: raise when the latest published minute
/// throttled more than 25 events, or utilisation (the highest of the last five 1-minute averages)
/// is over 75 %, to the largest of P + 3 + 0.7 T, 1.3 P + 0.7 T and 1.3 C; lower at most
/// four times in 24 h, an hour apart and an hour after a raise, when under 30 %.
#[derive(Debug, Default)]
pub struct ThrottleJump {
    last_raise: BTreeMap<CapacityKey, Timestamp>,
    decreases: BTreeMap<CapacityKey, Vec<Timestamp>>,
}

impl Baseline for ThrottleJump {
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

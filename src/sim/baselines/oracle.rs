//! A controller no one can build: it knows true demand now and in the coming hour. Its figures are
//! the floor of throttles and cost the scenario allows, so the others can be read as a distance
//! from it.

use super::{Baseline, apply, governed, units};
use crate::domain::resource::{CapacityKey, Dimension};
use crate::sim::scenario::TableSpec;
use crate::sim::world::{PARTITION_READ_LIMIT, PARTITION_WRITE_LIMIT, World};

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

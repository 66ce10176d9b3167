//! The controllers `remediator` is measured against, in the same simulated world: BOSS's own
//! autoscaler (`boss`), the operator's "raise hard when it throttles" (`throttle_jump`), AWS
//! target tracking, no controller, and an oracle that sees true demand with no metric delay.
//! They see CloudWatch through the same late datapoints and change tables through the same
//! UpdateTable (with its refusals) as `remediator`, so their figures differ only by their rules.
//!
//! This module holds what they share: the `Baseline` trait, the list of capacity dimensions they
//! govern, and the one-UpdateTable-per-table way they apply changes.

mod boss;
mod oracle;
mod target_tracking;
mod throttle_jump;

pub use boss::BossAutoscaler;
pub use oracle::Oracle;
pub use target_tracking::TargetTracking;
pub use throttle_jump::ThrottleJump;

use super::scenario::TableSpec;
use super::world::World;
use crate::domain::resource::{BillingMode, CapacityKey, Dimension, Resource, TableStatus};
use crate::ports::{TableUpdate, Throughput};
use std::collections::BTreeMap;

/// A controller that is not `remediator`; called once per simulated second.
pub trait Baseline {
    fn step(&mut self, world: &mut World);
}

/// Every capacity dimension of every provisioned table and GSI, with its table's spec and the
/// current provisioned units.
pub(super) fn governed(world: &World) -> Vec<(TableSpec, CapacityKey, u32)> {
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
pub(super) fn apply(world: &mut World, changes: &[(CapacityKey, u32)]) -> Vec<CapacityKey> {
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

/// The consumed and throttle-events metric of a capacity dimension.
pub(super) fn metric_names(dimension: Dimension) -> (&'static str, &'static str) {
    match dimension {
        Dimension::Read => ("ConsumedReadCapacityUnits", "ReadThrottleEvents"),
        Dimension::Write => ("ConsumedWriteCapacityUnits", "WriteThrottleEvents"),
    }
}

/// Whole capacity units for a computed value: rounded up, at least 1.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn units(v: f64) -> u32 {
    v.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// No controller: capacity stays as the scenario created it.
#[derive(Debug, Default)]
pub struct NoController;

impl Baseline for NoController {
    fn step(&mut self, _world: &mut World) {}
}

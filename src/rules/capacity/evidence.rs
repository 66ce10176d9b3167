//! What the capacity rule plans from: one CloudWatch minute for a whole table (its GSIs, reads
//! and writes alike), and demand estimated from what was served and what was turned away.

use crate::domain::observed::{Observed, ResourceObs};
use crate::domain::resource::{CapacityKey, Dimension, Resource};
use crate::memory::Memory;
use crate::time::Timestamp;

/// A table and the GSIs the policy governs with it, as one tick observed them.
pub struct TableView<'a> {
    pub observed: &'a Observed,
    pub table: &'a ResourceObs,
    pub indexes: Vec<&'a ResourceObs>,
    /// Each GSI's share of the table's writes, in the order of `indexes`.
    shares: Vec<f64>,
}

impl<'a> TableView<'a> {
    #[must_use]
    pub fn new(observed: &'a Observed, table: &'a ResourceObs, include_gsis: bool) -> Self {
        let indexes = observed
            .resources
            .iter()
            .filter(|r| include_gsis && r.resource.table == table.resource.table)
            .filter(|r| r.resource.index.is_some())
            .collect::<Vec<_>>();
        let shares = indexes.iter().map(|i| observed_share(table, i)).collect();
        Self {
            observed,
            table,
            indexes,
            shares,
        }
    }

    /// The table a rule governs, if this tick observed it (with its GSIs if the rule says so).
    #[must_use]
    pub fn of(observed: &'a Observed, rule: &crate::policy::TableRule) -> Option<Self> {
        let table = observed
            .resources
            .iter()
            .find(|r| r.resource.table == rule.table_name && r.resource.index.is_none())?;
        Some(Self::new(observed, table, rule.include_gsis))
    }

    /// The table first, then its GSIs.
    pub fn resources(&self) -> impl Iterator<Item = &'a ResourceObs> + '_ {
        std::iter::once(self.table).chain(self.indexes.iter().copied())
    }

    fn period(&self) -> f64 {
        self.observed.period.as_secs_f64().max(1.0)
    }

    /// The newest minute that every signal of the table with any data has published: CloudWatch
    /// publishes each resource's datapoint 1–3 minutes late, each on its own delay, and a plan
    /// that mixed a table's newest minute with its GSI's older one would size them for
    /// different loads.
    #[must_use]
    pub fn minute(&self) -> Option<Timestamp> {
        self.resources()
            .flat_map(|r| Dimension::BOTH.map(|d| r.dimension(d).consumed.latest()))
            .flatten()
            .map(|p| p.start)
            .min()
    }

    /// Served and throttled of one minute: units/s and throttle events. CloudWatch publishes no
    /// throttle datapoint for a minute without throttles.
    #[must_use]
    pub fn minute_of(
        obs: &ResourceObs,
        dimension: Dimension,
        minute: Timestamp,
    ) -> Option<(f64, f64)> {
        let d = obs.dimension(dimension);
        Some((
            d.consumed.at(minute)?,
            d.throttle_events.at(minute).unwrap_or(0.0),
        ))
    }

    /// Share of the table's writes that also write the GSI `resource` (1 for anything else).
    #[must_use]
    pub fn write_share(&self, resource: &Resource) -> f64 {
        self.indexes
            .iter()
            .position(|i| &i.resource == resource)
            .map_or(1.0, |i| self.shares[i])
    }

    /// Demand in units/s on one resource and dimension in `minute`: what was served plus what
    /// was throttled. Throttle events count requests, not units; one event is taken for one
    /// unit (a TileIndex item is under 1 KB: one WCU to write, at most one RCU to read). Events
    /// also count the SDK's retries of one request, so the estimate errs high while throttling,
    /// which costs a little headroom and never a lowering (lowering needs throttle-free minutes).
    ///
    /// Writes to a table also write its GSIs, and a GSI short of capacity turns the table's
    /// writes away (they show only in the GSI's throttle events): the table's write demand adds
    /// the most any GSI turned away, scaled by that GSI's share, and a GSI's is at least the
    /// table's times its share.
    #[must_use]
    pub fn demand(
        &self,
        obs: &ResourceObs,
        dimension: Dimension,
        minute: Timestamp,
    ) -> Option<f64> {
        let period = self.period();
        let (consumed, events) = Self::minute_of(obs, dimension, minute)?;
        let own = consumed + events / period;
        if dimension == Dimension::Read {
            return Some(own);
        }
        if obs.resource.index.is_none() {
            let turned_away = self
                .indexes
                .iter()
                .filter_map(|gsi| {
                    let (_, gsi_events) = Self::minute_of(gsi, Dimension::Write, minute)?;
                    let share = self.write_share(&gsi.resource).max(0.05);
                    Some(gsi_events / period / share)
                })
                .fold(0.0, f64::max);
            return Some(own + turned_away);
        }
        let table = self.table_write_demand(minute);
        Some(own.max(table.unwrap_or(0.0) * self.write_share(&obs.resource)))
    }

    /// The table's own write demand (served plus throttled at the table and at its GSIs).
    #[must_use]
    pub fn table_write_demand(&self, minute: Timestamp) -> Option<f64> {
        self.demand(self.table, Dimension::Write, minute)
    }

    /// The capacity a dimension had during `minute`: the described one, or what a change made
    /// after the minute began replaced.
    #[must_use]
    pub fn provisioned_during(
        memory: &Memory,
        key: &CapacityKey,
        now: u32,
        minute: Timestamp,
    ) -> u32 {
        memory
            .changes
            .iter()
            .filter(|c| &c.key == key)
            .find(|c| c.settled_at.is_none_or(|s| s > minute))
            .map_or(now, |c| c.from)
    }
}

/// Share of the table's writes that also write `index`, over every minute both published (an
/// item without the index's key does not write it). 1 without data: assume every item is
/// indexed until shown otherwise.
fn observed_share(table: &ResourceObs, index: &ResourceObs) -> f64 {
    let mut table_units = 0.0;
    let mut index_units = 0.0;
    for p in &table.write.consumed.points {
        if let Some(i) = index.write.consumed.at(p.start) {
            table_units += p.value;
            index_units += i;
        }
    }
    if table_units < 1.0 {
        return 1.0;
    }
    (index_units / table_units).clamp(0.0, 1.0)
}

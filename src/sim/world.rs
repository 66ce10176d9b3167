//! The simulated BOSS: DynamoDB tables in virtual time, with provisioned capacity, burst credit,
//! per-partition limits, on-demand tables, slow UpdateTable and late CloudWatch datapoints.
//!
//! The world advances one second per `step`; nothing here sleeps or reads the wall clock. Every
//! random draw is a hash of the scenario seed and what is drawn, so a run is reproducible and
//! the oracle can look at true demand ahead of time.

use super::jobs::Jobs;
use super::lambdas::Lambdas;
use super::scenario::{Scenario, TableSpec, interpolate};
use super::seeded::{hash, text_hash, unit};
use crate::domain::observed::{Point, Series};
use crate::domain::port_error::PortError;
use crate::domain::resource::{BillingMode, Dimension, Resource, TableStatus};
use crate::policy::{Domain, Prices};
use crate::ports::{Autoscaling, IndexDescription, TableDescription, TableUpdate, Throughput};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// Per-partition ceilings: a single partition (so a single hot key) serves at most 3,000 RCU and
/// 1,000 WCU per second whatever the table's capacity (DynamoDB developer guide, "Partitions").
pub const PARTITION_READ_LIMIT: f64 = 3000.0;
pub const PARTITION_WRITE_LIMIT: f64 = 1000.0;
/// DynamoDB retains up to 300 seconds of unused read and write capacity as burst credit.
const BURST_SECONDS: f64 = 300.0;
/// A new on-demand table serves up to 4,000 write / 12,000 read request units per second, and
/// later up to double its previous peak (DynamoDB developer guide, "On-demand mode").
const ON_DEMAND_INITIAL: [f64; 2] = [12_000.0, 4_000.0];

const DAY: u64 = 86_400;
const FREE_DECREASES_PER_DAY: usize = 4;

/// One capacity-bearing resource: a table or a GSI.
#[derive(Debug, Clone)]
struct Capacity {
    units: [u32; 2],
    credit: [f64; 2],
    minute_consumed: [f64; 2],
    minute_throttled: [f64; 2],
    decreases: [Vec<u64>; 2],
    on_demand_peak: [f64; 2],
}

impl Capacity {
    fn new(read: u32, write: u32) -> Self {
        Self {
            units: [read, write],
            credit: [0.0; 2],
            minute_consumed: [0.0; 2],
            minute_throttled: [0.0; 2],
            decreases: [Vec::new(), Vec::new()],
            on_demand_peak: [0.0; 2],
        }
    }

    /// Units available this second: provisioned plus burst credit, or the on-demand limit.
    fn available(&self, d: usize, billing: BillingMode) -> f64 {
        match billing {
            BillingMode::Provisioned => f64::from(self.units[d]) + self.credit[d],
            BillingMode::PayPerRequest => (self.on_demand_peak[d] * 2.0).max(ON_DEMAND_INITIAL[d]),
        }
    }

    fn consume(&mut self, d: usize, consumed: f64, throttled: f64, billing: BillingMode) {
        let units = f64::from(self.units[d]);
        if billing == BillingMode::Provisioned {
            self.credit[d] = (self.credit[d] + units - consumed).clamp(0.0, units * BURST_SECONDS);
        } else {
            self.on_demand_peak[d] = self.on_demand_peak[d].max(consumed);
        }
        self.minute_consumed[d] += consumed;
        self.minute_throttled[d] += throttled;
    }
}

#[derive(Debug, Clone)]
struct SimIndex {
    name: String,
    write_share: f64,
    capacity: Capacity,
}

#[derive(Debug, Clone)]
struct SimTable {
    name: String,
    spec: TableSpec,
    status: TableStatus,
    updating_until: u64,
    pending: Option<TableUpdate>,
    capacity: Capacity,
    indexes: Vec<SimIndex>,
}

/// One published (or not yet published) CloudWatch datapoint.
#[derive(Debug, Clone, Copy)]
struct Datapoint {
    start: Timestamp,
    value: f64,
    published_at: Timestamp,
}

/// Running totals that the summary reports; all provisioned capacity in the world is costed.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Units throttled, every attempt counted: a job's tile throttled, returned to its queue and
    /// throttled again counts twice.
    pub throttled_requests: f64,
    /// Fresh requests, in units, asked of the tables: every workload's demand (tables and GSI
    /// reads; a table write that also writes its GSIs counts once, as its throttles do) plus each
    /// job tile's units on its first receive, not its retries. It depends on the scenario and
    /// seed only, so it is the same for every controller. The functions of an activity scenario
    /// (`lambdas.rs`) are not counted: their load depends on how the run goes.
    pub requests_demanded: f64,
    pub seconds_with_throttling: u64,
    pub capacity_cost_usd: f64,
    /// Summed over every table and GSI, so `u64`: a hundred tables of 21 resources each at
    /// `u32::MAX` (the oracle's clamp) would wrap a `u32`.
    pub peak_units: [u64; 2],
    pub unit_seconds: [f64; 2],
    pub seconds: u64,
    /// A baseline may change every table every second of a month: more than a `u32` holds.
    pub capacity_changes: u64,
}

/// What the world looked like in one second, for timelines.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub resource: Resource,
    pub dimension: Dimension,
    pub demand: f64,
    pub provisioned: Option<u32>,
    pub throttled: f64,
}

#[derive(Debug)]
pub struct World {
    pub now: Timestamp,
    pub start: Timestamp,
    seed: u64,
    delays: (u64, u64),
    update_seconds: (u64, u64),
    prices: Prices,
    scenario: Scenario,
    tables: Vec<SimTable>,
    metrics: BTreeMap<(Resource, &'static str), Vec<Datapoint>>,
    pub totals: Totals,
    last_second: Vec<Snapshot>,
    /// The Lambda functions and performers (`lambdas.rs`); empty for a tables-only scenario.
    pub lambdas: Lambdas,
    /// The ingest jobs and their queues (`jobs.rs`); empty without `[[jobs]]`.
    pub jobs: Jobs,
    /// Every message the controller sent, in order (`SimCloud` records them).
    pub received: Vec<super::performers::Received>,
}

/// Simulations open at 2026-01-05T14:00:00Z, a Monday afternoon.
pub const DEFAULT_START: Timestamp = Timestamp(1_767_621_600);

fn dim_index(d: Dimension) -> usize {
    match d {
        Dimension::Read => 0,
        Dimension::Write => 1,
    }
}

impl World {
    #[must_use]
    pub fn new(scenario: &Scenario, domain: &Domain, prices: Prices) -> Self {
        let tables = scenario
            .tables
            .iter()
            .map(|spec| SimTable {
                name: domain.table(&spec.short_name),
                spec: spec.clone(),
                status: TableStatus::Active,
                updating_until: 0,
                pending: None,
                capacity: Capacity::new(spec.read, spec.write),
                indexes: spec
                    .indexes
                    .iter()
                    .map(|x| SimIndex {
                        name: x.name.clone(),
                        write_share: x.write_share,
                        capacity: Capacity::new(x.read, x.write),
                    })
                    .collect(),
            })
            .collect();
        Self {
            now: DEFAULT_START,
            start: DEFAULT_START,
            seed: scenario.seed,
            delays: scenario.metric_delay_seconds,
            update_seconds: scenario.update_seconds,
            prices,
            scenario: scenario.clone(),
            tables,
            metrics: BTreeMap::new(),
            totals: Totals::default(),
            last_second: Vec::new(),
            lambdas: Lambdas::new(scenario.activity.as_ref(), domain, scenario.seed),
            jobs: Jobs::new(
                &scenario.jobs,
                domain,
                scenario.seed,
                scenario.duration.as_secs(),
            ),
            received: Vec::new(),
        }
    }

    /// Seconds since the scenario began.
    #[must_use]
    pub fn elapsed(&self) -> u64 {
        self.now.0 - self.start.0
    }

    /// True demand (general, hot key) in units per second on a resource at a scenario second:
    /// the workloads', and on a table the functions' and ingest jobs' (now: what they put on it
    /// this second, retries included; later: the jobs' plan).
    #[must_use]
    pub fn demand(
        &self,
        table_short: &str,
        index: Option<&str>,
        dimension: Dimension,
        second: u64,
    ) -> (f64, f64) {
        let (mut general, hot) = self.workload_demand(table_short, index, dimension, second);
        if index.is_none() {
            general += self.pipeline_load(table_short, dimension, second);
        }
        (general, hot)
    }

    /// What the functions and jobs put on a table (see [`World::demand`]).
    fn pipeline_load(&self, table_short: &str, dimension: Dimension, second: u64) -> f64 {
        let mut load = 0.0;
        // What the functions put on the table now (a look ahead sees the current load).
        if !self.lambdas.is_empty() {
            load += self.lambdas.table_load(table_short, dimension);
        }
        if !self.jobs.is_empty() {
            load += if second <= self.elapsed() {
                self.jobs.load(table_short, dimension)
            } else {
                self.jobs.planned(table_short, dimension, second)
            };
        }
        load
    }

    /// The `[[workload]]` demand (general, hot key) alone.
    fn workload_demand(
        &self,
        table_short: &str,
        index: Option<&str>,
        dimension: Dimension,
        second: u64,
    ) -> (f64, f64) {
        let mut general = 0.0;
        let mut hot = 0.0;
        for (i, w) in self.scenario.workload.iter().enumerate() {
            if w.table != table_short || w.index.as_deref() != index || w.dimension != dimension {
                continue;
            }
            let noise = if w.noise > 0.0 {
                1.0 + w.noise * (2.0 * unit(hash(&[self.seed, i as u64, second / 60])) - 1.0)
            } else {
                1.0
            };
            general += interpolate(&w.points, second) * noise;
            hot += interpolate(&w.hot_key, second) * noise;
        }
        (general, hot)
    }

    /// Advances the world by one second.
    pub fn step(&mut self) {
        let second = self.elapsed();
        self.finish_updates();
        if !self.lambdas.is_empty() {
            let shares = self.throttled_shares();
            self.lambdas.step(second, &shares);
        }
        let mut demanded = self.jobs.step(second);
        let mut snapshots = Vec::new();
        let mut throttled_now = 0.0;
        for ti in 0..self.tables.len() {
            let short = self.tables[ti].spec.short_name.clone();
            let billing = self.tables[ti].spec.billing;
            for dimension in Dimension::BOTH {
                let d = dim_index(dimension);
                let (general, hot) = self.workload_demand(&short, None, dimension, second);
                demanded += general + hot;
                let general = general + self.pipeline_load(&short, dimension, second);
                let limit = if dimension == Dimension::Read {
                    PARTITION_READ_LIMIT
                } else {
                    PARTITION_WRITE_LIMIT
                };
                let wanted = general + hot.min(limit);
                let table = &mut self.tables[ti];
                let accepted_by_table = wanted.min(table.capacity.available(d, billing));
                let mut accepted = accepted_by_table;
                // A write to the table also writes each GSI; a GSI short of capacity throttles
                // the write (AWS counts it in that GSI's WriteThrottleEvents).
                let mut index_throttles = vec![0.0; table.indexes.len()];
                if dimension == Dimension::Write {
                    for index in table.indexes.iter().filter(|x| x.write_share > 0.0) {
                        accepted =
                            accepted.min(index.capacity.available(d, billing) / index.write_share);
                    }
                    // Only the GSIs that are the bottleneck record the throttles.
                    for (xi, index) in table.indexes.iter().enumerate() {
                        let need = accepted_by_table * index.write_share;
                        let available = index.capacity.available(d, billing);
                        if index.write_share > 0.0
                            && need > available
                            && available / index.write_share <= accepted + 1e-9
                        {
                            index_throttles[xi] = need - available;
                        }
                    }
                }
                let table_throttled = general + hot - accepted_by_table;
                table
                    .capacity
                    .consume(d, accepted, table_throttled, billing);
                throttled_now += general + hot - accepted;
                snapshots.push(Snapshot {
                    resource: Resource::table(&table.name),
                    dimension,
                    demand: general + hot,
                    provisioned: (billing == BillingMode::Provisioned)
                        .then_some(table.capacity.units[d]),
                    throttled: general + hot - accepted,
                });
                if dimension == Dimension::Write {
                    for (xi, index) in table.indexes.iter_mut().enumerate() {
                        let need = accepted_by_table * index.write_share;
                        index.capacity.consume(
                            d,
                            accepted * index.write_share,
                            index_throttles[xi],
                            billing,
                        );
                        snapshots.push(Snapshot {
                            resource: Resource::index(&table.name, &index.name),
                            dimension,
                            demand: need,
                            provisioned: (billing == BillingMode::Provisioned)
                                .then_some(index.capacity.units[d]),
                            throttled: index_throttles[xi],
                        });
                    }
                }
            }
            // Index reads are their own demand.
            for xi in 0..self.tables[ti].indexes.len() {
                let name = self.tables[ti].indexes[xi].name.clone();
                let (general, hot) = self.demand(&short, Some(&name), Dimension::Read, second);
                demanded += general + hot;
                let wanted = general + hot.min(PARTITION_READ_LIMIT);
                let table = &mut self.tables[ti];
                let index = &mut table.indexes[xi];
                let accepted = wanted.min(index.capacity.available(0, billing));
                let throttled = general + hot - accepted;
                index.capacity.consume(0, accepted, throttled, billing);
                throttled_now += throttled;
                snapshots.push(Snapshot {
                    resource: Resource::index(&table.name, &name),
                    dimension: Dimension::Read,
                    demand: general + hot,
                    provisioned: (billing == BillingMode::Provisioned)
                        .then_some(index.capacity.units[0]),
                    throttled,
                });
            }
        }
        self.account(throttled_now);
        self.totals.requests_demanded += demanded;
        self.last_second = snapshots;
        if !self.jobs.is_empty() {
            let shares = self.throttled_shares();
            self.jobs.settle(second, &shares);
        }
        self.now = self.now.plus(std::time::Duration::from_secs(1));
        if self.now.0.is_multiple_of(60) {
            self.publish_minute();
        }
    }

    fn account(&mut self, throttled_now: f64) {
        let totals = &mut self.totals;
        totals.seconds += 1;
        totals.throttled_requests += throttled_now;
        if throttled_now >= 1.0 {
            totals.seconds_with_throttling += 1;
        }
        let mut units = [0u64; 2];
        for table in self
            .tables
            .iter()
            .filter(|t| t.spec.billing == BillingMode::Provisioned)
        {
            for capacity in
                std::iter::once(&table.capacity).chain(table.indexes.iter().map(|x| &x.capacity))
            {
                units[0] += u64::from(capacity.units[0]);
                units[1] += u64::from(capacity.units[1]);
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let real = units.map(|u| u as f64);
        for (d, units) in units.iter().enumerate() {
            totals.peak_units[d] = totals.peak_units[d].max(*units);
            totals.unit_seconds[d] += real[d];
        }
        totals.capacity_cost_usd += (real[0] * self.prices.rcu_usd_per_hour
            + real[1] * self.prices.wcu_usd_per_hour)
            / 3600.0;
    }

    /// Closes the minute that just ended: its datapoints become visible after a seeded delay.
    fn publish_minute(&mut self) {
        let start = self.now.minus(std::time::Duration::from_secs(60));
        let (lo, hi) = self.delays;
        let mut out = Vec::new();
        for table in &mut self.tables {
            let resources = std::iter::once((Resource::table(&table.name), &mut table.capacity))
                .chain(
                    table
                        .indexes
                        .iter_mut()
                        .map(|x| (Resource::index(&table.name, &x.name), &mut x.capacity)),
                );
            for (resource, capacity) in resources {
                for dimension in Dimension::BOTH {
                    let d = dim_index(dimension);
                    let (consumed_metric, throttle_metric) = match dimension {
                        Dimension::Read => ("ConsumedReadCapacityUnits", "ReadThrottleEvents"),
                        Dimension::Write => ("ConsumedWriteCapacityUnits", "WriteThrottleEvents"),
                    };
                    let h = hash(&[
                        self.seed,
                        text_hash(&resource.to_string()),
                        start.0,
                        d as u64,
                    ]);
                    let delay = lo + h % (hi - lo + 1);
                    let published_at = self.now.plus(std::time::Duration::from_secs(delay));
                    out.push((
                        resource.clone(),
                        consumed_metric,
                        Datapoint {
                            start,
                            value: capacity.minute_consumed[d],
                            published_at,
                        },
                    ));
                    // CloudWatch has no throttle datapoint for a minute without throttles.
                    if capacity.minute_throttled[d] > 0.0 {
                        out.push((
                            resource.clone(),
                            throttle_metric,
                            Datapoint {
                                start,
                                value: capacity.minute_throttled[d].round(),
                                published_at,
                            },
                        ));
                    }
                    capacity.minute_consumed[d] = 0.0;
                    capacity.minute_throttled[d] = 0.0;
                }
            }
        }
        for (resource, metric, point) in out {
            self.metrics
                .entry((resource, metric))
                .or_default()
                .push(point);
        }
        self.lambdas.publish(self.now, self.elapsed(), self.delays);
    }

    /// Per table (short name), the share of its [read, write] requests throttled last second.
    fn throttled_shares(&self) -> Vec<(String, [f64; 2])> {
        let mut out: Vec<(String, [f64; 2])> = Vec::new();
        for s in self
            .last_second
            .iter()
            .filter(|s| s.resource.index.is_none())
        {
            let Some(t) = self.tables.iter().find(|t| t.name == s.resource.table) else {
                continue;
            };
            let share = if s.demand > 0.0 {
                s.throttled / s.demand
            } else {
                0.0
            };
            match out.iter_mut().find(|(n, _)| *n == t.spec.short_name) {
                Some((_, v)) => v[dim_index(s.dimension)] = share,
                None => {
                    let mut v = [0.0; 2];
                    v[dim_index(s.dimension)] = share;
                    out.push((t.spec.short_name.clone(), v));
                }
            }
        }
        out
    }

    fn finish_updates(&mut self) {
        let now = self.now.0;
        for table in &mut self.tables {
            if table.status != TableStatus::Updating || now < table.updating_until {
                continue;
            }
            table.status = TableStatus::Active;
            let Some(update) = table.pending.take() else {
                continue;
            };
            if let Some(t) = update.table_throughput {
                table.capacity.units = [t.read, t.write];
            }
            for (name, t) in update.indexes {
                if let Some(index) = table.indexes.iter_mut().find(|x| x.name == name) {
                    index.capacity.units = [t.read, t.write];
                }
            }
        }
    }

    /// Published datapoints of one metric in `[start, end)`.
    #[must_use]
    pub fn series(
        &self,
        resource: &Resource,
        metric: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Series {
        let points = self
            .metrics
            .iter()
            .filter(|((r, m), _)| r == resource && *m == metric)
            .flat_map(|(_, points)| points.iter())
            .filter(|p| p.start >= start && p.start < end && p.published_at <= self.now)
            .map(|p| Point {
                start: p.start,
                value: p.value,
            })
            .collect();
        Series { points }
    }

    /// DescribeTable.
    ///
    /// # Errors
    /// `NotFound` for a table the scenario does not have.
    pub fn describe(&self, name: &str) -> Result<TableDescription, PortError> {
        let table =
            self.tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| PortError::NotFound {
                    resource: format!("table {name}"),
                })?;
        let provisioned = table.spec.billing == BillingMode::Provisioned;
        let throughput = |c: &Capacity| {
            provisioned.then_some(Throughput {
                read: c.units[0],
                write: c.units[1],
            })
        };
        Ok(TableDescription {
            name: table.name.clone(),
            billing: table.spec.billing,
            status: table.status,
            throughput: throughput(&table.capacity),
            autoscaling: Autoscaling::default(),
            indexes: table
                .indexes
                .iter()
                .map(|x| IndexDescription {
                    name: x.name.clone(),
                    throughput: throughput(&x.capacity),
                    autoscaling: Autoscaling::default(),
                })
                .collect(),
        })
    }

    /// UpdateTable, with DynamoDB's refusals: one update at a time, no provisioned throughput on
    /// on-demand tables, and the daily decrease limit.
    ///
    /// # Errors
    /// `Busy` while UPDATING; `Permanent` for refusals AWS would make.
    pub fn update(&mut self, update: &TableUpdate) -> Result<(), PortError> {
        let now = self.now.0;
        let Some(table) = self.tables.iter_mut().find(|t| t.name == update.table) else {
            return Err(PortError::NotFound {
                resource: format!("table {}", update.table),
            });
        };
        let refuse = |message: String| PortError::Permanent {
            service: "dynamodb",
            operation: "UpdateTable",
            message,
        };
        if table.status != TableStatus::Active {
            return Err(PortError::Busy {
                resource: table.name.clone(),
                message: "table is UPDATING".into(),
            });
        }
        if table.spec.billing == BillingMode::PayPerRequest {
            return Err(refuse("ValidationException: provisioned throughput cannot be set on a PAY_PER_REQUEST table".into()));
        }
        let mut targets: Vec<(Option<usize>, Throughput)> = Vec::new();
        if let Some(t) = update.table_throughput {
            targets.push((None, t));
        }
        for (name, t) in &update.indexes {
            let Some(i) = table.indexes.iter().position(|x| &x.name == name) else {
                return Err(refuse(format!("ValidationException: no index {name}")));
            };
            targets.push((Some(i), *t));
        }
        for (i, t) in &targets {
            let capacity = i.map_or(&table.capacity, |i| &table.indexes[i].capacity);
            if t.read == 0 || t.write == 0 {
                return Err(refuse(
                    "ValidationException: capacity must be at least 1".into(),
                ));
            }
            for (d, to) in [(0, t.read), (1, t.write)] {
                if to < capacity.units[d] && !decrease_allowed(&capacity.decreases[d], now) {
                    return Err(refuse(
                        "LimitExceededException: decrease limit reached for today".into(),
                    ));
                }
            }
        }
        let mut changed: u64 = 0;
        for (i, t) in targets {
            let capacity = match i {
                None => &mut table.capacity,
                Some(i) => &mut table.indexes[i].capacity,
            };
            for (d, to) in [(0, t.read), (1, t.write)] {
                if to < capacity.units[d] {
                    capacity.decreases[d].push(now);
                }
                if to != capacity.units[d] {
                    changed += 1;
                }
            }
        }
        let (lo, hi) = self.update_seconds;
        // Drawn from the table and the moment, so the same update takes as long under every
        // controller.
        let seconds = lo + hash(&[self.seed, 0xDD, text_hash(&update.table), now]) % (hi - lo + 1);
        table.status = TableStatus::Updating;
        table.updating_until = now + seconds;
        table.pending = Some(update.clone());
        self.totals.capacity_changes += changed;
        Ok(())
    }

    /// What each resource saw in the last second.
    #[must_use]
    pub fn snapshot(&self) -> &[Snapshot] {
        &self.last_second
    }

    #[must_use]
    pub fn table_specs(&self) -> Vec<(String, TableSpec)> {
        self.tables
            .iter()
            .map(|t| (t.name.clone(), t.spec.clone()))
            .collect()
    }
}

/// AWS: 4 decreases at any time in a UTC day, then one per hour that had none.
fn decrease_allowed(decreases: &[u64], now: u64) -> bool {
    let today: Vec<u64> = decreases
        .iter()
        .copied()
        .filter(|t| t / DAY == now / DAY)
        .collect();
    today.len() < FREE_DECREASES_PER_DAY || today.last().is_none_or(|last| now - last >= 3600)
}

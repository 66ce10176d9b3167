//! The simulated BOSS Lambda functions of the ingest path, one second per step, and the
//! performers who feed them (`performers.rs`).
//!
//! The model, per second (parameters from the scenario's `[performers]`, `[lambda]` and
//! `[[functions]]`; see `activity.rs`):
//!
//! - **Arrivals.** The performers upload `tiles` tiles/s. The functions with
//!   `tiles_per_invocation` form the ingest path in scenario order: the first is invoked
//!   `tiles / tiles_per_invocation` times per second (tileUploadLambda: once per tile, SQS batch
//!   1); each later one takes the tiles the previous one finished in the last second
//!   (tileIngestLambda: once per 16 tiles, a chunk).
//! - **Retries.** A throttled invocation is not lost (SQS and Lambda's async queue keep it): it
//!   joins a backlog, of which `1 / retry_seconds` is tried again every second, but never more
//!   than the concurrency available could run at the base duration (C / d₀ per second).
//!   Offered invocations λ = arrivals + retried.
//! - **Contention.** Functions without reserved concurrency share the account's unreserved
//!   concurrency C (`account_concurrency` − reserved); a function with reserved concurrency has
//!   its own C. In each group the work offered at base durations, ρ₀ = Σ λ·d₀ / C, stretches
//!   every duration queueing-style: d = d₀ / (1 − ρ₀), at most d₀ × `max_ratio` (default 10),
//!   times a seeded minute-to-minute noise (`noise`, default ±2 %), never above the timeout.
//!   Because λ counts retries, a backlog adds load: this positive feedback is what tips the
//!   system over, and keeps it over after the arrivals fall (a metastable failure).
//! - **Table retries.** A function that uses a DynamoDB table (`writes`/`reads` units per
//!   invocation) waits for the client's retries while the table throttles a share s of
//!   requests (last second's figure): + 100 ms × units × s / (1 − s), s at most 0.95; a request
//!   still throttled after 11 attempts fails the invocation (s¹¹ of them).
//! - **Concurrency.** The runbook's capacity, ρ = Σ λ·d / C. With ρ > 1 only C / Σ λ·d of the
//!   offered invocations run; the rest are throttled (Lambda `Throttles`) and retried later. A
//!   minute whose mean ρ is at least 1 counts as tipped over (write-lock risk).
//! - **Errors.** Durations are taken as exponentially distributed, so a share e^(−timeout / d)
//!   of the invocations time out (`Errors`), besides those failed by table throttling.
//!
//! Each minute publishes CloudWatch-like AWS/Lambda datapoints per function (Duration,
//! Invocations, Errors, Throttles, ConcurrentExecutions), late by the scenario's seeded metric
//! delay, as the DynamoDB datapoints are; a minute without invocations or throttles has none.

use super::activity::{Activity, FunctionSpec};
use super::performers::Performers;
use super::seeded::{hash, text_hash, unit};
use crate::domain::resource::Dimension;
use crate::policy::Domain;
use metrics::{Minute, Published};
use serde::Serialize;

/// Mean client backoff per retried DynamoDB request (botocore backs off exponentially from
/// 50 ms).
const TABLE_RETRY_MS: f64 = 100.0;
/// Attempts botocore makes at a DynamoDB request in its legacy mode (10 retries).
const TABLE_ATTEMPTS: i32 = 11;
const MAX_THROTTLED_SHARE: f64 = 0.95;

/// What one function did in the last second, for timelines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FunctionSnapshot {
    pub name: String,
    /// Invocations per second attempted, retries included.
    pub offered: f64,
    /// Invocations per second that ran.
    pub invocations: f64,
    pub throttled: f64,
    pub duration_ms: f64,
    pub base_ms: f64,
    pub concurrency: f64,
    /// Concurrency available to the function's group.
    pub limit: f64,
    /// Offered concurrency over the concurrency available (the runbook's capacity).
    pub rho: f64,
    /// Throttled invocations waiting to be tried again.
    pub backlog: f64,
}

#[derive(Debug, Clone)]
struct Function {
    spec: FunctionSpec,
    name: String,
    reserved: Option<u32>,
    backlog: f64,
    /// Tiles finished in the last second: the next function's input.
    completed: f64,
    last: FunctionSnapshot,
    minute: Minute,
    published: Vec<Published>,
    peak_ms: f64,
}

/// Running totals of the ingest path, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LambdaTotals {
    /// Minutes whose mean ρ reached 1 for some function.
    pub tipped_minutes: u64,
    /// Start of the first tipped minute, in seconds since the scenario began.
    pub first_tipped_at: Option<u64>,
    pub throttles: f64,
    pub errors: f64,
    pub tiles_uploaded: f64,
    /// Tiles through the last function of the ingest path.
    pub tiles_ingested: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Lambdas {
    account: u32,
    retry_seconds: f64,
    seed: u64,
    performers: Option<Performers>,
    functions: Vec<Function>,
    /// Units per second this second, per table: (short name, [read, write]).
    table_load: Vec<(String, [f64; 2])>,
    pub totals: LambdaTotals,
}

impl Lambdas {
    /// The functions and performers of a scenario's activity; empty without one.
    #[must_use]
    pub fn new(activity: Option<&Activity>, domain: &Domain, seed: u64) -> Self {
        let Some(a) = activity else {
            return Self::default();
        };
        let functions = a
            .functions
            .iter()
            .map(|spec| Function {
                spec: spec.clone(),
                name: domain.function(&spec.short_name),
                reserved: spec.reserved,
                backlog: 0.0,
                completed: 0.0,
                last: FunctionSnapshot {
                    name: domain.function(&spec.short_name),
                    base_ms: spec.base_ms,
                    ..FunctionSnapshot::default()
                },
                minute: Minute::default(),
                published: Vec::new(),
                peak_ms: 0.0,
            })
            .collect();
        Self {
            account: a.account_concurrency,
            #[allow(clippy::cast_precision_loss)]
            retry_seconds: a.retry_seconds as f64,
            seed,
            performers: Some(Performers::new(&a.performers, seed)),
            functions,
            table_load: Vec::new(),
            totals: LambdaTotals::default(),
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    #[must_use]
    pub fn performers(&self) -> Option<&Performers> {
        self.performers.as_ref()
    }

    pub fn performers_mut(&mut self) -> Option<&mut Performers> {
        self.performers.as_mut()
    }

    /// Units per second the functions put on a table this second.
    #[must_use]
    pub fn table_load(&self, table_short: &str, dimension: Dimension) -> f64 {
        let d = usize::from(dimension == Dimension::Write);
        self.table_load
            .iter()
            .filter(|(t, _)| t == table_short)
            .map(|(_, load)| load[d])
            .sum()
    }

    /// Advances one second. `throttled_share` gives, per table (short name), the share of its
    /// [read, write] requests throttled in the last second.
    pub fn step(&mut self, second: u64, throttled_share: &[(String, [f64; 2])]) {
        let Some(performers) = &mut self.performers else {
            return;
        };
        let tiles = performers.step(second);
        self.totals.tiles_uploaded += tiles;
        let reserved: u32 = self.functions.iter().filter_map(|f| f.reserved).sum();
        let pool = f64::from(self.account.saturating_sub(reserved).max(1));
        let mut groups: Vec<(f64, Vec<usize>)> = vec![(pool, Vec::new())];
        for (i, f) in self.functions.iter().enumerate() {
            match f.reserved {
                Some(r) => groups.push((f64::from(r.max(1)), vec![i])),
                None => groups[0].1.push(i),
            }
        }
        let mut input = tiles;
        let mut offered = vec![0.0; self.functions.len()];
        for (i, f) in self.functions.iter_mut().enumerate() {
            let Some(per) = f.spec.tiles_per_invocation else {
                continue;
            };
            let arrivals = input / f64::from(per);
            input = f.completed;
            // The poller never tries more than its group could run at base durations.
            let limit = f.reserved.map_or(pool, |r| f64::from(r.max(1)));
            let retried = (f.backlog / self.retry_seconds).min(limit * 1000.0 / f.spec.base_ms);
            f.backlog -= retried;
            offered[i] = arrivals + retried;
        }
        self.table_load.clear();
        for (limit, members) in groups {
            self.serve(second, limit, &members, &offered, throttled_share);
        }
        let last_stage = self
            .functions
            .iter()
            .rposition(|f| f.spec.tiles_per_invocation.is_some());
        if let Some(i) = last_stage {
            self.totals.tiles_ingested += self.functions[i].completed;
        }
    }

    /// Durations, throttles and errors of one concurrency group for this second.
    fn serve(
        &mut self,
        second: u64,
        limit: f64,
        members: &[usize],
        offered: &[f64],
        throttled_share: &[(String, [f64; 2])],
    ) {
        let base: f64 = members
            .iter()
            .map(|&i| offered[i] * self.functions[i].spec.base_ms / 1000.0)
            .sum();
        let rho0 = base / limit;
        let durations: Vec<(f64, f64)> = members
            .iter()
            .map(|&i| {
                let f = &self.functions[i];
                let share = table_share(&f.spec, throttled_share);
                let noise = 1.0
                    + f.spec.noise
                        * (2.0 * unit(hash(&[self.seed, text_hash(&f.name), second / 60])) - 1.0);
                (duration_ms(&f.spec, rho0, share) * noise, share)
            })
            .collect();
        let need: f64 = members
            .iter()
            .zip(&durations)
            .map(|(&i, (d, _))| offered[i] * d / 1000.0)
            .sum();
        let rho = need / limit;
        let admit = if need > limit { limit / need } else { 1.0 };
        for (&i, &(d_ms, share)) in members.iter().zip(&durations) {
            let f = &mut self.functions[i];
            let served = offered[i] * admit;
            let throttled = offered[i] - served;
            f.backlog += throttled;
            let timeout_ms = f.spec.timeout.as_secs_f64() * 1000.0;
            let errors =
                served * ((-timeout_ms / d_ms).exp() + share.powi(TABLE_ATTEMPTS)).min(1.0);
            let per = f64::from(f.spec.tiles_per_invocation.unwrap_or(0));
            f.completed = (served - errors) * per;
            let concurrency = served * d_ms / 1000.0;
            if let Some(table) = &f.spec.table {
                let load = [served * f.spec.reads, served * f.spec.writes];
                match self.table_load.iter_mut().find(|(t, _)| t == table) {
                    Some((_, l)) => {
                        l[0] += load[0];
                        l[1] += load[1];
                    }
                    None => self.table_load.push((table.clone(), load)),
                }
            }
            let m = &mut f.minute;
            m.invocations += served;
            m.duration_ms_sum += served * d_ms;
            if served > 0.0 {
                m.max_duration_ms = m.max_duration_ms.max(d_ms);
            }
            m.errors += errors;
            m.throttles += throttled;
            m.max_concurrency = m.max_concurrency.max(concurrency);
            m.concurrency_sum += concurrency;
            m.rho_sum += if offered[i] > 0.0 { rho } else { 0.0 };
            m.seconds += 1;
            self.totals.throttles += throttled;
            self.totals.errors += errors;
            f.last = FunctionSnapshot {
                name: f.name.clone(),
                offered: offered[i],
                invocations: served,
                throttled,
                duration_ms: d_ms,
                base_ms: f.spec.base_ms,
                concurrency,
                limit,
                rho,
                backlog: f.backlog,
            };
        }
    }

    /// What each function did in the last second.
    #[must_use]
    pub fn snapshot(&self) -> Vec<&FunctionSnapshot> {
        self.functions.iter().map(|f| &f.last).collect()
    }

    /// Each function's highest minute-average duration so far, with its base (ms).
    #[must_use]
    pub fn peaks(&self) -> Vec<(&str, f64, f64)> {
        self.functions
            .iter()
            .map(|f| (f.name.as_str(), f.peak_ms, f.spec.base_ms))
            .collect()
    }
}

/// The share of its table requests a function sees throttled (the worse of the dimensions it
/// uses), capped so the retry term stays finite.
fn table_share(spec: &FunctionSpec, throttled_share: &[(String, [f64; 2])]) -> f64 {
    let Some(table) = &spec.table else {
        return 0.0;
    };
    throttled_share
        .iter()
        .filter(|(t, _)| t == table)
        .map(|(_, s)| {
            let read = if spec.reads > 0.0 { s[0] } else { 0.0 };
            let write = if spec.writes > 0.0 { s[1] } else { 0.0 };
            read.max(write)
        })
        .fold(0.0, f64::max)
        .clamp(0.0, MAX_THROTTLED_SHARE)
}

/// Duration (ms) under contention `rho0` and a throttled share `share` of table requests, before
/// noise: d₀ / (1 − ρ₀) capped at d₀ × max_ratio, plus the table retries, at most the timeout.
#[must_use]
fn duration_ms(spec: &FunctionSpec, rho0: f64, share: f64) -> f64 {
    let stretch = if rho0 < 1.0 {
        (1.0 / (1.0 - rho0)).min(spec.max_ratio)
    } else {
        spec.max_ratio
    };
    let retries = TABLE_RETRY_MS * (spec.writes + spec.reads) * share / (1.0 - share);
    (spec.base_ms * stretch + retries).min(spec.timeout.as_secs_f64() * 1000.0)
}

mod metrics;
mod ports;
#[cfg(test)]
mod tests;

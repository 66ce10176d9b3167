//! Scenario files: the situation a simulation replays (tables, workload over time, seed).
//!
//! Every value is bounded (`sim::limits`), so a scenario runs for at most a month of virtual
//! time and its counts cannot wrap.

mod export;
mod jobs;
mod tables;

pub use export::{SHIPPED_EXPORTS, UNITS_PER_EVENT};
pub use jobs::JobSpec;

use super::activity::{Activity, RawActivity, RawFunction, RawLambda, RawPerformers};
use super::limits::{
    MAX_DEMAND, MAX_METRIC_DELAY_SECONDS, MAX_POINTS, MAX_SCENARIO, MAX_UPDATE_SECONDS,
    MAX_WORKLOADS, MIN_SCENARIO,
};
use crate::domain::resource::{BillingMode, Dimension};
use crate::source::{Checker, Problems, Source, Whole, excerpt};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// Scenarios shipped in `simulations/`, embedded so `simulate` works from any directory.
pub const SHIPPED: [(&str, &str); 14] = [
    (
        "tileindex-burst",
        include_str!("../../simulations/tileindex-burst.toml"),
    ),
    (
        "idindex-hot-partition",
        include_str!("../../simulations/idindex-hot-partition.toml"),
    ),
    (
        "too-much-activity",
        include_str!("../../simulations/too-much-activity.toml"),
    ),
    (
        "slow-ramp",
        include_str!("../../simulations/slow-ramp.toml"),
    ),
    (
        "short-bursts",
        include_str!("../../simulations/short-bursts.toml"),
    ),
    ("diurnal", include_str!("../../simulations/diurnal.toml")),
    (
        "read-heavy",
        include_str!("../../simulations/read-heavy.toml"),
    ),
    (
        "gsi-heavy",
        include_str!("../../simulations/gsi-heavy.toml"),
    ),
    (
        "burst-26k",
        include_str!("../../simulations/burst-26k.toml"),
    ),
    ("noisy", include_str!("../../simulations/noisy.toml")),
    (
        "step-down-up",
        include_str!("../../simulations/step-down-up.toml"),
    ),
    (
        "three-tables",
        include_str!("../../simulations/three-tables.toml"),
    ),
    (
        "job-cancelled",
        include_str!("../../simulations/job-cancelled.toml"),
    ),
    (
        "backtest-export",
        include_str!("../../simulations/backtest-export.toml"),
    ),
];

#[derive(Debug, Deserialize)]
struct RawScenario {
    name: String,
    description: Option<String>,
    seed: u64,
    duration: String,
    /// Range of seconds a capacity UpdateTable keeps the table UPDATING.
    update_seconds: Option<[Whole; 2]>,
    /// Range of seconds after a minute ends before its datapoint is published.
    metric_delay_seconds: Option<[Whole; 2]>,
    tables: Vec<tables::RawTable>,
    #[serde(default)]
    workload: Vec<RawWorkload>,
    /// Ingest jobs whose tiles are written to a table (`sim::jobs`).
    #[serde(default)]
    jobs: Vec<jobs::RawJob>,
    /// The performers and the Lambda functions their tiles invoke (`activity.rs`).
    performers: Option<RawPerformers>,
    lambda: Option<RawLambda>,
    #[serde(default)]
    functions: Vec<RawFunction>,
}

#[derive(Debug, Deserialize)]
struct RawWorkload {
    table: String,
    index: Option<String>,
    dimension: String,
    /// Demand in units per second, interpolated linearly between points.
    #[serde(default)]
    points: Vec<RawPoint>,
    /// Or a CloudWatch export (`export.rs`), relative to the scenario file, and the Ids of its
    /// consumed-units and (optional) throttle-events results.
    export: Option<String>,
    consumed: Option<String>,
    throttled: Option<String>,
    /// Demand on one partition key (served at most at the per-partition limit), also interpolated.
    #[serde(default)]
    hot_key: Vec<RawPoint>,
    /// Relative minute-to-minute noise (0.1 = ±10 %), seeded.
    noise: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawPoint {
    at: String,
    units: f64,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration: Duration,
    pub update_seconds: (u64, u64),
    pub metric_delay_seconds: (u64, u64),
    pub tables: Vec<TableSpec>,
    pub workload: Vec<Workload>,
    /// Ingest jobs, in file order.
    pub jobs: Vec<JobSpec>,
    /// Performers and Lambda functions; `None` for a scenario of tables only.
    pub activity: Option<Activity>,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub short_name: String,
    pub billing: BillingMode,
    pub read: u32,
    pub write: u32,
    pub autoscaler_min: u32,
    pub autoscaler_max: u32,
    pub indexes: Vec<IndexSpec>,
}

#[derive(Debug, Clone)]
pub struct IndexSpec {
    pub name: String,
    pub read: u32,
    pub write: u32,
    pub write_share: f64,
}

#[derive(Debug, Clone)]
pub struct Workload {
    pub table: String,
    pub index: Option<String>,
    pub dimension: Dimension,
    pub points: Vec<(u64, f64)>,
    pub hot_key: Vec<(u64, f64)>,
    pub noise: f64,
}

impl Scenario {
    /// A shipped scenario by name, or a scenario file by path.
    ///
    /// # Errors
    /// Unknown name or path, unreadable file, or problems in the file.
    pub fn load(name_or_path: &str) -> Result<Self, Problems> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            let path = format!("simulations/{name}.toml");
            return Self::parse_from(Path::new(&path), text, export::Origin::Shipped);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<&str> = SHIPPED.iter().map(|(n, _)| *n).collect();
            return Err(Problems(vec![crate::source::Problem {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                field: String::new(),
                message: format!(
                    "no such scenario file; shipped scenarios: {}",
                    names.join(", ")
                ),
            }]));
        }
        let text = crate::source::read(path)?;
        Self::parse(path, &text)
    }

    /// # Errors
    /// Text over `source::MAX_INPUT_BYTES`, or every problem found in the text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Problems> {
        Self::parse_from(path, text, export::Origin::File)
    }

    fn parse_from(path: &Path, text: &str, origin: export::Origin) -> Result<Self, Problems> {
        crate::source::check_size(path, text)?;
        let source = Source::new(path, text);
        let (raw, mut c) = source.check::<RawScenario>(&[])?;
        let total = c.duration_in(
            "duration",
            Some(&raw.duration),
            Duration::ZERO,
            MIN_SCENARIO,
            MAX_SCENARIO,
            " (one CloudWatch period to a month of virtual time)",
        );
        let tables = tables::check(&mut c, &raw.tables);
        let workload = workloads(&mut c, &raw.workload, &tables, (origin, path));
        let jobs = jobs::check(&mut c, &raw.jobs, &tables);
        let update_seconds = c.pair(
            "update_seconds",
            raw.update_seconds,
            (20, 60),
            MAX_UPDATE_SECONDS,
        );
        let metric_delay_seconds = c.pair(
            "metric_delay_seconds",
            raw.metric_delay_seconds,
            (60, 120),
            MAX_METRIC_DELAY_SECONDS,
        );
        let table_names: Vec<String> = tables.iter().map(|t| t.short_name.clone()).collect();
        let activity = super::activity::check(
            &RawActivity {
                performers: raw.performers.as_ref(),
                lambda: raw.lambda.as_ref(),
                functions: &raw.functions,
            },
            &table_names,
            &mut c,
        );
        c.finish()?;
        Ok(Scenario {
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            seed: raw.seed,
            duration: total,
            update_seconds,
            metric_delay_seconds,
            tables,
            workload,
            jobs,
            activity,
        })
    }
}

/// A series of (time, value) points: in time order, values finite in `[0, max]`.
fn series(c: &mut Checker<'_, '_>, field: &str, raw: &[RawPoint], max: u64) -> Vec<(u64, f64)> {
    c.count(field, raw.len(), MAX_POINTS);
    #[allow(clippy::cast_precision_loss)]
    let top = max as f64;
    let points: Vec<(u64, f64)> = raw
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let at = c.at(&format!("{field}.{j}.at"), &p.at);
            let units = c.real(
                &format!("{field}.{j}.units"),
                Some(p.units),
                0.0,
                (0.0, top),
                false,
                false,
            );
            (at, units)
        })
        .collect();
    if points.windows(2).any(|p| p[1].0 < p[0].0) {
        c.fail(field, "points must be in time order");
    }
    points
}

fn workloads(
    c: &mut Checker<'_, '_>,
    raw: &[RawWorkload],
    tables: &[TableSpec],
    (origin, path): (export::Origin, &Path),
) -> Vec<Workload> {
    c.count("workload", raw.len(), MAX_WORKLOADS);
    let mut checked = Vec::new();
    for (i, w) in raw.iter().enumerate() {
        let at = format!("workload.{i}");
        let mut points = series(c, &format!("{at}.points"), &w.points, MAX_DEMAND);
        match &w.export {
            Some(_) if !w.points.is_empty() => {
                c.fail(
                    &format!("{at}.export"),
                    "give `points` or `export`, not both",
                );
            }
            Some(file) => {
                let wanted = export::Wanted {
                    at: &at,
                    export: file,
                    consumed: w.consumed.as_deref(),
                    throttled: w.throttled.as_deref(),
                };
                points = export::points(c, origin, path, &wanted);
            }
            None => {
                for (key, given) in [("consumed", &w.consumed), ("throttled", &w.throttled)] {
                    if given.is_some() {
                        c.fail(
                            &format!("{at}.{key}"),
                            "names a result of an `export`; give the export",
                        );
                    }
                }
            }
        }
        let hot_key = series(c, &format!("{at}.hot_key"), &w.hot_key, MAX_DEMAND);
        let dimension = match w.dimension.as_str() {
            "read" => Dimension::Read,
            "write" => Dimension::Write,
            other => {
                c.fail(
                    &format!("{at}.dimension"),
                    format!(
                        "`{}` is not a dimension: allowed \"read\" or \"write\"",
                        excerpt(other)
                    ),
                );
                Dimension::Write
            }
        };
        match tables.iter().find(|t| t.short_name == w.table) {
            None => c.fail(
                &format!("{at}.table"),
                format!("no table `{}` in this scenario", excerpt(&w.table)),
            ),
            Some(t) => {
                if let Some(index) = &w.index {
                    if !t.indexes.iter().any(|x| &x.name == index) {
                        c.fail(
                            &format!("{at}.index"),
                            format!(
                                "table `{}` has no index `{}`",
                                excerpt(&w.table),
                                excerpt(index)
                            ),
                        );
                    }
                    if dimension == Dimension::Write {
                        c.fail(&format!("{at}.dimension"), "index writes follow the table's writes (write_share); give index workloads for reads only");
                    }
                }
            }
        }
        if points.is_empty() && w.export.is_none() {
            c.fail(&format!("{at}.points"), "needs at least one point");
        }
        let noise = c.real(
            &format!("{at}.noise"),
            w.noise,
            0.0,
            (0.0, 1.0),
            false,
            true,
        );
        checked.push(Workload {
            table: w.table.clone(),
            index: w.index.clone(),
            dimension,
            points,
            hot_key,
            noise,
        });
    }
    checked
}

/// Linear interpolation over (second, value) points; flat before the first and after the last.
#[must_use]
pub fn interpolate(points: &[(u64, f64)], t: u64) -> f64 {
    // Points are in time order: the first after `t` by binary search (an export has hundreds).
    match points.partition_point(|p| p.0 <= t) {
        i if i == points.len() => points.last().map_or(0.0, |p| p.1),
        0 => points[0].1,
        i => {
            let (t0, v0) = points[i - 1];
            let (t1, v1) = points[i];
            #[allow(clippy::cast_precision_loss)]
            let f = (t - t0) as f64 / (t1 - t0).max(1) as f64;
            v0 + (v1 - v0) * f
        }
    }
}

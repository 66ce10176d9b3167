//! Scenario files: the situation a simulation replays (tables, workload over time, seed).

use super::activity::{Activity, RawActivity, RawFunction, RawLambda, RawPerformers};
use crate::model::{BillingMode, Dimension};
use crate::source::{Problems, Source};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// Scenarios shipped in `simulations/`, embedded so `simulate` works from any directory.
pub const SHIPPED: [(&str, &str); 3] = [
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
];

#[derive(Debug, Deserialize)]
struct RawScenario {
    name: String,
    description: Option<String>,
    seed: u64,
    duration: String,
    /// Range of seconds a capacity UpdateTable keeps the table UPDATING.
    update_seconds: Option<[u64; 2]>,
    /// Range of seconds after a minute ends before its datapoint is published.
    metric_delay_seconds: Option<[u64; 2]>,
    tables: Vec<RawTable>,
    #[serde(default)]
    workload: Vec<RawWorkload>,
    /// The performers and the Lambda functions their tiles invoke (`activity.rs`).
    performers: Option<RawPerformers>,
    lambda: Option<RawLambda>,
    #[serde(default)]
    functions: Vec<RawFunction>,
}

#[derive(Debug, Deserialize)]
struct RawTable {
    name: String,
    billing: String,
    read: Option<u32>,
    write: Option<u32>,
    /// The BOSS autoscaler's and target tracking's min and max for this table.
    autoscaler_min: Option<u32>,
    autoscaler_max: Option<u32>,
    #[serde(default)]
    indexes: Vec<RawIndex>,
}

#[derive(Debug, Deserialize)]
struct RawIndex {
    name: String,
    read: Option<u32>,
    write: Option<u32>,
    /// Share of the table's writes that also write this index (1.0: every item is indexed).
    write_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawWorkload {
    table: String,
    index: Option<String>,
    dimension: String,
    /// Demand in units per second, interpolated linearly between points.
    points: Vec<RawPoint>,
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
            return Self::parse(Path::new(&format!("simulations/{name}.toml")), text);
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
    /// Every problem found in the text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Problems> {
        let source = Source::new(path, text);
        let raw: RawScenario = source.deserialize()?;
        let mut problems = Vec::new();
        let mut duration = |field: &str, text: &str| match humantime::parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(source.problem(field, format!("`{text}` is not a duration ({e})")));
                Duration::ZERO
            }
        };
        let total = duration("duration", &raw.duration);
        let mut workload = Vec::new();
        for (i, w) in raw.workload.iter().enumerate() {
            let at = format!("workload.{i}");
            let mut timed = |field: &str, raw: &[RawPoint]| -> Vec<(u64, f64)> {
                raw.iter()
                    .enumerate()
                    .map(|(j, p)| {
                        (
                            duration(&format!("{at}.{field}.{j}.at"), &p.at).as_secs(),
                            p.units,
                        )
                    })
                    .collect()
            };
            let points = timed("points", &w.points);
            let hot = timed("hot_key", &w.hot_key);
            workload.push((i, w, points, hot));
        }
        let mut tables = Vec::new();
        for (i, t) in raw.tables.iter().enumerate() {
            let billing = match t.billing.as_str() {
                "provisioned" => BillingMode::Provisioned,
                "on-demand" => BillingMode::PayPerRequest,
                other => {
                    problems.push(source.problem(&format!("tables.{i}.billing"), format!("`{other}` is not a billing mode: allowed \"provisioned\" or \"on-demand\"")));
                    BillingMode::Provisioned
                }
            };
            let (min, max) = (
                t.autoscaler_min.unwrap_or(5),
                t.autoscaler_max.unwrap_or(40_000),
            );
            if min > max || min == 0 {
                problems.push(source.problem(
                    &format!("tables.{i}.autoscaler_min"),
                    format!("autoscaler range {min}–{max}: need 1 ≤ min ≤ max"),
                ));
            }
            let mut indexes = Vec::new();
            for (j, x) in t.indexes.iter().enumerate() {
                let share = x.write_share.unwrap_or(1.0);
                if !(0.0..=1.0).contains(&share) {
                    problems.push(source.problem(
                        &format!("tables.{i}.indexes.{j}.write_share"),
                        format!("{share} is out of range: allowed [0, 1]"),
                    ));
                }
                indexes.push(IndexSpec {
                    name: x.name.clone(),
                    read: x.read.unwrap_or(5).max(1),
                    write: x.write.unwrap_or(5).max(1),
                    write_share: share,
                });
            }
            tables.push(TableSpec {
                short_name: t.name.clone(),
                billing,
                read: t.read.unwrap_or(5).max(1),
                write: t.write.unwrap_or(5).max(1),
                autoscaler_min: t.autoscaler_min.unwrap_or(5).max(1),
                autoscaler_max: t.autoscaler_max.unwrap_or(40_000).max(1),
                indexes,
            });
        }
        let mut checked = Vec::new();
        for (i, w, points, hot) in workload {
            let at = format!("workload.{i}");
            let dimension = match w.dimension.as_str() {
                "read" => Dimension::Read,
                "write" => Dimension::Write,
                other => {
                    problems.push(source.problem(
                        &format!("{at}.dimension"),
                        format!("`{other}` is not a dimension: allowed \"read\" or \"write\""),
                    ));
                    Dimension::Write
                }
            };
            match tables.iter().find(|t| t.short_name == w.table) {
                None => problems.push(source.problem(
                    &format!("{at}.table"),
                    format!("no table `{}` in this scenario", w.table),
                )),
                Some(t) => {
                    if let Some(index) = &w.index {
                        if !t.indexes.iter().any(|x| &x.name == index) {
                            problems.push(source.problem(
                                &format!("{at}.index"),
                                format!("table `{}` has no index `{index}`", w.table),
                            ));
                        }
                        if dimension == Dimension::Write {
                            problems.push(source.problem(&format!("{at}.dimension"), "index writes follow the table's writes (write_share); give index workloads for reads only"));
                        }
                    }
                }
            }
            if points.is_empty() {
                problems.push(source.problem(&format!("{at}.points"), "needs at least one point"));
            }
            for (field, series) in [("points", &points), ("hot_key", &hot)] {
                if series.windows(2).any(|p| p[1].0 < p[0].0) {
                    problems.push(
                        source.problem(&format!("{at}.{field}"), "points must be in time order"),
                    );
                }
                if series.iter().any(|p| !p.1.is_finite() || p.1 < 0.0) {
                    problems.push(source.problem(
                        &format!("{at}.{field}"),
                        "units must be finite and not negative",
                    ));
                }
            }
            let noise = w.noise.unwrap_or(0.0);
            if !(0.0..1.0).contains(&noise) {
                problems.push(source.problem(
                    &format!("{at}.noise"),
                    format!("{noise} is out of range: allowed [0, 1)"),
                ));
            }
            checked.push(Workload {
                table: w.table.clone(),
                index: w.index.clone(),
                dimension,
                points,
                hot_key: hot,
                noise,
            });
        }
        let range =
            |field: &str, value: Option<[u64; 2]>, default: (u64, u64), problems: &mut Vec<_>| {
                let [lo, hi] = value.unwrap_or([default.0, default.1]);
                if lo > hi {
                    problems.push(source.problem(
                        field,
                        format!("[{lo}, {hi}]: the first bound must not exceed the second"),
                    ));
                }
                (lo, hi.max(lo))
            };
        let update_seconds = range(
            "update_seconds",
            raw.update_seconds,
            (20, 60),
            &mut problems,
        );
        let metric_delay_seconds = range(
            "metric_delay_seconds",
            raw.metric_delay_seconds,
            (60, 120),
            &mut problems,
        );
        let table_names: Vec<String> = tables.iter().map(|t| t.short_name.clone()).collect();
        let activity = super::activity::check(
            &RawActivity {
                performers: raw.performers.as_ref(),
                lambda: raw.lambda.as_ref(),
                functions: &raw.functions,
            },
            &table_names,
            &source,
            &mut problems,
        );
        if total.is_zero() && problems.is_empty() {
            problems.push(source.problem("duration", "must be longer than zero"));
        }
        if !problems.is_empty() {
            problems.sort_by_key(|p| (p.line, p.column));
            return Err(Problems(problems));
        }
        Ok(Scenario {
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            seed: raw.seed,
            duration: total,
            update_seconds,
            metric_delay_seconds,
            tables,
            workload: checked,
            activity,
        })
    }
}

/// Linear interpolation over (second, value) points; flat before the first and after the last.
#[must_use]
pub fn interpolate(points: &[(u64, f64)], t: u64) -> f64 {
    match points.iter().position(|p| p.0 > t) {
        None => points.last().map_or(0.0, |p| p.1),
        Some(0) => points[0].1,
        Some(i) => {
            let (t0, v0) = points[i - 1];
            let (t1, v1) = points[i];
            #[allow(clippy::cast_precision_loss)]
            let f = (t - t0) as f64 / (t1 - t0).max(1) as f64;
            v0 + (v1 - v0) * f
        }
    }
}

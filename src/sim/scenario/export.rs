//! A `[[workload]]` backtested from a CloudWatch export: the JSON `aws cloudwatch
//! get-metric-data` prints (`{"MetricDataResults": [{"Id", "Label", "Timestamps", "Values",
//! "StatusCode"}], "Messages": []}`), one result the consumed units' `Sum` and optionally one the
//! throttle events' `Sum` of the same resource and dimension.
//!
//! Demand per period = (consumed + throttle events × [`UNITS_PER_EVENT`]) / period, in units per
//! second, at the period's start; scenario time 0 is the first timestamp. The period is the
//! spacing of the consumed timestamps; a missing period (CloudWatch has no datapoint for a
//! minute without requests, nor a throttle datapoint for a minute without throttles) is zero.

use crate::sim::limits::{MAX_DEMAND, MAX_EXPORT_POINTS, MAX_SECONDS};
use crate::source::{Checker, Problem, excerpt};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Units one throttle event stands for. DynamoDB counts one event per throttled request, and a
/// request for a TileIndex item (well under 1 KB) is one write unit, or one read unit strongly
/// consistent. A client's retries of a throttled request are events too, so the demand read
/// from an export is an upper bound of the fresh demand when the table throttled.
pub const UNITS_PER_EVENT: f64 = 1.0;

/// Export files shipped next to the shipped scenarios, embedded like them.
pub const SHIPPED_EXPORTS: [(&str, &str); 1] = [(
    "tileindex-day.json",
    include_str!("../../../simulations/tileindex-day.json"),
)];

/// Where a scenario came from, to find the export files it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Shipped: exports are embedded ([`SHIPPED_EXPORTS`]).
    Shipped,
    /// A file: exports are read relative to its directory.
    File,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Export {
    metric_data_results: Vec<Result>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Result {
    id: String,
    timestamps: Vec<String>,
    values: Vec<f64>,
    status_code: Option<String>,
}

/// What a workload asks of an export.
pub(super) struct Wanted<'r> {
    /// The workload's field path (`workload.2`).
    pub at: &'r str,
    pub export: &'r str,
    pub consumed: Option<&'r str>,
    pub throttled: Option<&'r str>,
}

/// The workload's points from its export; empty (with problems reported) when refused.
pub(super) fn points(
    c: &mut Checker<'_, '_>,
    origin: Origin,
    scenario: &Path,
    w: &Wanted<'_>,
) -> Vec<(u64, f64)> {
    let Some(consumed_id) = w.consumed else {
        c.fail(
            &format!("{}.consumed", w.at),
            "an export workload names the result of its consumed units (`consumed = \"<Id>\"`)",
        );
        return Vec::new();
    };
    let (path, text) = match read(origin, scenario, w.export) {
        Ok(found) => found,
        Err(message) => {
            c.fail(&format!("{}.export", w.at), message);
            return Vec::new();
        }
    };
    let file = File { path, text: &text };
    let export: Export = match serde_json::from_str(&text) {
        Ok(e) => e,
        Err(e) => {
            // serde_json's message ends with the place, which the problem already shows.
            let message = e.to_string();
            let message = message.rsplit_once(" at line ").map_or(&*message, |m| m.0);
            c.push(file.problem_at_line(e.line(), e.column(), "", message));
            return Vec::new();
        }
    };
    let find = |c: &mut Checker<'_, '_>, field: &str, id: &str| {
        let found = export.metric_data_results.iter().position(|r| r.id == id);
        if found.is_none() {
            let ids: Vec<&str> = export
                .metric_data_results
                .iter()
                .map(|r| r.id.as_str())
                .collect();
            c.fail(
                &format!("{}.{field}", w.at),
                format!(
                    "no result with Id `{}` in {} (its Ids: {})",
                    excerpt(id),
                    file.path.display(),
                    excerpt(&ids.join(", "))
                ),
            );
        }
        found
    };
    let consumed = find(c, "consumed", consumed_id);
    let throttled = w.throttled.map(|id| find(c, "throttled", id));
    let Some(ci) = consumed else {
        return Vec::new();
    };
    let results = &export.metric_data_results;
    let Some(base) = series(c, &file, ci, &results[ci], None) else {
        return Vec::new();
    };
    let mut demand: Vec<f64> = vec![0.0; base.len];
    for (s, v) in &base.points {
        demand[usize::try_from(s / base.period).unwrap_or(0)] += v;
    }
    if let Some(Some(ti)) = throttled {
        let Some(events) = series(c, &file, ti, &results[ti], Some(&base)) else {
            return Vec::new();
        };
        for (s, v) in &events.points {
            demand[usize::try_from(s / base.period).unwrap_or(0)] += v * UNITS_PER_EVENT;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let period = base.period as f64;
    (0u64..)
        .zip(demand)
        .map(|(k, units)| (k * base.period, units / period))
        .collect()
}

/// A checked series: (seconds from the consumed series' first timestamp, value), the period,
/// and how many periods the consumed series spans.
struct Series {
    start: i128,
    period: u64,
    len: usize,
    points: Vec<(u64, f64)>,
}

struct File<'t> {
    path: PathBuf,
    text: &'t str,
}

impl File<'_> {
    fn problem_at_line(&self, line: usize, column: usize, field: &str, message: &str) -> Problem {
        Problem {
            file: self.path.clone(),
            line,
            column,
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    /// A problem about a field of result `i`, placed at that result's `Id`.
    fn problem(&self, i: usize, id: &str, field: &str, message: String) -> Problem {
        let quoted = format!("\"{id}\"");
        let (line, column) = self.text.find(&quoted).map_or((0, 0), |at| {
            let before = &self.text[..at];
            let line = before.matches('\n').count() + 1;
            let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            (line, column)
        });
        self.problem_at_line(
            line,
            column,
            &format!("MetricDataResults.{i}.{field}"),
            &message,
        )
    }
}

/// Checks one result: complete, as many values as timestamps, UTC timestamps strictly in order
/// (ascending, or descending as the CLI prints by default), regularly spaced, values finite and
/// not negative. `on` is the consumed series whose grid a throttle series must fall on.
fn series(
    c: &mut Checker<'_, '_>,
    file: &File<'_>,
    i: usize,
    r: &Result,
    on: Option<&Series>,
) -> Option<Series> {
    let mut fail = |field: &str, message: String| c.push(file.problem(i, &r.id, field, message));
    if let Some(status) = r.status_code.as_deref().filter(|s| *s != "Complete") {
        fail(
            "StatusCode",
            format!(
                "`{}`: the export is partial; fetch every page (NextToken) into one file",
                excerpt(status)
            ),
        );
        return None;
    }
    if r.timestamps.len() != r.values.len() {
        let (t, v) = (r.timestamps.len(), r.values.len());
        fail(
            "Values",
            format!("{v} values for {t} timestamps: each timestamp needs one value"),
        );
        return None;
    }
    if r.timestamps.len() > MAX_EXPORT_POINTS {
        let n = r.timestamps.len();
        fail(
            "Timestamps",
            format!("{n} datapoints; at most {MAX_EXPORT_POINTS}"),
        );
        return None;
    }
    let mut times = Vec::new();
    for (k, t) in r.timestamps.iter().enumerate() {
        match utc_seconds(t) {
            Some(s) => times.push(s),
            None => {
                fail(
                    &format!("Timestamps.{k}"),
                    format!("`{}` is not an ISO 8601 UTC time", excerpt(t)),
                );
                return None;
            }
        }
    }
    if let Some(k) = r.values.iter().position(|v| !v.is_finite() || *v < 0.0) {
        fail(
            &format!("Values.{k}"),
            format!(
                "{} is not a count: must be finite and not negative",
                r.values[k]
            ),
        );
        return None;
    }
    let mut pairs: Vec<(i128, f64)> = times.into_iter().zip(r.values.iter().copied()).collect();
    if pairs.windows(2).all(|p| p[0].0 > p[1].0) {
        pairs.reverse();
    }
    if !pairs.windows(2).all(|p| p[0].0 < p[1].0) {
        fail(
            "Timestamps",
            "timestamps are not in order (nor in reverse order): export one series as CloudWatch \
             returns it"
                .into(),
        );
        return None;
    }
    let (start, period) = match on {
        Some(base) => (base.start, base.period),
        None => {
            let period = pairs.windows(2).map(|p| p[1].0 - p[0].0).min();
            match (pairs.first(), period.and_then(|p| u64::try_from(p).ok())) {
                (Some(first), Some(period)) => (first.0, period),
                _ => {
                    fail(
                        "Timestamps",
                        "needs at least two datapoints to show its period".into(),
                    );
                    return None;
                }
            }
        }
    };
    let mut points = Vec::new();
    for (k, (t, v)) in pairs.iter().enumerate() {
        let offset = u64::try_from(t - start).ok().filter(|o| *o <= MAX_SECONDS);
        let Some(offset) = offset.filter(|o| o % period == 0) else {
            let what = if on.is_some() {
                "is not on the consumed series' periods"
            } else {
                "is irregular: every spacing must be a multiple of the period"
            };
            fail(
                "Timestamps",
                format!("datapoint {k} (in time order) {what} ({period} s from its first)"),
            );
            return None;
        };
        #[allow(clippy::cast_precision_loss)]
        let most = (MAX_DEMAND * period) as f64;
        if *v > most {
            fail(
                "Values",
                format!("{v} in one period is more than {MAX_DEMAND} units per second"),
            );
            return None;
        }
        points.push((offset, *v));
    }
    let last = points.last().map_or(0, |p| p.0);
    let len = usize::try_from(last / period + 1).unwrap_or(usize::MAX);
    if on.is_some_and(|base| len > base.len) {
        fail(
            "Timestamps",
            "datapoints after the consumed series ends".into(),
        );
        return None;
    }
    if len > MAX_EXPORT_POINTS {
        fail(
            "Timestamps",
            format!("spans {len} periods; at most {MAX_EXPORT_POINTS}"),
        );
        return None;
    }
    Some(Series {
        start,
        period,
        len,
        points,
    })
}

/// Seconds since the epoch of `2026-01-05T14:00:00Z` or `...+00:00` (the CLI's form), with
/// optional fractional seconds; `None` for anything else (other offsets included).
fn utc_seconds(text: &str) -> Option<i128> {
    let utc = text
        .strip_suffix("+00:00")
        .map_or_else(|| text.to_string(), |t| format!("{t}Z"));
    if !utc.ends_with('Z') {
        return None;
    }
    let at = humantime::parse_rfc3339_weak(&utc).ok()?;
    let since = at.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(i128::from(since.as_secs()))
}

/// The export's path and text: embedded for a shipped scenario, else read beside the scenario.
fn read(
    origin: Origin,
    scenario: &Path,
    export: &str,
) -> std::result::Result<(PathBuf, String), String> {
    let path = scenario
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(export);
    match origin {
        Origin::Shipped => SHIPPED_EXPORTS
            .iter()
            .find(|(name, _)| *name == export)
            .map(|(_, text)| (path, (*text).to_string()))
            .ok_or_else(|| format!("no shipped export `{}`", excerpt(export))),
        Origin::File => crate::source::read(&path)
            .map(|text| (path.clone(), text))
            .map_err(|problems| {
                problems.0.first().map_or_else(String::new, |p| {
                    format!("{}: {}", path.display(), p.message)
                })
            }),
    }
}

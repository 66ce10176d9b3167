//! The "too much activity" part of a scenario (`shared/runbook.md`): the performers' upload
//! plan, how they obey pause and resume messages, and the Lambda functions of the ingest path.
//!
//! ```toml
//! [performers]
//! points = [{ at = "0m", tiles = 120 }, { at = "3h", tiles = 800 }]  # tiles/s, interpolated
//! noise = 0.03                      # minute-to-minute, seeded
//! compliance_seconds = [120, 300]   # from a message to the clients being changed, seeded
//! pause_share = 0.25                # of their rate still uploaded while paused
//! resume_share = 0.7                # of the pre-pause rate after a resume (lower -p)
//!
//! [lambda]
//! account_concurrency = 1000        # the account's limit in the region
//! retry_seconds = 60                # a throttled invocation is tried again after this (mean)
//!
//! [[functions]]                     # in ingest order: each takes the tiles the previous finished
//! name = "tileUploadLambda"
//! tiles_per_invocation = 1          # absent: the function is in the stack but not on the path
//! base_ms = 250
//! timeout = "60s"
//! table = "tileindex"               # the table it uses, `writes`/`reads` units per invocation
//! writes = 1.0
//! ```

use super::limits::{
    MAX_ACCOUNT_CONCURRENCY, MAX_BASE_MS, MAX_COMPLIANCE_SECONDS, MAX_FUNCTIONS, MAX_RATIO,
    MAX_RETRY_SECONDS, MAX_TILES, MAX_TILES_PER_INVOCATION, MAX_UNITS_PER_INVOCATION, MEMORY_MB,
    MIN_BASE_MS,
};
use crate::source::{Checker, Whole, excerpt};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub(super) struct RawPerformers {
    points: Vec<RawTiles>,
    noise: Option<f64>,
    compliance_seconds: Option<[Whole; 2]>,
    pause_share: Option<f64>,
    resume_share: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawTiles {
    at: String,
    tiles: f64,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawLambda {
    account_concurrency: Option<Whole>,
    retry_seconds: Option<Whole>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawFunction {
    name: String,
    tiles_per_invocation: Option<Whole>,
    base_ms: f64,
    timeout: Option<String>,
    memory_mb: Option<Whole>,
    reserved: Option<Whole>,
    max_ratio: Option<f64>,
    noise: Option<f64>,
    table: Option<String>,
    writes: Option<f64>,
    reads: Option<f64>,
}

/// The performers and the functions their tiles go through.
#[derive(Debug, Clone)]
pub struct Activity {
    pub performers: PerformersSpec,
    pub account_concurrency: u32,
    pub retry_seconds: u64,
    pub functions: Vec<FunctionSpec>,
}

#[derive(Debug, Clone)]
pub struct PerformersSpec {
    /// Planned upload rate in tiles per second, interpolated between (second, tiles/s) points.
    pub points: Vec<(u64, f64)>,
    pub noise: f64,
    pub compliance_seconds: (u64, u64),
    pub pause_share: f64,
    pub resume_share: f64,
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// `tileUploadLambda`; the stack's name appends the dashed domain.
    pub short_name: String,
    /// Tiles one invocation handles; `None` for a function off the ingest path (never invoked).
    pub tiles_per_invocation: Option<u32>,
    pub base_ms: f64,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub reserved: Option<u32>,
    /// Contention stretches the duration to at most base × this.
    pub max_ratio: f64,
    pub noise: f64,
    pub table: Option<String>,
    pub writes: f64,
    pub reads: f64,
}

/// The raw sections, as the scenario file has them.
pub(super) struct RawActivity<'r> {
    pub performers: Option<&'r RawPerformers>,
    pub lambda: Option<&'r RawLambda>,
    pub functions: &'r [RawFunction],
}

/// A share in [0, 1], or [0, 1) when `top_open`.
fn share(
    c: &mut Checker<'_, '_>,
    field: &str,
    value: Option<f64>,
    default: f64,
    top_open: bool,
) -> f64 {
    c.real(field, value, default, (0.0, 1.0), false, top_open)
}

/// Table units per invocation, from 0 to [`MAX_UNITS_PER_INVOCATION`].
fn units(c: &mut Checker<'_, '_>, field: &str, value: Option<f64>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let top = MAX_UNITS_PER_INVOCATION as f64;
    c.real(field, value, 0.0, (0.0, top), false, false)
}

/// Checks the sections and builds the activity; `None` when the scenario has neither
/// performers nor functions. Every problem goes to `problems`.
pub(super) fn check(
    raw: &RawActivity<'_>,
    tables: &[String],
    c: &mut Checker<'_, '_>,
) -> Option<Activity> {
    let (performers, functions) = match (raw.performers, raw.functions.is_empty()) {
        (None, true) => {
            if raw.lambda.is_some() {
                c.fail("lambda", "[lambda] needs [[functions]] and [performers]");
            }
            return None;
        }
        (None, false) => {
            c.fail(
                "functions",
                "functions need a [performers] section: nothing would invoke them",
            );
            return None;
        }
        (Some(_), true) => {
            c.fail(
                "performers",
                "performers need [[functions]]: name at least the function their tiles invoke",
            );
            return None;
        }
        (Some(p), false) => (p, raw.functions),
    };
    let points = performers_points(c, performers);
    let noise = share(c, "performers.noise", performers.noise, 0.0, true);
    let pause_share = share(
        c,
        "performers.pause_share",
        performers.pause_share,
        0.25,
        false,
    );
    let resume_share = share(
        c,
        "performers.resume_share",
        performers.resume_share,
        0.7,
        false,
    );
    let compliance_seconds = c.pair(
        "performers.compliance_seconds",
        performers.compliance_seconds,
        (120, 300),
        MAX_COMPLIANCE_SECONDS,
    );
    let account = c.whole(
        "lambda.account_concurrency",
        raw.lambda.and_then(|l| l.account_concurrency),
        1000,
        1,
        MAX_ACCOUNT_CONCURRENCY,
    );
    let retry_seconds = c.whole(
        "lambda.retry_seconds",
        raw.lambda.and_then(|l| l.retry_seconds),
        60,
        1,
        MAX_RETRY_SECONDS,
    );
    c.count("functions", functions.len(), MAX_FUNCTIONS);
    let specs: Vec<FunctionSpec> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| function(c, i, f, &functions[..i], tables, account))
        .collect();
    let reserved_total: u64 = specs.iter().filter_map(|f| f.reserved).map(u64::from).sum();
    if reserved_total > u64::from(account) {
        c.fail(
            "functions",
            format!("reserved concurrency {reserved_total} exceeds the account's {account}"),
        );
    }
    if !specs.iter().any(|f| f.tiles_per_invocation.is_some()) {
        c.fail(
            "functions",
            "no function has tiles_per_invocation: the performers' tiles would invoke nothing",
        );
    }
    Some(Activity {
        performers: PerformersSpec {
            points,
            noise,
            compliance_seconds,
            pause_share,
            resume_share,
        },
        account_concurrency: account,
        retry_seconds,
        functions: specs,
    })
}

fn performers_points(c: &mut Checker<'_, '_>, performers: &RawPerformers) -> Vec<(u64, f64)> {
    c.count(
        "performers.points",
        performers.points.len(),
        super::limits::MAX_POINTS,
    );
    #[allow(clippy::cast_precision_loss)]
    let top = MAX_TILES as f64;
    let points: Vec<(u64, f64)> = performers
        .points
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let at = c.at(&format!("performers.points.{j}.at"), &p.at);
            let field = format!("performers.points.{j}.tiles");
            (
                at,
                c.real(&field, Some(p.tiles), 0.0, (0.0, top), false, false),
            )
        })
        .collect();
    if points.is_empty() {
        c.fail("performers.points", "needs at least one point");
    }
    if points.windows(2).any(|p| p[1].0 < p[0].0) {
        c.fail("performers.points", "points must be in time order");
    }
    points
}

fn function(
    c: &mut Checker<'_, '_>,
    i: usize,
    f: &RawFunction,
    earlier: &[RawFunction],
    tables: &[String],
    account: u32,
) -> FunctionSpec {
    let at = format!("functions.{i}");
    let earlier_names = earlier.iter().map(|g| g.name.as_str());
    c.short_name(&format!("{at}.name"), &f.name, "function", earlier_names);
    let tiles_per_invocation = f.tiles_per_invocation.map(|n| {
        let field = format!("{at}.tiles_per_invocation");
        c.whole(&field, Some(n), 1, 1, MAX_TILES_PER_INVOCATION)
    });
    #[allow(clippy::cast_precision_loss)]
    let base_range = (MIN_BASE_MS as f64, MAX_BASE_MS as f64);
    let base_ms = c.real(
        &format!("{at}.base_ms"),
        Some(f.base_ms),
        1.0,
        base_range,
        false,
        false,
    );
    let timeout = c.duration_in(
        &format!("{at}.timeout"),
        f.timeout.as_deref(),
        Duration::from_secs(60),
        Duration::from_secs(1),
        Duration::from_secs(900),
        " (Lambda's timeouts)",
    );
    #[allow(clippy::cast_precision_loss)]
    let max_ratio = c.real(
        &format!("{at}.max_ratio"),
        f.max_ratio,
        10.0,
        (1.0, MAX_RATIO as f64),
        false,
        false,
    );
    let noise = share(c, &format!("{at}.noise"), f.noise, 0.02, true);
    match &f.table {
        Some(t) if !tables.contains(t) => {
            c.fail(
                &format!("{at}.table"),
                format!("no table `{}` in this scenario", excerpt(t)),
            );
        }
        None if f.writes.is_some() || f.reads.is_some() => c.fail(
            &format!("{at}.table"),
            "`writes` and `reads` need the table they go to",
        ),
        _ => {}
    }
    let (low_mb, high_mb) = MEMORY_MB;
    FunctionSpec {
        short_name: f.name.clone(),
        tiles_per_invocation,
        base_ms,
        timeout,
        memory_mb: c.whole(
            &format!("{at}.memory_mb"),
            f.memory_mb,
            1024,
            low_mb,
            high_mb,
        ),
        reserved: f
            .reserved
            .map(|r| c.whole(&format!("{at}.reserved"), Some(r), 0, 0, account)),
        max_ratio,
        noise,
        table: f.table.clone(),
        writes: units(c, &format!("{at}.writes"), f.writes),
        reads: units(c, &format!("{at}.reads"), f.reads),
    }
}

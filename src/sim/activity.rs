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

use crate::source::{Problem, Source};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
pub(super) struct RawPerformers {
    points: Vec<RawTiles>,
    noise: Option<f64>,
    compliance_seconds: Option<[u64; 2]>,
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
    account_concurrency: Option<u32>,
    retry_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawFunction {
    name: String,
    tiles_per_invocation: Option<u32>,
    base_ms: f64,
    timeout: Option<String>,
    memory_mb: Option<u32>,
    reserved: Option<u32>,
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

/// Collects problems while checking.
struct Checker<'s, 'p> {
    source: &'s Source<'s>,
    problems: &'p mut Vec<Problem>,
}

impl Checker<'_, '_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(self.source.problem(field, message));
    }

    fn duration(&mut self, field: &str, text: &str) -> Duration {
        humantime::parse_duration(text).unwrap_or_else(|e| {
            self.fail(field, format!("`{text}` is not a duration ({e})"));
            Duration::ZERO
        })
    }

    /// A share in [0, 1], or [0, 1) when `top_open`.
    fn share(&mut self, field: &str, value: Option<f64>, default: f64, top_open: bool) -> f64 {
        let v = value.unwrap_or(default);
        let ok = if top_open {
            (0.0..1.0).contains(&v)
        } else {
            (0.0..=1.0).contains(&v)
        };
        if !ok {
            let range = if top_open { "[0, 1)" } else { "[0, 1]" };
            self.fail(field, format!("{v} is out of range: allowed {range}"));
        }
        v
    }

    fn units(&mut self, field: &str, value: Option<f64>) -> f64 {
        let v = value.unwrap_or(0.0);
        if !v.is_finite() || v < 0.0 {
            self.fail(field, format!("{v} must be 0 or more"));
        }
        v
    }
}

/// Checks the sections and builds the activity; `None` when the scenario has neither
/// performers nor functions. Every problem goes to `problems`.
pub(super) fn check(
    raw: &RawActivity<'_>,
    tables: &[String],
    source: &Source<'_>,
    problems: &mut Vec<Problem>,
) -> Option<Activity> {
    let mut c = Checker { source, problems };
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
    let points = performers_points(&mut c, performers);
    let noise = c.share("performers.noise", performers.noise, 0.0, true);
    let pause_share = c.share(
        "performers.pause_share",
        performers.pause_share,
        0.25,
        false,
    );
    let resume_share = c.share(
        "performers.resume_share",
        performers.resume_share,
        0.7,
        false,
    );
    let [lo, hi] = performers.compliance_seconds.unwrap_or([120, 300]);
    if lo > hi {
        c.fail(
            "performers.compliance_seconds",
            format!("[{lo}, {hi}]: the first bound must not exceed the second"),
        );
    }
    let account = raw
        .lambda
        .and_then(|l| l.account_concurrency)
        .unwrap_or(1000);
    if account == 0 {
        c.fail("lambda.account_concurrency", "must be at least 1");
    }
    let retry_seconds = raw.lambda.and_then(|l| l.retry_seconds).unwrap_or(60);
    if retry_seconds == 0 {
        c.fail("lambda.retry_seconds", "must be at least 1");
    }
    let specs: Vec<FunctionSpec> = functions
        .iter()
        .enumerate()
        .map(|(i, f)| function(&mut c, i, f, &functions[..i], tables))
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
            compliance_seconds: (lo, hi.max(lo)),
            pause_share,
            resume_share,
        },
        account_concurrency: account.max(1),
        retry_seconds: retry_seconds.max(1),
        functions: specs,
    })
}

fn performers_points(c: &mut Checker<'_, '_>, performers: &RawPerformers) -> Vec<(u64, f64)> {
    let points: Vec<(u64, f64)> = performers
        .points
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let at = c.duration(&format!("performers.points.{j}.at"), &p.at);
            (at.as_secs(), p.tiles)
        })
        .collect();
    if points.is_empty() {
        c.fail("performers.points", "needs at least one point");
    }
    if points.windows(2).any(|p| p[1].0 < p[0].0) {
        c.fail("performers.points", "points must be in time order");
    }
    if points.iter().any(|p| !p.1.is_finite() || p.1 < 0.0) {
        c.fail("performers.points", "tiles must be finite and not negative");
    }
    points
}

fn function(
    c: &mut Checker<'_, '_>,
    i: usize,
    f: &RawFunction,
    earlier: &[RawFunction],
    tables: &[String],
) -> FunctionSpec {
    let at = format!("functions.{i}");
    if earlier.iter().any(|g| g.name == f.name) {
        c.fail(
            &format!("{at}.name"),
            format!("`{}` is named twice", f.name),
        );
    }
    if f.tiles_per_invocation == Some(0) {
        c.fail(
            &format!("{at}.tiles_per_invocation"),
            "must be at least 1 (leave it out for a function off the ingest path)",
        );
    }
    if !f.base_ms.is_finite() || f.base_ms <= 0.0 {
        c.fail(
            &format!("{at}.base_ms"),
            format!("{} must be above 0", f.base_ms),
        );
    }
    let timeout = f.timeout.as_deref().map_or(Duration::from_secs(60), |t| {
        c.duration(&format!("{at}.timeout"), t)
    });
    if timeout < Duration::from_secs(1) || timeout > Duration::from_secs(900) {
        c.fail(
            &format!("{at}.timeout"),
            "Lambda allows timeouts from 1 s to 15 minutes",
        );
    }
    let max_ratio = f.max_ratio.unwrap_or(10.0);
    if !max_ratio.is_finite() || max_ratio < 1.0 {
        c.fail(
            &format!("{at}.max_ratio"),
            format!("{max_ratio} must be at least 1"),
        );
    }
    let noise = c.share(&format!("{at}.noise"), f.noise, 0.02, true);
    match &f.table {
        Some(t) if !tables.contains(t) => {
            c.fail(
                &format!("{at}.table"),
                format!("no table `{t}` in this scenario"),
            );
        }
        None if f.writes.is_some() || f.reads.is_some() => c.fail(
            &format!("{at}.table"),
            "`writes` and `reads` need the table they go to",
        ),
        _ => {}
    }
    FunctionSpec {
        short_name: f.name.clone(),
        tiles_per_invocation: f.tiles_per_invocation,
        base_ms: f.base_ms,
        timeout,
        memory_mb: f.memory_mb.unwrap_or(1024),
        reserved: f.reserved,
        max_ratio,
        noise,
        table: f.table.clone(),
        writes: c.units(&format!("{at}.writes"), f.writes),
        reads: c.units(&format!("{at}.reads"), f.reads),
    }
}

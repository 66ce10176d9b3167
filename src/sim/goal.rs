//! The goal of issue 12, checked over many seeds (`simulate --compare --seeds … --goal`): a
//! benchmark's verdict per clause and scenario, not a test. Pure: summaries in, verdicts out.

use super::runner::ControllerKind;
use super::scenario::Scenario;
use super::seeds::{ScenarioRuns, SeedRun, Versus};
use serde::Serialize;
use std::fmt::Write as _;

/// Remediator may throttle this much more than a baseline and still count as no worse: the
/// larger of 0.1 % of the demand and 1,000 requests (a few seconds of a small table's load),
/// since one UpdateTable landing a few seconds later moves more than that.
pub const TOLERANCE_SHARE: f64 = 0.001;
pub const TOLERANCE_REQUESTS: u64 = 1000;
/// Capacity cost at most this many times the oracle's on every run, and on average.
pub const COST_EVERY_RUN: f64 = 1.5;
pub const COST_ON_AVERAGE: f64 = 1.3;
/// Throttled requests beyond the oracle's, as a share of the demand, below this where the
/// demand comes from CloudWatch workloads alone (seen only after 1–3 minutes) ...
pub const BEYOND_CLOUDWATCH: f64 = 0.01;
/// ... and below this where ingest jobs drive it (announced before the load arrives).
pub const BEYOND_JOBS: f64 = 0.002;

/// Whether a scenario's demand is driven by ingest jobs (`[[jobs]]`), whose queues give warning:
/// that tightens the beyond-the-oracle clause.
#[must_use]
pub fn job_driven(scenario: &Scenario) -> bool {
    !scenario.jobs.is_empty()
}

/// One clause of the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clause {
    ThrottlesVsBossAutoscaler,
    ThrottlesVsTargetTracking,
    CostOnEveryRun,
    CostOnAverage,
    BeyondOracle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mark {
    Pass,
    Fail,
}

/// A clause's verdict on one scenario, with the figure that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub scenario: String,
    pub clause: Clause,
    pub mark: Mark,
    /// What the clause asks.
    pub asks: String,
    /// The deciding figure: the worst seed, or the mean.
    pub found: String,
}

/// Every clause on every scenario, in that order.
#[must_use]
pub fn check(scenarios: &[ScenarioRuns]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for s in scenarios {
        for baseline in [
            ControllerKind::BossAutoscaler,
            ControllerKind::TargetTracking,
        ] {
            out.push(throttles(s, baseline));
        }
        out.extend(cost(s));
        out.push(beyond(s));
    }
    out
}

/// Remediator's figures on a run against the oracle's, or which of them is missing.
fn ours(run: &SeedRun) -> Result<Versus, String> {
    let ours = run
        .of(ControllerKind::Remediator)
        .ok_or_else(|| format!("no remediator run for seed {}", run.seed))?;
    let oracle = run
        .of(ControllerKind::Oracle)
        .ok_or_else(|| format!("no oracle run for seed {}", run.seed))?;
    Ok(Versus::new(ours, Some(oracle)))
}

fn verdict(s: &ScenarioRuns, clause: Clause, pass: bool, asks: String, found: String) -> Verdict {
    Verdict {
        scenario: s.scenario.clone(),
        clause,
        mark: if pass && !s.runs.is_empty() {
            Mark::Pass
        } else {
            Mark::Fail
        },
        asks,
        found: if s.runs.is_empty() {
            "no runs".to_string()
        } else {
            found
        },
    }
}

fn throttles(s: &ScenarioRuns, baseline: ControllerKind) -> Verdict {
    let clause = match baseline {
        ControllerKind::BossAutoscaler => Clause::ThrottlesVsBossAutoscaler,
        _ => Clause::ThrottlesVsTargetTracking,
    };
    let asks = format!(
        "throttled ≤ {}'s + max(0.1 % of demanded, {TOLERANCE_REQUESTS}) on every seed",
        baseline.name()
    );
    // The seed with the least room left (over the allowance when negative).
    let mut worst: Option<(f64, String)> = None;
    for run in &s.runs {
        let (r, b) = match (run.of(ControllerKind::Remediator), run.of(baseline)) {
            (Some(r), Some(b)) => (r, b),
            _ => {
                let found = format!(
                    "no remediator or {} run for seed {}",
                    baseline.name(),
                    run.seed
                );
                return verdict(s, clause, false, asks, found);
            }
        };
        let allowed = allowance(r.requests_demanded, b.throttled_requests);
        #[allow(clippy::cast_precision_loss)]
        let room = allowed - r.throttled_requests as f64;
        if worst.as_ref().is_none_or(|(w, _)| room < *w) {
            let found = format!(
                "worst seed {}: {} vs {} allowed ({} + tolerance)",
                run.seed, r.throttled_requests, allowed, b.throttled_requests
            );
            worst = Some((room, found));
        }
    }
    let (room, found) = worst.unwrap_or((0.0, String::new()));
    verdict(s, clause, room >= 0.0, asks, found)
}

/// A baseline's throttled requests plus the tolerance, rounded down to whole requests.
#[must_use]
pub fn allowance(demanded: u64, baseline_throttled: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let tolerance = (demanded as f64 * TOLERANCE_SHARE).max(TOLERANCE_REQUESTS as f64);
    #[allow(clippy::cast_precision_loss)]
    (baseline_throttled as f64 + tolerance).floor()
}

fn cost(s: &ScenarioRuns) -> [Verdict; 2] {
    let every = format!("capacity cost ≤ {COST_EVERY_RUN} × oracle's on every seed");
    let mean_asks = format!("capacity cost ≤ {COST_ON_AVERAGE} × oracle's on average");
    let mut ratios = Vec::new();
    for run in &s.runs {
        match ours(run) {
            Ok(v) => ratios.push((run.seed, v.cost_vs_oracle)),
            Err(found) => {
                return [
                    verdict(s, Clause::CostOnEveryRun, false, every, found.clone()),
                    verdict(s, Clause::CostOnAverage, false, mean_asks, found),
                ];
            }
        }
    }
    let (seed, worst) = ratios
        .iter()
        .copied()
        .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    #[allow(clippy::cast_precision_loss)]
    let mean = ratios.iter().map(|(_, r)| r).sum::<f64>() / ratios.len().max(1) as f64;
    [
        verdict(
            s,
            Clause::CostOnEveryRun,
            worst <= COST_EVERY_RUN,
            every,
            format!("worst seed {seed}: {worst:.2} × oracle"),
        ),
        verdict(
            s,
            Clause::CostOnAverage,
            mean <= COST_ON_AVERAGE,
            mean_asks,
            format!("mean {mean:.2} × oracle over {} seeds", ratios.len()),
        ),
    ]
}

fn beyond(s: &ScenarioRuns) -> Verdict {
    let (limit, source) = if s.job_driven {
        (BEYOND_JOBS, "ingest jobs")
    } else {
        (BEYOND_CLOUDWATCH, "CloudWatch workloads")
    };
    let asks = format!(
        "throttled beyond the oracle's < {} of demanded ({source}) on every seed",
        super::report::percent(limit)
    );
    let mut worst = (0, f64::NEG_INFINITY);
    for run in &s.runs {
        match ours(run) {
            Ok(v) if v.beyond_oracle > worst.1 => worst = (run.seed, v.beyond_oracle),
            Ok(_) => {}
            Err(found) => return verdict(s, Clause::BeyondOracle, false, asks, found),
        }
    }
    let found = format!(
        "worst seed {}: {}",
        worst.0,
        super::report::percent(worst.1)
    );
    verdict(s, Clause::BeyondOracle, worst.1 < limit, asks, found)
}

/// One line per verdict: `PASS  scenario  what the clause asks — what was found`.
#[must_use]
pub fn render(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        let mark = match v.mark {
            Mark::Pass => "PASS",
            Mark::Fail => "FAIL",
        };
        let _ = writeln!(out, "{mark}  {:<22} {} — {}", v.scenario, v.asks, v.found);
    }
    out
}

/// Whether every verdict passed.
#[must_use]
pub fn all_pass(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.mark == Mark::Pass)
}

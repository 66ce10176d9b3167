//! Drift of one Lambda function (the runbook's "Too much activity": "the first sign … is that
//! lambda duration times are not staying constant"). Pure: a function's recent minutes, its
//! baseline and the policy in; its trouble and whether it is steady out.
//!
//! Unsteady: the duration swings by more than the drift margin from one minute to the next in
//! most minutes of two sustained windows.
//!
//! Enter and exit thresholds differ (`ratio` / `exit_ratio`) and both must hold for the whole
//! `sustained_for` window, so a single spike neither pauses nor resumes, and a value hovering
//! at one threshold cannot flap between the two.

use crate::domain::observed::{FunctionObs, Point};
use crate::domain::pause::{Trouble, TroubleKind};
use crate::policy::Drift;
use crate::time::Timestamp;
use std::time::Duration;

/// A function's state this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub function: String,
    /// Empty when nothing is wrong (or not enough is known to say so).
    pub trouble: Vec<Trouble>,
    /// Steady enough to end a pause: every minute of the window at or below the exit thresholds
    /// (a function with no recent invocations is steady: nothing is waiting on it).
    pub steady: bool,
    /// One line for the journal's verdicts.
    pub finding: String,
}

/// The times and limits one assessment needs, from the policy and the observation.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'p> {
    pub drift: &'p Drift,
    pub at: Timestamp,
    pub period: Duration,
    pub stale_after: Duration,
}

impl<'p> Frame<'p> {
    /// The frame of one tick: the policy's drift settings at the observation's time.
    #[must_use]
    pub fn new(
        policy: &'p crate::policy::Policy,
        observed: &crate::domain::observed::Observed,
    ) -> Self {
        Self {
            drift: &policy.drift,
            at: observed.at,
            period: observed.period,
            stale_after: policy.controller.stale_after,
        }
    }

    /// Minutes the sustained window spans.
    fn minutes(&self) -> usize {
        let p = self.period.as_secs().max(1);
        usize::try_from(self.drift.sustained_for.as_secs().div_ceil(p)).unwrap_or(usize::MAX)
    }

    /// A window may miss one minute (CloudWatch omits minutes it has no data for).
    fn enough(&self, n: usize) -> bool {
        n >= self.minutes().saturating_sub(1).max(2)
    }
}

/// The points of the sustained window: those within `sustained_for` of the newest, if the
/// newest is fresh. `None` when there is no fresh datapoint.
fn window<'s>(points: &'s [Point], frame: &Frame<'_>) -> Option<&'s [Point]> {
    let newest = points.last()?;
    if frame.at.since(newest.start.plus(frame.period)) > frame.stale_after {
        return None;
    }
    let from = newest
        .start
        .0
        .saturating_sub(frame.drift.sustained_for.as_secs())
        + 1;
    let first = points.iter().position(|p| p.start.0 >= from).unwrap_or(0);
    Some(&points[first..])
}

/// The points within two sustained windows of the newest (the newest being fresh).
fn long_window<'s>(points: &'s [Point], frame: &Frame<'_>) -> &'s [Point] {
    let Some(newest) = points.last() else {
        return points;
    };
    let from = newest
        .start
        .0
        .saturating_sub(2 * frame.drift.sustained_for.as_secs())
        + 1;
    let first = points.iter().position(|p| p.start.0 >= from).unwrap_or(0);
    &points[first..]
}

/// Average concurrency per minute (invocations/s × average duration), for minutes with both.
fn loads(f: &FunctionObs, window: &[Point], period: Duration) -> Vec<f64> {
    let seconds = period.as_secs_f64().max(1.0);
    window
        .iter()
        .filter_map(|d| {
            f.invocations
                .at(d.start)
                .map(|n| n / seconds * d.value / 1000.0)
        })
        .collect()
}

/// Judges one function against its baseline (`None` while still learning).
#[must_use]
pub fn assess(f: &FunctionObs, baseline_ms: Option<f64>, frame: &Frame<'_>) -> Assessment {
    let drift = frame.drift;
    let name = f.name.clone();
    let Some(window) = window(&f.duration_ms.points, frame) else {
        return Assessment {
            function: name,
            trouble: Vec::new(),
            steady: true,
            finding: "no recent invocations".into(),
        };
    };
    let values: Vec<f64> = window.iter().map(|p| p.value).collect();
    let latest = values.last().copied().unwrap_or(0.0);
    let mut trouble = Vec::new();
    let mut steady = true;
    let mut finding = format!("average duration {latest:.0} ms");
    if let Some(base) = baseline_ms.filter(|b| *b > 0.0) {
        let high = base * drift.ratio;
        let low = base * drift.exit_ratio;
        finding = format!(
            "{finding}, {:.2}× baseline {base:.0} ms (pause above {:.1}×, resume at or below {:.1}×)",
            latest / base,
            drift.ratio,
            drift.exit_ratio
        );
        if frame.enough(values.len()) && values.iter().all(|v| *v > high) {
            let least = values.iter().copied().fold(f64::INFINITY, f64::min);
            trouble.push(Trouble {
                function: name.clone(),
                kind: TroubleKind::Slow,
                evidence: format!(
                    "average duration above {high:.0} ms ({:.1}× its baseline of {base:.0} ms) for {} minutes: lowest {least:.0} ms, latest {latest:.0} ms",
                    drift.ratio,
                    values.len()
                ),
            });
        }
        // Swings are judged over two sustained windows, so that a spike of a minute or two
        // (two or three swings) is never most of them.
        let long: Vec<f64> = long_window(&f.duration_ms.points, frame)
            .iter()
            .map(|p| p.value)
            .collect();
        let pairs = long.len().saturating_sub(1);
        let jumps = long
            .windows(2)
            .filter(|w| (w[1] - w[0]).abs() > (drift.ratio - 1.0) * base)
            .count();
        let unsteady = pairs + 2 >= 2 * frame.minutes() && jumps * 2 > pairs;
        if unsteady {
            trouble.push(Trouble {
                function: name.clone(),
                kind: TroubleKind::Unsteady,
                evidence: format!(
                    "duration swung by more than {:.0} ms from one minute to the next in {jumps} of the last {pairs} minutes (baseline {base:.0} ms)",
                    (drift.ratio - 1.0) * base
                ),
            });
        }
        // Steady needs far fewer swings than unsteady does (hysteresis on swings too), judged
        // over the sustained window only: the step down of a recovery is not a swing.
        let recent_pairs = values.len().saturating_sub(1);
        let recent_jumps = values
            .windows(2)
            .filter(|w| (w[1] - w[0]).abs() > (drift.ratio - 1.0) * base)
            .count();
        let calm = recent_pairs < 3 || recent_jumps * 4 <= recent_pairs;
        steady &= calm && values.iter().all(|v| *v <= low);
    } else {
        finding = format!("{finding}, learning its baseline");
    }
    if let Some(limit) = f.concurrency_limit.filter(|l| *l > 0) {
        let limit = f64::from(limit);
        let loads = loads(f, window, frame.period);
        let enter = drift.concurrency_share * limit;
        let exit = enter * drift.exit_ratio / drift.ratio;
        if let Some(last) = loads.last() {
            finding = format!(
                "{finding}; {last:.0} of {limit:.0} concurrent ({:.0} %)",
                last / limit * 100.0
            );
        }
        if frame.enough(loads.len()) && loads.iter().all(|l| *l >= enter) {
            trouble.push(Trouble {
                function: name.clone(),
                kind: TroubleKind::NearCapacity,
                evidence: format!(
                    "invocations/s × average duration at or above {enter:.0} of the {limit:.0} concurrent executions available ({:.0} %) for {} minutes; latest {:.0}",
                    drift.concurrency_share * 100.0,
                    loads.len(),
                    loads.last().copied().unwrap_or(0.0)
                ),
            });
        }
        steady &= loads.iter().all(|l| *l < exit);
    }
    if !trouble.is_empty() {
        finding = format!("trouble: {finding}");
    } else if steady {
        finding = format!("steady: {finding}");
    }
    Assessment {
        function: name,
        trouble,
        steady,
        finding,
    }
}

//! Runs one controller over a scenario in virtual time and collects what happened.

use super::baselines::{
    Baseline, BossAutoscaler, NoController, Oracle, TargetTracking, ThrottleJump,
};
use super::cloud::SimCloud;
use super::scenario::Scenario;
use super::series::{Recorder, Track};
use super::world::World;
use crate::act::Outcome;
use crate::domain::action::Action;
use crate::domain::hold::HoldReason;
use crate::domain::observed::Unread;
use crate::domain::port_error::PortError;
use crate::memory::Memory;
use crate::policy::Policy;
use crate::ports::Ports;
use crate::reconcile::{Step, TickReport, tick};
use crate::redrive::fleet::NoLauncher;
use serde::Serialize;
use std::collections::BTreeMap;

/// Which controller drives the simulated tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ControllerKind {
    Remediator,
    BossAutoscaler,
    ThrottleJump,
    TargetTracking,
    None,
    Oracle,
}

impl ControllerKind {
    pub const ALL: [ControllerKind; 6] = [
        ControllerKind::Remediator,
        ControllerKind::BossAutoscaler,
        ControllerKind::ThrottleJump,
        ControllerKind::TargetTracking,
        ControllerKind::None,
        ControllerKind::Oracle,
    ];

    /// The baseline this controller runs beside the world each second (none for remediator,
    /// which ticks through `reconcile::tick`).
    #[must_use]
    pub fn baseline(self) -> Box<dyn Baseline + Send> {
        match self {
            ControllerKind::BossAutoscaler => Box::new(BossAutoscaler::default()),
            ControllerKind::ThrottleJump => Box::new(ThrottleJump::default()),
            ControllerKind::TargetTracking => Box::new(TargetTracking::default()),
            ControllerKind::Oracle => Box::new(Oracle),
            ControllerKind::None | ControllerKind::Remediator => Box::new(NoController),
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ControllerKind::Remediator => "remediator",
            ControllerKind::BossAutoscaler => "boss-autoscaler",
            ControllerKind::ThrottleJump => "throttle-jump",
            ControllerKind::TargetTracking => "target-tracking",
            ControllerKind::None => "none",
            ControllerKind::Oracle => "oracle",
        }
    }
}

/// One line of the readable timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Seconds since the scenario began.
    pub at: u64,
    /// `saw`, `did`, `would`, `failed`, `escalated`, `held`, `idle` (a table of the policy the
    /// scenario does not model), `signalled` (a message the
    /// controller sent: the channel, and the subject) or `complied` (what the performers did).
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
}

/// The figures `simulate` and `simulate --compare` report for one controller. `Default` (all
/// zero, no controller) lets tests state only the figures they judge.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub controller: &'static str,
    pub throttled_requests: u64,
    /// Fresh requests (units) asked of every table and GSI over the run; the same for every
    /// controller on one scenario and seed.
    pub requests_demanded: u64,
    /// `throttled_requests / requests_demanded` (0 with no demand).
    pub throttled_share: f64,
    pub seconds_with_throttling: u64,
    pub peak_read_units: u64,
    pub peak_write_units: u64,
    pub mean_read_units: f64,
    pub mean_write_units: f64,
    pub capacity_cost_usd: f64,
    /// Capacity dimensions changed by UpdateTable.
    pub actions: u64,
    pub escalations: u64,
    /// The Lambda functions and performers (all 0 for a scenario of tables only).
    #[serde(flatten)]
    pub activity: super::activity_report::Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub scenario: String,
    pub seed: u64,
    pub summary: Summary,
    pub timeline: Vec<TimelineEntry>,
    /// Per table and GSI dimension, minute by minute (past a day, a point per several minutes),
    /// for `--plot`; left out of the JSON output, which it would swell.
    #[serde(skip)]
    pub series: Vec<Track>,
}

/// How often the timeline notes what the world looks like.
const SAW_EVERY: u64 = 300;

/// Runs `kind` over the whole scenario. The remediator ticks every policy interval through the
/// real `reconcile::tick`; baselines run their own schedules.
pub async fn run(scenario: &Scenario, policy: &Policy, kind: ControllerKind) -> RunResult {
    run_inspecting(scenario, policy, kind, |_| ()).await.0
}

/// `run`, and what `inspect` reads from the world at the end (figures the summary does not
/// carry, for tests).
pub async fn run_inspecting<T>(
    scenario: &Scenario,
    policy: &Policy,
    kind: ControllerKind,
    inspect: impl FnOnce(&World) -> T,
) -> (RunResult, T) {
    let cloud = SimCloud::new(World::new(
        scenario,
        &policy.domain,
        policy.guardrails.prices,
    ));
    let mut baseline = kind.baseline();
    let mut memory = Memory::default();
    let mut timeline = Vec::new();
    let mut last_holds: HoldsSeen = BTreeMap::new();
    let mut escalations: u64 = 0;
    let mut seen = (0, 0);
    let interval = policy.controller.interval.as_secs().max(1);
    let total = scenario.duration.as_secs();
    let mut series = Recorder::new(total);
    for second in 0..total {
        if kind == ControllerKind::Remediator && second % interval == 0 {
            let at = cloud.world().now;
            let ports = Ports {
                metrics: &cloud,
                tables: &cloud,
                queues: &cloud,
                functions: &cloud,
                signals: &cloud,
            };
            let report = tick(&ports, &mut NoLauncher, policy, &mut memory, at, Step::Act).await;
            escalations += record(&report, second, &mut timeline, &mut last_holds);
        }
        let mut world = cloud.world();
        baseline.step(&mut world);
        world.step();
        series.record(second, world.snapshot());
        seen = super::activity_report::messages(&world, seen, &mut timeline);
        if (second + 1) % SAW_EVERY == 0 {
            super::activity_report::saw(&world, second + 1, &mut timeline);
        }
        if kind == ControllerKind::Remediator && (second + 1) % SAW_EVERY == 0 {
            for s in world
                .snapshot()
                .iter()
                .filter(|s| s.demand >= 0.5 || s.throttled >= 0.5)
            {
                let provisioned = s
                    .provisioned
                    .map_or_else(|| "on-demand".to_string(), |p| format!("provisioned {p}"));
                timeline.push(TimelineEntry {
                    at: second + 1,
                    kind: "saw",
                    subject: format!("{} {}", s.resource, s.dimension),
                    text: format!(
                        "demand {:.0}/s, {provisioned}, throttled {:.0}/s",
                        s.demand, s.throttled
                    ),
                });
            }
        }
    }
    let world = cloud.world();
    let t = &world.totals;
    #[allow(clippy::cast_precision_loss)]
    let seconds = t.seconds.max(1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let activity = super::activity_report::summary(&world);
    // Both bounded by `limits::MAX_THROTTLED_REQUESTS` (< 2^62, derived from the largest
    // demand): the casts never clamp.
    let throttled_requests = t.throttled_requests.round() as u64;
    let requests_demanded = t.requests_demanded.round() as u64;
    let summary = Summary {
        controller: kind.name(),
        throttled_requests,
        requests_demanded,
        throttled_share: share(throttled_requests, requests_demanded),
        seconds_with_throttling: t.seconds_with_throttling,
        peak_read_units: t.peak_units[0],
        peak_write_units: t.peak_units[1],
        mean_read_units: t.unit_seconds[0] / seconds,
        mean_write_units: t.unit_seconds[1] / seconds,
        capacity_cost_usd: t.capacity_cost_usd,
        actions: t.capacity_changes,
        escalations,
        activity,
    };
    let inspected = inspect(&world);
    (
        RunResult {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            summary,
            timeline,
            series: series.finish(),
        },
        inspected,
    )
}

/// `part / whole`, 0 when `whole` is 0.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The kind of hold last reported per (subject, action kind), so the timeline shows a hold
/// when it starts or its reason changes, not every tick.
type HoldsSeen = BTreeMap<(String, String), std::mem::Discriminant<HoldReason>>;

/// Adds a tick's actions, and holds that are new or changed, to the timeline; returns the
/// number of escalations reported.
fn record(
    report: &TickReport,
    second: u64,
    timeline: &mut Vec<TimelineEntry>,
    last_holds: &mut HoldsSeen,
) -> u64 {
    let mut escalations = 0;
    for done in &report.actions {
        let kind = match (&done.action, &done.outcome) {
            (_, Outcome::Failed { .. }) => "failed",
            (Action::Escalate(_), _) => {
                escalations += 1;
                "escalated"
            }
            (_, Outcome::WouldApply) => "would",
            _ => "did",
        };
        let mut text = format!("{} {}", done.action.kind(), done.action.reason());
        if let Outcome::Failed { error, .. } = &done.outcome {
            text = format!("{text} — {error}");
        }
        timeline.push(TimelineEntry {
            at: second,
            kind,
            subject: done.action.subject(),
            text,
        });
    }
    let mut current = BTreeMap::new();
    for held in &report.held {
        let key = (held.subject.clone(), held.kind.clone());
        let reason = held.reason.to_string();
        let variant = std::mem::discriminant(&held.reason);
        if last_holds.get(&key) != Some(&variant) {
            // A table of the policy that the scenario does not model is not an error here.
            if let HoldReason::Unobserved {
                reason: Unread::Call(PortError::NotFound { .. }),
            } = &held.reason
            {
                timeline.push(TimelineEntry {
                    at: second,
                    kind: "idle",
                    subject: held.subject.clone(),
                    text: "not in this scenario: the policy's rule for it has nothing to do".into(),
                });
                current.insert(key, variant);
                continue;
            }
            let what = held
                .action
                .as_ref()
                .map_or_else(String::new, |a| format!(" ({})", a.reason()));
            timeline.push(TimelineEntry {
                at: second,
                kind: "held",
                subject: held.subject.clone(),
                text: format!("{} held: {reason}{what}", held.kind),
            });
        }
        current.insert(key, variant);
    }
    *last_holds = current;
    escalations
}

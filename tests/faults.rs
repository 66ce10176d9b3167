//! AWS faults in-process: the simulated cloud behind `Faulty`, driven by the real tick and the
//! real controller, with chosen calls failing, throttled, delayed or hung.

use remediator::act::Outcome;
use remediator::action::{Action, Held, HoldReason};
use remediator::faults::{Call, Fault, Faults, Faulty, Op, Rule};
use remediator::memory::Memory;
use remediator::model::{CapacityKey, Dimension, Resource};
use remediator::policy::Policy;
use remediator::ports::Channel;
use remediator::reconcile::{Ports, Step, TickReport, tick};
use remediator::redrive::fleet::NoLauncher;
use remediator::sim::Scenario;
use remediator::sim::cloud::SimCloud;
use remediator::sim::world::World;
use remediator::time::Timestamp;
use std::path::Path;
use std::time::Duration;

/// The table the faults are aimed at.
const TABLE: &str = "tileindex.local.boss";
/// Its twin, left alone: what it does shows the fault stayed where it was aimed.
const TWIN: &str = "s3index.local.boss";

/// TileIndex and S3Index, 10/10, each asked for 200 WCU from the first second: both throttle at
/// once, and the controller raises both two minutes in (once CloudWatch has the first minute).
const SCENARIO: &str = r#"
name = "faults"
description = "two tables throttling from the start"
seed = 3
duration = "3h"
update_seconds = [20, 20]
metric_delay_seconds = [60, 60]

[[tables]]
name = "tileindex"
billing = "provisioned"
read = 10
write = 10

[[tables]]
name = "s3index"
billing = "provisioned"
read = 10
write = 10

[[workload]]
table = "tileindex"
dimension = "write"
points = [{ at = "0m", units = 200 }]

[[workload]]
table = "s3index"
dimension = "write"
points = [{ at = "0m", units = 200 }]
"#;

/// The local policy's rules for the two tables, with alerts on SNS; `{ceiling}` is TileIndex's
/// write ceiling.
const POLICY: &str = r#"
[stack]
domain = "local.boss"
[controller]
interval = "30s"
[guardrails]
escalation_interval = "30m"
[tables.tileindex]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = {ceiling} }
raise = { throttle_events_per_minute = 10, factor = 1.5, min_step = 50, cooldown = "2m" }
[tables.s3index]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = 40000 }
raise = { throttle_events_per_minute = 10, factor = 1.5, min_step = 50, cooldown = "2m" }
[signals.sns]
enabled = true
topic_arn = "arn:aws:sns:us-east-1:123456789012:local-boss-alerts"
[alarms]
enabled = true
"#;

/// The policy with TileIndex's write ceiling at `ceiling`.
fn policy(ceiling: u32) -> Policy {
    let text = POLICY.replace("{ceiling}", &ceiling.to_string());
    Policy::parse(Path::new("faults.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The simulated BOSS behind `Faulty`, ticked as the simulator's runner ticks it.
struct Sim {
    cloud: Faulty<SimCloud>,
    policy: Policy,
    memory: Memory,
}

impl Sim {
    /// Both tables at 0 s, TileIndex's write ceiling at `ceiling`.
    fn new(ceiling: u32) -> Self {
        let scenario = Scenario::parse(Path::new("faults-scenario.toml"), SCENARIO)
            .unwrap_or_else(|e| panic!("{e}"));
        Self::with(&scenario, policy(ceiling))
    }

    fn with(scenario: &Scenario, policy: Policy) -> Self {
        let world = World::new(&scenario, &policy.domain, policy.guardrails.prices);
        Self {
            cloud: Faulty::new(SimCloud::new(world)),
            policy,
            memory: Memory::default(),
        }
    }

    fn faults(&self) -> &Faults {
        self.cloud.faults()
    }

    /// One tick at the world's time, acting.
    async fn tick(&mut self) -> TickReport {
        let at = self.cloud.inner().world().now;
        let ports = Ports {
            metrics: &self.cloud,
            tables: &self.cloud,
            queues: &self.cloud,
            functions: &self.cloud,
            signals: &self.cloud,
        };
        let policy = &self.policy;
        tick(
            &ports,
            &mut NoLauncher,
            policy,
            &mut self.memory,
            at,
            Step::Act,
        )
        .await
    }

    /// Advances the world by one controller interval.
    fn advance(&self) {
        let mut world = self.cloud.inner().world();
        for _ in 0..self.policy.controller.interval.as_secs() {
            world.step();
        }
    }

    /// Ticks every interval (advancing the world after each tick) until a tick carries out
    /// or tries a capacity change of `table`; that tick's report.
    async fn until_change_of(&mut self, table: &str) -> TickReport {
        for _ in 0..120 {
            let report = self.tick().await;
            self.advance();
            if outcome(&report, table).is_some() {
                return report;
            }
        }
        panic!("no change of {table} within an hour")
    }

    fn at(&self) -> Timestamp {
        self.cloud.inner().world().now
    }

    /// Write units the world's `table` has now.
    fn provisioned_write(&self, table: &str) -> Option<u32> {
        let world = self.cloud.inner().world();
        world.describe(table).ok()?.throughput.map(|t| t.write)
    }
}

/// The outcome of this tick's capacity change of `table`, if it changed or tried to.
fn outcome<'a>(report: &'a TickReport, table: &str) -> Option<&'a Outcome> {
    report.actions.iter().find_map(|d| match &d.action {
        Action::RaiseCapacity(c) | Action::LowerCapacity(c) if c.key.resource.table == table => {
            Some(&d.outcome)
        }
        _ => None,
    })
}

/// The key of `table`'s write capacity.
fn write_of(table: &str) -> CapacityKey {
    CapacityKey {
        resource: Resource::table(table),
        dimension: Dimension::Write,
    }
}

fn is_applied(outcome: Option<&Outcome>) -> bool {
    matches!(outcome, Some(Outcome::Applied { .. }))
}

#[tokio::test]
async fn an_update_table_failing_transiently_is_not_remembered_and_is_retried_next_tick() {
    let mut sim = Sim::new(40_000);
    sim.faults().add(
        Rule::new(Op::UpdateTable, Fault::Transient)
            .on(TABLE)
            .first(1),
    );
    let report = sim.until_change_of(TABLE).await;
    assert!(
        matches!(
            outcome(&report, TABLE),
            Some(Outcome::Failed {
                transient: true,
                ..
            })
        ),
        "{:?}",
        report.actions
    );
    assert!(is_applied(outcome(&report, TWIN)), "the twin is raised");
    assert!(sim.memory.last_change(&write_of(TABLE)).is_none());
    assert!(sim.memory.last_refusal(&write_of(TABLE)).is_none());
    assert_eq!(sim.provisioned_write(TABLE), Some(10));

    let next = sim.tick().await;
    sim.advance();
    assert!(is_applied(outcome(&next, TABLE)), "{:?}", next.actions);
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TABLE), 2);
    assert!(sim.provisioned_write(TABLE).is_some_and(|w| w > 10));
    assert!(sim.memory.last_change(&write_of(TABLE)).is_some());
}

#[tokio::test]
async fn an_update_table_refused_is_held_for_the_escalation_interval_then_tried_again() {
    let mut sim = Sim::new(40_000);
    sim.faults()
        .add(Rule::new(Op::UpdateTable, Fault::Permanent).on(TABLE));
    let report = sim.until_change_of(TABLE).await;
    let refused_at = report.at;
    assert!(
        matches!(
            outcome(&report, TABLE),
            Some(Outcome::Failed {
                transient: false,
                ..
            })
        ),
        "{:?}",
        report.actions
    );
    assert!(sim.memory.last_refusal(&write_of(TABLE)).is_some());
    let retry_after = refused_at.plus(sim.policy.guardrails.escalation_interval);
    // A person fixes the permissions ten minutes later; the change still waits out the interval.
    let mut fixed = false;
    let retried = loop {
        if !fixed && sim.at() >= refused_at.plus(Duration::from_secs(600)) {
            sim.faults().clear();
            fixed = true;
        }
        let report = sim.tick().await;
        sim.advance();
        if report.at < retry_after {
            assert!(outcome(&report, TABLE).is_none(), "{:?}", report.actions);
            let refused = |h: &Held| {
                h.subject == format!("{TABLE} write")
                    && matches!(h.reason, HoldReason::Refused { .. })
            };
            assert!(report.held.iter().any(refused), "{:?}", report.held);
        } else if outcome(&report, TABLE).is_some() {
            break report;
        }
        assert!(
            report.at < retry_after.plus(Duration::from_secs(600)),
            "never retried"
        );
    };
    assert!(fixed);
    assert!(retried.at.since(retry_after) < sim.policy.controller.interval);
    assert!(
        is_applied(outcome(&retried, TABLE)),
        "{:?}",
        retried.actions
    );
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TABLE), 2);
}

/// The SNS deliveries of this tick's notices: (notice key, delivered).
fn sns_deliveries(report: &TickReport) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for done in &report.actions {
        if let (Action::Notify(notice), Outcome::Sent { deliveries }) =
            (&done.action, &done.outcome)
        {
            for d in deliveries.iter().filter(|d| d.channel == Channel::Sns) {
                out.push((notice.key.clone(), d.error.is_none()));
            }
        }
    }
    out
}

/// Messages the simulated performers received whose subject starts with `prefix`.
fn received(sim: &Sim, prefix: &str) -> usize {
    let world = sim.cloud.inner().world();
    world
        .received
        .iter()
        .filter(|r| r.subject.starts_with(prefix))
        .count()
}

const PAUSE: &str = "[remediator] PAUSE";
const RESUME: &str = "[remediator] RESUME";

#[tokio::test]
async fn a_notice_whose_publish_fails_stays_owed_and_goes_out_on_a_later_tick() {
    // The runbook's "Too much activity": durations drift, the performers are paused (after
    // about 2 h 10 min) and resumed (15 min later).
    let scenario = Scenario::load("too-much-activity").unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::with(&scenario, Policy::local());
    let faults = sim.faults().clone();
    faults.add(
        Rule::new(Op::Publish, Fault::Throttled)
            .on_prefix(PAUSE)
            .first(1),
    );
    faults.add(
        Rule::new(Op::Publish, Fault::Transient)
            .on_prefix(RESUME)
            .first(3),
    );
    let mut pause: Vec<(Timestamp, bool)> = Vec::new();
    let mut resume: Vec<(Timestamp, bool)> = Vec::new();
    while resume.last().is_none_or(|(_, delivered)| !delivered) {
        assert!(sim.at().since(sim.cloud.inner().world().start) < Duration::from_secs(3 * 3600));
        let report = sim.tick().await;
        sim.advance();
        for (key, delivered) in sns_deliveries(&report) {
            let sent = if key.ends_with("/resume") {
                &mut resume
            } else {
                &mut pause
            };
            sent.push((report.at, delivered));
        }
    }
    let interval = sim.policy.controller.interval;
    let ticks = |sent: &[(Timestamp, bool)]| -> Vec<(u64, bool)> {
        let first = sent.first().map_or(0, |(at, _)| at.0);
        sent.iter()
            .map(|(at, d)| ((at.0 - first) / interval.as_secs(), *d))
            .collect()
    };
    // Throttled once: sent again the next tick, then never again.
    assert_eq!(ticks(&pause), [(0, false), (1, true)], "{pause:?}");
    // Failed three times: tried every tick until it went out.
    assert_eq!(
        ticks(&resume),
        [(0, false), (1, false), (2, false), (3, true)],
        "{resume:?}"
    );
    assert_eq!((received(&sim, PAUSE), received(&sim, RESUME)), (1, 1));
    let publishes = |prefix: &str| {
        let log = faults.log();
        let named = |c: &&Call| c.op == Op::Publish && c.subjects[0].starts_with(prefix);
        log.iter().filter(named).count()
    };
    assert_eq!((publishes(PAUSE), publishes(RESUME)), (2, 4));
}

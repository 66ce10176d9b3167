//! The simulated BOSS behind `Faulty`: two throttling tables, a policy for them, and the
//! helpers every fault test shares.

use remediator::act::Outcome;
use remediator::domain::action::Action;
use remediator::domain::resource::{CapacityKey, Dimension, Resource};
use remediator::faults::{Faults, Faulty};
use remediator::journal::Journal;
use remediator::memory::Memory;
use remediator::policy::Policy;
use remediator::ports::Ports;
use remediator::reconcile::{Step, TickReport, tick};
use remediator::redrive::fleet::NoLauncher;
use remediator::sim::Scenario;
use remediator::sim::cloud::SimCloud;
use remediator::sim::world::World;
use remediator::time::Timestamp;
use std::path::{Path, PathBuf};

/// The table the faults are aimed at.
pub const TABLE: &str = "tileindex.local.boss";
/// Its twin, left alone: what it does shows the fault stayed where it was aimed.
pub const TWIN: &str = "s3index.local.boss";

/// TileIndex and S3Index, 10/10, each asked for 200 WCU from the first second: both throttle at
/// once, and the controller raises both two minutes in (once CloudWatch has the first minute).
pub const SCENARIO: &str = r#"
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

/// The local policy's rules for the two tables, with alerts on SNS.
pub const POLICY: &str = r#"
[stack]
domain = "local.boss"
[controller]
interval = "30s"
[guardrails]
escalation_interval = "30m"
[tables.tileindex]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = 40000 }
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

pub fn policy(text: &str) -> Policy {
    Policy::parse(Path::new("faults.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// The simulated BOSS behind `Faulty`, ticked as the simulator's runner ticks it.
pub struct Sim {
    pub cloud: Faulty<SimCloud>,
    pub policy: Policy,
    pub memory: Memory,
}

impl Sim {
    /// Both tables at 0 s, under [`POLICY`].
    pub fn new() -> Self {
        let scenario = Scenario::parse(Path::new("faults-scenario.toml"), SCENARIO)
            .unwrap_or_else(|e| panic!("{e}"));
        Self::with(&scenario, policy(POLICY))
    }

    pub fn with(scenario: &Scenario, policy: Policy) -> Self {
        let world = World::new(scenario, &policy.domain, policy.guardrails.prices);
        Self {
            cloud: Faulty::new(SimCloud::new(world)),
            policy,
            memory: Memory::default(),
        }
    }

    pub fn faults(&self) -> &Faults {
        self.cloud.faults()
    }

    /// One tick at the world's time, acting.
    pub async fn tick(&mut self) -> TickReport {
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
    pub fn advance(&self) {
        let mut world = self.cloud.inner().world();
        for _ in 0..self.policy.controller.interval.as_secs() {
            world.step();
        }
    }

    /// Ticks every interval (advancing the world after each tick) until a tick carries out
    /// or tries a capacity change of `table`; that tick's report.
    pub async fn until_change_of(&mut self, table: &str) -> TickReport {
        for _ in 0..120 {
            let report = self.tick().await;
            self.advance();
            if outcome(&report, table).is_some() {
                return report;
            }
        }
        panic!("no change of {table} within an hour")
    }

    pub fn at(&self) -> Timestamp {
        self.cloud.inner().world().now
    }

    /// Write units the world's `table` has now.
    pub fn provisioned_write(&self, table: &str) -> Option<u32> {
        let world = self.cloud.inner().world();
        world.describe(table).ok()?.throughput.map(|t| t.write)
    }
}

/// The outcome of this tick's capacity change of `table`, if it changed or tried to.
pub fn outcome<'a>(report: &'a TickReport, table: &str) -> Option<&'a Outcome> {
    report.actions.iter().find_map(|d| match &d.action {
        Action::RaiseCapacity(c) | Action::LowerCapacity(c) if c.key.resource.table == table => {
            Some(&d.outcome)
        }
        _ => None,
    })
}

/// The key of `table`'s write capacity.
pub fn write_of(table: &str) -> CapacityKey {
    CapacityKey {
        resource: Resource::table(table),
        dimension: Dimension::Write,
    }
}

pub fn is_applied(outcome: Option<&Outcome>) -> bool {
    matches!(outcome, Some(Outcome::Applied { .. }))
}

/// The ports of one controller: the simulated cloud behind `Faulty`, for every capability.
pub fn ports(cloud: &Faulty<SimCloud>) -> CloudPorts<'_> {
    Ports {
        metrics: cloud,
        tables: cloud,
        queues: cloud,
        functions: cloud,
        signals: cloud,
    }
}

pub type FaultySim = Faulty<SimCloud>;
pub type CloudPorts<'a> = Ports<'a, FaultySim, FaultySim, FaultySim, FaultySim, FaultySim>;

pub fn journal() -> Journal {
    Journal::open(None).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh directory for one test's state file.
pub fn state_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("remediator-faults-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

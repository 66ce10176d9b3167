//! Value tests of the capacity rule's parts, through `decide` and `guard::admit`: the plan of a
//! whole table, reaching a ramp's plateau, feed-forward from the ingest queues, the spend cap
//! allocated by need, and lowering.

use remediator::decide::decide;
use remediator::domain::action::{Action, CapacityChange, ChangeCause, EscalationCause};
use remediator::domain::hold::HoldReason;
use remediator::domain::observed::{
    DimensionObs, IngestJob, Observed, Point, QueueDepth, ResourceObs, Series,
};
use remediator::domain::resource::{BillingMode, Dimension, Resource, TableStatus};
use remediator::guard::{Admission, admit};
use remediator::memory::Memory;
use remediator::policy::Policy;
use remediator::time::Timestamp;
use std::path::Path;
use std::time::Duration;

const TABLE: &str = "tileindex.test.boss";
const GSI: &str = "task_id_index";
/// 2026-01-05T14:10:00Z: the newest minute; ticks happen 90 s after it ends.
const MINUTE: Timestamp = Timestamp(1_767_622_200);

fn policy(extra: &str) -> Policy {
    let text = format!(
        r#"
[stack]
domain = "test.boss"
[controller]
interval = "30s"
[guardrails]
max_actions_per_hour = 30
max_extra_cost_usd_per_hour = 40.0
[tables.tileindex]
read = {{ floor = 10, ceiling = 40000 }}
write = {{ floor = 10, ceiling = 40000 }}
raise = {{ throttle_events_per_minute = 10, utilisation = 0.9, headroom = 1.25, min_step = 50, cooldown = "2m" }}
lower = {{ utilisation_below = 0.5, quiet_for = "15m", target_utilisation = 0.8 }}
{extra}
"#
    );
    Policy::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

/// Per-minute (consumed units/s, throttle events), oldest first, ending at `MINUTE`.
fn dim(provisioned: u32, minutes: &[(f64, f64)]) -> DimensionObs {
    let n = minutes.len() as u64;
    let at = |i: usize| Timestamp(MINUTE.0 - (n - 1 - i as u64) * 60);
    DimensionObs {
        provisioned: Some(provisioned),
        autoscaling: None,
        consumed: Series {
            points: minutes
                .iter()
                .enumerate()
                .map(|(i, m)| Point {
                    start: at(i),
                    value: m.0,
                })
                .collect(),
        },
        throttle_events: Series {
            points: minutes
                .iter()
                .enumerate()
                .filter(|(_, m)| m.1 > 0.0)
                .map(|(i, m)| Point {
                    start: at(i),
                    value: m.1,
                })
                .collect(),
        },
    }
}

fn resource(resource: Resource, read: DimensionObs, write: DimensionObs) -> ResourceObs {
    ResourceObs {
        resource,
        billing: BillingMode::Provisioned,
        status: TableStatus::Active,
        read,
        write,
    }
}

fn observed(resources: Vec<ResourceObs>, at: Timestamp) -> Observed {
    Observed {
        resources,
        ..Observed::empty(at, Duration::from_secs(60))
    }
}

fn tick_at() -> Timestamp {
    MINUTE.plus(Duration::from_secs(150))
}

fn calm(n: usize) -> Vec<(f64, f64)> {
    vec![(5.0, 0.0); n]
}

fn run(policy: &Policy, observed: &Observed, memory: &Memory) -> Admission {
    let decision = decide(observed, policy, memory);
    let mut admission = admit(decision.actions, observed, policy, memory);
    admission.held.extend(decision.held);
    admission
}

fn changes(a: &Admission) -> Vec<CapacityChange> {
    a.admitted
        .iter()
        .filter_map(|x| match x {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn to_of(a: &Admission, subject: &str) -> Option<u32> {
    changes(a)
        .into_iter()
        .find(|c| c.key.to_string() == subject)
        .map(|c| c.to)
}

fn table_write() -> String {
    format!("{TABLE} write")
}

fn gsi_write() -> String {
    format!("{TABLE}/index/{GSI} write")
}

#[test]
fn table_and_gsi_are_planned_together_and_the_gsi_never_below_the_tables_writes() {
    // The table throttles (3,000/s asked of 1,000); its GSI, which takes every write, shows only
    // what the table let through and is not itself throttling: it must rise with the table.
    let table = resource(
        Resource::table(TABLE),
        dim(100, &calm(3)),
        dim(
            1000,
            &[(900.0, 0.0), (1000.0, 60_000.0), (1000.0, 120_000.0)],
        ),
    );
    let gsi = resource(
        Resource::index(TABLE, GSI),
        dim(100, &calm(3)),
        dim(1200, &[(900.0, 0.0), (1000.0, 0.0), (1000.0, 0.0)]),
    );
    let a = run(
        &policy(""),
        &observed(vec![table, gsi], tick_at()),
        &Memory::default(),
    );
    // Demand 1,000 + 120,000/60 = 3,000/s; it rose in both minutes, so the ramp is projected
    // on (capped at 3×): well above 3,000 × 1.25.
    let t = to_of(&a, &table_write()).unwrap_or(0);
    let g = to_of(&a, &gsi_write()).unwrap_or(0);
    assert!(t >= 3750, "{:?}", changes(&a));
    assert!(g >= t * 9 / 10, "the GSI follows its table: {t} / {g}");
    let c = changes(&a);
    assert!(
        c.iter().all(|c| c.evidence.period_start == MINUTE),
        "one minute for the plan"
    );
    assert!(
        c.iter()
            .any(|c| c.key.to_string() == gsi_write() && c.cause == ChangeCause::FollowsTable),
        "{c:?}"
    );
}

#[test]
fn a_gsi_that_takes_part_of_the_writes_is_planned_to_its_share() {
    // The GSI takes 20 % of the table's writes (200 of 1,000 over the window).
    let table = resource(
        Resource::table(TABLE),
        dim(100, &calm(3)),
        dim(1000, &[(1000.0, 0.0), (1000.0, 0.0), (1000.0, 60_000.0)]),
    );
    let gsi = resource(
        Resource::index(TABLE, GSI),
        dim(100, &calm(3)),
        dim(150, &[(200.0, 0.0), (200.0, 0.0), (200.0, 0.0)]),
    );
    let a = run(
        &policy(""),
        &observed(vec![table, gsi], tick_at()),
        &Memory::default(),
    );
    // Table demand 2,000/s (not a ramp: flat, then throttled) → 2,500.
    assert_eq!(to_of(&a, &table_write()), Some(2500));
    // The GSI gets 2,000 × 20 % × 1.25 = 500: not the table's 2,500.
    assert_eq!(to_of(&a, &gsi_write()), Some(500));
}

#[test]
fn a_ramp_is_reached_in_two_changes() {
    // Demand climbs 300/s each minute from 10 to 3,000 (a ten-minute ramp). The controller sees
    // each minute 150 s after it began, raises, and cannot raise again before its cooldown.
    let policy = policy("");
    let demand = |m: u64| (10.0 + 300.0 * m as f64).min(3000.0);
    let mut provisioned = 10_u32;
    let mut changes_made = Vec::new();
    let mut memory = Memory::default();
    for newest in 1..14_u64 {
        // Minutes 0..=newest as CloudWatch shows them under the capacity of the time.
        let minutes: Vec<(f64, f64)> = (0..=newest)
            .map(|m| {
                let d = demand(m);
                let served = d.min(f64::from(provisioned));
                (served, (d - served) * 60.0)
            })
            .collect();
        let table = resource(
            Resource::table(TABLE),
            dim(100, &calm(minutes.len())),
            dim(provisioned, &minutes),
        );
        let mut o = observed(vec![table], tick_at());
        // Shift the minutes so that the newest is `MINUTE` and the tick is 150 s after it.
        o.at = tick_at();
        let a = run(&policy, &o, &memory);
        if let Some(to) = to_of(&a, &table_write()) {
            changes_made.push((newest, provisioned, to));
            for action in &a.admitted {
                memory.record(action, o.at, &[]);
            }
            for c in &mut memory.changes {
                c.settled_at.get_or_insert(o.at);
            }
            provisioned = to;
        }
        // The next tick is a minute later: age the memory by a minute.
        for c in &mut memory.changes {
            c.at = c.at.minus(Duration::from_secs(60));
            c.settled_at = c.settled_at.map(|s| s.minus(Duration::from_secs(60)));
        }
        if provisioned >= 3000 {
            break;
        }
    }
    assert!(provisioned >= 3000, "{changes_made:?}");
    assert!(changes_made.len() <= 2, "{changes_made:?}");
}

fn job(id: &str, tiles_left: u64, index_backlog: u64) -> IngestJob {
    let q = |name: String, visible| QueueDepth {
        url: format!("https://sqs.local/{name}"),
        name,
        visible,
        in_flight: 0,
        delayed: 0,
        visibility_timeout: None,
    };
    IngestJob {
        job: id.into(),
        ingest: q(format!("test-boss-ingest-{id}"), 0),
        upload: Some(q(format!("test-boss-upload-{id}"), tiles_left)),
        index: Some(q(format!("test-boss-{id}-index"), index_backlog)),
        index_dlq: None,
    }
}

#[test]
fn the_ingest_queues_raise_the_table_before_it_throttles_and_say_so() {
    let policy = policy("[tables.tileindex.feed_forward]\nunits_per_tile = 1.0");
    let calm_table = || {
        vec![
            resource(
                Resource::table(TABLE),
                dim(100, &calm(3)),
                dim(100, &calm(3)),
            ),
            resource(
                Resource::index(TABLE, GSI),
                dim(100, &calm(3)),
                dim(100, &calm(3)),
            ),
        ]
    };
    let mut memory = Memory::default();
    // Two readings 30 s apart: the upload queue fell by 30,000 tiles (1,000 tiles/s) while
    // CloudWatch still shows a calm table.
    let first = Observed {
        jobs: vec![job("17", 1_000_000, 0)],
        ..observed(calm_table(), tick_at().minus(Duration::from_secs(30)))
    };
    let a = run(&policy, &first, &memory);
    assert!(
        changes(&a).is_empty(),
        "one reading is no rate: {:?}",
        changes(&a)
    );
    remediator::rules::capacity::learn(&mut memory.capacity, &memory.changes, &first, &policy);
    let second = Observed {
        jobs: vec![job("17", 970_000, 0)],
        ..observed(calm_table(), tick_at())
    };
    let a = run(&policy, &second, &memory);
    let c = changes(&a);
    let table = c.iter().find(|c| c.key.to_string() == table_write());
    // 1,000 tiles/s × 1 WCU (the prior) × 1.25.
    assert_eq!(
        table.map(|c| (c.to, c.cause)),
        Some((1250, ChangeCause::FeedForward)),
        "{c:?}"
    );
    let reason = a
        .admitted
        .iter()
        .find(|x| x.subject() == table_write())
        .map(Action::reason)
        .unwrap_or_default();
    assert!(
        reason.contains("from the ingest queues: 1 job(s) uploading 1000 tiles/s"),
        "{reason}"
    );
    assert!(to_of(&a, &gsi_write()).is_some_and(|g| g >= 1250), "{c:?}");

    // Off switch: the same readings raise nothing.
    let off = policy_without_feed();
    let a = run(&off, &second, &memory);
    assert!(changes(&a).is_empty(), "{:?}", changes(&a));
}

fn policy_without_feed() -> Policy {
    policy("[tables.tileindex.feed_forward]\nenabled = false")
}

#[test]
fn units_per_tile_are_learned_from_history() {
    let policy = policy("[tables.tileindex.feed_forward]\nunits_per_tile = 1.0");
    let mut memory = Memory::default();
    // 500 tiles/s for three minutes, each costing 2 WCU on the table: 1,000 WCU/s published.
    for k in 0..8_u64 {
        let at = MINUTE
            .minus(Duration::from_secs(120))
            .plus(Duration::from_secs(30 * k));
        let table = resource(
            Resource::table(TABLE),
            dim(2000, &calm(3)),
            dim(2000, &[(1000.0, 0.0), (1000.0, 0.0), (1000.0, 0.0)]),
        );
        let o = Observed {
            jobs: vec![job("17", 1_000_000 - 15_000 * k, 0)],
            ..observed(vec![table], at)
        };
        remediator::rules::capacity::learn(&mut memory.capacity, &memory.changes, &o, &policy);
    }
    let key = remediator::domain::resource::CapacityKey {
        resource: Resource::table(TABLE),
        dimension: Dimension::Write,
    };
    let learned = memory.capacity.units_per_tile(&key).map(|u| u.units);
    assert!(
        learned.is_some_and(|u| (u - 2.0).abs() < 0.01),
        "{learned:?}"
    );
}

#[test]
fn the_spend_cap_goes_where_throttling_is_and_the_shortfall_is_told() {
    // Both dimensions throttle; the table's writes and its GSI's need 20,000 more WCU each.
    let throttled = [(20_000.0, 0.0), (20_000.0, 0.0), (20_000.0, 600_000.0)];
    let table = resource(
        Resource::table(TABLE),
        dim(100, &calm(3)),
        dim(20_000, &throttled),
    );
    let gsi = resource(
        Resource::index(TABLE, GSI),
        dim(100, &calm(3)),
        dim(20_000, &[(20_000.0, 0.0), (20_000.0, 0.0), (20_000.0, 0.0)]),
    );
    let mut policy = policy("");
    // 2 × 20,000 WCU already cost USD 26/h of the 30 allowed: 4 USD/h buys about 6,150 WCU.
    policy.guardrails.max_extra_cost_usd_per_hour = 30.0;
    let a = run(
        &policy,
        &observed(vec![table, gsi], tick_at()),
        &Memory::default(),
    );
    let (t, g) = (to_of(&a, &table_write()), to_of(&a, &gsi_write()));
    // Shared by need: both rise by the same share of what they asked, not one first.
    let (Some(t), Some(g)) = (t, g) else {
        panic!("{:?}", a.admitted)
    };
    assert!(t > 22_000 && g > 22_000 && t.abs_diff(g) < 100, "{t} {g}");
    let told = a.admitted.iter().find_map(|x| match x {
        Action::Escalate(e) if e.cause == EscalationCause::SpendCapReached => {
            Some(e.advice.clone())
        }
        _ => None,
    });
    assert!(
        told.as_deref().is_some_and(|t| t.contains("short")),
        "{told:?}"
    );
    // Nothing left: both are held, and the hold is told once.
    policy.guardrails.max_extra_cost_usd_per_hour = 25.0;
    let a = run(
        &policy,
        &observed(a_table_and_gsi_at(20_000, &throttled), tick_at()),
        &Memory::default(),
    );
    assert!(
        a.held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::BudgetExhausted { .. }))
    );
    assert_eq!(
        a.admitted
            .iter()
            .filter(
                |x| matches!(x, Action::Escalate(e) if e.cause == EscalationCause::SpendCapReached)
            )
            .count(),
        1
    );
}

fn a_table_and_gsi_at(units: u32, table_write: &[(f64, f64)]) -> Vec<ResourceObs> {
    vec![
        resource(
            Resource::table(TABLE),
            dim(100, &calm(3)),
            dim(units, table_write),
        ),
        resource(
            Resource::index(TABLE, GSI),
            dim(100, &calm(3)),
            dim(
                units,
                &table_write.iter().map(|m| (m.0, 0.0)).collect::<Vec<_>>(),
            ),
        ),
    ]
}

#[test]
fn lowering_goes_to_demand_times_headroom_and_not_below_the_start_of_the_day() {
    let policy = policy("");
    let quiet = vec![(400.0, 0.0); 20];
    let o = observed(a_table_and_gsi_at(4000, &quiet), tick_at());
    let a = run(&policy, &o, &Memory::default());
    // 400 / 0.8 = 500, in one decrease.
    assert_eq!(to_of(&a, &table_write()), Some(500), "{:?}", changes(&a));
    // The table began the day at 1,500: it stays warm there.
    let mut memory = Memory::default();
    let key = remediator::domain::resource::CapacityKey {
        resource: Resource::table(TABLE),
        dimension: Dimension::Write,
    };
    memory
        .capacity
        .day_start
        .push(remediator::memory::capacity::DayStart {
            key,
            day: o.at.0 / 86_400,
            units: 1500,
        });
    let a = run(&policy, &o, &memory);
    assert_eq!(to_of(&a, &table_write()), Some(1500), "{:?}", changes(&a));
}

#[test]
fn while_jobs_run_an_overshot_forecast_is_trimmed_and_without_them_it_is_not() {
    let policy = policy("[tables.tileindex.feed_forward]\nunits_per_tile = 1.0");
    // 2,800 WCU/s for a quarter of an hour on 4,000: 70 %, above `utilisation_below` (0.65),
    // so a quiet window alone lowers nothing.
    let steady = vec![(2800.0, 0.0); 16];
    let table = || {
        vec![resource(
            Resource::table(TABLE),
            dim(100, &calm(16)),
            dim(4000, &steady),
        )]
    };
    let without_jobs = observed(table(), tick_at());
    assert_eq!(
        to_of(
            &run(&policy, &without_jobs, &Memory::default()),
            &table_write()
        ),
        None
    );
    // The job's upload queue fell 84,000 tiles in 30 s: 2,800 tiles/s, as the table shows. The
    // forecast says what is coming; 4,000 is well above it, and the rule trims to the window's
    // peak / 0.8 = 3,500.
    let mut memory = Memory::default();
    memory
        .capacity
        .jobs
        .push(remediator::memory::capacity::JobReading {
            job: "17".into(),
            at: tick_at().minus(Duration::from_secs(30)),
            tiles_left: 1_084_000,
        });
    let with_jobs = Observed {
        jobs: vec![job("17", 1_000_000, 0)],
        ..observed(table(), tick_at())
    };
    let a = run(&policy, &with_jobs, &memory);
    assert_eq!(to_of(&a, &table_write()), Some(3500), "{:?}", changes(&a));
}

fn change(from: u32, to: u32, minutes_ago: u64) -> remediator::memory::ChangeRecord {
    use remediator::memory::{ChangeRecord, Direction};
    let at = tick_at().minus(Duration::from_secs(minutes_ago * 60));
    ChangeRecord {
        key: remediator::domain::resource::CapacityKey {
            resource: Resource::table(TABLE),
            dimension: Dimension::Write,
        },
        at,
        from,
        to,
        direction: if to > from {
            Direction::Raise
        } else {
            Direction::Lower
        },
        settled_at: Some(at.plus(Duration::from_secs(60))),
    }
}

/// What lowering proposes for the table's writes after the given changes, learned first.
fn lowering_after(history: Vec<remediator::memory::ChangeRecord>, load: f64) -> Option<u32> {
    let policy = policy("");
    let o = observed(a_table_and_gsi_at(3280, &vec![(load, 0.0); 20]), tick_at());
    let mut memory = Memory {
        changes: history,
        ..Memory::default()
    };
    // The day began at the floor (the policy keeps lowering at or above the start of the day).
    for resource in [Resource::table(TABLE), Resource::index(TABLE, GSI)] {
        memory
            .capacity
            .day_start
            .push(remediator::memory::capacity::DayStart {
                key: remediator::domain::resource::CapacityKey {
                    resource,
                    dimension: Dimension::Write,
                },
                day: o.at.0 / 86_400,
                units: 10,
            });
    }
    remediator::rules::capacity::learn(&mut memory.capacity, &memory.changes, &o, &policy);
    to_of(&run(&policy, &o, &memory), &table_write())
}

#[test]
fn a_load_that_came_back_after_a_deep_cut_keeps_the_table_warm_between_bursts() {
    // A burst's table was cut from 3,280 to the floor; 35 minutes later the next burst threw
    // it back to 3,280; that burst is over and the table quiet.
    let bursts = || vec![change(3280, 10, 95), change(10, 3280, 60)];
    assert_eq!(lowering_after(bursts(), 5.0), None, "kept warm at 3,280");
    // A trim towards the bursts' level is still made: 1,500 / 0.8 = 1,875, above half of it.
    assert_eq!(lowering_after(bursts(), 1500.0), Some(1875));
    // Without a recurrence the quiet table goes to the floor, as before: the burst came back
    // only after three hours, or the cut was not deep, or the raise after it was a slow climb.
    let late = vec![change(3280, 10, 240), change(10, 3280, 60)];
    assert_eq!(lowering_after(late, 5.0), Some(10));
    let shallow = vec![change(3280, 2000, 95), change(2000, 3280, 60)];
    assert_eq!(lowering_after(shallow, 5.0), Some(10));
    let climb = vec![
        change(3280, 10, 95),
        change(10, 60, 60),
        change(60, 3280, 40),
    ];
    assert_eq!(lowering_after(climb, 5.0), Some(10));
}

//! Value-in/value-out tests of the pure core: `decide` then `guard::admit`.

use remediator::decide::decide;
use remediator::domain::action::{Action, ChangeCause, EscalationCause};
use remediator::domain::hold::HoldReason;
use remediator::domain::observed::{DimensionObs, Observed, Point, ResourceObs, Series};
use remediator::domain::resource::{BillingMode, CapacityKey, Dimension, Resource, TableStatus};
use remediator::guard::{Admission, admit};
use remediator::memory::{ChangeRecord, Direction, Memory};
use remediator::policy::Policy;
use remediator::time::Timestamp;
use std::path::Path;
use std::time::Duration;

const TABLE: &str = "tileindex.test.boss";
const GSI: &str = "task_id_index";
/// 2026-01-05T14:10:00Z; observations happen 90 s after the newest minute ends.
const MINUTE: Timestamp = Timestamp(1_767_622_200);

fn policy() -> Policy {
    let text = r#"
[stack]
domain = "test.boss"
[controller]
interval = "30s"
stale_after = "5m"
[guardrails]
max_actions_per_hour = 10
max_extra_cost_usd_per_hour = 40.0
[tables.tileindex]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = 1000 }
raise = { throttle_events_per_minute = 10, utilisation = 0.9, factor = 1.5, min_step = 50, cooldown = "2m" }
lower = { utilisation_below = 0.3, quiet_for = "30m", target_utilisation = 0.6 }
[tables.idIndex]
read = { floor = 25, ceiling = 35000 }
write = { floor = 25, ceiling = 35000 }
raise = { throttle_events_per_minute = 10, factor = 1.5, min_step = 50, cooldown = "2m" }
"#;
    Policy::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// One minute's figures: consumed units/s and throttle events.
#[derive(Clone, Copy)]
struct Minute {
    consumed: f64,
    throttles: f64,
}

/// 100 units/s served and 100/s throttled: demand is twice what a 100-unit table serves.
const THROTTLED: Minute = Minute {
    consumed: 100.0,
    throttles: 6000.0,
};

const CALM: Minute = Minute {
    consumed: 5.0,
    throttles: 0.0,
};

fn series(minutes: &[Minute], newest: Timestamp, pick: impl Fn(&Minute) -> Option<f64>) -> Series {
    let n = minutes.len() as u64;
    Series {
        points: minutes
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                pick(m).map(|value| Point {
                    start: Timestamp(newest.0 - (n - 1 - i as u64) * 60),
                    value,
                })
            })
            .collect(),
    }
}

fn dim(provisioned: Option<u32>, minutes: &[Minute]) -> DimensionObs {
    DimensionObs {
        provisioned,
        autoscaling: None,
        consumed: series(minutes, MINUTE, |m| Some(m.consumed)),
        throttle_events: series(minutes, MINUTE, |m| {
            (m.throttles > 0.0).then_some(m.throttles)
        }),
    }
}

fn resource(
    resource: Resource,
    billing: BillingMode,
    prov: (u32, u32),
    read: &[Minute],
    write: &[Minute],
) -> ResourceObs {
    let p = |u| (billing == BillingMode::Provisioned).then_some(u);
    ResourceObs {
        resource,
        billing,
        status: TableStatus::Active,
        read: dim(p(prov.0), read),
        write: dim(p(prov.1), write),
    }
}

fn observed(resources: Vec<ResourceObs>) -> Observed {
    Observed {
        resources,
        ..Observed::empty(
            MINUTE.plus(Duration::from_secs(150)),
            Duration::from_secs(60),
        )
    }
}

/// TileIndex and its GSI, calm unless a test changes them.
fn tileindex(write: &[Minute], gsi_write: &[Minute]) -> Vec<ResourceObs> {
    vec![
        resource(
            Resource::table(TABLE),
            BillingMode::Provisioned,
            (100, 100),
            &[CALM, CALM],
            write,
        ),
        resource(
            Resource::index(TABLE, GSI),
            BillingMode::Provisioned,
            (100, 100),
            &[CALM, CALM],
            gsi_write,
        ),
    ]
}

fn run(observed: &Observed, memory: &Memory) -> Admission {
    let policy = policy();
    let decision = decide(observed, &policy, memory);
    let mut admission = admit(decision.actions, observed, &policy, memory);
    admission.held.extend(decision.held);
    admission
}

fn raises(admission: &Admission) -> Vec<(String, u32, u32)> {
    admission
        .admitted
        .iter()
        .filter_map(|a| match a {
            Action::RaiseCapacity(c) => Some((c.key.to_string(), c.from, c.to)),
            _ => None,
        })
        .collect()
}

/// A change the controller made at `at`, taking effect at `settled_at`.
fn change(
    key: CapacityKey,
    at: Timestamp,
    to: u32,
    direction: Direction,
    settled_at: Option<Timestamp>,
) -> ChangeRecord {
    ChangeRecord {
        key,
        at,
        from: 1,
        to,
        direction,
        settled_at,
    }
}

fn key(resource: Resource, dimension: Dimension) -> CapacityKey {
    CapacityKey {
        resource,
        dimension,
    }
}

/// idIndex on demand, its writes (and, if asked, its reads) throttling for two minutes.
fn hot_on_demand_id_index(reads_too: bool) -> ResourceObs {
    let hot = Minute {
        consumed: 800.0,
        throttles: 900.0,
    };
    let reads: &[Minute] = if reads_too { &[hot, hot] } else { &[CALM] };
    resource(
        Resource::table("idIndex.test.boss"),
        BillingMode::PayPerRequest,
        (0, 0),
        reads,
        &[hot, hot],
    )
}

#[test]
fn throttled_table_write_is_raised_by_the_step_to_cover_demand() {
    let hot = THROTTLED;
    let o = observed(tileindex(&[CALM, hot], &[CALM, CALM]));
    let a = run(&o, &Memory::default());
    // demand = 100 served + 6000 events / 60 s = 200/s, forty times the calm minute before
    // (5/s): a jump out of calm, which may show only the start of a step, is projected to 3×
    // (600) and sized with the headroom (1.5): 900, in one step. The GSI took 5 of the table's
    // 100 units (5 %): 600 × 5 % × 1.5 fits its 100.
    assert_eq!(raises(&a), vec![(format!("{TABLE} write"), 100, 900)]);
    // From a busy minute (100/s) the same 200/s is no jump, and one rising minute is no ramp:
    // demand × headroom = 300.
    let busy = Minute {
        consumed: 100.0,
        throttles: 0.0,
    };
    let o = observed(tileindex(&[busy, hot], &[CALM, CALM]));
    let a = run(&o, &Memory::default());
    assert_eq!(raises(&a), vec![(format!("{TABLE} write"), 100, 300)]);
}

#[test]
fn read_and_write_are_judged_apart() {
    let hot = Minute {
        consumed: 100.0,
        throttles: 600.0,
    };
    let mut resources = tileindex(&[hot, hot], &[CALM, CALM]);
    resources[0].read = dim(Some(100), &[hot, hot]);
    let a = run(&observed(resources), &Memory::default());
    let subjects: Vec<String> = raises(&a).into_iter().map(|r| r.0).collect();
    assert_eq!(
        subjects,
        vec![format!("{TABLE} read"), format!("{TABLE} write")]
    );
}

#[test]
fn throttling_gsi_is_raised_and_its_table_is_raised_for_the_writes_it_turned_away() {
    let limited = Minute {
        consumed: 100.0,
        throttles: 0.0,
    };
    let gsi_throttled = Minute {
        consumed: 100.0,
        throttles: 3000.0,
    };
    let o = observed(tileindex(
        &[limited, limited],
        &[gsi_throttled, gsi_throttled],
    ));
    let a = run(&o, &Memory::default());
    let r = raises(&a);
    assert!(
        r.contains(&(format!("{TABLE}/index/{GSI} write"), 100, 225)),
        "{r:?}"
    );
    // The table served all it was offered (100 %), and the GSI turned away 50/s more.
    assert!(
        r.iter()
            .any(|(s, from, to)| s == &format!("{TABLE} write") && *from == 100 && *to >= 225),
        "{r:?}"
    );
}

#[test]
fn raise_stops_at_the_ceiling_and_escalates_there() {
    let hot = Minute {
        consumed: 900.0,
        throttles: 60_000.0,
    };
    let mut resources = tileindex(&[hot, hot], &[CALM, CALM]);
    resources[0].write.provisioned = Some(900);
    let a = run(&observed(resources.clone()), &Memory::default());
    assert_eq!(raises(&a), vec![(format!("{TABLE} write"), 900, 1000)]);

    let ceiling = |a: &Admission| {
        a.admitted
            .iter()
            .any(|x| matches!(x, Action::Escalate(e) if e.cause == EscalationCause::CeilingReached))
    };
    // Demand (1,900/s) × 1.5 is above the ceiling: told at once, not after reaching it.
    assert!(ceiling(&a), "{:?}", a.admitted);

    resources[0].write.provisioned = Some(1000);
    let a = run(&observed(resources), &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        a.admitted.iter().any(
            |x| matches!(x, Action::Escalate(e) if e.cause == EscalationCause::CeilingReached)
        )
    );
}

#[test]
fn raise_is_held_during_cooldown() {
    let o = observed(tileindex(&[THROTTLED, THROTTLED], &[CALM, CALM]));
    let mut memory = Memory::default();
    // Changed 100 s ago and settled before the evidence minute began: the evidence is news,
    // but the cooldown (2 min) has not passed.
    memory.changes.push(change(
        key(Resource::table(TABLE), Dimension::Write),
        o.at.minus(Duration::from_secs(100)),
        100,
        Direction::Raise,
        Some(MINUTE),
    ));
    let a = run(&o, &memory);
    assert!(raises(&a).is_empty());
    assert!(
        a.held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::Cooldown { .. })),
        "{:?}",
        a.held
    );
}

#[test]
fn a_minute_from_before_the_last_change_is_not_acted_on_twice() {
    // The minute shows 200/s of demand throttled on the old 100 units; the raise it called for
    // (to 300 = 200 × 1.5) has since taken effect. Targets are sized from demand, not stepped
    // from today's capacity, so the same minute asks for nothing more.
    let mut resources = tileindex(&[THROTTLED, THROTTLED], &[CALM, CALM]);
    resources[0].write.provisioned = Some(300);
    let o = observed(resources);
    let mut memory = Memory::default();
    let mut raised = change(
        key(Resource::table(TABLE), Dimension::Write),
        o.at.minus(Duration::from_secs(600)),
        300,
        Direction::Raise,
        Some(MINUTE.plus(Duration::from_secs(30))),
    );
    raised.from = 100;
    memory.changes.push(raised);
    let a = run(&o, &memory);
    assert!(raises(&a).is_empty(), "{:?}", a.admitted);
    assert!(
        a.held.is_empty(),
        "fitting is a verdict, not a hold: {:?}",
        a.held
    );
}

#[test]
fn stale_evidence_is_held_not_acted_on() {
    let hot = THROTTLED;
    let mut o = observed(tileindex(&[hot, hot], &[CALM, CALM]));
    o.at = MINUTE.plus(Duration::from_secs(60 + 301));
    let a = run(&o, &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        a.held.iter().any(|h| matches!(
            h.reason,
            HoldReason::StaleData {
                age_s: 301,
                limit_s: 300
            }
        )),
        "{:?}",
        a.held
    );
}

#[test]
fn missing_metrics_are_held() {
    let mut resources = tileindex(&[CALM], &[CALM]);
    resources[0].write.consumed = Series::default();
    let a = run(&observed(resources), &Memory::default());
    assert!(a.admitted.is_empty());
    let held = a
        .held
        .iter()
        .find(|h| h.subject == format!("{TABLE} write"))
        .map(|h| h.reason.clone());
    assert!(
        matches!(held, Some(HoldReason::MissingData { .. })),
        "{held:?}"
    );
}

#[test]
fn on_demand_throttling_escalates_and_changes_no_capacity() {
    let id = hot_on_demand_id_index(false);
    let a = run(&observed(vec![id]), &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        matches!(capacity_only(&a).as_slice(), [Action::Escalate(e)] if e.cause == EscalationCause::OnDemandThrottling)
    );
    assert_eq!(notices(&a), 1, "and one notice to people: {:?}", a.admitted);
}

#[test]
fn hot_partition_is_escalated_after_two_minutes_and_never_raised() {
    // 1,000 WCU served on a 3,000 WCU table while throttling: one key is hot.
    let hot = Minute {
        consumed: 1000.0,
        throttles: 6000.0,
    };
    let mut resources = tileindex(&[CALM, hot], &[CALM, CALM]);
    resources[0].write.provisioned = Some(3000);
    let a = run(&observed(resources.clone()), &Memory::default());
    assert!(
        a.admitted.is_empty(),
        "one minute is not yet proof: {:?}",
        a.admitted
    );

    resources[0].write = dim(Some(3000), &[hot, hot]);
    let a = run(&observed(resources), &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        matches!(capacity_only(&a).as_slice(), [Action::Escalate(e)] if e.cause == EscalationCause::HotPartition)
    );
}

#[test]
fn escalations_are_not_repeated_within_the_interval() {
    let id = hot_on_demand_id_index(false);
    let o = observed(vec![id]);
    let mut memory = Memory::default();
    let first = run(&o, &memory);
    for action in &first.admitted {
        memory.record(action, o.at, &[]);
    }
    let again = run(&o, &memory);
    assert!(again.admitted.is_empty());
    assert!(
        again
            .held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::AlreadyEscalated { .. }))
    );
}

#[test]
fn table_being_updated_is_held() {
    let hot = THROTTLED;
    let mut resources = tileindex(&[hot, hot], &[CALM, CALM]);
    resources[0].status = TableStatus::Updating;
    let a = run(&observed(resources), &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        a.held
            .iter()
            .any(|h| matches!(&h.reason, HoldReason::TableBusy { status } if status == "UPDATING"))
    );
}

#[test]
fn raises_are_trimmed_to_the_budget_then_held() {
    let policy = policy();
    let hot = Minute {
        consumed: 30_000.0,
        throttles: 600_000.0,
    };
    let mut resources = tileindex(&[CALM, CALM], &[CALM, CALM]);
    resources[0].read = dim(Some(20_000), &[hot, hot]);
    // 40,000 RCU would cost (40,000 - 10) x 0.00013 = USD 5.2/h; allow only USD 3/h.
    let mut tight = policy.clone();
    tight.guardrails.max_extra_cost_usd_per_hour = 3.0;
    let o = observed(resources.clone());
    let d = decide(&o, &tight, &Memory::default());
    let a = admit(d.actions, &o, &tight, &Memory::default());
    let to = raises(&a).first().map(|r| r.2);
    // Already spent: (20,000 - 10) RCU + 2 x 90 WCU + 90 RCU on the GSI.
    assert!(matches!(to, Some(t) if t > 20_000 && t < 40_000), "{to:?}");

    tight.guardrails.max_extra_cost_usd_per_hour = 1.0;
    let d = decide(&o, &tight, &Memory::default());
    let a = admit(d.actions, &o, &tight, &Memory::default());
    assert!(raises(&a).is_empty());
    assert!(
        a.held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::BudgetExhausted { .. }))
    );
}

#[test]
fn hourly_action_limit_holds_further_changes() {
    let o = observed(tileindex(&[THROTTLED, THROTTLED], &[CALM, CALM]));
    let mut memory = Memory::default();
    for i in 0..10 {
        let k = key(Resource::table("other.test.boss"), Dimension::Read);
        memory.changes.push(change(
            k,
            o.at.minus(Duration::from_secs(3000 - i)),
            2,
            Direction::Raise,
            None,
        ));
    }
    let a = run(&o, &memory);
    assert!(raises(&a).is_empty());
    assert!(
        a.held
            .iter()
            .any(|h| h.reason == HoldReason::ActionLimit { per_hour: 10 })
    );
}

#[test]
fn capacity_is_lowered_after_a_quiet_window_and_the_aws_decrease_limit_is_respected() {
    let quiet: Vec<Minute> = vec![
        Minute {
            consumed: 60.0,
            throttles: 0.0
        };
        40
    ];
    let mut resources = tileindex(&quiet, &vec![CALM; 40]);
    resources[0].write.provisioned = Some(1000);
    let o = observed(resources);
    let a = run(&o, &Memory::default());
    let lowered: Vec<_> = a
        .admitted
        .iter()
        .filter_map(|x| match x {
            Action::LowerCapacity(c) => Some((c.key.to_string(), c.to, c.cause)),
            _ => None,
        })
        .collect();
    assert!(
        lowered.contains(&(format!("{TABLE} write"), 100, ChangeCause::LowUtilisation)),
        "{lowered:?}"
    );

    let mut memory = Memory::default();
    let k = key(Resource::table(TABLE), Dimension::Write);
    for minutes_ago in [300, 240, 180, 50] {
        let at = o.at.minus(Duration::from_secs(minutes_ago * 60));
        memory.changes.push(change(
            k.clone(),
            at,
            1000,
            Direction::Lower,
            Some(at.plus(Duration::from_secs(60))),
        ));
    }
    // Four decreases today and one 50 minutes ago: AWS would refuse a fifth within the hour,
    // and the rule does not propose it.
    let a = run(&o, &memory);
    let table_write = format!("{TABLE} write");
    let lowers_write = |a: &Admission| {
        a.admitted
            .iter()
            .any(|x| matches!(x, Action::LowerCapacity(_)) && x.subject() == table_write)
    };
    assert!(!lowers_write(&a), "{:?}", a.admitted);
    // An hour after the fourth, AWS allows one more.
    if let Some(c) = memory.changes.last_mut() {
        c.at = o.at.minus(Duration::from_secs(3600));
    }
    assert!(lowers_write(&run(&o, &memory)));
    // Three today: the last free one is the reserve, kept for a cut of more than half.
    memory.changes.remove(0);
    assert!(lowers_write(&run(&o, &memory)), "1000 → 100 saves 90 %");
    let mut small = o.clone();
    small.resources[0].write.provisioned = Some(180);
    assert!(!lowers_write(&run(&small, &memory)), "180 → 100 saves 44 %");
}

#[test]
fn throttling_right_after_a_quiet_window_is_not_lowered() {
    let mut minutes = vec![
        Minute {
            consumed: 60.0,
            throttles: 0.0
        };
        40
    ];
    minutes[30].throttles = 50.0;
    let mut resources = tileindex(&minutes, &vec![CALM; 40]);
    resources[0].write.provisioned = Some(1000);
    let a = run(&observed(resources), &Memory::default());
    let table_write = format!("{TABLE} write");
    assert!(
        !a.admitted.iter().any(|x| x.subject() == table_write),
        "{:?}",
        a.admitted
    );
}

#[test]
fn a_decrease_waits_while_the_same_table_raises_another_dimension() {
    // Write throttles; reads have been quiet for the whole window at 1,000 RCU.
    let mut write = vec![
        Minute {
            consumed: 60.0,
            throttles: 0.0
        };
        39
    ];
    write.push(Minute {
        consumed: 100.0,
        throttles: 6000.0,
    });
    let mut resources = tileindex(&write, &vec![CALM; 40]);
    resources[0].read = dim(
        Some(1000),
        &vec![
            Minute {
                consumed: 60.0,
                throttles: 0.0
            };
            40
        ],
    );
    let a = run(&observed(resources), &Memory::default());
    assert!(raises(&a).iter().any(|r| r.0 == format!("{TABLE} write")));
    // A refused decrease would sink the whole UpdateTable: the table's plan lowers nothing in
    // a tick it raises.
    assert!(
        !a.admitted
            .iter()
            .any(|x| matches!(x, Action::LowerCapacity(_))),
        "{:?}",
        a.admitted
    );
}

#[test]
fn one_escalation_per_resource_and_cause_in_a_tick() {
    let id = hot_on_demand_id_index(true);
    let a = run(&observed(vec![id]), &Memory::default());
    assert_eq!(capacity_only(&a).len(), 1, "{:?}", a.admitted);
    assert_eq!(notices(&a), 1, "{:?}", a.admitted);
    assert!(
        a.held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::AlreadyEscalated { .. }))
    );
}

#[test]
fn raises_still_in_progress_count_against_the_spend_cap() {
    let mut resources = tileindex(&[THROTTLED, THROTTLED], &[CALM, CALM]);
    let id_index = "idIndex.test.boss";
    resources.push(resource(
        Resource::table(id_index),
        BillingMode::Provisioned,
        (100, 100),
        &[CALM, CALM],
        &[CALM, CALM],
    ));
    let o = observed(resources);
    let mut memory = Memory::default();
    // idIndex's read was just raised to 310,000 RCU (USD 40.3/h) and is still UPDATING.
    memory.changes.push(change(
        key(Resource::table(id_index), Dimension::Read),
        o.at.minus(Duration::from_secs(10)),
        310_000,
        Direction::Raise,
        None,
    ));
    let a = run(&o, &memory);
    assert!(raises(&a).is_empty(), "{:?}", a.admitted);
    assert!(
        a.held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::BudgetExhausted { .. })),
        "{:?}",
        a.held
    );
}

/// Admitted actions other than notices to people (escalations are also told as notices).
fn capacity_only(a: &Admission) -> Vec<Action> {
    a.admitted
        .iter()
        .filter(|x| !matches!(x, Action::Notify(_)))
        .cloned()
        .collect()
}

fn notices(a: &Admission) -> usize {
    a.admitted
        .iter()
        .filter(|x| matches!(x, Action::Notify(_)))
        .count()
}

#[test]
fn a_remembered_change_ahead_of_the_clock_is_held_as_clock_skew_not_a_silent_verdict() {
    let o = observed(tileindex(&[THROTTLED, THROTTLED], &[CALM, CALM]));
    let mut memory = Memory::default();
    // Written by a host whose clock is a minute ahead of this one.
    let ahead = o.at.plus(Duration::from_secs(60));
    memory.changes.push(change(
        key(Resource::table(TABLE), Dimension::Write),
        ahead,
        100,
        Direction::Raise,
        Some(ahead),
    ));
    let a = run(&o, &memory);
    assert!(
        !a.admitted
            .iter()
            .any(|x| matches!(x, Action::RaiseCapacity(c) if c.key.resource.index.is_none() && c.key.dimension == Dimension::Write)),
        "{:?}",
        a.admitted
    );
    assert!(
        a.held.iter().any(|h| matches!(
            &h.reason,
            HoldReason::ClockSkew { recorded, .. } if *recorded == ahead
        )),
        "{:?}",
        a.held
    );
}

//! Evidence vetted before any rule sees it: readings no AWS service can produce are set aside
//! and held, never acted on (value in, value out: `vet`, then `decide` and `admit`).

use remediator::decide::decide;
use remediator::domain::action::Action;
use remediator::domain::hold::HoldReason;
use remediator::domain::observed::{
    DimensionObs, FunctionObs, Observed, Point, ResourceObs, Series,
};
use remediator::domain::resource::{BillingMode, Resource, TableStatus};
use remediator::guard::admit;
use remediator::memory::Memory;
use remediator::policy::Policy;
use remediator::time::Timestamp;
use remediator::vet::vet;
use std::path::Path;
use std::time::Duration;

const TABLE: &str = "tileindex.test.boss";
const GSI: &str = "task_id_index";
const MINUTE: Timestamp = Timestamp(1_767_622_200);
const FUNCTION: &str = "tileIngestLambda-test-boss";

fn policy() -> Policy {
    let text = r#"
[stack]
domain = "test.boss"
[controller]
interval = "30s"
[guardrails]
max_actions_per_hour = 10
[signals.sns]
topic_arn = "arn:aws:sns:us-east-1:123456789012:test-boss-alerts"
[tables.tileindex]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = 40000 }
raise = { throttle_events_per_minute = 10, utilisation = 0.9 }
[tables.idIndex]
read = { floor = 10, ceiling = 40000 }
write = { floor = 10, ceiling = 40000 }
raise = { throttle_events_per_minute = 10 }
[drift]
functions = ["tileIngestLambda"]
"#;
    Policy::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// Three minutes of (consumed units/s, throttle events), the newest last.
fn dim(provisioned: Option<u32>, minutes: &[(f64, f64)]) -> DimensionObs {
    let point = |i: usize, value: f64| Point {
        start: Timestamp(MINUTE.0 - (minutes.len() - 1 - i) as u64 * 60),
        value,
    };
    DimensionObs {
        provisioned,
        autoscaling: None,
        consumed: Series {
            points: minutes
                .iter()
                .enumerate()
                .map(|(i, m)| point(i, m.0))
                .collect(),
        },
        throttle_events: Series {
            points: minutes
                .iter()
                .enumerate()
                .filter(|(_, m)| m.1 != 0.0)
                .map(|(i, m)| point(i, m.1))
                .collect(),
        },
    }
}

const CALM: [(f64, f64); 3] = [(5.0, 0.0), (5.0, 0.0), (5.0, 0.0)];

fn observed(
    billing: BillingMode,
    table_write: &[(f64, f64)],
    gsi_write: &[(f64, f64)],
) -> Observed {
    let p = (billing == BillingMode::Provisioned).then_some(10);
    let name = if billing == BillingMode::Provisioned {
        TABLE.to_string()
    } else {
        "idIndex.test.boss".to_string()
    };
    let mut resources = vec![ResourceObs {
        resource: Resource::table(&name),
        billing,
        status: TableStatus::Active,
        read: dim(p, &CALM),
        write: dim(p, table_write),
    }];
    if billing == BillingMode::Provisioned {
        resources.push(ResourceObs {
            resource: Resource::index(&name, GSI),
            billing,
            status: TableStatus::Active,
            read: dim(p, &CALM),
            write: dim(p, gsi_write),
        });
    }
    Observed {
        resources,
        ..Observed::empty(
            MINUTE.plus(Duration::from_secs(150)),
            Duration::from_secs(60),
        )
    }
}

/// vet → decide → admit, as a tick does; the admitted actions and every hold.
fn run(observed: Observed) -> (Observed, Vec<Action>, Vec<HoldReason>) {
    let policy = policy();
    let memory = Memory::default();
    let observed = vet(observed, &memory);
    let decision = decide(&observed, &policy, &memory);
    let admission = admit(decision.actions, &observed, &policy, &memory);
    let held = decision
        .held
        .into_iter()
        .chain(admission.held)
        .map(|h| h.reason)
        .collect();
    (observed, admission.admitted, held)
}

fn implausible(held: &[HoldReason]) -> Vec<(String, f64)> {
    held.iter()
        .filter_map(|h| match h {
            HoldReason::Implausible { signal, value, .. } => Some((signal.clone(), *value)),
            _ => None,
        })
        .collect()
}

fn changes(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::RaiseCapacity(_) | Action::LowerCapacity(_) | Action::Escalate(_)
            )
        })
        .count()
}

fn alerts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(n.key.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn consumed_of_1e300_raises_nothing_and_is_held_with_its_value() {
    let (observed, actions, held) = run(observed(
        BillingMode::Provisioned,
        &[(5.0, 0.0), (5.0, 0.0), (1e300, 0.0)],
        &CALM,
    ));
    assert_eq!(changes(&actions), 0, "{actions:?}");
    assert_eq!(
        implausible(&held),
        [("ConsumedWriteCapacityUnits".to_string(), 1e300)]
    );
    assert_eq!(observed.implausible.len(), 1);
    assert_eq!(observed.implausible[0].subject, format!("{TABLE} write"));
    assert_eq!(alerts(&actions).len(), 1, "one notice: {actions:?}");
    assert!(alerts(&actions)[0].starts_with(&format!("alert/implausible/{TABLE} write@")));
}

#[test]
fn infinite_throttle_events_raise_neither_the_table_nor_its_gsi() {
    let (_, actions, held) = run(observed(
        BillingMode::Provisioned,
        &[(10.0, 0.0), (10.0, 0.0), (10.0, f64::INFINITY)],
        &[(10.0, 0.0), (10.0, 0.0), (10.0, f64::INFINITY)],
    ));
    assert_eq!(changes(&actions), 0, "{actions:?}");
    assert_eq!(implausible(&held).len(), 2);
}

#[test]
fn nan_and_negative_readings_are_implausible_not_steady() {
    for bad in [f64::NAN, -1.0, -1e300] {
        let (_, actions, held) = run(observed(
            BillingMode::Provisioned,
            &[(5.0, 0.0), (bad, 0.0), (5.0, 0.0)],
            &CALM,
        ));
        assert_eq!(changes(&actions), 0, "{bad}: {actions:?}");
        assert_eq!(implausible(&held).len(), 1, "{bad}: {held:?}");
    }
}

#[test]
fn negative_consumed_on_an_on_demand_table_sends_no_hot_partition_alert() {
    let (_, actions, held) = run(observed(
        BillingMode::PayPerRequest,
        &[(-1e300, 300.0), (-1e300, 300.0), (-1e300, 300.0)],
        &CALM,
    ));
    assert_eq!(changes(&actions), 0, "{actions:?}");
    assert!(
        alerts(&actions)
            .iter()
            .all(|k| k.starts_with("alert/implausible/"))
    );
    assert_eq!(implausible(&held).len(), 1);
}

#[test]
fn consumed_beyond_burst_credit_is_implausible_but_burst_itself_is_not() {
    // 10 provisioned: a minute can serve at most 60 s + 300 s of credit, 60 units/s.
    let (_, actions, held) = run(observed(
        BillingMode::Provisioned,
        &[(5.0, 0.0), (5.0, 0.0), (59.0, 0.0)],
        &CALM,
    ));
    assert!(implausible(&held).is_empty(), "{held:?}");
    assert!(
        changes(&actions) > 0,
        "a burst at 590% is a reason to raise"
    );
    let (_, actions, held) = run(observed(
        BillingMode::Provisioned,
        &[(5.0, 0.0), (5.0, 0.0), (10_000.0, 0.0)],
        &CALM,
    ));
    assert_eq!(changes(&actions), 0, "{actions:?}");
    assert_eq!(implausible(&held).len(), 1);
}

fn function(duration_ms: f64, invocations: f64) -> FunctionObs {
    let points = |value: f64| Series {
        points: (0..40)
            .map(|i| Point {
                start: Timestamp(MINUTE.0 - (39 - i) * 60),
                value,
            })
            .collect(),
    };
    FunctionObs {
        name: FUNCTION.to_string(),
        timeout: Some(Duration::from_secs(510)),
        reserved_concurrency: None,
        reservation_read: true,
        concurrency_limit: Some(1000),
        duration_ms: points(duration_ms),
        invocations: points(invocations),
        errors: Series::default(),
        throttles: Series::default(),
        concurrent: Series::default(),
    }
}

#[test]
fn a_duration_of_1e300_ms_pauses_nobody() {
    let mut o = observed(BillingMode::Provisioned, &CALM, &CALM);
    o.functions = vec![function(1e300, 60.0)];
    let (observed, actions, held) = run(o);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Pause(_))),
        "{actions:?}"
    );
    assert!(observed.functions.is_empty(), "the function is set aside");
    assert_eq!(implausible(&held), [("Duration".to_string(), 1e300)]);
}

#[test]
fn durations_past_the_timeout_and_invocations_past_the_quota_are_implausible() {
    for f in [function(600_000.0, 60.0), function(1000.0, 1e12)] {
        let mut o = observed(BillingMode::Provisioned, &CALM, &CALM);
        o.functions = vec![f];
        let (_, _, held) = run(o);
        assert_eq!(implausible(&held).len(), 1, "{held:?}");
    }
    let mut o = observed(BillingMode::Provisioned, &CALM, &CALM);
    o.functions = vec![function(400_000.0, 600.0)];
    let (observed, _, held) = run(o);
    assert!(
        implausible(&held).is_empty(),
        "within the 510 s timeout: {held:?}"
    );
    assert_eq!(observed.functions.len(), 1);
}

#[test]
fn ordinary_readings_pass_unchanged() {
    let o = observed(
        BillingMode::Provisioned,
        &[(10.0, 100.0), (10.0, 120.0), (10.0, 120.0)],
        &CALM,
    );
    let vetted = vet(o.clone(), &Memory::default());
    assert_eq!(vetted, o);
}

#[test]
fn a_datapoint_for_a_minute_not_yet_begun_is_implausible() {
    let mut o = observed(BillingMode::Provisioned, &CALM, &CALM);
    o.resources[0].write.throttle_events.points.push(Point {
        start: Timestamp(u64::MAX / 2),
        value: 600.0,
    });
    let (_, actions, held) = run(o);
    assert_eq!(changes(&actions), 0, "{actions:?}");
    assert_eq!(
        implausible(&held),
        [("WriteThrottleEvents".to_string(), 600.0)]
    );
}

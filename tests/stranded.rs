//! The stranded-queue rule and the re-drive guardrails, value in, value out.

use remediator::decide::decide;
use remediator::domain::action::Action;
use remediator::domain::hold::HoldReason;
use remediator::domain::observed::{IngestJob, Observed, QueueDepth};
use remediator::domain::redrive::{Claim, End, RedriveOrigin};
use remediator::guard::admit;
use remediator::memory::Memory;
use remediator::policy::Policy;
use remediator::time::Timestamp;
use std::path::Path;
use std::time::Duration;

const T0: Timestamp = Timestamp(1_767_622_200);

fn policy() -> Policy {
    let text = r#"
[stack]
domain = "test.boss"
[controller]
interval = "30s"
[redrive]
enabled = true
rate = 10
max_rate = 50
stranded_after = "15m"
"#;
    Policy::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn depth(name: &str, visible: u64, in_flight: u64) -> QueueDepth {
    QueueDepth {
        name: name.to_string(),
        url: format!("https://sqs.us-east-1.amazonaws.com/1/{name}"),
        visible,
        in_flight,
        delayed: 0,
        visibility_timeout: None,
    }
}

/// Job 42 with `visible` ingest messages; upload and tile-index queues as given (None: gone).
fn job(visible: u64, upload: Option<u64>, index: Option<u64>) -> IngestJob {
    IngestJob {
        job: "42".into(),
        ingest: depth("test-boss-ingest-42", visible, 0),
        upload: upload.map(|n| depth("test-boss-upload-42", n, 0)),
        index: index.map(|n| depth("test-boss-42-index", n, 0)),
        index_dlq: None,
    }
}

/// Jobs observed at `at`, with the ingest lambda's (empty) metrics read: no errors.
fn observed(at: Timestamp, jobs: Vec<IngestJob>) -> Observed {
    Observed {
        jobs,
        functions: vec![ingest_function(0.0, at)],
        ..Observed::empty(at, Duration::from_secs(60))
    }
}

/// tileIngestLambda with `errors` in the minute two minutes before `at`.
fn ingest_function(errors: f64, at: Timestamp) -> remediator::domain::observed::FunctionObs {
    use remediator::domain::observed::{Point, Series};
    remediator::domain::observed::FunctionObs {
        name: "tileIngestLambda-test-boss".into(),
        timeout: None,
        reserved_concurrency: None,
        reservation_read: false,
        concurrency_limit: None,
        duration_ms: Series::default(),
        invocations: Series::default(),
        errors: Series {
            points: vec![Point {
                start: at.minute_floor().minus(Duration::from_secs(120)),
                value: errors,
            }],
        },
        throttles: Series::default(),
        concurrent: Series::default(),
    }
}

/// Observes `jobs` at each minute offset in turn, remembering as the controller does; returns
/// the actions of the last tick.
fn ticks(policy: &Policy, memory: &mut Memory, minutes: &[u64], jobs: &[IngestJob]) -> Vec<Action> {
    let mut actions = Vec::new();
    for m in minutes {
        let obs = observed(T0.plus(Duration::from_secs(m * 60)), jobs.to_vec());
        actions = decide(&obs, policy, memory).actions;
        memory.watch_queues(&obs);
    }
    actions
}

fn redrives(actions: &[Action]) -> Vec<&remediator::domain::redrive::RedriveOrder> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Redrive(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn a_queue_that_has_not_fallen_for_the_policy_time_with_uploads_finished_is_re_driven() {
    let policy = policy();
    let mut memory = Memory::default();
    let stuck = [job(120, None, Some(0))];
    assert!(redrives(&ticks(&policy, &mut memory, &[0, 5, 10], &stuck)).is_empty());
    let actions = ticks(&policy, &mut memory, &[15], &stuck);
    let orders = redrives(&actions);
    assert_eq!(orders.len(), 1);
    let order = orders[0];
    assert_eq!(order.target.queue, "test-boss-ingest-42");
    assert_eq!(order.target.job, "42");
    assert_eq!(order.target.function, "tileIngestLambda-test-boss");
    assert_eq!(order.settings.rate_per_s, 10.0);
    assert_eq!(order.visible, 120);
    assert_eq!(
        order.origin,
        RedriveOrigin::Stranded {
            not_fallen_since: T0
        }
    );
}

#[test]
fn a_job_still_uploading_or_indexing_is_left_alone() {
    let policy = policy();
    for busy in [job(120, Some(3), Some(0)), job(120, None, Some(7))] {
        let mut memory = Memory::default();
        let actions = ticks(&policy, &mut memory, &[0, 20, 40], &[busy]);
        assert!(redrives(&actions).is_empty());
    }
}

#[test]
fn a_falling_queue_is_not_stranded() {
    let policy = policy();
    let mut memory = Memory::default();
    let mut actions = Vec::new();
    for (m, visible) in [(0, 120), (10, 100), (20, 80), (30, 79)] {
        actions = ticks(&policy, &mut memory, &[m], &[job(visible, None, None)]);
    }
    assert!(redrives(&actions).is_empty(), "it fell a minute ago");
}

#[test]
fn an_empty_queue_or_a_disabled_rule_orders_nothing() {
    let mut memory = Memory::default();
    assert!(
        redrives(&ticks(
            &policy(),
            &mut memory,
            &[0, 30],
            &[job(0, None, None)]
        ))
        .is_empty()
    );
    let mut off = policy();
    off.redrive.enabled = false;
    let mut memory = Memory::default();
    assert!(redrives(&ticks(&off, &mut memory, &[0, 30], &[job(50, None, None)])).is_empty());
}

fn stranded_order(policy: &Policy) -> Action {
    let mut memory = Memory::default();
    let actions = ticks(policy, &mut memory, &[0, 15], &[job(120, None, None)]);
    actions
        .into_iter()
        .find(|a| matches!(a, Action::Redrive(_)))
        .unwrap_or_else(|| panic!("no re-drive ordered"))
}

fn held(action: Action, memory: &Memory, minutes: u64) -> Option<HoldReason> {
    let obs = observed(T0.plus(Duration::from_secs(minutes * 60)), vec![]);
    let admission = admit(vec![action], &obs, &policy(), memory);
    admission.held.into_iter().next().map(|h| h.reason)
}

#[test]
fn one_re_drive_per_queue_at_a_time() {
    let order = stranded_order(&policy());
    let mut memory = Memory::default();
    assert_eq!(held(order.clone(), &memory, 15), None);
    memory.record(&order, T0.plus(Duration::from_secs(900)), &[]);
    assert!(matches!(
        held(order.clone(), &memory, 16),
        Some(HoldReason::RedriveRunning { .. })
    ));
    memory.record_redrive_end(
        "test-boss-ingest-42",
        T0.plus(Duration::from_secs(1200)),
        &End::Drained,
    );
    assert_eq!(
        held(order, &memory, 21),
        None,
        "a drained queue may be re-driven again"
    );
}

#[test]
fn after_giving_up_the_rule_waits_for_a_person_but_an_operator_may_retry() {
    let order = stranded_order(&policy());
    let mut memory = Memory::default();
    memory.record(&order, T0, &[]);
    let gave_up = End::NoProgress {
        stalled_s: 600,
        function_errors: Some(12.0),
    };
    memory.record_redrive_end(
        "test-boss-ingest-42",
        T0.plus(Duration::from_secs(600)),
        &gave_up,
    );
    assert!(matches!(
        held(order.clone(), &memory, 20),
        Some(HoldReason::RedriveGaveUp { .. })
    ));
    // After the escalation interval (30 minutes by default) the rule may try again.
    assert_eq!(held(order.clone(), &memory, 41), None);
    let Action::Redrive(mut manual) = order else {
        unreachable!()
    };
    manual.origin = RedriveOrigin::Manual;
    assert_eq!(held(Action::Redrive(manual), &memory, 20), None);
}

#[test]
fn a_rate_above_the_policy_maximum_is_refused() {
    let Action::Redrive(mut order) = stranded_order(&policy()) else {
        unreachable!()
    };
    order.settings.rate_per_s = 51.0;
    let reason = held(Action::Redrive(order.clone()), &Memory::default(), 15);
    assert_eq!(
        reason,
        Some(HoldReason::RateAboveMaximum {
            rate_per_s: 51.0,
            running_per_s: 0.0,
            max_rate_per_s: 50.0
        })
    );
    order.settings.rate_per_s = 50.0;
    assert_eq!(held(Action::Redrive(order), &Memory::default(), 15), None);
}

#[test]
fn the_maximum_bounds_all_running_re_drives_together() {
    let Action::Redrive(order) = stranded_order(&policy()) else {
        unreachable!()
    };
    let mut other = order.clone();
    other.target.queue = "test-boss-ingest-43".into();
    other.settings.rate_per_s = 45.0;
    let mut memory = Memory::default();
    memory.record(&Action::Redrive(other), T0, &[]);
    assert_eq!(
        held(Action::Redrive(order.clone()), &memory, 15),
        Some(HoldReason::RateAboveMaximum {
            rate_per_s: 10.0,
            running_per_s: 45.0,
            max_rate_per_s: 50.0
        })
    );
    // Two stranded queues in one tick: the second waits if both together are too fast.
    let mut second = order.clone();
    second.target.queue = "test-boss-ingest-44".into();
    second.settings.rate_per_s = 45.0;
    let obs = observed(T0.plus(Duration::from_secs(900)), vec![]);
    let admission = admit(
        vec![Action::Redrive(order), Action::Redrive(second)],
        &obs,
        &policy(),
        &Memory::default(),
    );
    assert_eq!(admission.admitted.len(), 1);
    assert_eq!(admission.held.len(), 1);
}

#[test]
fn another_claimants_re_drive_spends_the_same_budget_until_its_claim_lapses() {
    let Action::Redrive(order) = stranded_order(&policy()) else {
        unreachable!()
    };
    let at = T0.plus(Duration::from_secs(900));
    let claim = |queue: &str, expires: Timestamp| Claim {
        queue: queue.into(),
        owner: "operator alice (bastion:42)".into(),
        since: T0,
        expires,
        rate_per_s: 45.0,
    };
    let mut memory = Memory {
        claims: vec![claim(
            "test-boss-ingest-43",
            at.plus(Duration::from_secs(30)),
        )],
        ..Memory::default()
    };
    assert_eq!(
        held(Action::Redrive(order.clone()), &memory, 15),
        Some(HoldReason::RateAboveMaximum {
            rate_per_s: 10.0,
            running_per_s: 45.0,
            max_rate_per_s: 50.0
        })
    );
    // A claim that lapsed (its claimant died) spends nothing.
    memory.claims = vec![claim("test-boss-ingest-43", at)];
    assert_eq!(held(Action::Redrive(order.clone()), &memory, 15), None);
    // A claim on a re-drive the memory already counts is not counted twice.
    let mut mine = order.clone();
    mine.target.queue = "test-boss-ingest-43".into();
    mine.settings.rate_per_s = 30.0;
    memory.record(&Action::Redrive(mine), T0, &[]);
    memory.claims = vec![claim(
        "test-boss-ingest-43",
        at.plus(Duration::from_secs(30)),
    )];
    assert_eq!(held(Action::Redrive(order), &memory, 15), None);
}

#[test]
fn a_restarted_controller_marks_remembered_re_drives_interrupted() {
    let order = stranded_order(&policy());
    let mut memory = Memory::default();
    memory.record(&order, T0, &[]);
    memory.interrupt_orphaned_redrives(T0.plus(Duration::from_secs(60)));
    let last = memory
        .last_redrive("test-boss-ingest-42")
        .and_then(|r| r.end.clone())
        .unwrap_or_else(|| panic!("not ended"));
    assert_eq!(last.label, "interrupted");
    assert!(!last.gave_up);
    assert_eq!(held(order, &memory, 2), None);
}

#[test]
fn a_gap_in_the_readings_restarts_the_stranded_clock() {
    let policy = policy();
    let mut memory = Memory::default();
    let stuck = [job(120, None, Some(0))];
    ticks(&policy, &mut memory, &[0, 5], &stuck);
    // Minutes 6 to 14: ListQueues fails; the watch is kept but marked unread.
    let mut failed = observed(T0.plus(Duration::from_secs(600)), vec![]);
    failed
        .unobserved
        .push(remediator::domain::observed::Unobserved {
            subject: "test-boss-ingest-*".into(),
            reason: remediator::domain::port_error::PortError::Transient {
                service: "SQS",
                operation: "ListQueues",
                message: "connection refused".into(),
            }
            .into(),
        });
    memory.watch_queues(&failed);
    assert!(
        memory
            .queue_watch("test-boss-ingest-42")
            .is_some_and(|w| w.unread)
    );
    // Readings are back at minute 15: not stranded yet (the clock restarted), at 30 it is.
    assert!(redrives(&ticks(&policy, &mut memory, &[15, 20], &stuck)).is_empty());
    assert_eq!(
        redrives(&ticks(&policy, &mut memory, &[35], &stuck)).len(),
        1
    );
}

#[test]
fn a_stranded_queue_is_not_re_driven_into_an_erroring_lambda() {
    let policy = policy();
    let mut memory = Memory::default();
    let stuck = [job(120, None, Some(0))];
    ticks(&policy, &mut memory, &[0, 5, 10], &stuck);
    let at = T0.plus(Duration::from_secs(15 * 60));
    let function = |n: f64| ingest_function(n, at);
    let mut obs = observed(at, stuck.to_vec());
    obs.functions = vec![function(4.0)];
    let decision = decide(&obs, &policy, &memory);
    assert!(redrives(&decision.actions).is_empty());
    assert!(
        decision.held.iter().any(|h| matches!(
            &h.reason,
            HoldReason::FunctionFailing { function, errors } if function == "tileIngestLambda-test-boss" && *errors == 4.0
        )),
        "{:?}",
        decision.held
    );
    // No errors in the recent minutes: re-driven.
    obs.functions = vec![function(0.0)];
    assert_eq!(redrives(&decide(&obs, &policy, &memory).actions).len(), 1);
    // Its metrics unread: held, not re-driven blind.
    obs.functions.clear();
    let decision = decide(&obs, &policy, &memory);
    assert!(redrives(&decision.actions).is_empty());
    assert!(
        decision
            .held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::MissingData { .. })),
        "{:?}",
        decision.held
    );
}

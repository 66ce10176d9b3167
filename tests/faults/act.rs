//! The act step: a change or a notice whose call fails.

use crate::sim::{Sim, TABLE, TWIN, is_applied, outcome, policy, write_of};
use remediator::act::Outcome;
use remediator::domain::action::Action;
use remediator::domain::hold::{Held, HoldReason};
use remediator::domain::notice::Channel;
use remediator::faults::{Call, Fault, Op, Rule};
use remediator::policy::Policy;
use remediator::reconcile::{Done, TickReport};
use remediator::sim::Scenario;
use remediator::time::Timestamp;
use std::time::Duration;

#[tokio::test]
async fn an_update_table_failing_transiently_is_not_remembered_and_is_retried_next_tick() {
    let mut sim = Sim::new();
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
    let mut sim = Sim::new();
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

/// The flow-control changes of this tick: (to, applied) per LimitFlow or RestoreFlow.
fn flow_changes(report: &TickReport) -> Vec<(Option<u32>, bool)> {
    let flow = |d: &Done| match &d.action {
        Action::LimitFlow(c) | Action::RestoreFlow(c) => {
            Some((c.to, matches!(d.outcome, Outcome::Applied { .. })))
        }
        _ => None,
    };
    report.actions.iter().filter_map(flow).collect()
}

#[tokio::test]
async fn a_flow_limit_whose_call_fails_is_tried_again_until_it_is_set_and_put_back() {
    // The local policy with flow control on tileIngestLambda's reserved concurrency (none at
    // the start): 600 while the performers are paused (a limit the ingest lambdas recover
    // under, so they are resumed 15 minutes later), the reservation removed on resume.
    let text = std::fs::read_to_string("policies/local.toml").unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen(
        "enabled = false\nlever = \"event-source-mapping\"",
        "enabled = true\nlever = \"reserved-concurrency\"",
        1,
    );
    let text = text.replacen("max_concurrency = 2\n", "max_concurrency = 600\n", 1);
    assert!(text.contains("lever = \"reserved-concurrency\"\nmax_concurrency = 600\n"));
    let scenario = Scenario::load("too-much-activity").unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::with(&scenario, policy(&text));
    let function = sim.policy.domain.function("tileIngestLambda");
    let faults = sim.faults().clone();
    faults.add(Rule::new(Op::PutFunctionConcurrency, Fault::Transient).first(1));
    faults.add(Rule::new(Op::DeleteFunctionConcurrency, Fault::Throttled).first(2));
    let reserved = |sim: &Sim| sim.cloud.inner().world().lambdas.reserved(&function).ok();
    let mut changes: Vec<(u64, Option<u32>, bool)> = Vec::new();
    let mut limited = None;
    let started = sim.at();
    while !changes
        .iter()
        .any(|(_, to, applied)| to.is_none() && *applied)
    {
        assert!(
            sim.at().since(started) < Duration::from_secs(3 * 3600),
            "{changes:?}"
        );
        let report = sim.tick().await;
        sim.advance();
        let tick = report.at.since(started).as_secs() / 30;
        for (to, applied) in flow_changes(&report) {
            changes.push((tick, to, applied));
        }
        if limited.is_none()
            && changes
                .iter()
                .any(|(_, to, applied)| to.is_some() && *applied)
        {
            limited = reserved(&sim);
        }
    }
    // Each change tried every tick until it went through: no tick skipped, none repeated.
    let ticks: Vec<(u64, Option<u32>, bool)> = changes
        .iter()
        .map(|(t, to, applied)| (t - changes[0].0, *to, *applied))
        .collect();
    let put_back = ticks
        .iter()
        .position(|(_, to, _)| to.is_none())
        .unwrap_or(0);
    let resumed_at = ticks[put_back].0;
    assert_eq!(
        ticks,
        [
            (0, Some(600), false),
            (1, Some(600), true),
            (resumed_at, None, false),
            (resumed_at + 1, None, false),
            (resumed_at + 2, None, true),
        ]
    );
    assert_eq!(limited, Some(Some(600)), "the reservation while paused");
    assert_eq!(
        reserved(&sim),
        Some(None),
        "the reservation after the resume"
    );
    assert_eq!(faults.calls_on(Op::PutFunctionConcurrency, &function), 2);
    assert_eq!(faults.calls_on(Op::DeleteFunctionConcurrency, &function), 3);
}

#[tokio::test]
async fn an_escalation_alert_whose_publish_fails_is_owed_and_goes_out_on_a_later_tick() {
    // TileIndex may not go above 100 WCU while 200 are asked of it: at the ceiling and still
    // throttling, the controller escalates and alerts on SNS; the first Publish is throttled.
    let text = crate::sim::POLICY.replacen(
        "write = { floor = 10, ceiling = 40000 }",
        "write = { floor = 10, ceiling = 100 }",
        1,
    );
    let scenario = Scenario::parse(std::path::Path::new("faults.toml"), crate::sim::SCENARIO)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::with(&scenario, crate::sim::policy(&text));
    sim.faults().add(
        Rule::new(Op::Publish, Fault::Throttled)
            .on_prefix("[remediator] ALERT capacity")
            .first(1),
    );
    let mut sent: Vec<(String, bool)> = Vec::new();
    for _ in 0..40 {
        let report = sim.tick().await;
        sim.advance();
        sent.extend(
            sns_deliveries(&report)
                .into_iter()
                .filter(|(key, _)| key.starts_with("alert/capacity/")),
        );
        if sent.iter().any(|(_, delivered)| *delivered) {
            break;
        }
    }
    assert!(sent.len() >= 2, "{sent:?}");
    assert!(!sent[0].1, "the first Publish was throttled: {sent:?}");
    assert!(sent[1].1, "owed and delivered on the next tick: {sent:?}");
    assert_eq!(
        sent[0].0, sent[1].0,
        "the same notice, not a new one: {sent:?}"
    );
}

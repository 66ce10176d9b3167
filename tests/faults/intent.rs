//! Write-ahead intents read back after a process stopped mid-act: a change that took effect is
//! recorded at the intent's time and not made again; one that did not is decided afresh.

use crate::sim::{Sim, TABLE, is_applied, outcome, write_of};
use remediator::domain::action::Action;
use remediator::faults::Op;
use remediator::memory::Intent;
use remediator::reconcile::TickReport;

/// The tick that first raised TileIndex, and the raise itself.
async fn first_raise(sim: &mut Sim) -> (TickReport, Action) {
    let report = sim.until_change_of(TABLE).await;
    assert!(is_applied(outcome(&report, TABLE)), "{:?}", report.actions);
    let raise = report
        .actions
        .iter()
        .map(|d| d.action.clone())
        .find(|a| matches!(a, Action::RaiseCapacity(c) if c.key == write_of(TABLE)))
        .expect("the raise");
    (report, raise)
}

fn intent_verdicts(report: &TickReport) -> Vec<String> {
    report
        .verdicts
        .iter()
        .filter(|v| v.rule == "intent")
        .map(|v| v.finding.clone())
        .collect()
}

#[tokio::test]
async fn a_change_that_took_effect_is_recorded_at_the_intent_and_not_made_again() {
    let mut sim = Sim::new();
    let (report, raise) = first_raise(&mut sim).await;
    let raised_to = sim.provisioned_write(TABLE);
    // The process died after UpdateTable and before recording it: only the intent is left.
    sim.memory.changes.retain(|c| c.key != write_of(TABLE));
    sim.memory.intents = vec![Intent {
        at: report.at,
        actions: vec![raise],
    }];
    let calls = sim.faults().calls_on(Op::UpdateTable, TABLE);
    let next = sim.tick().await;
    assert_eq!(intent_verdicts(&next).len(), 1, "{:?}", next.verdicts);
    assert!(intent_verdicts(&next)[0].contains("took effect"));
    let change = sim.memory.last_change(&write_of(TABLE)).expect("recorded");
    assert_eq!(change.at, report.at, "recorded when it was made");
    assert_eq!(Some(change.to), raised_to);
    assert!(sim.memory.intents.is_empty());
    assert_eq!(
        sim.faults().calls_on(Op::UpdateTable, TABLE),
        calls,
        "not made again"
    );
}

#[tokio::test]
async fn a_change_that_did_not_take_effect_is_decided_afresh() {
    let mut done = Sim::new();
    let (report, raise) = first_raise(&mut done).await;
    // The same world, where the process died before its UpdateTable reached DynamoDB.
    let mut sim = Sim::new();
    while sim.at() < report.at {
        sim.advance();
    }
    assert_eq!(sim.at(), report.at);
    assert_eq!(sim.provisioned_write(TABLE), Some(10));
    sim.memory.intents = vec![Intent {
        at: report.at,
        actions: vec![raise],
    }];
    let next = sim.tick().await;
    assert!(
        intent_verdicts(&next)[0].contains("decided afresh"),
        "{:?}",
        next.verdicts
    );
    assert!(
        is_applied(outcome(&next, TABLE)),
        "raised now: {:?}",
        next.actions
    );
    assert!(sim.memory.intents.is_empty());
}

//! The observe step: reads that fail or answer late.

use crate::sim::{Sim, TABLE, TWIN, is_applied, outcome};
use remediator::faults::{Fault, Op, Rule};
use std::time::Duration;

#[tokio::test]
async fn a_metrics_fetch_that_fails_leaves_the_tables_unobserved_and_unchanged() {
    let mut sim = Sim::new();
    sim.faults()
        .add(Rule::new(Op::GetMetricData, Fault::Transient));
    // Ten minutes; with their metrics both tables are raised two minutes in.
    for _ in 0..20 {
        let report = sim.tick().await;
        sim.advance();
        for table in [TABLE, TWIN] {
            let unobserved = report.observed.unobserved.iter();
            assert!(
                unobserved.clone().any(|u| u.subject == table),
                "{unobserved:?}"
            );
            assert!(
                report.held.iter().any(|h| h.subject == table),
                "{:?}",
                report.held
            );
            assert!(outcome(&report, table).is_none(), "{:?}", report.actions);
        }
    }
    assert!(sim.faults().calls(Op::GetMetricData) >= 20);
    assert_eq!(sim.faults().calls(Op::UpdateTable), 0);
    assert_eq!(sim.provisioned_write(TABLE), Some(10));
    assert_eq!(sim.provisioned_write(TWIN), Some(10));
    // CloudWatch answers again: the first tick raises.
    sim.faults().clear();
    let report = sim.tick().await;
    assert!(is_applied(outcome(&report, TABLE)), "{:?}", report.actions);
    assert!(is_applied(outcome(&report, TWIN)), "{:?}", report.actions);
}

#[tokio::test]
async fn a_table_that_cannot_be_described_is_unobserved_and_the_other_is_still_raised() {
    let mut sim = Sim::new();
    sim.faults()
        .add(Rule::new(Op::DescribeTable, Fault::NotFound).on(TABLE));
    let report = sim.until_change_of(TWIN).await;
    assert!(is_applied(outcome(&report, TWIN)), "{:?}", report.actions);
    assert!(outcome(&report, TABLE).is_none(), "{:?}", report.actions);
    let unobserved: Vec<_> = report
        .observed
        .unobserved
        .iter()
        .map(|u| &u.subject)
        .collect();
    assert_eq!(unobserved, [TABLE]);
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TABLE), 0);
    assert_eq!(sim.provisioned_write(TABLE), Some(10));
}

#[tokio::test(start_paused = true)]
async fn slow_describe_tables_slow_the_tick_in_virtual_time_and_their_answers_are_used() {
    let mut sim = Sim::new();
    let delay = Duration::from_secs(5);
    sim.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Delay(delay)));
    let started = tokio::time::Instant::now();
    let report = sim.tick().await;
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    let observed: Vec<_> = report
        .observed
        .resources
        .iter()
        .map(|r| r.resource.table.as_str())
        .collect();
    assert_eq!(observed, [TWIN, TABLE]);
    assert!(
        report.observed.unobserved.is_empty(),
        "{:?}",
        report.observed.unobserved
    );
    sim.advance();
    let report = sim.until_change_of(TABLE).await;
    assert!(is_applied(outcome(&report, TABLE)), "{:?}", report.actions);
}

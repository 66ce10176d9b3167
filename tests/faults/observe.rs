//! The observe step: reads that fail or answer late.

use crate::sim::{Sim, TABLE, TWIN, is_applied, outcome};
use remediator::faults::{Fault, Op, Rule};
use remediator::time::Clock;
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

#[tokio::test(start_paused = true)]
async fn a_hung_describe_is_abandoned_at_the_deadline_and_the_other_table_is_still_raised() {
    use crate::sim::{journal, ports};
    use remediator::controller::{Controller, Mode};
    use remediator::domain::observed::Unread;
    use remediator::domain::port_error::PortError;
    use remediator::state::FileState;
    let sim = Sim::new();
    sim.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Hang).on(TABLE));
    let mut controller = Controller::<_, _, _, _, _, FileState>::start(
        ports(&sim.cloud),
        &sim.policy,
        None,
        journal(),
        Mode::Enforce,
        Clock::System,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut raised = false;
    for _ in 0..10 {
        let started = tokio::time::Instant::now();
        let report = controller
            .tick(sim.at())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sim.advance();
        // A 30 s interval gives observation 20 s; the hung call costs exactly that.
        assert_eq!(started.elapsed(), Duration::from_secs(20));
        let hung = report
            .observed
            .unobserved
            .iter()
            .find(|u| u.subject == TABLE)
            .unwrap_or_else(|| panic!("{:?}", report.observed.unobserved));
        assert!(
            matches!(
                hung.reason,
                Unread::Call(PortError::TimedOut {
                    operation: "DescribeTable",
                    ..
                })
            ),
            "{:?}",
            hung.reason
        );
        assert!(
            outcome(&report, TABLE).is_none(),
            "acted on a table it could not see"
        );
        raised |= is_applied(outcome(&report, TWIN));
    }
    assert!(raised, "the table that answered was never raised");
    assert_eq!(sim.provisioned_write(TABLE), Some(10));
}

//! The controller and its loop: failing calls, and a state store that fails.

use crate::sim::{Sim, TABLE, TWIN, journal, ports, state_dir, write_of};
use remediator::controller::{Controller, ControllerError, Mode};
use remediator::faults::{Fault, Faulty, Op, Rule};
use remediator::journal::Journal;
use remediator::state::{FileState, StateError, StateStore};
use remediator::time::Clock;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn the_loop_ticks_on_every_interval_through_failing_calls() {
    let sim = Sim::new();
    sim.faults()
        .add(Rule::new(Op::GetMetricData, Fault::Transient));
    sim.faults()
        .add(Rule::new(Op::DescribeTable, Fault::Throttled).on(TABLE));
    let mut controller = Controller::start(
        ports(&sim.cloud),
        &sim.policy,
        None::<FileState>,
        journal(),
        Mode::Enforce,
        // The loop's timestamps advance with the paused clock, from the world's time.
        Clock::following_tokio(sim.at()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let interval = sim.policy.controller.interval;
    // Ticks at 0, 30, 60 and 90 s; stopped at 100 s.
    let stop = tokio::time::sleep(interval * 3 + Duration::from_secs(10));
    controller.run(interval, stop).await;
    assert_eq!(sim.faults().calls_on(Op::DescribeTable, TABLE), 4);
    assert_eq!(sim.faults().calls_on(Op::DescribeTable, TWIN), 4);
    assert_eq!(sim.faults().calls(Op::UpdateTable), 0);
}

#[tokio::test]
async fn a_state_store_that_cannot_be_read_or_written_at_start_stops_the_controller_before_any_call()
 {
    for op in [Op::LoadState, Op::Lease] {
        let sim = Sim::new();
        let store = Faulty::new(FileState::new(state_dir("start").join("state.json")));
        store.faults().add(Rule::new(op, Fault::Permanent));
        let started = Controller::start(
            ports(&sim.cloud),
            &sim.policy,
            Some(store),
            journal(),
            Mode::Enforce,
            Clock::System,
        )
        .await;
        let expected = match &started {
            Err(ControllerError::State(StateError::Read { .. })) => op == Op::LoadState,
            Err(ControllerError::State(StateError::Write { .. })) => op == Op::Lease,
            _ => false,
        };
        assert!(expected, "{op:?}: {:?}", started.err());
        assert!(sim.faults().log().is_empty(), "{:?}", sim.faults().log());
    }
}

#[tokio::test]
async fn a_save_that_fails_holds_every_action_alerts_and_once_the_store_works_it_acts() {
    let sim = Sim::new();
    let path = state_dir("save").join("state.json");
    let journal_path = state_dir("save-journal").join("journal.jsonl");
    let store = Faulty::new(FileState::new(&path));
    let store_faults = store.faults().clone();
    let mut controller = Controller::start(
        ports(&sim.cloud),
        &sim.policy,
        Some(store),
        Journal::open(Some(&journal_path)).unwrap_or_else(|e| panic!("{e}")),
        Mode::Enforce,
        Clock::System,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    store_faults.add(Rule::new(Op::SaveState, Fault::Permanent));
    // Five minutes with a store that refuses every write (without the fault both tables are
    // raised two minutes in): every tick says so, and nothing is done that could not first be
    // written down. People are told.
    for _ in 0..10 {
        let ticked = controller.tick(sim.at()).await;
        sim.advance();
        assert!(
            matches!(
                ticked,
                Err(ControllerError::State(StateError::Write { .. }))
            ),
            "{:?}",
            ticked.err()
        );
    }
    assert_eq!(
        sim.faults().calls(Op::UpdateTable),
        0,
        "acted without memory"
    );
    for table in [TABLE, TWIN] {
        assert_eq!(sim.provisioned_write(table), Some(10), "{table} changed");
    }
    let alerts: Vec<String> = sim
        .faults()
        .log()
        .into_iter()
        .filter(|c| c.op == Op::Publish)
        .map(|c| c.subjects.join(" "))
        .collect();
    assert!(
        !alerts.is_empty() && alerts.iter().all(|s| s.contains("state-unwritable")),
        "{alerts:?}"
    );
    assert!(
        alerts.len() <= 2,
        "one alert per escalation interval: {alerts:?}"
    );
    // The journal tells why: every tick that would have raised holds it as state-unwritable.
    let journal = std::fs::read_to_string(&journal_path).unwrap_or_default();
    let unwritable = journal
        .lines()
        .filter(|l| l.contains(r#""hold":"state-unwritable""#) && l.contains("raise-capacity"))
        .count();
    assert!(
        unwritable >= 5,
        "{unwritable} ticks held as state-unwritable"
    );
    let stored = FileState::new(&path)
        .load()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stored.changes.is_empty(),
        "only the start's save reached the file"
    );
    // The disk is fixed: within five minutes both tables are raised and remembered.
    store_faults.clear();
    for _ in 0..10 {
        if let Err(e) = controller.tick(sim.at()).await {
            panic!("{e}");
        }
        sim.advance();
        if [TABLE, TWIN]
            .iter()
            .all(|t| sim.provisioned_write(t) > Some(10))
        {
            break;
        }
    }
    let stored = FileState::new(&path)
        .load()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for table in [TABLE, TWIN] {
        let now = sim.provisioned_write(table);
        assert!(now > Some(10), "{table} was never raised: {now:?}");
        let remembered = stored.last_change(&write_of(table)).map(|c| c.to);
        assert_eq!(remembered, now, "{table}: the stored memory lost a change");
    }
}

//! Replicas in-process over the simulated cloud, sharing one state store: only the lease
//! holder acts; one that stops renewing is replaced after the lease; the kill switch holds; a
//! dry run remembers what it would have done.

use crate::sim::{Sim, TABLE, TWIN, journal, ports, state_dir};
use remediator::controller::{Controller, Mode};
use remediator::domain::hold::HoldReason;
use remediator::faults::Op;
use remediator::reconcile::TickReport;
use remediator::state::{FileState, Halt, HaltMode, StateStore};
use remediator::time::{Clock, Timestamp};

type Replica<'a> = Controller<
    'a,
    crate::sim::FaultySim,
    crate::sim::FaultySim,
    crate::sim::FaultySim,
    crate::sim::FaultySim,
    crate::sim::FaultySim,
    FileState,
>;

async fn replica<'a>(sim: &'a Sim, name: &str, store: FileState, mode: Mode) -> Replica<'a> {
    Controller::start_as(
        name.to_string(),
        ports(&sim.cloud),
        &sim.policy,
        Some(store),
        journal(),
        mode,
        Clock::System,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn tick(r: &mut Replica<'_>, at: Timestamp) -> TickReport {
    r.tick(at).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn two_replicas_on_one_store_decide_alike_but_only_the_leader_acts() {
    let sim = Sim::new();
    let path = state_dir("replicas-one").join("state.json");
    let mut a = replica(&sim, "a", FileState::new(&path), Mode::Enforce).await;
    let mut b = replica(&sim, "b", FileState::new(&path), Mode::Enforce).await;
    assert!(a.lease().is_some() && b.lease().is_none(), "a bid first");
    let mut b_would = 0;
    for _ in 0..20 {
        tick(&mut a, sim.at()).await;
        // b ticks first on the next round too, so it sees the world before a acts on it.
        sim.advance();
        let report = tick(&mut b, sim.at()).await;
        b_would += report
            .actions
            .iter()
            .filter(|d| {
                d.action.kind() == "raise-capacity"
                    && matches!(d.outcome, remediator::act::Outcome::WouldApply)
            })
            .count();
    }
    assert_eq!(
        sim.faults().calls(Op::UpdateTable),
        2,
        "each table raised once"
    );
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TABLE), 1);
    assert!(
        b_would >= 2,
        "b decided the raises too ({b_would}), as a follower"
    );
}

#[tokio::test]
async fn a_leader_that_stops_renewing_is_replaced_after_its_lease_and_then_acts_on_nothing() {
    let sim = Sim::new();
    let path = state_dir("replicas-stall").join("state.json");
    let mut a = replica(&sim, "a", FileState::new(&path), Mode::Enforce).await;
    let mut b = replica(&sim, "b", FileState::new(&path), Mode::Enforce).await;
    // a ticks once, then stalls; b keeps ticking and takes over once a's lease (3 intervals,
    // 90 s) has run out.
    tick(&mut a, sim.at()).await;
    let lease = a.lease().cloned().unwrap_or_else(|| panic!("a leads"));
    let mut took_over = None;
    for _ in 0..10 {
        sim.advance();
        tick(&mut b, sim.at()).await;
        if b.lease().is_some() {
            took_over = Some(sim.at());
            break;
        }
    }
    let took_over = took_over.unwrap_or_else(|| panic!("b never took over"));
    assert!(
        took_over >= lease.expires,
        "took over at {took_over} before {lease}"
    );
    assert!(
        took_over.since(lease.expires).as_secs() <= 30,
        "one tick after the expiry"
    );
    assert_eq!(b.lease().map(|l| l.epoch), Some(lease.epoch + 1));
    // b raises the throttling tables; a wakes and acts on nothing, journalling as a follower.
    for _ in 0..8 {
        sim.advance();
        tick(&mut b, sim.at()).await;
    }
    let calls = sim.faults().calls(Op::UpdateTable);
    assert_eq!(calls, 2, "b raised both tables");
    let report = tick(&mut a, sim.at()).await;
    assert!(
        report
            .actions
            .iter()
            .all(|d| !matches!(d.outcome, remediator::act::Outcome::Applied { .. }))
    );
    assert!(a.lease().is_none());
    assert_eq!(sim.faults().calls(Op::UpdateTable), calls);
}

#[tokio::test]
async fn the_kill_switch_holds_raises_up_only_lets_them_through_and_resume_lifts_it() {
    let sim = Sim::new();
    let path = state_dir("replicas-halt").join("state.json");
    let store = FileState::new(&path);
    let mut a = replica(&sim, "a", FileState::new(&path), Mode::Enforce).await;
    let halt = |mode| Halt {
        mode,
        reason: "incident 42".into(),
        by: "ops".into(),
        at: sim.at(),
    };
    store
        .set_halt(Some(&halt(HaltMode::All)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut halted = 0;
    for _ in 0..8 {
        let report = tick(&mut a, sim.at()).await;
        halted += report
            .held
            .iter()
            .filter(|h| matches!(h.reason, HoldReason::Halted { .. }) && h.kind == "raise-capacity")
            .count();
        sim.advance();
    }
    assert!(halted >= 2, "raises held by the switch: {halted}");
    assert_eq!(sim.faults().calls(Op::UpdateTable), 0);
    // Up only: raises go.
    store
        .set_halt(Some(&halt(HaltMode::UpOnly)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        tick(&mut a, sim.at()).await;
        sim.advance();
    }
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TABLE), 1);
    assert_eq!(sim.faults().calls_on(Op::UpdateTable, TWIN), 1);
    store.set_halt(None).await.unwrap_or_else(|e| panic!("{e}"));
    let report = tick(&mut a, sim.at()).await;
    assert!(
        !report
            .held
            .iter()
            .any(|h| matches!(h.reason, HoldReason::Halted { .. }))
    );
}

#[tokio::test]
async fn a_dry_run_loop_shows_the_holds_a_real_run_would_meet() {
    let sim = Sim::new();
    let path = state_dir("replicas-dry").join("state.json");
    let mut dry = replica(&sim, "dry", FileState::new(&path), Mode::DryRun).await;
    let mut would = 0;
    let mut cooled = 0;
    for _ in 0..8 {
        let report = tick(&mut dry, sim.at()).await;
        would += report
            .actions
            .iter()
            .filter(|d| d.action.kind() == "raise-capacity")
            .count();
        cooled += report
            .held
            .iter()
            .filter(|h| matches!(h.reason, HoldReason::Cooldown { .. }))
            .count();
        sim.advance();
    }
    // Each table's raise proposed once, then held by the cooldown a real run would be in.
    assert_eq!(would, 2, "proposed once per table");
    assert!(cooled >= 2, "cooldown holds: {cooled}");
    assert_eq!(sim.faults().calls(Op::UpdateTable), 0);
    // Nothing written: the rehearsal is in memory only.
    let stored = FileState::new(&path)
        .read()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.memory.changes.is_empty());
}

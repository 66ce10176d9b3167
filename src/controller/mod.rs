//! The controller around the tick: memory from the state store, one journal record and one log
//! line per decision, and the loop that ticks every interval until asked to stop.

mod claims;
pub mod metrics;
mod replica;
mod tell;

pub use replica::Replica;
use replica::Standing;
use tell::log_report;
pub use tell::problems;

use crate::domain::decision::Decision;
use crate::domain::hold::HoldReason;
use crate::domain::notice::AlertCause;
use crate::journal::{EndedRecord, Journal, JournalError, Record};
use crate::memory::Intent;
use crate::memory::Memory;
use crate::observe::Deadline;
use crate::policy::Policy;
use crate::ports::{Functions, Metrics, Ports, Queues, Signals, Tables};
use crate::reconcile::{Prepared, Step, TickReport, carry_out, observe_budget, prepare};
use crate::redrive::Summary;
use crate::redrive::fleet::{Fleet, NoLauncher, Snapshot};
use crate::state::{StateError, StateStore};
use crate::time::{Clock, Timestamp};
use std::future::Future;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// How long re-drives get to end after SIGTERM (their Invoke calls in flight are abandoned after
/// it), so the process stops within seconds whatever its endpoints do.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How a tick's decisions are labelled in the journal and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    DryRun,
    Plan,
}

impl Mode {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
            Mode::Plan => "plan",
        }
    }
}

/// Runs ticks against the ports, remembering between them (and, with a store, between runs).
#[derive(Debug)]
pub struct Controller<'a, M, T, Q, F, N, S> {
    ports: Ports<'a, M, T, Q, F, N>,
    policy: &'a Policy,
    store: Option<S>,
    journal: Journal,
    mode: Mode,
    memory: Memory,
    /// Re-drives started by this controller; `None` where none may be started.
    fleet: Option<Fleet>,
    clock: Clock,
    /// This replica's lease and the memory version it read last (with a store).
    replica: Replica,
    /// The tick's time and the clock's reading when it began: a fence's time is the tick's
    /// plus what the clock says has passed since (a replica stalled mid-tick is late).
    tick_began: (Timestamp, Timestamp),
    /// Whether each tick's metrics are printed as EMF lines on stdout (`run` only).
    emf: bool,
    /// Invocations each running re-drive had made at the last tick, to count the new ones.
    invoked_seen: std::collections::HashMap<String, u64>,
}

impl<'a, M: Metrics, T: Tables, Q: Queues, F: Functions, N: Signals, S: StateStore>
    Controller<'a, M, T, Q, F, N, S>
{
    /// Loads the memory from the store, if there is one, and checks it like a policy: values
    /// no controller could have written, or times beyond the tolerated clock skew, stop the
    /// start (the store is named with each field) rather than crash-loop or act on them. In
    /// enforce mode the memory is written back at once, so a store that cannot be written is
    /// found before anything is done, not after.
    ///
    /// # Errors
    /// The state cannot be read, is damaged or holds untrustworthy values, or cannot be written.
    pub async fn start(
        ports: Ports<'a, M, T, Q, F, N>,
        policy: &'a Policy,
        store: Option<S>,
        journal: Journal,
        mode: Mode,
        clock: Clock,
    ) -> Result<Self, ControllerError> {
        Self::start_as(
            Replica::default_name(),
            ports,
            policy,
            store,
            journal,
            mode,
            clock,
        )
        .await
    }

    /// [`Self::start`] for the replica named `name` in the lease.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub async fn start_as(
        name: String,
        ports: Ports<'a, M, T, Q, F, N>,
        policy: &'a Policy,
        store: Option<S>,
        journal: Journal,
        mode: Mode,
        clock: Clock,
    ) -> Result<Self, ControllerError> {
        let now = clock.now();
        let mut replica = Replica::new(name, policy.controller.lease, mode == Mode::Enforce);
        let mut store = store;
        // A plan or a dry run reads the memory to honour cooldowns; without a state table yet
        // (`remediator init` creates it), or with one it cannot read, it plans from an empty
        // memory and says so.
        if mode != Mode::Enforce
            && let Some(s) = &store
            && let Err(e) = s.read().await
        {
            tracing::warn!("{e}; planning from an empty memory");
            store = None;
        }
        let memory = match &store {
            Some(store) => {
                let shared = store.read().await?;
                match crate::memory::validate::validate(&shared.memory, now) {
                    Ok(skews) => {
                        for skew in skews {
                            tracing::warn!(
                                "clock skew: {skew}; what it touches is held until this clock catches up"
                            );
                        }
                    }
                    Err(problems) => {
                        return Err(StateError::Invalid {
                            store: store.name(),
                            problems,
                        }
                        .into());
                    }
                }
                replica.version = shared.version;
                shared.memory
            }
            None => Memory::default(),
        };
        let mut controller = Self {
            ports,
            policy,
            store,
            journal,
            mode,
            memory,
            fleet: None,
            clock,
            replica,
            tick_began: (now, now),
            emf: false,
            invoked_seen: std::collections::HashMap::new(),
        };
        // An enforcing replica bids at once, so a store that cannot be written is found before
        // anything is done, not after.
        if mode == Mode::Enforce && controller.store.is_some() {
            controller.refresh(now).await?;
        }
        Ok(controller)
    }

    /// The lease this replica holds, if it leads.
    #[must_use]
    pub fn lease(&self) -> Option<&crate::state::Lease> {
        self.replica.lease.as_ref()
    }

    /// Prints each tick's metrics on stdout as CloudWatch Embedded Metric Format lines.
    #[must_use]
    pub fn with_metrics(mut self) -> Self {
        self.emf = true;
        self
    }

    /// Lets this controller start re-drives (the stranded-queue rule), run by `fleet`.
    #[must_use]
    pub fn with_fleet(mut self, fleet: Fleet) -> Self {
        self.fleet = Some(fleet);
        self
    }

    /// One tick at `at`: decide, write the intent, act (in enforce mode), log, journal, and
    /// save the memory. Plan and dry-run never write the state: nothing was done that a
    /// cooldown should cover.
    ///
    /// # Errors
    /// The journal file or the state file could not be written. The tick itself happened; in
    /// a loop the in-process memory still holds what was done.
    pub async fn tick(&mut self, at: Timestamp) -> Result<TickReport, ControllerError> {
        let started = self.clock.instant();
        self.tick_began = (at, self.clock.now());
        let standing = self.refresh(at).await;
        let ended = match &mut self.fleet {
            Some(fleet) => fleet.ended().await,
            None => Vec::new(),
        };
        self.note_ended(&ended);
        if let Some(store) = &self.store {
            let queues: Vec<String> = ended.iter().map(|s| s.target.queue.clone()).collect();
            claims::release(store, &queues, &self.replica.name).await;
        }
        let deadline = Deadline::after(observe_budget(self.policy.controller.interval));
        let mut prepared = prepare(&self.ports, self.policy, &mut self.memory, at, deadline).await;
        let halt = standing.as_ref().ok().and_then(|s| s.halt.as_ref());
        prepared.apply_halt(halt);
        // Without a store there is no lease to hold: `refresh` stands this controller as leader.
        let leads = standing.as_ref().is_ok_and(|s| s.leader);
        let mut step = match self.mode {
            Mode::Enforce if leads => Step::Act,
            _ => Step::Plan,
        };
        if let Err(e) = &standing
            && self.mode == Mode::Enforce
        {
            // Without the store this replica cannot know it leads, nor remember what it does:
            // everything is held, and people are told (the only thing still sent).
            self.hold_for_store(&mut prepared, e, at);
            step = Step::Act;
        } else if step == Step::Act
            && let Some(store) = &self.store
            && let Err(e) = claims::claim_redrives(
                store,
                &mut prepared,
                &self.replica.name,
                self.replica.lease_for,
            )
            .await
        {
            self.hold_for_store(&mut prepared, &e, at);
        } else if step == Step::Act
            && !prepared.admitted.is_empty()
            && let Err(e) = self.write_intent(&prepared).await
        {
            if e.lost_race() {
                tracing::warn!("{e}: another replica leads now; holding this tick's actions");
                let (owner, epoch) = self
                    .replica
                    .lease
                    .take()
                    .map_or((String::new(), 0), |l| (l.owner, l.epoch));
                prepared.hold_all(&HoldReason::LeaseLost { owner, epoch });
                step = Step::Plan;
            } else {
                self.hold_for_store(&mut prepared, &e, at);
            }
        }
        let report = match &mut self.fleet {
            Some(fleet) if step == Step::Act => {
                carry_out(&self.ports, fleet, &mut self.memory, prepared, step).await
            }
            _ => {
                carry_out(
                    &self.ports,
                    &mut NoLauncher,
                    &mut self.memory,
                    prepared,
                    step,
                )
                .await
            }
        };
        self.memory.intents.clear();
        if step == Step::Act
            && let (Some(store), Some(fleet)) = (&self.store, &self.fleet)
        {
            claims::renew(
                store,
                &fleet.snapshots(),
                &self.memory,
                &self.replica.name,
                at,
                self.replica.lease_for,
            )
            .await;
        }
        // Remember what was done before anything else can fail.
        let saved = if step == Step::Act && standing.is_ok() {
            self.save().await
        } else {
            Ok(())
        };
        let label = match self.mode {
            Mode::Enforce if !leads && standing.is_ok() => "follower",
            _ => self.mode.label(),
        };
        log_report(&report, self.mode);
        let running = self
            .fleet
            .as_ref()
            .map(Fleet::snapshots)
            .unwrap_or_default();
        let mut record = Record::new(&report, label).with_redrives(&running, &ended);
        if let Ok(s) = &standing {
            record = record.with_standing(s.holder.as_ref(), s.halt.as_ref());
        }
        let journal = self.journal.write(&record);
        if self.emf {
            let mut f = metrics::TickFigures::of(&report);
            f.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            f.lease_held = self.mode == Mode::Enforce && leads;
            f.halted = standing.as_ref().is_ok_and(|s| s.halt.is_some());
            f.paused = self.memory.pause.episode.is_some();
            f.redrives_running = running.len() as u64;
            f.redrive_invocations = self.invocations_since_last_tick(&running, &ended);
            f.errors += u64::from(standing.is_err())
                + u64::from(saved.is_err())
                + u64::from(journal.is_err());
            let policy = self.policy;
            metrics::print(&f.emf(&policy.controller.metrics_namespace, policy.domain.as_str()));
        }
        saved?;
        journal?;
        Ok(report)
    }

    /// Invocations the re-drives made since the last tick: the running ones' and those that
    /// ended in between, each counted from what it had made at the last tick.
    fn invocations_since_last_tick(&mut self, running: &[Snapshot], ended: &[Summary]) -> u64 {
        let mut new = 0;
        for s in ended {
            let seen = self.invoked_seen.remove(&s.target.queue).unwrap_or(0);
            new += s.progress.invoked.saturating_sub(seen);
        }
        for r in running {
            let seen = self
                .invoked_seen
                .insert(r.queue.clone(), r.progress.invoked);
            new += r.progress.invoked.saturating_sub(seen.unwrap_or(0));
        }
        new
    }

    /// Reads the store and bids for the lease; a replica that stops leading stops the
    /// re-drives it started (the new leader decides them afresh).
    async fn refresh(&mut self, at: Timestamp) -> Result<Standing, StateError> {
        let Some(store) = &self.store else {
            return Ok(Standing {
                leader: true,
                holder: None,
                halt: None,
                took_over: false,
            });
        };
        let was_leader = self.replica.lease.is_some();
        let standing = self.replica.refresh(store, &mut self.memory, at).await;
        match &standing {
            Ok(s) if s.took_over => {
                tracing::info!(
                    replica = %self.replica.name,
                    "leading: took the lease{}",
                    self.replica.lease.as_ref().map(|l| format!(" {l}")).unwrap_or_default()
                );
                // Re-drives recorded as running died with the process that ran them.
                self.memory.interrupt_orphaned_redrives(at);
            }
            Ok(s) if !s.leader && was_leader => {
                tracing::warn!(replica = %self.replica.name, "no longer leading: {}", s.holder.as_ref().map_or_else(|| "lease lost".to_string(), |h| format!("{h} holds the lease")));
            }
            Err(e) if was_leader => tracing::error!("{e}: cannot renew the lease; not acting"),
            _ => {}
        }
        let leads = standing.as_ref().is_ok_and(|s| s.leader);
        if was_leader
            && !leads
            && let Some(fleet) = &mut self.fleet
        {
            let ended = fleet.stop_all().await;
            for summary in &ended {
                tracing::warn!(queue = %summary.target.queue, "re-drive stopped: this replica no longer leads");
            }
        }
        standing
    }

    /// Holds every action because the store cannot be read or written, and alerts.
    fn hold_for_store(&self, prepared: &mut Prepared, e: &StateError, at: Timestamp) {
        tracing::error!("{e}: holding every action of this tick");
        prepared.hold_all(&HoldReason::StateUnwritable {
            error: e.to_string(),
        });
        let store = self.store.as_ref().map_or_else(String::new, S::name);
        let mut alert = Decision::default();
        crate::rules::alarms::alert(
            &mut alert,
            &self.memory,
            self.policy,
            AlertCause::StateUnwritable,
            &store,
            &e.to_string(),
            at,
        );
        prepared.admitted = alert.actions;
    }

    /// Writes the admitted actions to the store before the first call is made, fenced on the
    /// lease: a replica that lost it (stalled past its expiry, or replaced) writes nothing and
    /// so calls nothing.
    async fn write_intent(&mut self, prepared: &Prepared) -> Result<(), StateError> {
        if self.store.is_none() {
            return Ok(());
        }
        self.memory.intents = vec![Intent {
            at: prepared.at,
            actions: prepared.admitted.clone(),
        }];
        let saved = self.save().await;
        if saved.is_err() {
            self.memory.intents.clear();
        }
        saved
    }

    /// Ends the re-drives this controller started: waits for them when `wait` (a one-shot run
    /// lets what it started finish), else asks them to stop. Either way their ends are logged,
    /// journalled and remembered, and returned.
    ///
    /// # Errors
    /// The journal or state file could not be written.
    pub async fn finish_redrives(
        &mut self,
        wait: bool,
        shutdown: impl Future<Output = ()>,
    ) -> Result<Vec<Summary>, ControllerError> {
        let Some(fleet) = &mut self.fleet else {
            return Ok(Vec::new());
        };
        if fleet.running() == 0 {
            return Ok(Vec::new());
        }
        let ended = if wait {
            tracing::info!(
                "waiting for {} re-drive(s) to end; SIGINT or SIGTERM stops them",
                fleet.running()
            );
            let mut shutdown = std::pin::pin!(shutdown);
            let waited = tokio::select! {
                ended = fleet.wait_all() => Some(ended),
                () = &mut shutdown => None,
            };
            match waited {
                Some(ended) => ended,
                None => fleet.stop_all().await,
            }
        } else {
            fleet.stop_all().await
        };
        let at = self.clock.now();
        self.note_ended(&ended);
        if let Some(store) = &self.store {
            let queues: Vec<String> = ended.iter().map(|s| s.target.queue.clone()).collect();
            claims::release(store, &queues, &self.replica.name).await;
        }
        let saved = self.save().await;
        let journal = self.journal.write(&EndedRecord {
            at: at.to_string(),
            mode: self.mode.label(),
            redrives_ended: &ended,
        });
        saved?;
        journal?;
        Ok(ended)
    }

    /// Saves the memory on the version read, fenced on the lease held (enforce mode only).
    async fn save(&mut self) -> Result<(), StateError> {
        if self.mode != Mode::Enforce {
            return Ok(());
        }
        let Some(store) = &self.store else {
            return Ok(());
        };
        let (at, clock_then) = self.tick_began;
        let fence = self
            .replica
            .fence(at.plus(self.clock.now().since(clock_then)));
        let version = store
            .write(&self.memory, self.replica.version, fence.as_ref())
            .await?;
        self.replica.version = version;
        Ok(())
    }

    /// Gives the lease up, so a follower takes over at its next tick rather than after expiry.
    pub async fn release(&mut self) {
        if let (Some(store), Some(lease)) = (&self.store, self.replica.lease.take()) {
            match store.release(&lease).await {
                Ok(()) => tracing::info!("lease {lease} released"),
                Err(e) => tracing::warn!("{e}: the lease lapses at its expiry instead"),
            }
        }
    }

    /// Remembers and logs how re-drives ended; a re-drive that gave up is an escalation.
    fn note_ended(&mut self, ended: &[Summary]) {
        for summary in ended {
            let queue = &summary.target.queue;
            self.memory
                .record_redrive_end(queue, summary.ended, &summary.end);
            let p = &summary.progress;
            if summary.end.needs_person() {
                tracing::error!(%queue, end = summary.end.label(), "escalation: re-drive of {queue} {}; {} invoked, {} drained, {} remaining", summary.end, p.invoked, p.drained, p.remaining);
            } else {
                tracing::info!(%queue, end = summary.end.label(), "re-drive of {queue} ended: {}; {} invoked, {} drained, {} remaining", summary.end, p.invoked, p.drained, p.remaining);
            }
        }
    }

    /// Ticks every `interval` until `shutdown` completes. A signal abandons the tick in flight
    /// at once: the calls it had not made are not made, and a call already sent is read back
    /// from the world at the next start (its intent is in the store). Re-drives are asked to
    /// stop and given [`SHUTDOWN_GRACE`] to end.
    pub async fn run(&mut self, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            let stopped = tokio::select! {
                biased;
                () = &mut shutdown => true,
                result = self.tick(self.clock.now()) => {
                    if let Err(e) = result {
                        tracing::error!("{e}");
                    }
                    false
                }
            };
            if stopped {
                tracing::warn!(
                    "stopped in the middle of a tick: calls not yet made were abandoned; a change already sent is read back at the next start"
                );
                break;
            }
        }
        let finished = tokio::time::timeout(
            SHUTDOWN_GRACE,
            self.finish_redrives(false, std::future::pending()),
        )
        .await;
        self.release().await;
        match finished {
            Ok(Ok(_)) => tracing::info!("stopped"),
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(_) => tracing::warn!(
                "re-drives did not end within {}s; stopped without waiting for their Invoke calls",
                SHUTDOWN_GRACE.as_secs()
            ),
        }
    }
}

//! One tick of the reconcile loop: observe → decide → admit → act. `plan`, dry-run, `run` and
//! the simulator all drive this same function; only `Step` differs.

use crate::act::{Outcome, act};
use crate::decide::decide;
use crate::domain::action::Action;
use crate::domain::decision::Verdict;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::Observed;
use crate::guard::admit;
use crate::memory::Memory;
use crate::observe::{Deadline, observe_all};
use crate::policy::Policy;
/// The ports one tick needs; defined with the ports, and named here too by the tick's callers.
pub use crate::ports::Ports;
use crate::ports::{Functions, Metrics, Queues, Signals, Tables};
use crate::redrive::fleet::Launcher;
use crate::time::Timestamp;
use crate::vet::vet;
use serde::Serialize;
use std::time::Duration;

/// Whether this tick may change the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Carry out admitted actions.
    Act,
    /// Plan or dry-run: admitted actions are reported as `would-apply`.
    Plan,
}

/// An admitted action and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Done {
    pub action: Action,
    pub outcome: Outcome,
}

/// Everything one tick saw and did: the journal record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TickReport {
    pub at: Timestamp,
    pub observed: Observed,
    pub verdicts: Vec<Verdict>,
    pub actions: Vec<Done>,
    pub held: Vec<Held>,
}

/// A tick decided and admitted, not yet carried out: the controller writes the admitted actions
/// to its state store as an intent in between, and carries out nothing it could not write.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub at: Timestamp,
    pub observed: Observed,
    pub verdicts: Vec<Verdict>,
    pub admitted: Vec<Action>,
    pub held: Vec<Held>,
}

impl Prepared {
    /// Applies the kill switch, after every other guardrail.
    pub fn apply_halt(&mut self, halt: Option<&crate::halt::Halt>) {
        let admission = crate::guard::halt::apply(
            crate::guard::Admission {
                admitted: std::mem::take(&mut self.admitted),
                held: std::mem::take(&mut self.held),
            },
            halt,
        );
        self.admitted = admission.admitted;
        self.held = admission.held;
    }

    /// Holds every admitted action for `reason` (nothing is carried out).
    pub fn hold_all(&mut self, reason: &HoldReason) {
        let admitted = std::mem::take(&mut self.admitted);
        self.held.extend(
            admitted
                .into_iter()
                .map(|a| Held::action(a, reason.clone())),
        );
    }
}

/// How long a tick's observation may take: two thirds of the interval, so a tick whose calls
/// hang still ends (with what did not answer held as unobserved) before the next is due.
#[must_use]
pub fn observe_budget(interval: Duration) -> Duration {
    interval * 2 / 3
}

/// Runs one tick at `at` and updates `memory` with what was carried out.
pub async fn tick<M: Metrics, T: Tables, Q: Queues, F: Functions, N: Signals, L: Launcher>(
    ports: &Ports<'_, M, T, Q, F, N>,
    launcher: &mut L,
    policy: &Policy,
    memory: &mut Memory,
    at: Timestamp,
    step: Step,
) -> TickReport {
    let prepared = prepare(ports, policy, memory, at, Deadline::none()).await;
    carry_out(ports, launcher, memory, prepared, step).await
}

/// Observes (by `deadline`), vets the evidence, resolves intents left by a process that stopped
/// mid-act, decides and admits. Updates what memory learns from observing (settled changes,
/// queue watches, baselines), but records no action.
pub async fn prepare<M: Metrics, T: Tables, Q: Queues, F: Functions, N: Signals>(
    ports: &Ports<'_, M, T, Q, F, N>,
    policy: &Policy,
    memory: &mut Memory,
    at: Timestamp,
    deadline: Deadline,
) -> Prepared {
    memory.prune(at);
    let observed = observe_all(
        (ports.metrics, ports.tables, ports.queues, ports.functions),
        policy,
        at,
        deadline,
    )
    .await;
    let observed = vet(observed, memory);
    let mut verdicts = memory.resolve_intents(&observed);
    memory.note_settled(&observed);
    let decision = decide(&observed, policy, memory);
    // After deciding: the rule compares this tick's counts with the watch kept so far.
    memory.watch_queues(&observed);
    crate::watch::learn(&mut memory.pause, &observed, policy);
    crate::rules::capacity::learn(&mut memory.capacity, &memory.changes, &observed, policy);
    let admission = admit(decision.actions, &observed, policy, memory);
    verdicts.extend(decision.verdicts);
    let mut held = decision.held;
    held.extend(admission.held);
    Prepared {
        at,
        observed,
        verdicts,
        admitted: admission.admitted,
        held,
    }
}

/// Carries out (with `Step::Act`) what `prepare` admitted, and remembers what was done.
pub async fn carry_out<M: Metrics, T: Tables, Q: Queues, F: Functions, N: Signals, L: Launcher>(
    ports: &Ports<'_, M, T, Q, F, N>,
    launcher: &mut L,
    memory: &mut Memory,
    prepared: Prepared,
    step: Step,
) -> TickReport {
    let Prepared {
        at,
        observed,
        verdicts,
        admitted,
        held,
    } = prepared;
    let outcomes = match step {
        Step::Act => {
            act(
                (ports.tables, ports.functions, ports.signals),
                launcher,
                &admitted,
                &observed,
            )
            .await
        }
        Step::Plan => admitted.iter().map(|_| Outcome::WouldApply).collect(),
    };
    let mut actions = Vec::new();
    for (action, outcome) in admitted.into_iter().zip(outcomes) {
        match &outcome {
            Outcome::Applied { .. } | Outcome::Reported | Outcome::Recorded => {
                memory.record(&action, at, &[]);
            }
            Outcome::Sent { deliveries } => {
                let delivered: Vec<_> = deliveries
                    .iter()
                    .filter(|d| d.error.is_none())
                    .map(|d| d.channel)
                    .collect();
                memory.record(&action, at, &delivered);
            }
            Outcome::Failed {
                error,
                transient: false,
            } => memory.record_refusal(&action, at, &error.to_string()),
            // Dry-run and plan remember what they would have done, in memory only (never
            // saved), so the next tick's cooldowns, budgets and notices are the ones a real run
            // would meet: a rehearsal shows the same holds as the show.
            Outcome::WouldApply => {
                let channels = match &action {
                    Action::Notify(n) => n.channels.clone(),
                    _ => Vec::new(),
                };
                memory.record(&action, at, &channels);
            }
            Outcome::Failed { .. } => {}
        }
        actions.push(Done { action, outcome });
    }
    TickReport {
        at,
        observed,
        verdicts,
        actions,
        held,
    }
}

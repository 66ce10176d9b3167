//! One tick of the reconcile loop: observe → decide → admit → act. `plan`, dry-run, `run` and
//! the simulator all drive this same function; only `Step` differs.

use crate::act::{Outcome, act};
use crate::action::{Action, Held};
use crate::decide::{Verdict, decide};
use crate::guard::admit;
use crate::memory::Memory;
use crate::model::Observed;
use crate::observe::{observe, observe_ingest, observe_pause};
use crate::policy::Policy;
use crate::ports::{Functions, Metrics, Queues, Signals, Tables};
use crate::redrive::fleet::Launcher;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether this tick may change the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Carry out admitted actions.
    Act,
    /// Plan or dry-run: admitted actions are reported as `would-apply`.
    Plan,
}

/// An admitted action and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    pub action: Action,
    pub outcome: Outcome,
}

/// Everything one tick saw and did: the journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickReport {
    pub at: Timestamp,
    pub observed: Observed,
    pub verdicts: Vec<Verdict>,
    pub actions: Vec<Done>,
    pub held: Vec<Held>,
}

/// The capability ports one tick needs.
#[derive(Debug)]
pub struct Ports<'a, M, T, Q, F, N> {
    pub metrics: &'a M,
    pub tables: &'a T,
    pub queues: &'a Q,
    pub functions: &'a F,
    pub signals: &'a N,
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
    memory.prune(at);
    let mut observed = observe(ports.metrics, ports.tables, policy, at).await;
    observe_ingest(ports.queues, policy, &mut observed).await;
    observe_pause(
        ports.metrics,
        ports.queues,
        ports.functions,
        policy,
        &mut observed,
    )
    .await;
    memory.note_settled(&observed);
    let decision = decide(&observed, policy, memory);
    // After deciding: the rule compares this tick's counts with the watch kept so far.
    memory.watch_queues(&observed);
    crate::watch::learn(&mut memory.pause, &observed, policy);
    let admission = admit(decision.actions, &observed, policy, memory);
    let outcomes = match step {
        Step::Act => {
            act(
                (ports.tables, ports.functions, ports.signals),
                launcher,
                &admission.admitted,
                &observed,
            )
            .await
        }
        Step::Plan => admission
            .admitted
            .iter()
            .map(|_| Outcome::WouldApply)
            .collect(),
    };
    let mut actions = Vec::new();
    for (action, outcome) in admission.admitted.into_iter().zip(outcomes) {
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
            } => memory.record_refusal(&action, at, error),
            Outcome::Failed { .. } | Outcome::WouldApply => {}
        }
        actions.push(Done { action, outcome });
    }
    let mut held = decision.held;
    held.extend(admission.held);
    TickReport {
        at,
        observed,
        verdicts: decision.verdicts,
        actions,
        held,
    }
}

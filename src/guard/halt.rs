//! The kill switch (`remediator halt`): applied after every other guardrail, so the journal
//! shows each action that would have gone and that the switch held it. Telling people is never
//! held: a halted controller still escalates and notifies.

use super::Admission;
use crate::domain::action::Action;
use crate::domain::hold::{Held, HoldReason};
use crate::halt::{Halt, HaltMode};

/// Whether the switch lets `action` through.
#[must_use]
pub fn lets_through(mode: HaltMode, action: &Action) -> bool {
    match action {
        Action::Notify(_) | Action::Escalate(_) => true,
        // Up only: more capacity, re-drives, and undoing a pause (resume, restore the flow)
        // still go; nothing lowers capacity or flow, nothing pauses.
        Action::RaiseCapacity(_)
        | Action::Redrive(_)
        | Action::Resume(_)
        | Action::RestoreFlow(_) => mode == HaltMode::UpOnly,
        Action::LowerCapacity(_) | Action::Pause(_) | Action::LimitFlow(_) => false,
    }
}

/// Holds what the switch stops.
#[must_use]
pub fn apply(admission: Admission, halt: Option<&Halt>) -> Admission {
    let Some(halt) = halt else {
        return admission;
    };
    let Admission { admitted, mut held } = admission;
    let (through, stopped): (Vec<Action>, Vec<Action>) = admitted
        .into_iter()
        .partition(|a| lets_through(halt.mode, a));
    held.extend(stopped.into_iter().map(|action| Held {
        kind: action.kind().to_string(),
        subject: action.subject(),
        reason: HoldReason::Halted {
            mode: halt.mode,
            by: halt.by.clone(),
            since: halt.at,
            reason: halt.reason.clone(),
        },
        action: Some(action),
    }));
    Admission {
        admitted: through,
        held,
    }
}

//! Write-ahead intents: before the act step makes its first call, the admitted actions are
//! written to the state store. A process that stops mid-act (SIGTERM abandons calls in flight,
//! or a crash) leaves them there without an outcome; the next tick reads each against the world
//! before deciding anything. A change that took effect is recorded as made at the intent's time,
//! so the minutes before it are never taken for fresh evidence (no second raise, no false
//! hot-partition alarm); one that did not is dropped and decided afresh, never blindly repeated.

use super::Memory;
use crate::domain::action::Action;
use crate::domain::decision::Verdict;
use crate::domain::observed::Observed;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Actions admitted at `at`, about to be carried out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub at: Timestamp,
    pub actions: Vec<Action>,
}

/// Whether the world shows an intended action as done.
fn took_effect(action: &Action, observed: &Observed) -> Option<bool> {
    match action {
        Action::RaiseCapacity(c) | Action::LowerCapacity(c) => {
            let r = observed
                .resources
                .iter()
                .find(|r| r.resource == c.key.resource)?;
            let d = r.dimension(c.key.dimension);
            let described = d.provisioned == Some(c.to);
            let autoscaled = d.autoscaling.is_some_and(|a| a.min == c.to);
            Some(
                described
                    || autoscaled
                    || r.status == crate::domain::resource::TableStatus::Updating,
            )
        }
        Action::LimitFlow(f) | Action::RestoreFlow(f) => {
            Some(observed.flow_setting(&f.target)? == f.to)
        }
        // A re-drive died with its process; a pause, resume, notice or escalation is decided
        // again from the world (a notice may go out twice rather than never).
        Action::Redrive(_)
        | Action::Pause(_)
        | Action::Resume(_)
        | Action::Notify(_)
        | Action::Escalate(_) => Some(false),
    }
}

impl Memory {
    /// Resolves intents left without an outcome against this observation. An action whose
    /// subject was not observed this tick stays pending for the next. Each resolution is a
    /// verdict of the rule `intent` (the controller logs them at WARN).
    pub fn resolve_intents(&mut self, observed: &Observed) -> Vec<Verdict> {
        let mut verdicts = Vec::new();
        let mut pending = Vec::new();
        for intent in std::mem::take(&mut self.intents) {
            let mut left = Vec::new();
            for action in intent.actions {
                let finding = match took_effect(&action, observed) {
                    None => {
                        left.push(action);
                        continue;
                    }
                    Some(true) => {
                        self.record(&action, intent.at, &[]);
                        "took effect before the last process stopped: recorded as done then"
                    }
                    Some(false) => "found not done after the last process stopped: decided afresh",
                };
                verdicts.push(Verdict {
                    rule: "intent".into(),
                    subject: action.subject(),
                    finding: format!("{} intended at {}: {finding}", action.kind(), intent.at),
                });
            }
            if !left.is_empty() {
                pending.push(Intent {
                    at: intent.at,
                    actions: left,
                });
            }
        }
        self.intents = pending;
        verdicts
    }
}

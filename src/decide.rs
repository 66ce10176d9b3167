//! The pure decision step: observation + policy + memory in, proposed actions out.
//!
//! No IO and no clock: time is `Observed::at`. Each rule lives in `rules/` and adds to one
//! [`Decision`]; guardrails are applied afterwards by [`crate::guard::admit`].

use crate::action::{Action, Held};
use crate::memory::Memory;
use crate::model::Observed;
use crate::policy::Policy;
use crate::rules;
use serde::{Deserialize, Serialize};

/// One rule's finding on one subject, kept for the journal whether or not it led to an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub rule: String,
    pub subject: String,
    pub finding: String,
}

/// What the rules propose: actions for the guardrails, and what could not even be judged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    pub actions: Vec<Action>,
    /// Subjects a rule could not judge (missing data): held before guardrails.
    pub held: Vec<Held>,
    pub verdicts: Vec<Verdict>,
}

impl Decision {
    pub fn verdict(&mut self, rule: &str, subject: impl Into<String>, finding: impl Into<String>) {
        self.verdicts.push(Verdict {
            rule: rule.to_string(),
            subject: subject.into(),
            finding: finding.into(),
        });
    }
}

/// Runs every rule over the observation.
#[must_use]
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory) -> Decision {
    let mut decision = Decision::default();
    rules::implausible::decide(observed, policy, memory, &mut decision);
    rules::capacity::decide(observed, policy, memory, &mut decision);
    rules::stranded::decide(observed, policy, memory, &mut decision);
    rules::pause::decide(observed, policy, memory, &mut decision);
    rules::alarms::decide(observed, policy, memory, &mut decision);
    decision
}

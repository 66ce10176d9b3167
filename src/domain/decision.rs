//! What the rules propose in one tick. Every rule adds to one [`Decision`]; `decide` runs the
//! rules, `guard` admits from it, and the journal keeps its verdicts. Kept apart from `decide`
//! so the rules can name it without importing the step that calls them.

use super::action::Action;
use super::hold::Held;
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

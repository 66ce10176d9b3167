//! Signals set aside for an impossible reading (`vet`): each is held with its value, and people
//! are told once per subject and escalation interval, whatever `[alarms]` says: a metric that
//! lies blinds the controller, and someone must know.

use super::alarms::alert;
use crate::domain::decision::Decision;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::notice::AlertCause;
use crate::domain::observed::Observed;
use crate::memory::Memory;
use crate::policy::Policy;

const RULE: &str = "evidence";

/// Holds every implausible signal and raises its alert.
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    for i in &observed.implausible {
        decision.held.push(Held {
            kind: "observe".into(),
            subject: i.subject.clone(),
            reason: HoldReason::Implausible {
                signal: i.signal.clone(),
                value: i.value,
                minute: i.minute,
                bound: i.bound.clone(),
            },
            action: None,
        });
        decision.verdict(RULE, &i.subject, format!("set aside: {i}"));
        alert(
            decision,
            memory,
            policy,
            AlertCause::Implausible,
            &i.subject,
            &i.to_string(),
            observed.at,
        );
    }
}

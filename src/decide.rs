//! The pure decision step: observation + policy + memory in, proposed actions out.
//!
//! No IO and no clock: time is `Observed::at`. Each rule lives in `rules/` and adds to one
//! [`Decision`] (a domain value, so the rules need not import this step); guardrails are applied afterwards by [`crate::guard::admit`].

use crate::domain::decision::Decision;
use crate::domain::observed::Observed;
use crate::memory::Memory;
use crate::policy::Policy;
use crate::rules;

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

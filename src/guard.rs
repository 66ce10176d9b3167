//! Guardrails: the pure step between deciding and acting. Every proposed action is admitted or
//! held with a reason; nothing here reads a clock or the network.

use crate::domain::action::{Action, CapacityChange, ChangeCause};
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::Observed;
use crate::domain::redrive::{RedriveOrder, RedriveOrigin};
use crate::domain::resource::{BillingMode, CapacityKey, TableStatus};
use crate::memory::Memory;
use crate::policy::Policy;

mod budget;
pub mod halt;
use crate::time::Timestamp;
use serde::Serialize;
use std::time::Duration;

/// AWS lets a table or GSI dimension be decreased 4 times at any time in a UTC day, then once
/// more each hour that had no decrease (DynamoDB service quotas, "Decreasing provisioned capacity").
const FREE_DECREASES_PER_DAY: u32 = 4;
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Admission {
    pub admitted: Vec<Action>,
    pub held: Vec<Held>,
}

/// Applies the guardrails in a fixed order: evidence age, table state, cooldown, ceiling,
/// AWS decrease limits, the hourly action budget and the spend cap. Raises that would pass the
/// spend cap are trimmed to what it allows, and held only when nothing fits.
#[must_use]
pub fn admit(
    actions: Vec<Action>,
    observed: &Observed,
    policy: &Policy,
    memory: &Memory,
) -> Admission {
    let at = observed.at;
    let mut admission = Admission::default();
    let mut actions_this_hour = memory.actions_in_last_hour(at);
    let extra_cost = extra_cost_per_hour(observed, policy, memory);
    let mut raises: Vec<CapacityChange> = Vec::new();
    // A refused decrease would sink the whole UpdateTable, raise included: on a table that
    // raises this tick, decreases wait for a later tick.
    let raising_tables: Vec<String> = actions
        .iter()
        .filter_map(|a| match a {
            Action::RaiseCapacity(c) => Some(c.key.resource.table.clone()),
            _ => None,
        })
        .collect();
    let mut escalated_now: Vec<(
        crate::domain::resource::Resource,
        crate::domain::action::EscalationCause,
    )> = Vec::new();
    let stale_after = policy.controller.stale_after;
    // Re-drives admitted earlier in this call, for the total-rate bound.
    let mut redrive_rate_now = 0.0;

    for action in actions {
        if let Some(evidence) = action.evidence()
            && evidence.age > stale_after
        {
            let reason = HoldReason::StaleData {
                age_s: evidence.age.as_secs(),
                limit_s: stale_after.as_secs(),
            };
            admission.held.push(Held::action(action, reason));
            continue;
        }
        let verdict = match &action {
            Action::Escalate(e) => {
                let this_tick = escalated_now
                    .contains(&(e.resource.clone(), e.cause))
                    .then_some(at);
                let until = memory
                    .last_escalation(&e.resource, e.cause)
                    .map(|last| last.plus(policy.guardrails.escalation_interval))
                    .filter(|until| *until > at)
                    .or(this_tick.map(|t| t.plus(policy.guardrails.escalation_interval)));
                match until {
                    Some(until) => Err(HoldReason::AlreadyEscalated { until }),
                    None => {
                        escalated_now.push((e.resource.clone(), e.cause));
                        Ok(())
                    }
                }
            }
            Action::LowerCapacity(c) if raising_tables.contains(&c.key.resource.table) => {
                Err(HoldReason::TableBusy {
                    status: "raising another dimension this tick".into(),
                })
            }
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => {
                check_change(&action, c, observed, policy, memory, actions_this_hour)
            }
            // The pause rule deduplicates by notice key and episode; its changes are bounded by
            // the number of mappings, and putting a setting back must never be held.
            Action::Pause(_)
            | Action::Resume(_)
            | Action::Notify(_)
            | Action::LimitFlow(_)
            | Action::RestoreFlow(_) => Ok(()),
            Action::Redrive(order) => {
                let verdict = check_redrive(order, policy, memory, at, redrive_rate_now);
                if verdict.is_ok() {
                    redrive_rate_now += order.settings.rate_per_s;
                }
                verdict
            }
        };
        match verdict {
            Err(reason) => admission.held.push(Held::action(action, reason)),
            // Raises share the spend cap: they are admitted together, below.
            Ok(()) => match action {
                Action::RaiseCapacity(change) => raises.push(change),
                other => {
                    if other.is_mutating() {
                        actions_this_hour += 1;
                    }
                    admission.admitted.push(other);
                }
            },
        }
    }
    let allocation = budget::allocate(raises, extra_cost, policy);
    admission
        .admitted
        .extend(allocation.admitted.into_iter().map(Action::RaiseCapacity));
    for (change, reason) in allocation.held {
        admission
            .held
            .push(Held::action(Action::RaiseCapacity(change), reason));
    }
    for escalation in budget::shortfalls(&allocation.short, policy) {
        let key = (escalation.resource.clone(), escalation.cause);
        let recent = memory
            .last_escalation(&escalation.resource, escalation.cause)
            .map(|last| last.plus(policy.guardrails.escalation_interval))
            .filter(|until| *until > at);
        match recent {
            Some(until) => admission.held.push(Held::action(
                Action::Escalate(escalation),
                HoldReason::AlreadyEscalated { until },
            )),
            None if !escalated_now.contains(&key) => {
                escalated_now.push(key);
                admission.admitted.push(Action::Escalate(escalation));
            }
            None => {}
        }
    }
    admission
}

/// A re-drive runs within the policy's rate (all running re-drives together), alone on its queue, and not again right after one
/// gave up (that queue needs a person; the escalation said so).
fn check_redrive(
    order: &RedriveOrder,
    policy: &Policy,
    memory: &Memory,
    at: Timestamp,
    admitted_rate: f64,
) -> Result<(), HoldReason> {
    let max = policy.redrive.max_rate_per_s;
    let own = memory
        .running_redrives()
        .filter(|r| r.queue != order.target.queue);
    // Claimants' re-drives this memory does not record as running: an operator's, or one a
    // dead leader started, until its claim lapses.
    let others = memory.claims.iter().filter(|c| {
        c.live(at)
            && c.queue != order.target.queue
            && !memory.running_redrives().any(|r| r.queue == c.queue)
    });
    let running: f64 = admitted_rate
        + own.map(|r| r.rate_per_s).sum::<f64>()
        + others.map(|c| c.rate_per_s).sum::<f64>();
    // A little slack: three re-drives at 0.1/s fit a maximum of 0.3/s.
    if order.settings.rate_per_s + running > max + 1e-9 {
        return Err(HoldReason::RateAboveMaximum {
            rate_per_s: order.settings.rate_per_s,
            running_per_s: running,
            max_rate_per_s: max,
        });
    }
    let Some(last) = memory.last_redrive(&order.target.queue) else {
        return Ok(());
    };
    match &last.end {
        None => Err(HoldReason::RedriveRunning { since: last.at }),
        Some(end) if end.gave_up && order.origin != RedriveOrigin::Manual => {
            let until = end.at.plus(policy.guardrails.escalation_interval);
            if until > at {
                Err(HoldReason::RedriveGaveUp {
                    end: end.describe.clone(),
                    until,
                })
            } else {
                Ok(())
            }
        }
        Some(_) => Ok(()),
    }
}

fn check_change(
    action: &Action,
    change: &CapacityChange,
    observed: &Observed,
    policy: &Policy,
    memory: &Memory,
    actions_this_hour: u32,
) -> Result<(), HoldReason> {
    let at = observed.at;
    let key = &change.key;
    let status = observed
        .resources
        .iter()
        .find(|r| r.resource.table == key.resource.table && r.resource.index.is_none())
        .map(|r| r.status);
    match status {
        Some(TableStatus::Active) => {}
        Some(other) => {
            return Err(HoldReason::TableBusy {
                status: format!("{other:?}").to_uppercase(),
            });
        }
        None => {
            return Err(HoldReason::MissingData {
                what: format!("no description of {}", key.resource.table),
            });
        }
    }
    // A refused change is not retried every tick: it is held, and re-tried (and reported
    // again) once per escalation interval, so a fix by a person is picked up without a restart.
    if let Some(refusal) = memory.last_refusal(key) {
        let until = refusal.at.plus(policy.guardrails.escalation_interval);
        if until > at {
            return Err(HoldReason::Refused {
                error: refusal.error.clone(),
                until,
            });
        }
    }
    let rule = policy.table_rule(&key.resource.table);
    let raising = matches!(action, Action::RaiseCapacity(_));
    // The cooldown waits for new CloudWatch evidence; the ingest queues give new evidence every
    // tick.
    let fresh_evidence = matches!(
        action,
        Action::RaiseCapacity(CapacityChange {
            cause: ChangeCause::FeedForward,
            ..
        })
    );
    if let Some(rule) = rule.filter(|_| !fresh_evidence) {
        let cooldown = rule.raise.cooldown;
        if let Some(until) = memory
            .last_change(key)
            .map(|c| c.at.plus(cooldown))
            .filter(|until| *until > at)
        {
            return Err(HoldReason::Cooldown { until });
        }
    }
    if let Some(rule) = rule {
        let ceiling = rule.limits(key.dimension).ceiling;
        if raising && change.from >= ceiling {
            return Err(HoldReason::CeilingReached { ceiling });
        }
    }
    if !raising {
        let (decreases, last) = memory.decreases_today(key, at);
        let recent = last.is_some_and(|l| at.since(l) < HOUR);
        if decreases >= FREE_DECREASES_PER_DAY && recent {
            return Err(HoldReason::DecreaseLimit {
                decreases_today: decreases,
            });
        }
    }
    if actions_this_hour >= policy.guardrails.max_actions_per_hour {
        return Err(HoldReason::ActionLimit {
            per_hour: policy.guardrails.max_actions_per_hour,
        });
    }
    Ok(())
}

/// What capacity above the policy floors costs per hour, over every governed dimension,
/// counting raises still in progress (DescribeTable shows the old capacity until they finish).
#[must_use]
pub fn extra_cost_per_hour(observed: &Observed, policy: &Policy, memory: &Memory) -> f64 {
    let mut total = 0.0;
    for obs in observed
        .resources
        .iter()
        .filter(|r| r.billing == BillingMode::Provisioned)
    {
        let Some(rule) = policy.table_rule(&obs.resource.table) else {
            continue;
        };
        for dimension in crate::domain::resource::Dimension::BOTH {
            let key = CapacityKey {
                resource: obs.resource.clone(),
                dimension,
            };
            let described = obs.dimension(key.dimension).provisioned.unwrap_or(0);
            let in_progress = memory
                .last_change(&key)
                .filter(|c| c.settled_at.is_none())
                .map_or(0, |c| c.to);
            let provisioned = described.max(in_progress);
            let extra = provisioned.saturating_sub(rule.limits(dimension).floor);
            total += f64::from(extra) * policy.guardrails.prices.per_unit_hour(dimension);
        }
    }
    total
}

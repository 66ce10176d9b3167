//! DynamoDB capacity: raise a throttling table or GSI dimension, recognise a hot partition
//! (where more capacity cannot help) and lower capacity after a long quiet period.

use crate::action::{Action, CapacityChange, ChangeCause, Escalation, EscalationCause, Evidence, Held, HoldReason};
use crate::decide::Decision;
use crate::memory::Memory;
use crate::model::{BillingMode, CapacityKey, Dimension, Observed, ResourceObs};
use crate::policy::{Lower, Policy, TableRule};

const RULE: &str = "capacity";

/// AWS and the BOSS autoscaler alike skip decreases of 5 units or less: not worth a scarce
/// daily decrease.
const MIN_DECREASE_UNITS: u32 = 5;

const HOT_PARTITION_ADVICE: &str = "more capacity cannot help a hot partition: find the hot key \
     (CloudWatch Contributor Insights), spread writes, or pause the writer (runbook: idIndex hot shard)";
const ON_DEMAND_ADVICE: &str = "on-demand tables throttle only on a hot key or a sudden doubling of \
     peak traffic: find the hot key (Contributor Insights) or slow the writers";
const CEILING_ADVICE: &str = "still throttling at the policy ceiling: raise the ceiling (and the \
     cost cap) if the spend is justified, or slow the performers";

/// Adds the capacity rule's verdicts and proposals for every table and GSI the policy names.
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    for missing in &observed.unobserved {
        if policy.table_rule(&missing.table).is_some() {
            decision.held.push(Held {
                kind: "observe".into(),
                subject: missing.table.clone(),
                reason: HoldReason::MissingData { what: missing.reason.clone() },
                action: None,
            });
        }
    }
    for obs in &observed.resources {
        let Some(rule) = policy.table_rule(&obs.resource.table) else { continue };
        if obs.resource.index.is_some() && !rule.include_gsis {
            continue;
        }
        for dimension in Dimension::BOTH {
            judge(observed, rule, memory, obs, dimension, decision);
        }
    }
}

fn judge(observed: &Observed, rule: &TableRule, memory: &Memory, obs: &ResourceObs, dimension: Dimension, decision: &mut Decision) {
    let key = CapacityKey { resource: obs.resource.clone(), dimension };
    let subject = key.to_string();
    let signals = obs.dimension(dimension);
    let period = observed.period;
    let period_s = period.as_secs_f64().max(1.0);
    let metric = match dimension {
        Dimension::Read => "ConsumedReadCapacityUnits",
        Dimension::Write => "ConsumedWriteCapacityUnits",
    };
    let newest_consumed = signals.consumed.latest().map(|p| p.start);
    let newest_throttles = signals.throttle_events.latest().map(|p| p.start);
    let Some(minute) = newest_consumed.max(newest_throttles) else {
        decision.held.push(missing(&subject, format!("no {metric} datapoints in the lookback window")));
        return;
    };
    let Some(consumed) = signals.consumed.at(minute) else {
        decision.held.push(missing(&subject, format!("throttle events for the minute from {minute} but no {metric}")));
        return;
    };
    // CloudWatch publishes no throttle datapoint for a minute without throttles.
    let events = signals.throttle_events.at(minute).unwrap_or(0.0);
    let evidence = Evidence {
        period_start: minute,
        age: observed.at.since(minute.plus(period)),
        provisioned: signals.provisioned,
        consumed,
        throttle_events: events,
    };
    let throttling = rule.raise.throttle_events_per_minute.is_some_and(|t| events * 60.0 / period_s >= t);

    let provisioned = match (obs.billing, signals.provisioned) {
        (BillingMode::PayPerRequest, _) => {
            if throttling {
                escalate(decision, obs, EscalationCause::OnDemandThrottling, evidence, ON_DEMAND_ADVICE);
            } else {
                decision.verdict(RULE, subject, format!("on-demand, not throttling: {evidence}"));
            }
            return;
        }
        (BillingMode::Provisioned, None) => {
            decision.held.push(missing(&subject, "provisioned table without provisioned capacity".into()));
            return;
        }
        (BillingMode::Provisioned, Some(p)) => p,
    };

    // Act only on news: a minute that began before our last change shows the old capacity.
    if let Some(last) = memory.last_change(&key).filter(|c| minute < c.at) {
        decision.verdict(RULE, subject, format!("waiting for a full minute after the change to {} at {}", last.to, last.at));
        return;
    }

    let limits = rule.limits(dimension);
    let prov = f64::from(provisioned.max(1));
    let throttled_per_s = events / period_s;
    let utilisation = consumed / prov;
    let demand_utilisation = (consumed + throttled_per_s) / prov;
    let busy = rule.raise.utilisation.is_some_and(|u| utilisation >= u);

    if throttling && demand_utilisation < rule.hot_partition_below {
        escalate(decision, obs, EscalationCause::HotPartition, evidence, HOT_PARTITION_ADVICE);
        decision.verdict(RULE, subject, format!("hot partition: demand is {:.0}% of provisioned yet throttling; no raise", demand_utilisation * 100.0));
        return;
    }
    if throttling || busy {
        let stepped = (prov * rule.raise.factor).ceil().max(prov + f64::from(rule.raise.min_step));
        let wanted = ((consumed + throttled_per_s) * rule.raise.factor).ceil();
        let to = clamp_units(stepped.max(wanted)).min(limits.ceiling);
        if provisioned >= limits.ceiling && throttling {
            escalate(decision, obs, EscalationCause::CeilingReached, evidence, CEILING_ADVICE);
        }
        let cause = if throttling { ChangeCause::Throttling } else { ChangeCause::HighUtilisation };
        decision.verdict(RULE, &subject, format!("{cause:?}: propose {provisioned} → {to}"));
        decision.actions.push(Action::RaiseCapacity(CapacityChange { key, from: provisioned, to, cause, evidence }));
        return;
    }
    if provisioned < limits.floor {
        decision.verdict(RULE, &subject, format!("below floor {}", limits.floor));
        decision.actions.push(Action::RaiseCapacity(CapacityChange { key, from: provisioned, to: limits.floor, cause: ChangeCause::BelowFloor, evidence }));
        return;
    }
    if let Some(lower) = &rule.lower {
        if let Some(to) = lower_target(observed, memory, &key, signals, lower, provisioned, limits.floor) {
            decision.verdict(RULE, &subject, format!("quiet for {}: propose {provisioned} → {to}", crate::time::human(lower.quiet_for)));
            decision.actions.push(Action::LowerCapacity(CapacityChange { key, from: provisioned, to, cause: ChangeCause::LowUtilisation, evidence }));
            return;
        }
    }
    decision.verdict(RULE, subject, format!("steady: {evidence}"));
}

/// The capacity to lower to, when the whole quiet window was calm and the cut is worth a decrease.
fn lower_target(observed: &Observed, memory: &Memory, key: &CapacityKey, signals: &crate::model::DimensionObs, lower: &Lower, provisioned: u32, floor: u32) -> Option<u32> {
    let window_start = observed.at.minus(lower.quiet_for);
    if memory.last_change(key).is_some_and(|c| c.at > window_start) {
        return None;
    }
    let points: Vec<f64> = signals.consumed.since(window_start).map(|p| p.value).collect();
    // Demand three quarters of the window's minutes, so a gap in the data is not read as calm.
    let expected = lower.quiet_for.as_secs() / observed.period.as_secs().max(1);
    if (points.len() as u64) * 4 < expected * 3 {
        return None;
    }
    if signals.throttle_events.since(window_start).any(|p| p.value > 0.0) {
        return None;
    }
    let peak = points.iter().copied().fold(0.0, f64::max);
    if peak / f64::from(provisioned.max(1)) >= lower.utilisation_below {
        return None;
    }
    let to = clamp_units((peak / lower.target_utilisation).ceil()).max(floor);
    let cut = provisioned.saturating_sub(to);
    (cut > MIN_DECREASE_UNITS && cut * 10 >= provisioned).then_some(to)
}

fn escalate(decision: &mut Decision, obs: &ResourceObs, cause: EscalationCause, evidence: Evidence, advice: &str) {
    decision.actions.push(Action::Escalate(Escalation { resource: obs.resource.clone(), cause, evidence, advice: advice.to_string() }));
}

fn missing(subject: &str, what: String) -> Held {
    Held { kind: "raise-capacity".into(), subject: subject.to_string(), reason: HoldReason::MissingData { what }, action: None }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn clamp_units(value: f64) -> u32 {
    value.clamp(1.0, f64::from(u32::MAX)) as u32
}

//! DynamoDB capacity: raise a throttling table or GSI dimension, recognise a hot partition
//! (where more capacity cannot help) and lower capacity after a long quiet period.

use crate::action::{
    Action, CapacityChange, ChangeCause, Escalation, EscalationCause, Evidence, Held, HoldReason,
};
use crate::decide::Decision;
use crate::memory::Memory;
use crate::model::{BillingMode, CapacityKey, Dimension, Observed, ResourceObs};
use crate::policy::{Lower, Policy, TableRule};
use crate::time::Timestamp;
use std::time::Duration;

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
        if policy.table_rule(&missing.subject).is_some() {
            decision.held.push(Held {
                kind: "observe".into(),
                subject: missing.subject.clone(),
                reason: HoldReason::Unobserved {
                    reason: missing.reason.clone(),
                },
                action: None,
            });
        }
    }
    for obs in &observed.resources {
        let Some(rule) = policy.table_rule(&obs.resource.table) else {
            continue;
        };
        if obs.resource.index.is_some() && !rule.include_gsis {
            continue;
        }
        for dimension in Dimension::BOTH {
            judge(observed, rule, memory, obs, dimension, decision);
        }
    }
}

fn judge(
    observed: &Observed,
    rule: &TableRule,
    memory: &Memory,
    obs: &ResourceObs,
    dimension: Dimension,
    decision: &mut Decision,
) {
    let key = CapacityKey {
        resource: obs.resource.clone(),
        dimension,
    };
    let subject = key.to_string();
    // Set aside by `vet` and held by the implausible rule: nothing to judge.
    if observed.implausible.iter().any(|i| i.subject == subject) {
        return;
    }
    if let Some(hold) = clock_skew(observed, memory, &key) {
        decision.held.push(Held {
            kind: "raise-capacity".into(),
            subject,
            reason: hold,
            action: None,
        });
        return;
    }
    let signals = obs.dimension(dimension);
    let period = observed.period;
    let metric = match dimension {
        Dimension::Read => "ConsumedReadCapacityUnits",
        Dimension::Write => "ConsumedWriteCapacityUnits",
    };
    let newest_consumed = signals.consumed.latest().map(|p| p.start);
    let newest_throttles = signals.throttle_events.latest().map(|p| p.start);
    let Some(minute) = newest_consumed.max(newest_throttles) else {
        decision.held.push(missing(
            &subject,
            format!("no {metric} datapoints in the lookback window"),
        ));
        return;
    };
    let Some(consumed) = signals.consumed.at(minute) else {
        decision.held.push(missing(
            &subject,
            format!("throttle events for the minute from {minute} but no {metric}"),
        ));
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
    let throttling = is_throttling(rule, events, period);

    let provisioned = match (obs.billing, signals.provisioned) {
        (BillingMode::PayPerRequest, _) => {
            if throttling {
                escalate(
                    decision,
                    obs,
                    EscalationCause::OnDemandThrottling,
                    evidence,
                    ON_DEMAND_ADVICE,
                );
            } else {
                decision.verdict(
                    RULE,
                    subject,
                    format!("on-demand, not throttling: {evidence}"),
                );
            }
            return;
        }
        (BillingMode::Provisioned, None) => {
            decision.held.push(missing(
                &subject,
                "provisioned table without provisioned capacity".into(),
            ));
            return;
        }
        (BillingMode::Provisioned, Some(p)) => p,
    };

    // Act only on news: a minute that began before our last change took effect shows the old
    // capacity, and acting on it again would double-act.
    let settled = match memory.last_change(&key) {
        None => None,
        Some(c) => match c.settled_at {
            None => {
                decision.verdict(
                    RULE,
                    subject,
                    format!(
                        "waiting for the change to {} at {} to take effect",
                        c.to, c.at
                    ),
                );
                return;
            }
            Some(settled) => Some(settled),
        },
    };
    if let Some(settled) = settled.filter(|s| minute < *s) {
        decision.verdict(
            RULE,
            subject,
            format!("waiting for a full minute after the last change took effect at {settled}"),
        );
        return;
    }

    let limits = rule.limits(dimension);
    let prov = f64::from(provisioned.max(1));
    let demand = estimated_demand(observed, obs, dimension, minute).unwrap_or(consumed);
    let utilisation = consumed / prov;
    let busy = rule.raise.utilisation.is_some_and(|u| utilisation >= u);

    if throttling && demand / prov < rule.hot_partition_below {
        // One minute can straddle a change of demand; a hot partition shows in two.
        let previous = minute.minus(period);
        let confirmed = settled.is_none_or(|s| previous >= s)
            && looks_hot(observed, rule, obs, dimension, previous, prov);
        if confirmed {
            escalate(
                decision,
                obs,
                EscalationCause::HotPartition,
                evidence,
                HOT_PARTITION_ADVICE,
            );
            decision.verdict(
                RULE,
                subject,
                format!(
                    "hot partition: demand is {:.0}% of provisioned yet throttling; no raise",
                    demand / prov * 100.0
                ),
            );
        } else {
            decision.verdict(RULE, subject, format!("possible hot partition (demand {:.0}% of provisioned, throttling): confirming with the next minute", demand / prov * 100.0));
        }
        return;
    }
    if throttling || busy {
        let stepped = (prov * rule.raise.factor)
            .ceil()
            .max(prov + f64::from(rule.raise.min_step));
        let projected = project(observed, obs, dimension, minute, demand, evidence.age);
        let to = clamp_units(stepped.max((projected * rule.raise.factor).ceil()))
            .max(limits.floor)
            .min(limits.ceiling);
        if provisioned >= limits.ceiling && throttling {
            escalate(
                decision,
                obs,
                EscalationCause::CeilingReached,
                evidence,
                CEILING_ADVICE,
            );
        }
        let cause = if throttling {
            ChangeCause::Throttling
        } else {
            ChangeCause::HighUtilisation
        };
        decision.verdict(RULE, &subject, format!("{cause:?}: demand about {demand:.0}/s (projected {projected:.0}/s): propose {provisioned} → {to}"));
        decision.actions.push(Action::RaiseCapacity(CapacityChange {
            key,
            from: provisioned,
            to,
            cause,
            evidence,
        }));
        return;
    }
    if provisioned < limits.floor {
        decision.verdict(RULE, &subject, format!("below floor {}", limits.floor));
        decision.actions.push(Action::RaiseCapacity(CapacityChange {
            key,
            from: provisioned,
            to: limits.floor,
            cause: ChangeCause::BelowFloor,
            evidence,
        }));
        return;
    }
    if let Some(lower) = &rule.lower
        && let Some(to) = lower_target(
            observed,
            memory,
            obs,
            &key,
            lower,
            provisioned,
            limits.floor,
        )
    {
        decision.verdict(
            RULE,
            &subject,
            format!(
                "quiet for {}: propose {provisioned} → {to}",
                crate::time::human(lower.quiet_for)
            ),
        );
        decision.actions.push(Action::LowerCapacity(CapacityChange {
            key,
            from: provisioned,
            to,
            cause: ChangeCause::LowUtilisation,
            evidence,
        }));
        return;
    }
    decision.verdict(RULE, subject, format!("steady: {evidence}"));
}

/// A remembered change of this dimension dated after the observation: another host's clock is
/// ahead, or this one went back. Its cooldown and settling cannot be judged until the clock
/// catches up, and a hold says so rather than a silent verdict.
fn clock_skew(observed: &Observed, memory: &Memory, key: &CapacityKey) -> Option<HoldReason> {
    let change = memory.last_change(key)?;
    let (field, recorded) = if change.at > observed.at {
        ("at", change.at)
    } else {
        (
            "settled_at",
            change.settled_at.filter(|s| *s > observed.at)?,
        )
    };
    Some(HoldReason::ClockSkew {
        field: format!("the change of {key} ({field})"),
        recorded,
    })
}

fn is_throttling(rule: &TableRule, events: f64, period: Duration) -> bool {
    rule.raise
        .throttle_events_per_minute
        .is_some_and(|t| events * 60.0 / period.as_secs_f64().max(1.0) >= t)
}

/// Whether a minute shows throttling although estimated demand is well under capacity.
fn looks_hot(
    observed: &Observed,
    rule: &TableRule,
    obs: &ResourceObs,
    dimension: Dimension,
    minute: Timestamp,
    prov: f64,
) -> bool {
    let events = obs
        .dimension(dimension)
        .throttle_events
        .at(minute)
        .unwrap_or(0.0);
    is_throttling(rule, events, observed.period)
        && estimated_demand(observed, obs, dimension, minute)
            .is_some_and(|d| d / prov < rule.hot_partition_below)
}

/// How far ahead a raise must reach: the evidence's age, plus the UpdateTable and the next
/// metric minute before the controller can see its effect.
const PROJECTION_HORIZON: Duration = Duration::from_secs(150);
/// A projection may at most double the measured demand: a steep minute may be noise.
const MAX_PROJECTION: f64 = 2.0;

/// Demand projected to when a raise decided now will be seen working: if demand grew over the
/// last minute, assume it keeps growing at that pace.
fn project(
    observed: &Observed,
    obs: &ResourceObs,
    dimension: Dimension,
    minute: Timestamp,
    demand: f64,
    age: Duration,
) -> f64 {
    let period = observed.period.as_secs_f64().max(1.0);
    let Some(previous) = estimated_demand(observed, obs, dimension, minute.minus(observed.period))
    else {
        return demand;
    };
    let slope = (demand - previous).max(0.0) / period;
    (demand + slope * (age + PROJECTION_HORIZON).as_secs_f64()).min(demand * MAX_PROJECTION)
}

/// Served and throttled units of one minute (units/s and events).
fn minute_of(obs: &ResourceObs, dimension: Dimension, minute: Timestamp) -> Option<(f64, f64)> {
    let d = obs.dimension(dimension);
    Some((
        d.consumed.at(minute)?,
        d.throttle_events.at(minute).unwrap_or(0.0),
    ))
}

/// True demand estimated for one minute, in units/s: what was served plus what was throttled.
/// Writes to a table also write its GSIs, and a throttling GSI turns the table's writes away
/// (they show only in the GSI's throttle events), so table and GSI write demand are estimated
/// together, scaled by the share of the table's writes that reach each GSI.
fn estimated_demand(
    observed: &Observed,
    obs: &ResourceObs,
    dimension: Dimension,
    minute: Timestamp,
) -> Option<f64> {
    let period = observed.period.as_secs_f64().max(1.0);
    let (consumed, events) = minute_of(obs, dimension, minute)?;
    let own = consumed + events / period;
    if dimension == Dimension::Read {
        return Some(own);
    }
    let table = &obs.resource.table;
    let share = |index_consumed: f64, table_consumed: f64| {
        if table_consumed > 0.0 {
            (index_consumed / table_consumed).clamp(0.05, 1.0)
        } else {
            1.0
        }
    };
    match &obs.resource.index {
        None => {
            let turned_away = observed
                .resources
                .iter()
                .filter(|r| &r.resource.table == table && r.resource.index.is_some())
                .filter_map(|gsi| minute_of(gsi, Dimension::Write, minute))
                .map(|(gsi_consumed, gsi_events)| {
                    gsi_events / period / share(gsi_consumed, consumed)
                })
                .fold(0.0, f64::max);
            Some(own + turned_away)
        }
        Some(_) => {
            let base = observed
                .resources
                .iter()
                .find(|r| &r.resource.table == table && r.resource.index.is_none());
            let from_table = base.and_then(|t| {
                let (table_consumed, _) = minute_of(t, Dimension::Write, minute)?;
                Some(
                    estimated_demand(observed, t, Dimension::Write, minute)?
                        * share(consumed, table_consumed),
                )
            });
            Some(own.max(from_table.unwrap_or(0.0)))
        }
    }
}

/// The capacity to lower to, when the whole quiet window was calm and the cut is worth a decrease.
fn lower_target(
    observed: &Observed,
    memory: &Memory,
    obs: &ResourceObs,
    key: &CapacityKey,
    lower: &Lower,
    provisioned: u32,
    floor: u32,
) -> Option<u32> {
    let signals = obs.dimension(key.dimension);
    // The window ends with the newest datapoint: the last minutes are always still in flight.
    let newest = signals.consumed.latest()?.start;
    let window_start = newest.plus(observed.period).minus(lower.quiet_for);
    if memory.last_change(key).is_some_and(|c| c.at > window_start) {
        return None;
    }
    let minutes: Vec<Timestamp> = signals
        .consumed
        .since(window_start)
        .map(|p| p.start)
        .collect();
    // Demand three quarters of the window's minutes, so a gap in the data is not read as calm.
    let expected = lower.quiet_for.as_secs() / observed.period.as_secs().max(1);
    if (minutes.len() as u64) * 4 < expected * 3 {
        return None;
    }
    // Writes: a throttling GSI turns its table's writes away, so the table and all its GSIs
    // must have been calm.
    let related = observed.resources.iter().filter(|r| {
        r.resource == key.resource
            || (key.dimension == Dimension::Write && r.resource.table == key.resource.table)
    });
    let throttled = related
        .flat_map(|r| {
            r.dimension(key.dimension)
                .throttle_events
                .since(window_start)
        })
        .any(|p| p.value > 0.0);
    if throttled {
        return None;
    }
    let peak = minutes
        .iter()
        .filter_map(|m| estimated_demand(observed, obs, key.dimension, *m))
        .fold(0.0, f64::max);
    if peak / f64::from(provisioned.max(1)) >= lower.utilisation_below {
        return None;
    }
    let to = clamp_units((peak / lower.target_utilisation).ceil()).max(floor);
    let cut = provisioned.saturating_sub(to);
    (cut > MIN_DECREASE_UNITS && u64::from(cut) * 10 >= u64::from(provisioned)).then_some(to)
}

fn escalate(
    decision: &mut Decision,
    obs: &ResourceObs,
    cause: EscalationCause,
    evidence: Evidence,
    advice: &str,
) {
    decision.actions.push(Action::Escalate(Escalation {
        resource: obs.resource.clone(),
        cause,
        evidence,
        advice: advice.to_string(),
    }));
}

fn missing(subject: &str, what: String) -> Held {
    Held {
        kind: "raise-capacity".into(),
        subject: subject.to_string(),
        reason: HoldReason::MissingData { what },
        action: None,
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn clamp_units(value: f64) -> u32 {
    value.clamp(1.0, f64::from(u32::MAX)) as u32
}

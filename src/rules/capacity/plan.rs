//! One plan per table per tick: the table and its GSIs, reads and writes, sized together from
//! the same minute, so that they go out as one UpdateTable and no dimension waits for another.
//! Each dimension is sized to demand × headroom in one step, demand being the larger of what
//! CloudWatch showed (projected along a ramp) and what the ingest queues forecast.

use super::evidence::TableView;
use super::{CEILING_ADVICE, HOT_PARTITION_ADVICE, RULE, escalate, missing};
use crate::domain::action::{CapacityChange, ChangeCause, EscalationCause, Evidence, Forecast};
use crate::domain::decision::Decision;
use crate::domain::observed::ResourceObs;
use crate::domain::resource::{CapacityKey, Dimension, Resource};
use crate::memory::Memory;
use crate::policy::TableRule;
use crate::time::Timestamp;
use std::time::Duration;

/// How far past the evidence a rising demand is projected: the evidence's age, then the
/// UpdateTable, the cooldown and the next published minute before the controller can act again.
const RAMP_HORIZON: Duration = Duration::from_secs(300);
/// A projection may at most triple the measured demand: it is a guess, and an overshoot costs
/// money until the next lowering.
const MAX_PROJECTION: f64 = 3.0;
/// Demand this many times the minute before's is a jump, not a ramp under way...
const JUMP: f64 = 3.0;
/// ...and is projected to this multiple of the minute that shows it.
const JUMP_PROJECTION: f64 = 3.0;
/// Without a policy utilisation trigger, a forecast raises when it fills this much capacity.
const FORECAST_TRIGGER: f64 = 0.9;

/// What one dimension's evidence says, before any coupling.
struct Sized {
    key: CapacityKey,
    provisioned: u32,
    evidence: Evidence,
    /// Demand the dimension must take, units/s, and why; `None`: no reason to raise.
    need: Option<(f64, ChangeCause)>,
    forecast: Option<Forecast>,
}

/// The raises the table needs this tick; holds, verdicts and escalations go to `decision`.
pub(super) fn raises(
    view: &TableView<'_>,
    rule: &TableRule,
    memory: &Memory,
    minute: Timestamp,
    forecasts: &[(CapacityKey, Forecast)],
    hot_known: &[Resource],
    decision: &mut Decision,
) -> Vec<CapacityChange> {
    let mut sized: Vec<Sized> = Vec::new();
    for obs in view.resources() {
        let hot = hot_known.contains(&obs.resource);
        for dimension in Dimension::BOTH {
            if let Some(s) = size(
                view, rule, memory, obs, dimension, minute, forecasts, hot, decision,
            ) {
                sized.push(s);
            }
        }
    }
    // A GSI's writes follow the table's: when the table's writes must rise, each GSI must take
    // the table's write demand times its share of the writes.
    let table_write = sized
        .iter()
        .find(|s| s.key.resource.index.is_none() && s.key.dimension == Dimension::Write)
        .and_then(|s| s.need);
    if let Some((table_need, table_cause)) = table_write {
        // A forecast stays a forecast for the GSI too (it has fresh evidence each tick).
        let cause = if table_cause == ChangeCause::FeedForward {
            ChangeCause::FeedForward
        } else {
            ChangeCause::FollowsTable
        };
        for s in sized
            .iter_mut()
            .filter(|s| s.key.resource.index.is_some() && s.key.dimension == Dimension::Write)
        {
            let follows = table_need * view.write_share(&s.key.resource);
            if s.need.is_none_or(|(n, _)| n <= follows) {
                s.need = Some((follows, cause));
            }
        }
    }
    let mut changes = Vec::new();
    for s in sized {
        let subject = s.key.to_string();
        let limits = rule.limits(s.key.dimension);
        let Some((need, cause)) = s.need else {
            if s.provisioned < limits.floor {
                decision.verdict(RULE, &subject, format!("below floor {}", limits.floor));
                changes.push(change(s, limits.floor, ChangeCause::BelowFloor, None));
            } else {
                decision.verdict(RULE, subject, format!("steady: {}", s.evidence));
            }
            continue;
        };
        let wanted = units(need * rule.raise.headroom);
        if wanted > limits.ceiling && cause != ChangeCause::FollowsTable {
            let advice = format!(
                "{CEILING_ADVICE}: demand about {need:.0}/s wants {wanted} ({:.0}% headroom), the ceiling is {}",
                (rule.raise.headroom - 1.0) * 100.0,
                limits.ceiling
            );
            escalate(
                decision,
                &s.key.resource,
                EscalationCause::CeilingReached,
                s.evidence,
                &advice,
            );
        }
        if wanted <= s.provisioned {
            decision.verdict(
                RULE,
                subject,
                format!(
                    "{cause:?}: demand about {need:.0}/s fits {} provisioned",
                    s.provisioned
                ),
            );
            continue;
        }
        let to = wanted
            .max(s.provisioned.saturating_add(rule.raise.min_step))
            .clamp(limits.floor, limits.ceiling.max(limits.floor));
        if to <= s.provisioned {
            decision.verdict(RULE, subject, format!("at the ceiling {}", limits.ceiling));
            continue;
        }
        decision.verdict(
            RULE,
            &subject,
            format!(
                "{cause:?}: demand about {need:.0}/s: propose {} → {to}",
                s.provisioned
            ),
        );
        changes.push(change(s, to, cause, Some(need)));
    }
    changes
}

fn change(s: Sized, to: u32, cause: ChangeCause, demand: Option<f64>) -> CapacityChange {
    CapacityChange {
        key: s.key,
        from: s.provisioned,
        to,
        cause,
        evidence: s.evidence,
        demand,
        forecast: (cause == ChangeCause::FeedForward)
            .then_some(s.forecast)
            .flatten(),
    }
}

/// One dimension's own evidence: hot partition and missing data end here.
#[allow(clippy::too_many_arguments)]
fn size(
    view: &TableView<'_>,
    rule: &TableRule,
    memory: &Memory,
    obs: &ResourceObs,
    dimension: Dimension,
    minute: Timestamp,
    forecasts: &[(CapacityKey, Forecast)],
    hot_known: bool,
    decision: &mut Decision,
) -> Option<Sized> {
    let observed = view.observed;
    let key = CapacityKey {
        resource: obs.resource.clone(),
        dimension,
    };
    let subject = key.to_string();
    let signals = obs.dimension(dimension);
    let Some(provisioned) = signals.provisioned else {
        decision.held.push(missing(
            &subject,
            "provisioned table without provisioned capacity".into(),
        ));
        return None;
    };
    let metric = match dimension {
        Dimension::Read => "ConsumedReadCapacityUnits",
        Dimension::Write => "ConsumedWriteCapacityUnits",
    };
    if signals.consumed.points.is_empty() {
        decision.held.push(missing(
            &subject,
            format!("no {metric} datapoints in the lookback window"),
        ));
        return None;
    }
    if signals.consumed.at(minute).is_none() && signals.throttle_events.at(minute).is_some() {
        decision.held.push(missing(
            &subject,
            format!("throttle events for the minute from {minute} but no {metric}"),
        ));
        return None;
    }
    // A minute this dimension has no datapoint for while its table has: nothing was consumed.
    let (consumed, events) = TableView::minute_of(obs, dimension, minute).unwrap_or((0.0, 0.0));
    let evidence = Evidence {
        period_start: minute,
        age: observed.at.since(minute.plus(observed.period)),
        provisioned: Some(provisioned),
        consumed,
        throttle_events: events,
    };
    let during = f64::from(TableView::provisioned_during(memory, &key, provisioned, minute).max(1));
    // A hot partition already confirmed: its throttle events are the hot key's, which no
    // capacity serves, so only what was served counts (and raises on utilisation alone).
    let demand = if hot_known {
        Some(consumed)
    } else {
        view.demand(obs, dimension, minute)
    };
    let throttling = !hot_known && is_throttling(rule, events, observed.period);
    if hot_known && is_throttling(rule, events, observed.period) {
        // Still hot: the reminder goes out once per escalation interval (the guard's rule).
        escalate_hot(decision, obs, evidence);
    }
    let busy = rule
        .raise
        .utilisation
        .is_some_and(|u| consumed / during >= u);
    let forecast = forecasts.iter().find(|(k, _)| *k == key).map(|(_, f)| *f);
    let mut need = None;
    if let Some(demand) = demand {
        if throttling && demand / during < rule.hot_partition_below {
            hot_partition(
                view,
                rule,
                memory,
                obs,
                &key,
                minute,
                demand / during,
                evidence,
                decision,
            );
            return None;
        }
        if throttling || busy {
            let cause = if throttling {
                ChangeCause::Throttling
            } else {
                ChangeCause::HighUtilisation
            };
            // The queues already say where a ramp of tiles is going: CloudWatch's minutes are
            // the past, and projecting them would count the same ramp twice.
            let projected = if forecast.is_some() {
                demand
            } else {
                project(view, obs, dimension, minute, demand, evidence.age)
            };
            need = Some((projected, cause));
        }
    }
    if let Some(f) = forecast {
        let trigger = rule.raise.utilisation.unwrap_or(FORECAST_TRIGGER).min(1.0);
        let fills = f.expected_per_s >= f64::from(provisioned) * trigger;
        if fills && need.is_none_or(|(n, _)| n < f.expected_per_s) {
            need = Some((f.expected_per_s, ChangeCause::FeedForward));
        }
    }
    Some(Sized {
        key,
        provisioned,
        evidence,
        need,
        forecast,
    })
}

#[allow(clippy::too_many_arguments)]
fn hot_partition(
    view: &TableView<'_>,
    rule: &TableRule,
    memory: &Memory,
    obs: &ResourceObs,
    key: &CapacityKey,
    minute: Timestamp,
    share: f64,
    evidence: Evidence,
    decision: &mut Decision,
) {
    let subject = key.to_string();
    // One minute can straddle a change of demand; a hot partition shows in two.
    let previous = minute.minus(view.observed.period);
    let settled = memory.last_change(key).and_then(|c| c.settled_at);
    let prov = f64::from(
        TableView::provisioned_during(memory, key, evidence.provisioned.unwrap_or(1), previous)
            .max(1),
    );
    let confirmed = settled.is_none_or(|s| previous >= s)
        && TableView::minute_of(obs, key.dimension, previous).is_some_and(|(_, events)| {
            is_throttling(rule, events, view.observed.period)
                && view
                    .demand(obs, key.dimension, previous)
                    .is_some_and(|d| d / prov < rule.hot_partition_below)
        });
    if confirmed {
        escalate_hot(decision, obs, evidence);
        decision.verdict(
            RULE,
            subject,
            format!(
                "hot partition: demand is {:.0}% of provisioned yet throttling; no raise",
                share * 100.0
            ),
        );
    } else {
        decision.verdict(RULE, subject, format!("possible hot partition (demand {:.0}% of provisioned, throttling): confirming with the next minute", share * 100.0));
    }
}

fn escalate_hot(decision: &mut Decision, obs: &ResourceObs, evidence: Evidence) {
    escalate(
        decision,
        &obs.resource,
        EscalationCause::HotPartition,
        evidence,
        HOT_PARTITION_ADVICE,
    );
}

pub(super) fn is_throttling(rule: &TableRule, events: f64, period: Duration) -> bool {
    rule.raise
        .throttle_events_per_minute
        .is_some_and(|t| events * 60.0 / period.as_secs_f64().max(1.0) >= t)
}

/// Demand projected to when the controller can next correct a raise decided now: along a
/// ramp (two minutes of growth in a row), the smaller of the two minutes' growth continues;
/// otherwise the demand measured. One rising minute alone is not a ramp: noise does that. A
/// step up that straddles a minute also rises twice, but one of its rises is small: taking the
/// smaller keeps a step from being read as a steep ramp.
fn project(
    view: &TableView<'_>,
    obs: &ResourceObs,
    dimension: Dimension,
    minute: Timestamp,
    demand: f64,
    age: Duration,
) -> f64 {
    let period = view.observed.period;
    let before = view.demand(obs, dimension, minute.minus(period));
    // A jump out of calm: the minute may hold only the start of a step or a steep ramp, and
    // the next evidence is minutes away.
    if before.is_some_and(|d1| demand >= d1 * JUMP) {
        return demand * JUMP_PROJECTION;
    }
    let two_before = view.demand(obs, dimension, minute.minus(period).minus(period));
    let (Some(d1), Some(d2)) = (before, two_before) else {
        return demand;
    };
    if !(d2 < d1 && d1 < demand) {
        return demand;
    }
    let slope = (demand - d1).min(d1 - d2) / period.as_secs_f64().max(1.0);
    (demand + slope * (age + RAMP_HORIZON).as_secs_f64()).min(demand * MAX_PROJECTION)
}

/// Whole units, at least DynamoDB's minimum of 1.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn units(value: f64) -> u32 {
    value.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

//! DynamoDB capacity: one plan per table per tick. The table and its GSIs, reads and writes,
//! are sized together from the same CloudWatch minute to demand × headroom (`plan`), demand
//! being read from what was served and throttled (`evidence`) and, for a table the ingest jobs
//! write, forecast from their queues (`feed_forward`); a hot partition, where more capacity
//! cannot help, is escalated instead; a table that raises nothing may lower (`lower`).

mod evidence;
mod feed_forward;
mod lower;
mod plan;
mod warm;

use crate::domain::action::{Action, Escalation, EscalationCause, Evidence, Forecast};
use crate::domain::decision::Decision;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::Observed;
use crate::domain::resource::{BillingMode, CapacityKey, Dimension, Resource};
use crate::memory::Memory;
use crate::policy::{Policy, TableRule};
use evidence::TableView;

const RULE: &str = "capacity";

const HOT_PARTITION_ADVICE: &str = "more capacity cannot help a hot partition: find the hot key \
     (CloudWatch Contributor Insights), spread writes, or pause the writer (runbook: idIndex hot shard)";
const ON_DEMAND_ADVICE: &str = "on-demand tables throttle only on a hot key or a sudden doubling of \
     peak traffic: find the hot key (Contributor Insights) or slow the writers";
const CEILING_ADVICE: &str = "demand is above what the policy ceiling allows: raise the ceiling \
     (and the cost cap) if the spend is justified, or slow the performers";

/// Adds the capacity rule's verdicts and proposals for every table the policy names.
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
    let tiles = feed_forward::tiles(&memory.capacity, observed);
    let jobs_over = feed_forward::jobs_over(&memory.capacity, observed);
    for rule in &policy.tables {
        let Some(view) = TableView::of(observed, rule) else {
            continue;
        };
        // Hot partitions confirmed within the last two reminders (one is sent each escalation
        // interval while the throttling lasts).
        let recent = policy.guardrails.escalation_interval * 2;
        let hot_known: Vec<Resource> = view
            .resources()
            .map(|r| r.resource.clone())
            .filter(|r| {
                memory
                    .last_escalation(r, EscalationCause::HotPartition)
                    .is_some_and(|t| observed.at.since(t) < recent)
            })
            .collect();
        plan_table(
            &view,
            rule,
            memory,
            tiles.as_ref(),
            jobs_over,
            &hot_known,
            decision,
        );
    }
}

/// Updates what the capacity rule remembers from this tick's observation (after deciding): the
/// jobs' upload readings, units per tile from the minutes published since, and the capacity
/// each dimension had when the UTC day began.
pub fn learn(
    memory: &mut crate::memory::CapacityMemory,
    changes: &[crate::memory::ChangeRecord],
    observed: &Observed,
    policy: &Policy,
) {
    feed_forward::note_uploads(memory, observed);
    for rule in &policy.tables {
        let Some(view) = TableView::of(observed, rule) else {
            continue;
        };
        if rule.feed_forward.is_some() {
            feed_forward::learn_units(memory, &view);
        }
        lower::note_day_start(memory, &view, observed.at);
        if rule.lower.is_some() {
            warm::note(memory, changes, &view, observed.at);
        }
    }
}

fn keys<'a>(view: &'a TableView<'_>) -> impl Iterator<Item = CapacityKey> + 'a {
    view.resources().flat_map(|r| {
        Dimension::BOTH.map(|dimension| CapacityKey {
            resource: r.resource.clone(),
            dimension,
        })
    })
}

fn plan_table(
    view: &TableView<'_>,
    rule: &TableRule,
    memory: &Memory,
    tiles: Option<&feed_forward::Tiles>,
    jobs_over: Option<crate::time::Timestamp>,
    hot_known: &[Resource],
    decision: &mut Decision,
) {
    let observed = view.observed;
    let table = view.table.resource.to_string();
    if view.table.billing == BillingMode::PayPerRequest {
        on_demand(view, rule, decision);
        return;
    }
    // Set aside by `vet` and held by the implausible rule: a plan from partly impossible
    // evidence is no plan.
    if let Some(i) = observed
        .implausible
        .iter()
        .find(|i| keys(view).any(|k| k.to_string() == i.subject))
    {
        decision.verdict(
            RULE,
            table,
            format!("no plan: {} is implausible", i.subject),
        );
        return;
    }
    for key in keys(view) {
        if let Some(hold) = clock_skew(observed, memory, &key) {
            decision.held.push(Held {
                kind: "raise-capacity".into(),
                subject: key.to_string(),
                reason: hold,
                action: None,
            });
            return;
        }
        if let Some(c) = memory.last_change(&key).filter(|c| c.settled_at.is_none()) {
            decision.verdict(
                RULE,
                table,
                format!(
                    "waiting for the change of {key} to {} at {} to take effect",
                    c.to, c.at
                ),
            );
            return;
        }
    }
    let Some(minute) = view.minute() else {
        decision.held.push(missing(
            &table,
            "no consumed-capacity datapoints in the lookback window".into(),
        ));
        return;
    };
    // What the ingest queues forecast for each dimension, for raising and for lowering alike.
    let forecasts: Vec<(CapacityKey, Forecast)> = match (tiles, &rule.feed_forward) {
        (Some(t), Some(feed)) => keys(view)
            .filter_map(|k| {
                let f = feed_forward::forecast(&memory.capacity, view, feed, t, &k)?;
                Some((k, f))
            })
            .collect(),
        _ => Vec::new(),
    };
    let raises = plan::raises(view, rule, memory, minute, &forecasts, hot_known, decision);
    if !raises.is_empty() {
        decision
            .actions
            .extend(raises.into_iter().map(Action::RaiseCapacity));
        return;
    }
    let Some(lower) = &rule.lower else { return };
    let context = lower::Context {
        minute,
        jobs_over,
        forecast: forecasts
            .into_iter()
            .map(|(k, f)| (k, f.expected_per_s))
            .collect(),
        hot_known: hot_known.to_vec(),
    };
    for change in lower::lowers(view, rule, lower, memory, &context) {
        decision.verdict(
            RULE,
            change.key.to_string(),
            format!(
                "propose {} → {} ({:?})",
                change.from, change.to, change.cause
            ),
        );
        decision.actions.push(Action::LowerCapacity(change));
    }
}

/// On-demand tables have no capacity to raise: throttling there is a hot key or a sudden
/// doubling of traffic, and a person must look.
fn on_demand(view: &TableView<'_>, rule: &TableRule, decision: &mut Decision) {
    let observed = view.observed;
    for obs in view.resources() {
        for dimension in Dimension::BOTH {
            let subject = CapacityKey {
                resource: obs.resource.clone(),
                dimension,
            }
            .to_string();
            let Some(latest) = obs.dimension(dimension).consumed.latest() else {
                continue;
            };
            let (consumed, events) =
                TableView::minute_of(obs, dimension, latest.start).unwrap_or((0.0, 0.0));
            let evidence = Evidence {
                period_start: latest.start,
                age: observed.at.since(latest.start.plus(observed.period)),
                provisioned: None,
                consumed,
                throttle_events: events,
            };
            if plan::is_throttling(rule, events, observed.period) {
                escalate(
                    decision,
                    &obs.resource,
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
        }
    }
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

fn escalate(
    decision: &mut Decision,
    resource: &Resource,
    cause: EscalationCause,
    evidence: Evidence,
    advice: &str,
) {
    decision.actions.push(Action::Escalate(Escalation {
        resource: resource.clone(),
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

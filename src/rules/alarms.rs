//! The runbook's other alarms (`shared/boss.md`, "Other failure modes worth watching"): notify
//! people with the evidence and the runbook's advice; never act. One notice per alarm and
//! subject within the escalation interval; a channel that failed is owed the notice.

use super::pause::push_notice;
use crate::domain::action::Action;
use crate::domain::decision::Decision;
use crate::domain::notice::{AlertCause, Notice, Topic};
use crate::domain::observed::{FunctionObs, Observed, Series};
use crate::memory::Memory;
use crate::messages;
use crate::policy::Policy;
use crate::time::Timestamp;

const RULE: &str = "alarms";

/// Raises every alarm whose condition holds in this observation.
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    if !policy.alarms.enabled {
        return;
    }
    // Escalations proposed by the capacity rule this tick go to people too, one per resource.
    // One already escalated within the interval keeps its notice's key, so a channel that
    // failed is owed it and one that took it never gets it again.
    let mut escalations: Vec<(String, String)> = Vec::new();
    for a in &decision.actions {
        let Action::Escalate(e) = a else { continue };
        let about = e.resource.to_string();
        if !escalations.iter().any(|(r, _)| *r == about) {
            escalations.push((
                about,
                format!("{:?}: {}; {}", e.cause, e.evidence, e.advice),
            ));
        }
    }
    let at = observed.at;
    let mut raise = |cause: AlertCause, about: &str, evidence: String| {
        decision.verdict(RULE, about, format!("{cause}: {evidence}"));
        alert(decision, memory, policy, cause, about, &evidence, at);
    };
    let growing_for = policy.alarms.growing_for;
    let ingest_function = policy.domain.function("tileIngestLambda");
    let ingest_errors = observed
        .function(&ingest_function)
        .map_or(0.0, |f| recent_sum(&f.errors, observed, policy));
    for job in &observed.jobs {
        if let Some(dlq) = job.index_dlq.as_ref().filter(|d| d.total() > 0) {
            raise(
                AlertCause::IndexDeadLetters,
                &dlq.name,
                format!(
                    "{} message(s) in the tile-index dead-letter queue of job {}",
                    dlq.total(),
                    job.job
                ),
            );
        }
        if let Some(index) = &job.index
            && let Some((lasted, by)) = crate::watch::growth(&memory.pause, &index.name, at)
            && lasted >= growing_for
            && !memory.pause.caps_queue(&index.name)
        {
            raise(
                AlertCause::IndexQueueGrowing,
                &index.name,
                format!(
                    "tile-index queue of job {} grew by {by} to {} message(s) ({} in flight) over {} without falling",
                    job.job,
                    index.total(),
                    index.in_flight,
                    crate::time::human(lasted)
                ),
            );
        }
        if let Some((lasted, by)) = crate::watch::growth(&memory.pause, &job.ingest.name, at)
            && lasted >= growing_for
            && ingest_errors > 0.0
        {
            raise(
                AlertCause::IngestFailing,
                &job.ingest.name,
                format!(
                    "ingest queue of job {} grew by {by} to {} message(s) over {} while {ingest_function} reported {ingest_errors:.0} error(s) in the last {}",
                    job.job,
                    job.ingest.total(),
                    crate::time::human(lasted),
                    crate::time::human(policy.drift.sustained_for + policy.controller.stale_after)
                ),
            );
        }
    }
    for f in &observed.functions {
        let throttles = recent_sum(&f.throttles, observed, policy);
        // Throttles under remediator's own reserved-concurrency cap are the pause working.
        let own_cap = memory.pause.reserved_cap(&f.name).is_some();
        if throttles > 0.0 && !own_cap {
            raise(
                AlertCause::FunctionThrottled,
                &f.name,
                throttled_evidence(f, throttles, policy),
            );
        }
    }
    if let Some(dl) = observed.deadletter.as_ref().filter(|d| d.total() > 0) {
        raise(
            AlertCause::PageOutDeadLetters,
            &dl.name,
            format!(
                "{} message(s) in {}: page-outs failing, write locks imminent",
                dl.total(),
                dl.name
            ),
        );
    }
    for (resource, evidence) in escalations {
        raise(AlertCause::Capacity, &resource, evidence);
    }
    for r in &memory.redrives {
        if let Some(end) = r.end.as_ref().filter(|e| e.gave_up)
            && at.since(end.at) < policy.guardrails.escalation_interval
        {
            raise(
                AlertCause::RedriveGaveUp,
                &r.queue,
                format!(
                    "the re-drive of {} started {} {} at {}",
                    r.queue, r.at, end.describe, end.at
                ),
            );
        }
    }
    for cache in &observed.caches {
        if let Some(p) = fresh(&cache.engine_cpu, observed, policy).last()
            && p.value >= policy.alarms.redis_cpu_ceiling
        {
            raise(
                AlertCause::RedisCpu,
                &cache.cluster,
                format!(
                    "EngineCPUUtilization {:.0} % in the minute from {} (ceiling {:.0} %)",
                    p.value, p.start, policy.alarms.redis_cpu_ceiling
                ),
            );
        }
    }
}

fn throttled_evidence(f: &FunctionObs, throttles: f64, policy: &Policy) -> String {
    format!(
        "{throttles:.0} throttled invocation(s) of {} in the last {}",
        f.name,
        crate::time::human(policy.drift.sustained_for + policy.controller.stale_after)
    )
}

/// Points no older than `stale_after` (by the end of their period).
fn fresh<'s>(
    series: &'s Series,
    observed: &Observed,
    policy: &Policy,
) -> Vec<&'s crate::domain::observed::Point> {
    series
        .points
        .iter()
        .filter(|p| {
            observed.at.since(p.start.plus(observed.period)) <= policy.controller.stale_after
        })
        .collect()
}

/// The sum of a count over the last `sustained_for` of fresh minutes.
#[must_use]
pub fn recent_sum(series: &Series, observed: &Observed, policy: &Policy) -> f64 {
    let from = observed
        .at
        .minus(policy.drift.sustained_for + policy.controller.stale_after);
    series
        .points
        .iter()
        .filter(|p| p.start >= from)
        .map(|p| p.value)
        .sum()
}

/// One notice per alarm and subject within the escalation interval.
pub(crate) fn alert(
    decision: &mut Decision,
    memory: &Memory,
    policy: &Policy,
    cause: AlertCause,
    about: &str,
    evidence: &str,
    at: Timestamp,
) {
    let prefix = format!("alert/{cause}/{about}@");
    let key = match memory.pause.latest_notice(&prefix) {
        Some(last) if at.since(last.at) < policy.guardrails.escalation_interval => last.key.clone(),
        _ => format!("{prefix}{at}"),
    };
    let notice = Notice {
        key,
        topic: Topic::Alert(cause),
        about: about.to_string(),
        channels: Vec::new(),
        message: messages::alert(cause, about, evidence, at),
    };
    push_notice(decision, memory, policy, notice, at);
}

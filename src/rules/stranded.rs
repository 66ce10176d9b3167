//! Stranded ingest queues (the runbook's "Ingest stuck"): a job whose uploads are finished but
//! whose ingest queue keeps visible messages that no lambda will come for. Proposes a re-drive.

use crate::domain::action::Action;
use crate::domain::decision::Decision;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::{IngestJob, Observed};
use crate::domain::redrive::{RedriveOrder, RedriveOrigin, Settings, Target};
use crate::memory::Memory;
use crate::policy::Policy;

const RULE: &str = "stranded";

/// Judges every ingest job of the observation.
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    if !policy.redrive.enabled {
        return;
    }
    for job in &observed.jobs {
        judge(observed, policy, memory, job, decision);
    }
}

fn judge(
    observed: &Observed,
    policy: &Policy,
    memory: &Memory,
    job: &IngestJob,
    decision: &mut Decision,
) {
    let ingest = &job.ingest;
    let subject = ingest.name.clone();
    if ingest.visible == 0 {
        decision.verdict(
            RULE,
            subject,
            format!("nothing visible ({} in flight)", ingest.in_flight),
        );
        return;
    }
    let busy = |name: &str, depth: &Option<crate::domain::observed::QueueDepth>| {
        depth
            .as_ref()
            .filter(|d| d.total() > 0)
            .map(|d| format!("{name} queue still holds {} message(s)", d.total()))
    };
    if let Some(why) = busy("upload", &job.upload).or_else(|| busy("tile-index", &job.index)) {
        decision.verdict(
            RULE,
            subject,
            format!("{} visible, not stranded: {why}", ingest.visible),
        );
        return;
    }
    if let Some(running) = memory
        .last_redrive(&ingest.name)
        .filter(|r| r.end.is_none())
    {
        decision.verdict(
            RULE,
            subject,
            format!(
                "{} visible; a re-drive is running since {}",
                ingest.visible, running.at
            ),
        );
        return;
    }
    let Some(watch) = memory
        .queue_watch(&ingest.name)
        .filter(|w| ingest.visible >= w.visible)
    else {
        decision.verdict(
            RULE,
            subject,
            format!(
                "{} visible and falling (or first seen): watching",
                ingest.visible
            ),
        );
        return;
    };
    let still = observed.at.since(watch.since);
    if still < policy.redrive.stranded_after {
        decision.verdict(
            RULE,
            subject,
            format!(
                "{} visible, not fallen for {} of {}",
                ingest.visible,
                crate::time::human(still),
                crate::time::human(policy.redrive.stranded_after)
            ),
        );
        return;
    }
    decision.verdict(
        RULE,
        subject,
        format!(
            "stranded: {} visible, not fallen for {}, uploads finished",
            ingest.visible,
            crate::time::human(still)
        ),
    );
    let order = Action::Redrive(RedriveOrder {
        target: Target {
            job: job.job.clone(),
            queue: ingest.name.clone(),
            queue_url: ingest.url.clone(),
            function: policy.redrive.function.clone(),
        },
        settings: Settings::from_policy(policy, policy.redrive.rate_per_s, None),
        origin: RedriveOrigin::Stranded {
            not_fallen_since: watch.since,
        },
        visible: ingest.visible,
        in_flight: ingest.in_flight,
    });
    // The runbook: a growing ingest queue with erroring lambdas needs a person, not more
    // invocations into the failing lambda.
    // Performers are asked to pause because the lambdas cannot keep up: a re-drive would add
    // to their load. It waits for the resume.
    if let Some(episode) = &memory.pause.episode {
        let reason = HoldReason::PerformersPaused {
            since: episode.since,
        };
        decision.held.push(Held::action(order, reason));
        return;
    }
    let Some(function) = observed.function(&policy.redrive.function) else {
        let reason = HoldReason::MissingData {
            what: format!(
                "{}'s Errors could not be read: not re-driving into a lambda that may be failing",
                policy.redrive.function
            ),
        };
        decision.held.push(Held::action(order, reason));
        return;
    };
    let errors = super::alarms::recent_sum(&function.errors, observed, policy);
    if errors > 0.0 {
        let reason = HoldReason::FunctionFailing {
            function: policy.redrive.function.clone(),
            errors,
        };
        decision.held.push(Held::action(order, reason));
        return;
    }
    decision.actions.push(order);
}

//! The performer pause (the runbook's "Too much activity"): an episode begins when a watched
//! function is in trouble, and ends when every watched function has been steady for the
//! sustained time after the minimum pause, or when an operator ends it. Each episode sends one
//! pause message, reminders while it lasts (until someone acknowledges it), an alarm at every
//! reminder once it outlasts `alarm_after`, and one resume message; backend flow control is capped on entry and
//! put back on exit, including after a restart (the limits live in the state).

use super::drift::{Assessment, Frame, assess};
use crate::domain::action::Action;
use crate::domain::decision::Decision;
use crate::domain::notice::{Message, Notice, Topic};
use crate::domain::observed::Observed;
use crate::domain::pause::{Episode, FlowChange, FlowTarget, PauseOrder, ResumeCause, ResumeOrder};
use crate::memory::{Memory, episode_key};
use crate::messages;
use crate::policy::{FlowLever, Policy};
use crate::time::Timestamp;

const RULE: &str = "drift";

/// Judges the watched functions and moves the episode on.
pub fn decide(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    let pause = &memory.pause;
    if !policy.drift.enabled {
        if let Some(episode) = &pause.episode {
            end(
                observed,
                policy,
                memory,
                episode,
                "drift detection switched off in the policy",
                decision,
            );
        } else {
            restore_leftovers(observed, memory, decision);
        }
        return;
    }
    let frame = Frame::new(policy, observed);
    let mut assessments: Vec<Assessment> = Vec::new();
    let mut unseen = Vec::new();
    for name in &policy.drift.functions {
        match observed.function(name) {
            Some(f) => {
                let base = crate::watch::baseline_ms(pause, policy, name);
                // Our own reserved-concurrency cap is not the function's capacity: judged
                // against it, the pause would keep itself going.
                let mut f = f.clone();
                if let Some(limit) = pause.reserved_cap(name) {
                    f.concurrency_limit = limit.original;
                }
                let a = assess(&f, base, &frame);
                decision.verdict(RULE, name.clone(), a.finding.clone());
                assessments.push(a);
            }
            None => unseen.push(name.clone()),
        }
    }
    let trouble: Vec<_> = assessments.iter().flat_map(|a| a.trouble.clone()).collect();
    let steady = unseen.is_empty() && assessments.iter().all(|a| a.steady);
    let at = observed.at;
    match &pause.episode {
        None if pause.suppressed_since.is_some() => {
            decision.verdict(
                RULE,
                "performers",
                "an operator ended the last pause: no new one until every function is steady again",
            );
            restore_leftovers(observed, memory, decision);
            resend_resume(observed, policy, memory, decision);
        }
        None if !trouble.is_empty() => {
            let jobs: Vec<String> = observed.jobs.iter().map(|j| j.job.clone()).collect();
            let flow = limits_wanted(observed, policy, memory);
            let message = messages::pause(at, &trouble, &jobs, &flow, policy.drift.min_pause);
            decision
                .actions
                .push(Action::Pause(PauseOrder { trouble, jobs }));
            let notice = performers(episode_key(at), Topic::Pause, message);
            push_notice(decision, memory, policy, notice, at);
            decision
                .actions
                .extend(flow.into_iter().map(Action::LimitFlow));
        }
        None => {
            restore_leftovers(observed, memory, decision);
            resend_resume(observed, policy, memory, decision);
        }
        Some(episode) => {
            if let Some(note) = &episode.end_requested {
                let why = format!("ended by {} at {}", note.by, note.at);
                end(observed, policy, memory, episode, &why, decision);
                return;
            }
            let lasted = at.since(episode.since);
            if steady && lasted >= policy.drift.min_pause {
                let why = format!(
                    "every watched function steady for {} ({})",
                    crate::time::human(policy.drift.sustained_for),
                    assessments
                        .iter()
                        .map(|a| format!("{}: {}", a.function, a.finding))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                end(observed, policy, memory, episode, &why, decision);
                return;
            }
            let state = if steady {
                format!(
                    "steady, but paused only {} of the minimum {}",
                    crate::time::human(lasted),
                    crate::time::human(policy.drift.min_pause)
                )
            } else if unseen.is_empty() {
                "not steady yet".to_string()
            } else {
                format!(
                    "cannot tell whether steady: {} not observed",
                    unseen.join(", ")
                )
            };
            decision.verdict(
                RULE,
                "performers",
                format!("paused since {}: {state}", episode.since),
            );
            continue_episode(observed, policy, memory, episode, decision);
        }
    }
}

/// While paused: owed pause messages, reminders, the alarm, and caps for new mappings.
fn continue_episode(
    observed: &Observed,
    policy: &Policy,
    memory: &Memory,
    episode: &Episode,
    decision: &mut Decision,
) {
    let at = observed.at;
    let key = episode_key(episode.since);
    let flow: Vec<FlowChange> = limits_wanted(observed, policy, memory);
    let message = messages::pause(
        episode.since,
        &episode.trouble,
        &episode.jobs,
        &flow,
        policy.drift.min_pause,
    );
    let notice = performers(key.clone(), Topic::Pause, message);
    push_notice(decision, memory, policy, notice, at);
    if episode.acknowledged.is_none() {
        let lasted = at.since(episode.since);
        let every = policy.drift.renotify_every.as_secs().max(1);
        let k = lasted.as_secs() / every;
        if lasted >= policy.drift.alarm_after {
            // The alarm repeats every renotify interval until someone acknowledges the pause.
            let n = (lasted - policy.drift.alarm_after).as_secs() / every;
            let message = messages::reminder(episode, at, true);
            let notice = performers(format!("{key}/alarm-{n}"), Topic::Alarm, message);
            push_notice(decision, memory, policy, notice, at);
        } else if k >= 1 {
            let message = messages::reminder(episode, at, false);
            let notice = performers(format!("{key}/reminder-{k}"), Topic::Reminder, message);
            push_notice(decision, memory, policy, notice, at);
        }
    }
    decision
        .actions
        .extend(flow.into_iter().map(Action::LimitFlow));
}

/// Ends the episode: resume order, resume message, and every flow limit put back.
fn end(
    observed: &Observed,
    policy: &Policy,
    memory: &Memory,
    episode: &Episode,
    why: &str,
    decision: &mut Decision,
) {
    let at = observed.at;
    let restores = restores(observed, memory);
    let cause = match (&episode.end_requested, policy.drift.enabled) {
        (Some(note), _) => ResumeCause::Operator {
            name: note.by.clone(),
        },
        (None, false) => ResumeCause::Operator {
            name: "the policy (drift.enabled = false)".to_string(),
        },
        (None, true) => ResumeCause::Steady {
            evidence: why.to_string(),
        },
    };
    decision.actions.push(Action::Resume(ResumeOrder {
        since: episode.since,
        cause,
    }));
    let message = messages::resume(episode.since, at, why, &restores);
    let key = format!("{}/resume", episode_key(episode.since));
    push_notice(
        decision,
        memory,
        policy,
        performers(key, Topic::Resume, message),
        at,
    );
    decision
        .actions
        .extend(restores.into_iter().map(Action::RestoreFlow));
}

/// A resume message that did not go out on every channel is sent again while it is recent.
fn resend_resume(observed: &Observed, policy: &Policy, memory: &Memory, decision: &mut Decision) {
    let Some((since, ended)) = memory.pause.last_episode else {
        return;
    };
    let key = format!("{}/resume", episode_key(since));
    if memory.pause.latest_notice(&key).is_none() {
        return;
    }
    let message = messages::resume(since, ended, "the pause ended (message sent again)", &[]);
    let notice = performers(key, Topic::Resume, message);
    push_notice(decision, memory, policy, notice, observed.at);
}

/// Limits left over with no episode (a restore that failed, or one interrupted by a restart)
/// are put back.
fn restore_leftovers(observed: &Observed, memory: &Memory, decision: &mut Decision) {
    decision.actions.extend(
        restores(observed, memory)
            .into_iter()
            .map(Action::RestoreFlow),
    );
}

/// Every remembered limit whose setting is still ours goes back to its original. One not read
/// this tick waits for a tick that reads it; one changed by someone else since is left alone.
fn restores(observed: &Observed, memory: &Memory) -> Vec<FlowChange> {
    memory
        .pause
        .flow_limits
        .iter()
        .filter(|l| observed.flow_setting(&l.target) == Some(l.limited_to))
        .map(|l| FlowChange {
            target: l.target.clone(),
            from: l.limited_to,
            to: l.original,
        })
        .collect()
}

/// Caps the policy wants and memory does not hold yet: each tile-index queue mapping of the
/// flow-control function (or its reserved concurrency) above the policy's maximum.
fn limits_wanted(observed: &Observed, policy: &Policy, memory: &Memory) -> Vec<FlowChange> {
    let Some(fc) = &policy.signals.flow_control else {
        return Vec::new();
    };
    let held = |t: &FlowTarget| memory.pause.flow_limits.iter().any(|l| &l.target == t);
    let above = |now: Option<u32>| now.is_none_or(|n| n > fc.max_concurrency);
    match fc.lever {
        FlowLever::EventSourceMapping => observed
            .mappings
            .iter()
            .flatten()
            .filter(|m| {
                m.function == fc.function || m.function.ends_with(&format!(":{}", fc.function))
            })
            .filter(|m| m.queue.ends_with("-index") && m.queue.starts_with(&policy.domain.dashed()))
            .map(|m| FlowChange {
                target: FlowTarget::Mapping {
                    uuid: m.uuid.clone(),
                    function: fc.function.clone(),
                    queue: m.queue.clone(),
                },
                from: m.max_concurrency,
                to: Some(fc.max_concurrency),
            })
            .filter(|c| !held(&c.target) && above(c.from))
            .collect(),
        FlowLever::ReservedConcurrency => {
            let target = FlowTarget::Reserved {
                function: fc.function.clone(),
            };
            match observed.flow_setting(&target) {
                Some(now) if !held(&target) && above(now) => vec![FlowChange {
                    target,
                    from: now,
                    to: Some(fc.max_concurrency),
                }],
                _ => Vec::new(),
            }
        }
    }
}

/// A notice about the performers, to be sent on the channels it is owed on.
fn performers(key: String, topic: Topic, message: Message) -> Notice {
    Notice {
        key,
        topic,
        about: "performers".to_string(),
        channels: Vec::new(),
        message,
    }
}

/// Proposes `notice` on the channels it is still owed on. A notice never recorded goes to
/// every configured channel (or, with none, to the log once); one recorded goes again only to
/// channels that failed: a RESUME or ALARM until delivered, others within `renotify_every` of
/// the first try.
pub fn push_notice(
    decision: &mut Decision,
    memory: &Memory,
    policy: &Policy,
    mut notice: Notice,
    at: Timestamp,
) {
    let channels = policy.signals.channels();
    let record = memory.pause.notices.iter().find(|n| n.key == notice.key);
    // A RESUME or an ALARM is owed until it goes out (or is pruned after a day): performers
    // who never hear the resume stay paused. Other notices are superseded by the next one.
    let keeps_trying = matches!(notice.topic, Topic::Resume | Topic::Alarm);
    notice.channels = match record {
        None => channels,
        Some(record) if keeps_trying || at.since(record.at) < policy.drift.renotify_every => {
            channels
                .into_iter()
                .filter(|c| !record.delivered.contains(c))
                .collect()
        }
        Some(_) => Vec::new(),
    };
    if record.is_none() || !notice.channels.is_empty() {
        decision.actions.push(Action::Notify(notice));
    }
}

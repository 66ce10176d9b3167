//! The words people read: subjects and bodies of the pause, reminder, alarm, resume and alert
//! notices. Every subject starts with `[remediator] PAUSE`, `RESUME` or `ALERT`, so mail
//! filters (and the simulated performers) can sort them; SNS subjects stay under 100 characters.

use crate::domain::notice::{AlertCause, Message};
use crate::domain::pause::{Episode, FlowChange, Trouble, TroubleKind};
use crate::time::{Timestamp, human};
use std::fmt::Write as _;

/// SNS rejects a subject of 100 characters or more.
const SUBJECT_MAX: usize = 99;

fn subject(text: String) -> String {
    if text.chars().count() <= SUBJECT_MAX {
        return text;
    }
    let mut cut: String = text.chars().take(SUBJECT_MAX - 1).collect();
    cut.push('…');
    cut
}

fn jobs_line(jobs: &[String]) -> String {
    if jobs.is_empty() {
        "no ingest job has queues right now".to_string()
    } else {
        jobs.join(", ")
    }
}

fn functions_of(trouble: &[Trouble]) -> String {
    let mut names: Vec<&str> = trouble.iter().map(|t| t.function.as_str()).collect();
    names.dedup();
    names.join(", ")
}

/// One `- item` line each.
fn bullets<T: std::fmt::Display>(body: &mut String, items: &[T]) {
    for item in items {
        let _ = writeln!(body, "- {item}");
    }
}

const OPERATOR_HELP: &str = "On-call, with the controller's policy file: `remediator status --policy POLICY.toml` shows the pause; `remediator pause ack --policy POLICY.toml --by YOUR_NAME` stops the reminders and the alarm; `remediator pause end --policy POLICY.toml --by YOUR_NAME` resumes now.";

/// The first message of an episode.
#[must_use]
pub fn pause(
    since: Timestamp,
    trouble: &[Trouble],
    jobs: &[String],
    flow: &[FlowChange],
    min_pause: std::time::Duration,
) -> Message {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "BOSS ingest is tipping over: remediator asks performers to pause uploads, or to lower ingest-client -p, until the system catches up.\n"
    );
    let _ = writeln!(body, "Since: {since}");
    let _ = writeln!(body, "Jobs with ingest queues: {}", jobs_line(jobs));
    let _ = writeln!(body, "Evidence:");
    bullets(&mut body, trouble);
    if !flow.is_empty() {
        let _ = writeln!(
            body,
            "Backend flow control being applied (put back on resume; uploads still land in SQS):"
        );
        bullets(&mut body, flow);
    }
    let _ = writeln!(
        body,
        "\nWhat to do: pause uploads, or restart ingest-client with a lower -p. A RESUME message follows once durations are steady again (not before {}).\n{OPERATOR_HELP}",
        human(min_pause)
    );
    Message {
        subject: subject(format!(
            "[remediator] PAUSE uploads: {} {}",
            functions_of(trouble),
            if trouble.iter().all(|t| t.kind == TroubleKind::NearCapacity) {
                "near the concurrency limit"
            } else {
                "drifting"
            }
        )),
        body,
    }
}

/// While paused, every `renotify_every`; an `alarm` instead once it lasts longer than
/// `alarm_after` with nobody acknowledging it.
#[must_use]
pub fn reminder(episode: &Episode, at: Timestamp, alarm: bool) -> Message {
    let lasted = human(at.since(episode.since));
    let mut body = String::new();
    if alarm {
        let _ = writeln!(
            body,
            "ALARM: performers have been asked to pause for {lasted} and nobody has acknowledged it. A pause nobody resolves is itself an incident: find out why BOSS has not recovered.\n"
        );
    } else {
        let _ = writeln!(
            body,
            "Performers are still asked to pause uploads (or keep ingest-client -p low): BOSS has not been steady for long enough yet.\n"
        );
    }
    let _ = writeln!(body, "Since: {} ({lasted})", episode.since);
    let _ = writeln!(body, "Jobs: {}", jobs_line(&episode.jobs));
    let _ = writeln!(body, "Evidence at the start:");
    bullets(&mut body, &episode.trouble);
    let _ = writeln!(body, "\n{OPERATOR_HELP}");
    let head = if alarm {
        "[remediator] PAUSE ALARM: paused"
    } else {
        "[remediator] PAUSE still in effect:"
    };
    Message {
        subject: subject(format!("{head} {lasted} since {}", episode.since)),
        body,
    }
}

/// The end of an episode.
#[must_use]
pub fn resume(since: Timestamp, at: Timestamp, why: &str, flow: &[FlowChange]) -> Message {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "Performers may resume uploads. Please come back gradually: restart with a moderate ingest-client -p rather than the previous level.\n"
    );
    let _ = writeln!(
        body,
        "Paused from {since} to {at} ({}).",
        human(at.since(since))
    );
    let _ = writeln!(body, "Why now: {why}");
    for f in flow {
        let _ = writeln!(body, "Putting back {f}");
    }
    Message {
        subject: subject(format!("[remediator] RESUME uploads: paused since {since}")),
        body,
    }
}

/// The runbook's advice for each alarm.
#[must_use]
pub fn advice(cause: AlertCause) -> &'static str {
    match cause {
        AlertCause::IndexQueueGrowing | AlertCause::IndexDeadLetters => {
            "tileUploadLambda (the first lambda) is failing: read its logs; typically a DynamoDB throttle makes it time out. Check TileIndex throttling."
        }
        AlertCause::IngestFailing => {
            "the ingest lambdas are failing, often on memory or image loading: check the tiles are not too large (2k × 2k is safe for all data types) and load with Pillow; the automatic re-drive is held meanwhile."
        }
        AlertCause::FunctionThrottled => {
            "Lambda is throttling: running re-drives slow down on their own; lower ingest-client -p or raise the function's concurrency."
        }
        AlertCause::PageOutDeadLetters => {
            "page-outs are failing: the cache manager will set a Redis write lock and refuse writes until a person clears it. Act now."
        }
        AlertCause::Capacity => {
            "more capacity will not help here, or the policy ceiling is reached: a person must look (see the evidence)."
        }
        AlertCause::RedriveGaveUp => {
            "the re-drive stopped without draining the queue: read tileIngestLambda's errors; the rule will not start another on this queue before the escalation interval unless a person does (`remediator redrive`)."
        }
        AlertCause::RedisCpu => {
            "Redis is at its CPU ceiling, slowing the endpoints (more endpoints will not help): ask readers to use access-mode=raw (or no-cache)."
        }
        AlertCause::Implausible => {
            "a metric reported a value no AWS service could produce (see the bound): the controller holds this signal and acts on nothing it says; check what publishes to CloudWatch under this name (a test harness, a custom metric in the AWS namespace) and the CloudWatch console."
        }
        AlertCause::StateUnwritable => {
            "the controller cannot write its state store, so it does nothing it could not remember (no raise, lower, re-drive or pause): fix the store (disk full, permissions, a missing directory, the state table) and it carries on at the next tick."
        }
    }
}

/// One of the runbook's other alarms.
#[must_use]
pub fn alert(cause: AlertCause, about: &str, evidence: &str, at: Timestamp) -> Message {
    Message {
        subject: subject(format!("[remediator] ALERT {cause}: {about}")),
        body: format!(
            "{evidence}\n\nObserved at {at}.\nAdvice: {}\n",
            advice(cause)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::OPERATOR_HELP;
    use clap::Parser as _;

    /// The commands the PAUSE message gives on-call parse as written (with the placeholders
    /// filled in): a message read at 3 a.m. must not hand out a command that fails.
    #[test]
    fn the_commands_in_the_pause_message_parse() {
        let commands: Vec<&str> = OPERATOR_HELP.split('`').skip(1).step_by(2).collect();
        assert_eq!(commands.len(), 3, "{OPERATOR_HELP}");
        for command in commands {
            let filled = command
                .replace("POLICY.toml", "policies/local.toml")
                .replace("YOUR_NAME", "alice");
            let args: Vec<&str> = filled.split_whitespace().collect();
            assert_eq!(args[0], "remediator");
            crate::cli::Cli::try_parse_from(&args)
                .unwrap_or_else(|e| panic!("`{command}` does not parse: {e}"));
        }
    }
}

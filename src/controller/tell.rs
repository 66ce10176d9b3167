//! What a tick tells people: one line per action and hold in the log, and the problems a
//! one-shot command prints and turns into its exit status.

use super::Mode;
use crate::act::Outcome;
use crate::reconcile::TickReport;

/// Problems a one-shot command reports on stderr and turns into a non-zero exit: whatever
/// could not be observed, and every call that failed.
#[must_use]
pub fn problems(report: &TickReport) -> Vec<String> {
    // One line per distinct cause: an unreachable endpoint fails every table, queue and
    // function the same way, whatever the call. A group of one call keeps the call's name.
    let mut by_cause: Vec<(String, Vec<&str>, Vec<String>)> = Vec::new();
    for u in &report.observed.unobserved {
        let cause = u.reason.cause();
        let reason = u.reason.to_string();
        match by_cause.iter_mut().find(|(c, _, _)| *c == cause) {
            Some((_, subjects, reasons)) => {
                subjects.push(&u.subject);
                if !reasons.contains(&reason) {
                    reasons.push(reason);
                }
            }
            None => by_cause.push((cause, vec![&u.subject], vec![reason])),
        }
    }
    let mut out: Vec<String> = by_cause
        .into_iter()
        .map(|(cause, subjects, reasons)| {
            let reason = if reasons.len() == 1 {
                &reasons[0]
            } else {
                &cause
            };
            format!("{}: not observed: {reason}", subjects.join(", "))
        })
        .collect();
    for done in &report.actions {
        match &done.outcome {
            Outcome::Failed { error, .. } => out.push(format!(
                "{} {}: failed: {error}",
                done.action.kind(),
                done.action.subject()
            )),
            Outcome::Sent { deliveries } => {
                for d in deliveries {
                    if let Some(error) = &d.error {
                        out.push(format!(
                            "{} {} on {}: failed (owed, retried next tick): {error}",
                            done.action.kind(),
                            done.action.subject(),
                            d.channel
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One log line per action and hold, so the log alone tells what happened and why.
pub(super) fn log_report(report: &TickReport, mode: Mode) {
    for done in &report.actions {
        let (kind, subject, reason) = (
            done.action.kind(),
            done.action.subject(),
            done.action.reason(),
        );
        match &done.outcome {
            Outcome::Applied { call } => {
                tracing::info!(%kind, %subject, %call, "did {kind} {subject}: {reason}");
            }
            Outcome::WouldApply => {
                tracing::info!(%kind, %subject, mode = mode.label(), "would {kind} {subject}: {reason}");
            }
            Outcome::Reported
                if matches!(done.action, crate::domain::action::Action::Notify(_)) =>
            {
                tracing::warn!(%kind, %subject, "notice about {subject} (no signal channel configured): {reason}");
            }
            Outcome::Reported => {
                tracing::warn!(%kind, %subject, "escalation for {subject}: {reason}");
            }
            Outcome::Recorded => {
                tracing::warn!(%kind, %subject, "did {kind} {subject}: {reason}");
            }
            Outcome::Sent { deliveries } => {
                for d in deliveries {
                    let channel = d.channel;
                    match (&d.receipt, &d.error) {
                        (_, Some(error)) => {
                            tracing::error!(%kind, %subject, %channel, "{kind} {subject} on {channel} failed, owed until it goes out (retried next tick): {error}")
                        }
                        (receipt, None) => {
                            tracing::info!(%kind, %subject, %channel, "sent {kind} {subject} on {channel} ({}): {reason}", receipt.as_deref().unwrap_or("delivered"))
                        }
                    }
                }
            }
            Outcome::Failed { error, transient } => {
                if *transient {
                    tracing::warn!(%kind, %subject, "{kind} {subject} failed, will retry next tick: {error}");
                } else {
                    tracing::error!(%kind, %subject, "{kind} {subject} refused; needs a person, not tried again within the escalation interval: {error}");
                }
            }
        }
    }
    // What a process that stopped mid-act left behind, and how the world answered.
    for v in report.verdicts.iter().filter(|v| v.rule == "intent") {
        tracing::warn!(subject = %v.subject, "{}", v.finding);
    }
    // An unobserved table is also held as `observe`; the warning below says it once.
    // Holds repeat tick after tick (a cooldown, a table with no data): one by one at debug,
    // counted by reason in the tick's line below.
    for held in report.held.iter().filter(|h| h.kind != "observe") {
        tracing::debug!(kind = %held.kind, subject = %held.subject, "held {} {}: {}", held.kind, held.subject, held.reason);
    }
    for u in &report.observed.unobserved {
        tracing::warn!(subject = %u.subject, "not observed: {}", u.reason);
    }
    let reasons = super::metrics::holds_by_reason(&report.held);
    let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
    tracing::info!(
        mode = mode.label(),
        "tick at {}: {} resources observed, {} unobserved, {} actions, {} held{}",
        report.at,
        report.observed.resources.len(),
        report.observed.unobserved.len(),
        report.actions.len(),
        report.held.len(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
}

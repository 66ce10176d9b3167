//! What `remediator status` prints, and the operator's word on a pause (`pause ack`,
//! `pause end`), both read from and written to the controller's state.
//!
//! The running controller keeps its memory in process and saves it every tick; it adopts an
//! operator's note from the stored state before each tick and again just before saving, so a
//! note written between two ticks is never overwritten.

use crate::domain::pause::{OperatorNote, cap_text};
use crate::memory::Memory;
use crate::policy::Policy;
use crate::time::{Timestamp, human};
use serde::Serialize;
use std::fmt::Write as _;

/// The operator's note could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PauseCommandError {
    #[error("no pause in progress{0}")]
    NotPaused(String),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
}

/// What an operator says about the pause in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    Acknowledge,
    End,
}

/// Adds an operator's note on the pause in progress to the state store (its own item, so it
/// races nothing the controller writes), for the leading controller to take at its next tick;
/// returns the sentence to print.
///
/// # Errors
/// No pause in progress, or the state cannot be read or written.
pub async fn note<S: crate::state::StateStore>(
    store: &S,
    note: Note,
    by: &str,
    at: Timestamp,
) -> Result<String, PauseCommandError> {
    let mut memory = store.load().await?;
    let since = episode(&mut memory)?.since;
    let kind = match note {
        Note::Acknowledge => crate::state::NoteKind::Acknowledge,
        Note::End => crate::state::NoteKind::End,
    };
    store
        .add_note(&crate::state::Note {
            episode: since,
            kind,
            by: by.to_string(),
            at,
        })
        .await?;
    let what = match note {
        Note::Acknowledge => "pause acknowledged",
        Note::End => "end of the pause requested",
    };
    Ok(format!(
        "{what} by {by} at {at}; the running controller takes it at its next tick"
    ))
}

/// The pause state as `status --output json` prints it.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episode: Option<&'a crate::domain::pause::Episode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_for_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_episode: Option<(Timestamp, Timestamp)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_since: Option<Timestamp>,
    pub flow_limits: &'a [crate::domain::pause::FlowLimit],
    pub baselines: &'a [crate::domain::pause::Baseline],
    pub notices: &'a [crate::domain::notice::NoticeRecord],
}

#[must_use]
pub fn status(memory: &Memory, now: Timestamp) -> Status<'_> {
    let p = &memory.pause;
    Status {
        paused: p.episode.is_some(),
        episode: p.episode.as_ref(),
        paused_for_s: p.episode.as_ref().map(|e| now.since(e.since).as_secs()),
        last_episode: p.last_episode,
        suppressed_since: p.suppressed_since,
        flow_limits: &p.flow_limits,
        baselines: &p.baselines,
        notices: &p.notices,
    }
}

/// The status in words.
#[must_use]
pub fn render(memory: &Memory, policy: &Policy, now: Timestamp) -> String {
    let p = &memory.pause;
    let mut out = String::new();
    match &p.episode {
        Some(e) => {
            let _ = writeln!(
                out,
                "performers: ASKED TO PAUSE since {} ({})",
                e.since,
                human(now.since(e.since))
            );
            let jobs = if e.jobs.is_empty() {
                "none listed".to_string()
            } else {
                e.jobs.join(", ")
            };
            let _ = writeln!(out, "  jobs: {jobs}");
            for t in &e.trouble {
                let _ = writeln!(out, "  why: {t}");
            }
            match (&e.acknowledged, &e.end_requested) {
                (_, Some(end)) => {
                    let _ = writeln!(
                        out,
                        "  ended by {} at {}: the controller resumes at its next tick",
                        end.by, end.at
                    );
                }
                (Some(ack), None) => {
                    let _ = writeln!(
                        out,
                        "  acknowledged by {} at {}: no reminders or alarm; resumes when steady",
                        ack.by, ack.at
                    );
                }
                (None, None) => {
                    let _ = writeln!(
                        out,
                        "  not acknowledged: reminders every {}, alarm after {} (`remediator pause ack`)",
                        human(policy.drift.renotify_every),
                        human(policy.drift.alarm_after)
                    );
                }
            }
            let _ = writeln!(
                out,
                "  resumes once every watched function is steady for {}, not before {} after the start (`remediator pause end` resumes now)",
                human(policy.drift.sustained_for),
                human(policy.drift.min_pause)
            );
        }
        None => {
            let _ = write!(out, "performers: not paused");
            if let Some((since, ended)) = p.last_episode {
                let _ = write!(out, " (last pause {since} to {ended})");
            }
            let _ = writeln!(out);
            if let Some(s) = p.suppressed_since {
                let _ = writeln!(
                    out,
                    "  an operator ended the last pause at {s}: no new pause until every watched function is steady"
                );
            }
        }
    }
    for l in &p.flow_limits {
        let _ = writeln!(
            out,
            "flow control: {} set to {} at {} (to be put back to {})",
            l.target,
            cap_text(l.limited_to),
            l.at,
            cap_text(l.original)
        );
    }
    for b in &p.baselines {
        // A baseline with no steady minute folded in yet is still being learned: no figure.
        if b.minutes == 0 || b.through.0 == 0 {
            let _ = writeln!(out, "baseline: {} not learned yet", b.function);
        } else {
            let _ = writeln!(
                out,
                "baseline: {} {:.0} ms ({} minute(s) learned, through {})",
                b.function, b.ms, b.minutes, b.through
            );
        }
    }
    for (name, d) in &policy.drift.baselines {
        let _ = writeln!(out, "baseline: {name} {} (fixed in the policy)", human(*d));
    }
    if let Some(e) = &p.episode {
        let key = crate::memory::episode_key(e.since);
        for n in p.notices.iter().filter(|n| n.key.starts_with(&key)) {
            let channels: Vec<String> = n.delivered.iter().map(ToString::to_string).collect();
            let on = if channels.is_empty() {
                "no channel (logged)".to_string()
            } else {
                channels.join(", ")
            };
            let _ = writeln!(out, "notice: {} at {} on {on}", n.key, n.at);
        }
    }
    out
}

fn episode(memory: &mut Memory) -> Result<&mut crate::domain::pause::Episode, PauseCommandError> {
    let last = memory
        .pause
        .last_episode
        .map(|(s, e)| format!(" (the last one ran from {s} to {e})"))
        .unwrap_or_default();
    memory
        .pause
        .episode
        .as_mut()
        .ok_or(PauseCommandError::NotPaused(last))
}

impl Memory {
    /// Takes operators' notes on the running episode from the state store: the one thing
    /// about the pause written by someone other than the controller. A note on an earlier
    /// episode is ignored; the first note of each kind counts.
    pub fn adopt_operator_notes(&mut self, notes: &[crate::state::Note]) {
        let Some(episode) = self.pause.episode.as_mut() else {
            return;
        };
        for note in notes.iter().filter(|n| n.episode == episode.since) {
            let said = Some(OperatorNote {
                by: note.by.clone(),
                at: note.at,
            });
            let slot = match note.kind {
                crate::state::NoteKind::Acknowledge => &mut episode.acknowledged,
                crate::state::NoteKind::End => &mut episode.end_requested,
            };
            if slot.is_none() {
                *slot = said;
            }
        }
    }
}

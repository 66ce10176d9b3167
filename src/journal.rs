//! The decision journal: one JSON record per tick with what was seen (and how old it was), each
//! rule's verdict, what was admitted, held and done. Non-actions are recorded too, so a person
//! can tell the next morning why the controller did or did not act.
//!
//! The record keeps the newest datapoint of each signal rather than whole series: a tick every
//! 30 s must not write megabytes a day.

use crate::domain::action::Action;
use crate::domain::decision::Verdict;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::{FunctionObs, IngestJob, Observed, Series, Unobserved};
use crate::domain::resource::{BillingMode, Dimension, Resource, ScalingRange, TableStatus};
use crate::reconcile::{Done, TickReport};
use crate::redrive::Summary;
use crate::redrive::fleet::Snapshot;
use crate::time::Timestamp;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One tick, as written to the journal.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    /// RFC 3339, UTC.
    pub at: String,
    pub mode: &'static str,
    pub inputs: Vec<Input>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub jobs: &'a [IngestJob],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub functions: &'a [FunctionObs],
    pub unobserved: &'a [Unobserved],
    pub verdicts: &'a [Verdict],
    pub actions: &'a [Done],
    pub held: &'a [Held],
    /// Re-drives running after this tick, with their latest progress.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub redrives: &'a [Snapshot],
    /// Re-drives that ended since the last tick.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub redrives_ended: &'a [Summary],
    /// The replica that leads, when it is another (this one journals as a follower).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<&'a crate::state::Lease>,
    /// The kill switch, while it is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub halt: Option<&'a crate::halt::Halt>,
}

/// Re-drives that ended outside a tick (at shutdown, or at the end of `run --once`).
#[derive(Debug, Serialize)]
pub struct EndedRecord<'a> {
    pub at: String,
    pub mode: &'static str,
    pub redrives_ended: &'a [Summary],
}

/// One event of a manual re-drive (`remediator redrive`), journalled like a tick's actions.
#[derive(Debug, Serialize)]
pub struct RedriveEntry<'a> {
    pub at: String,
    pub mode: &'static str,
    /// `redrive-ordered` (with the guard's verdict) or `redrive-ended`.
    pub event: &'static str,
    pub queue: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a Action>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<&'a HoldReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'a Summary>,
}

/// The newest values of one capacity dimension and their ages.
#[derive(Debug, Serialize)]
pub struct Input {
    pub resource: Resource,
    pub dimension: Dimension,
    pub billing: BillingMode,
    pub status: TableStatus,
    pub provisioned: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<ScalingRange>,
    pub consumed_per_s: Option<Latest>,
    /// CloudWatch publishes no throttle datapoint for a quiet minute, so `None` is normal.
    pub throttle_events: Option<Latest>,
}

/// A datapoint with the start of its minute and its age at the tick (seconds since the minute
/// ended).
#[derive(Debug, Serialize)]
pub struct Latest {
    pub value: f64,
    pub minute: String,
    pub age_s: u64,
}

fn latest(series: &Series, at: Timestamp, period: Duration) -> Option<Latest> {
    let point = series.latest()?;
    Some(Latest {
        value: (point.value * 100.0).round() / 100.0,
        minute: point.start.to_string(),
        age_s: series.age(at, period).unwrap_or_default().as_secs(),
    })
}

fn inputs(observed: &Observed) -> Vec<Input> {
    let mut out = Vec::new();
    for r in &observed.resources {
        for dimension in Dimension::BOTH {
            let d = r.dimension(dimension);
            out.push(Input {
                resource: r.resource.clone(),
                dimension,
                billing: r.billing,
                status: r.status,
                provisioned: d.provisioned,
                autoscaling: d.autoscaling,
                consumed_per_s: latest(&d.consumed, observed.at, observed.period),
                throttle_events: latest(&d.throttle_events, observed.at, observed.period),
            });
        }
    }
    out
}

impl<'a> Record<'a> {
    #[must_use]
    pub fn new(report: &'a TickReport, mode: &'static str) -> Self {
        Self {
            at: report.at.to_string(),
            mode,
            inputs: inputs(&report.observed),
            jobs: &report.observed.jobs,
            functions: &report.observed.functions,
            unobserved: &report.observed.unobserved,
            verdicts: &report.verdicts,
            actions: &report.actions,
            held: &report.held,
            redrives: &[],
            redrives_ended: &[],
            leader: None,
            halt: None,
        }
    }

    /// Adds the re-drives the controller runs beyond its ticks.
    #[must_use]
    pub fn with_redrives(mut self, running: &'a [Snapshot], ended: &'a [Summary]) -> Self {
        self.redrives = running;
        self.redrives_ended = ended;
        self
    }

    /// Adds who leads (when another replica does) and the kill switch.
    #[must_use]
    pub fn with_standing(
        mut self,
        leader: Option<&'a crate::state::Lease>,
        halt: Option<&'a crate::halt::Halt>,
    ) -> Self {
        self.leader = leader;
        self.halt = halt;
        self
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write journal {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    source: std::io::Error,
}

/// Where records go: always the log stream (target `remediator::journal`), and optionally a
/// JSON-lines file that is appended to, never truncated.
#[derive(Debug)]
pub struct Journal {
    file: Option<(PathBuf, File)>,
}

impl Journal {
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn open(path: Option<&Path>) -> Result<Self, JournalError> {
        let file = match path {
            None => None,
            Some(path) => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| JournalError {
                        path: path.to_path_buf(),
                        source,
                    })?;
                Some((path.to_path_buf(), f))
            }
        };
        Ok(Self { file })
    }

    /// # Errors
    /// The file write failed; the record has still gone to the log stream.
    pub fn write(&mut self, record: &impl Serialize) -> Result<(), JournalError> {
        let line = serde_json::to_string(record)
            .unwrap_or_else(|e| format!("{{\"error\":\"journal record not serialisable: {e}\"}}"));
        tracing::info!(target: crate::logging::JOURNAL_TARGET, "{line}");
        if let Some((path, f)) = &mut self.file {
            writeln!(f, "{line}")
                .and_then(|()| f.flush())
                .map_err(|source| JournalError {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }
}

//! Re-drive of stranded ingest messages (the runbook's "Ingest stuck"): invoke the ingest
//! lambda at a steady rate, one invocation per visible message, until the queue is drained, a
//! maximum is reached, or nothing moves for the policy's time.
//!
//! `drive` is the loop; `course` judges queue readings, `pace` spaces invocations, `payload`
//! builds what the lambda expects, `fleet` runs re-drives for the controller beyond one tick.

pub mod course;
mod drive;
pub mod fleet;
pub mod manual;
pub mod pace;
pub mod payload;
pub mod show;

pub use drive::drive;

use crate::policy::Policy;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Which queue to drain, through which function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub job: String,
    /// Queue name (`production-boss-ingest-42`).
    pub queue: String,
    pub queue_url: String,
    pub function: String,
}

/// How a re-drive runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Invocations per second, finite and above zero.
    pub rate_per_s: f64,
    /// Invoke requests awaiting Lambda's answer at once.
    pub max_in_flight: u32,
    /// Stop after this many accepted invocations.
    pub max: Option<u64>,
    #[serde(with = "crate::serde_secs")]
    pub no_progress_after: Duration,
    /// How often the queue is re-read.
    #[serde(with = "crate::serde_secs")]
    pub poll_every: Duration,
    /// How long an invocation the queue has not shown taking a message still counts against
    /// the budget (see `course::Course`).
    #[serde(with = "crate::serde_secs")]
    pub settle: Duration,
}

impl Settings {
    /// The policy's limits with the given rate (already checked against the maximum by the
    /// guard).
    #[must_use]
    pub fn from_policy(policy: &Policy, rate_per_s: f64, max: Option<u64>) -> Self {
        Self {
            rate_per_s,
            max_in_flight: policy.redrive.max_in_flight,
            max,
            no_progress_after: policy.redrive.no_progress_after,
            poll_every: Duration::from_secs(1),
            settle: policy.redrive.settle,
        }
    }
}

/// How a re-drive ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "kebab-case")]
pub enum End {
    /// Nothing visible, in flight or delayed any more.
    Drained,
    /// Nothing visible at the start: nothing to re-drive.
    NothingVisible { in_flight: u64 },
    /// `--max` invocations were accepted.
    MaxReached,
    /// The queue did not go down for the policy's time: poison messages or a failing lambda.
    NoProgress {
        stalled_s: u64,
        /// The function's `Errors` over the last 15 minutes, when CloudWatch had them.
        function_errors: Option<f64>,
    },
    /// Stopped by a signal (Ctrl-C, SIGTERM, controller shutdown).
    Interrupted,
    /// An error retrying will not fix (no such function, access denied, queue gone).
    Failed { error: String },
}

impl End {
    /// Whether a person must look: the controller escalates these.
    #[must_use]
    pub fn needs_person(&self) -> bool {
        matches!(self, End::NoProgress { .. } | End::Failed { .. })
    }

    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            End::Drained => "drained",
            End::NothingVisible { .. } => "nothing-visible",
            End::MaxReached => "max-reached",
            End::NoProgress { .. } => "no-progress",
            End::Interrupted => "interrupted",
            End::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Drained => f.write_str("drained: no message left visible or in flight"),
            End::NothingVisible { in_flight: 0 } => {
                f.write_str("nothing to re-drive: the queue is empty")
            }
            End::NothingVisible { in_flight } => write!(
                f,
                "nothing to re-drive: no message visible; {in_flight} in flight are being \
                 processed or come back after their visibility timeout"
            ),
            End::MaxReached => f.write_str("stopped at --max"),
            End::NoProgress {
                stalled_s,
                function_errors,
            } => {
                write!(
                    f,
                    "gave up: the queue has not gone down for {stalled_s}s; poison messages or a \
                     failing lambda need a person"
                )?;
                match function_errors {
                    Some(n) => write!(
                        f,
                        " (the function reported {n:.0} errors in the last 15 minutes)"
                    ),
                    None => f.write_str(
                        " (CloudWatch has no Errors data for the function in the last 15 minutes)",
                    ),
                }
            }
            End::Interrupted => f.write_str("interrupted"),
            End::Failed { error } => write!(f, "failed: {error}"),
        }
    }
}

/// A snapshot of a re-drive, for the progress bar, progress lines and the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub elapsed_s: f64,
    /// Invocations Lambda accepted.
    pub invoked: u64,
    /// Invocations Lambda throttled (not counted as invoked; their messages wait).
    pub throttled: u64,
    /// Invocations that failed otherwise.
    pub failed: u64,
    pub visible: u64,
    pub in_flight: u64,
    /// Messages still in the queue (visible, in flight, delayed).
    pub remaining: u64,
    /// Messages gone since the start.
    pub drained: u64,
    /// Accepted invocations per second since the start.
    pub rate_per_s: f64,
    /// The pace in force (below the requested rate after throttling).
    pub pace_per_s: f64,
    /// Time to drain at the rate messages have gone so far.
    pub eta_s: Option<f64>,
    /// The latest failed call (an invocation or a queue reading), so "12 failed" has a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The outcome of a re-drive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub target: Target,
    pub started: crate::time::Timestamp,
    pub ended: crate::time::Timestamp,
    pub progress: Progress,
    #[serde(flatten)]
    pub end: End,
}

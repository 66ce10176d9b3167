//! Re-drive of stranded ingest messages (the runbook's "Ingest stuck"): invoke the ingest
//! lambda at a steady rate, one invocation per visible message, until the queue is drained, a
//! maximum is reached, or nothing moves for the policy's time.
//!
//! `drive` is the loop; `course` judges queue readings, `pace` spaces invocations, `payload`
//! builds what the lambda expects, `fleet` runs re-drives for the controller beyond one tick.
//! The order and its end are domain values (`crate::domain::redrive`): the rules and the memory
//! name them without depending on the loop.

pub mod course;
mod drive;
pub mod fleet;
pub mod manual;
pub mod pace;
pub mod payload;
pub mod show;

pub use drive::drive;

use crate::domain::redrive::{End, Target};
use serde::{Deserialize, Serialize};

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
    /// Time to drain: the messages not yet taken by an invocation, at the current pace (the
    /// queue's own counts lag the invocations).
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

//! A re-drive as values: the order the stranded-queue rule or an operator makes (which queue,
//! through which function, how fast), and how a re-drive ended. The rules, the memory and the
//! guard speak of these; only `crate::redrive` runs one.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The slowest re-drive accepted anywhere (CLI, policy, pacer): one invocation per 100 s. Below
/// it a re-drive is not a re-drive, and periods grow towards what `Duration` cannot hold.
pub const MIN_RATE: f64 = 0.01;
/// The fastest re-drive accepted anywhere: Lambda's invocation request quota is 10 × the
/// concurrency limit, 10,000 requests/s at the default 1,000 (Lambda quotas, "Invocation
/// requests per function per Region").
pub const MAX_RATE: f64 = 10_000.0;

/// A queue being re-driven, by the controller or an operator: one re-drive per queue, whoever
/// started it. The claim lapses at `expires` unless renewed, so a claimant that died frees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub queue: String,
    pub owner: String,
    pub since: Timestamp,
    pub expires: Timestamp,
    /// Invocations per second, so every claimant's guard bounds all re-drives together.
    #[serde(default)]
    pub rate_per_s: f64,
}

impl Claim {
    /// Whether the claim still holds its queue at `at`.
    #[must_use]
    pub fn live(&self, at: Timestamp) -> bool {
        self.expires > at
    }
}

/// Who asked for a re-drive, and on what evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum RedriveOrigin {
    /// `remediator redrive`: an operator's command, audited like the controller's own actions.
    Manual,
    /// The stranded-queue rule: visible messages, uploads finished, and the visible count has
    /// not fallen since `not_fallen_since`.
    Stranded { not_fallen_since: Timestamp },
}

/// Invoke the ingest lambda for the visible messages of one ingest queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedriveOrder {
    pub target: Target,
    pub settings: Settings,
    pub origin: RedriveOrigin,
    /// Messages visible when the order was made.
    pub visible: u64,
    pub in_flight: u64,
}

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

//! The performer pause and the runbook's alarms as values: what the drift and alarm rules
//! propose (enter or end a pause, send a notice, cap or restore backend flow) and what the
//! memory keeps of it between ticks and across restarts.

use crate::domain::notice::NoticeRecord;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What is wrong with one watched function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TroubleKind {
    /// Average duration above baseline × ratio for the sustained time.
    Slow,
    /// Minute-to-minute swings larger than the drift margin, most minutes of the window.
    Unsteady,
    /// Invocations/s × average duration near the concurrency available (the runbook's rule).
    NearCapacity,
}

/// One function's trouble, with the figures a person needs to judge it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trouble {
    pub function: String,
    pub kind: TroubleKind,
    pub evidence: String,
}

impl fmt::Display for Trouble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.function, self.evidence)
    }
}

/// Ask the performers to pause: the episode starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseOrder {
    pub trouble: Vec<Trouble>,
    /// Ingest jobs with queues at the time (the uploads to pause).
    pub jobs: Vec<String>,
}

/// Why a pause ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum ResumeCause {
    /// Every watched function steady again for the sustained time, after the minimum pause.
    Steady { evidence: String },
    /// `remediator pause end`.
    Operator { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeOrder {
    /// When the episode began.
    pub since: Timestamp,
    pub cause: ResumeCause,
}

/// What backend flow control changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "lever", rename_all = "kebab-case")]
pub enum FlowTarget {
    /// An SQS event-source mapping's MaximumConcurrency.
    Mapping {
        uuid: String,
        function: String,
        queue: String,
    },
    /// A function's reserved concurrency.
    Reserved { function: String },
}

impl fmt::Display for FlowTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowTarget::Mapping {
                uuid,
                function,
                queue,
            } => write!(f, "mapping {queue} → {function} ({uuid})"),
            FlowTarget::Reserved { function } => write!(f, "reserved concurrency of {function}"),
        }
    }
}

/// Cap or restore one flow-control setting. `None` means "no cap" (no MaximumConcurrency, no
/// reserved concurrency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowChange {
    pub target: FlowTarget,
    pub from: Option<u32>,
    pub to: Option<u32>,
}

impl fmt::Display for FlowChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.target,
            cap_text(self.from),
            cap_text(self.to)
        )
    }
}

/// A limit or "none", for messages.
#[must_use]
pub fn cap_text(cap: Option<u32>) -> String {
    cap.map_or_else(|| "no cap".to_string(), |c| c.to_string())
}

/// An operator's word on the episode: who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorNote {
    pub by: String,
    pub at: Timestamp,
}

/// A pause in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub since: Timestamp,
    pub trouble: Vec<Trouble>,
    pub jobs: Vec<String>,
    /// Someone is on it: reminders and the alarm stop, the pause stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<OperatorNote>,
    /// `remediator pause end`: the controller resumes at its next tick.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_requested: Option<OperatorNote>,
}

/// A learned duration baseline of one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub function: String,
    pub ms: f64,
    /// The baseline when learning finished: the learned one never leaves a band of
    /// exit_ratio around it, so months of slow creep cannot become "normal".
    #[serde(default)]
    pub learned_ms: f64,
    /// Steady minutes folded in so far.
    pub minutes: u32,
    /// Start of the newest minute folded in.
    pub through: Timestamp,
}

/// A flow-control setting the controller changed, and what to put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLimit {
    pub target: FlowTarget,
    pub original: Option<u32>,
    pub limited_to: Option<u32>,
    pub at: Timestamp,
}

/// Since when a queue's total has risen at every reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowthWatch {
    pub queue: String,
    /// The total (visible, in flight, delayed) at the last reading.
    pub total: u64,
    pub rising_since: Timestamp,
    /// The total at `rising_since`.
    pub from_total: u64,
}

/// Everything the pause and alarm rules remember.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PauseMemory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<Episode>,
    /// The last episode, once ended: `(since, ended)`; `status` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_episode: Option<(Timestamp, Timestamp)>,
    /// An operator ended the last pause: no new one until every function is steady again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_since: Option<Timestamp>,
    #[serde(default)]
    pub baselines: Vec<Baseline>,
    #[serde(default)]
    pub flow_limits: Vec<FlowLimit>,
    #[serde(default)]
    pub notices: Vec<NoticeRecord>,
    #[serde(default)]
    pub growth: Vec<GrowthWatch>,
}

impl PauseMemory {
    /// The latest notice whose key starts with `prefix`.
    #[must_use]
    pub fn latest_notice(&self, prefix: &str) -> Option<&NoticeRecord> {
        self.notices
            .iter()
            .filter(|n| n.key.starts_with(prefix))
            .max_by_key(|n| n.at)
    }

    /// The reserved-concurrency limit this controller holds on `function`, if any.
    #[must_use]
    pub fn reserved_cap(&self, function: &str) -> Option<&FlowLimit> {
        self.flow_limits
            .iter()
            .find(|l| matches!(&l.target, FlowTarget::Reserved { function: f } if f == function))
    }

    /// Whether this controller caps the mapping that drains `queue`.
    #[must_use]
    pub fn caps_queue(&self, queue: &str) -> bool {
        self.flow_limits
            .iter()
            .any(|l| matches!(&l.target, FlowTarget::Mapping { queue: q, .. } if q == queue))
    }

    #[must_use]
    pub fn baseline(&self, function: &str) -> Option<&Baseline> {
        self.baselines.iter().find(|b| b.function == function)
    }
}

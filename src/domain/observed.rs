//! What the controller knows about the world at one instant: the observation model.
//!
//! Built by `observe` from the capability ports (or by hand in tests); read by `decide`.

use crate::domain::resource::{BillingMode, Dimension, Resource, TableStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// One datapoint: the period starting at `start` (minute-aligned) and its value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub start: Timestamp,
    pub value: f64,
}

/// A metric's recent datapoints, oldest first. Gaps are minutes CloudWatch has no data for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub points: Vec<Point>,
}

impl Series {
    #[must_use]
    pub fn latest(&self) -> Option<Point> {
        self.points.last().copied()
    }

    /// The value for the period starting at `start`, if CloudWatch had one.
    #[must_use]
    pub fn at(&self, start: Timestamp) -> Option<f64> {
        self.points
            .iter()
            .find(|p| p.start == start)
            .map(|p| p.value)
    }

    /// Age of the newest datapoint: time since the end of its period.
    #[must_use]
    pub fn age(&self, now: Timestamp, period: Duration) -> Option<Duration> {
        self.latest().map(|p| now.since(p.start.plus(period)))
    }

    /// Points whose period starts at or after `from`.
    pub fn since(&self, from: Timestamp) -> impl Iterator<Item = &Point> {
        self.points.iter().filter(move |p| p.start >= from)
    }
}

/// The signals of one capacity dimension. Consumed is in units per second (CloudWatch Sum / 60);
/// throttles are events per period. CloudWatch omits throttle datapoints for quiet minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionObs {
    /// Provisioned units per second; `None` for on-demand.
    pub provisioned: Option<u32>,
    /// Set when an Application Auto Scaling target manages this dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<crate::domain::resource::ScalingRange>,
    pub consumed: Series,
    pub throttle_events: Series,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceObs {
    pub resource: Resource,
    pub billing: BillingMode,
    /// The table's status (an index update makes the whole table `Updating`).
    pub status: TableStatus,
    pub read: DimensionObs,
    pub write: DimensionObs,
}

impl ResourceObs {
    #[must_use]
    pub fn dimension(&self, dimension: Dimension) -> &DimensionObs {
        match dimension {
            Dimension::Read => &self.read,
            Dimension::Write => &self.write,
        }
    }
}

/// A table the policy names but that could not be observed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unobserved {
    /// A table, a queue prefix or a function name.
    pub subject: String,
    pub reason: Unread,
}

/// Why a subject could not be observed: the call's own error, carried as a type to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(untagged)]
pub enum Unread {
    #[error(transparent)]
    Call(#[from] crate::domain::port_error::PortError),
    /// CloudWatch answered, but not one series per query.
    #[error("metrics fetch returned {got} series for {asked} queries")]
    SeriesMismatch { got: usize, asked: usize },
}

impl Unread {
    /// The cause without the service and operation (see [`crate::domain::port_error::PortError::cause`]).
    #[must_use]
    pub fn cause(&self) -> String {
        match self {
            Unread::Call(e) => e.cause(),
            other => other.to_string(),
        }
    }
}

/// The queues of one ingest job (`shared/boss.md`, "Names"). `None`: the queue does not exist
/// (BOSS deletes a job's queues as the job moves on), which counts as drained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestJob {
    pub job: String,
    pub ingest: QueueDepth,
    pub upload: Option<QueueDepth>,
    pub index: Option<QueueDepth>,
    /// The tile-index queue's dead-letter queue (`<dom>-<job>-index-dlq`).
    #[serde(default)]
    pub index_dlq: Option<QueueDepth>,
}

/// A watched Lambda function: its configuration, its concurrency ceiling and its recent minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionObs {
    pub name: String,
    /// The function's timeout, when its configuration could be read.
    #[serde(
        default,
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<Duration>,
    /// Reserved concurrency, if the function has any; meaningful only when `reservation_read`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_concurrency: Option<u32>,
    /// GetFunctionConcurrency answered this tick. A setting not read is never acted on: a
    /// failed reading must not pass for "no reservation".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reservation_read: bool,
    /// What the function can run at once: its reserved concurrency, else the account's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<u32>,
    /// Average duration per minute, in milliseconds.
    pub duration_ms: Series,
    /// Invocations per minute (Sum).
    pub invocations: Series,
    /// Errors per minute (Sum).
    pub errors: Series,
    /// Throttles per minute (Sum).
    pub throttles: Series,
    /// Highest concurrent executions in each minute (Maximum).
    pub concurrent: Series,
}

/// An ElastiCache Redis cluster the policy names: its engine thread's CPU per minute (Maximum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheObs {
    pub cluster: String,
    pub engine_cpu: Series,
}

/// Everything one tick knows. `at` is the only clock the decision core sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub at: Timestamp,
    /// CloudWatch period of every series below.
    #[serde(with = "crate::serde_secs")]
    pub period: Duration,
    /// Sorted by resource.
    pub resources: Vec<ResourceObs>,
    /// Ingest jobs and their queues (read when re-drive is enabled), sorted by ingest queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<IngestJob>,
    /// Watched Lambda functions (drift detection and the runbook's alarms), sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionObs>,
    /// The stack's page-out dead-letter queue (`Deadletter<Domain>`), when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadletter: Option<QueueDepth>,
    /// Redis clusters the policy names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheObs>,
    /// Event-source mappings of the flow-control function; `None` when not read (flow control
    /// off, or the listing failed), so a mapping missing from a failed listing is not "gone".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<EventSourceMapping>>,
    pub unobserved: Vec<Unobserved>,
    /// Signals set aside by `vet` for an impossible reading; no rule sees them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub implausible: Vec<Implausible>,
}

impl Observed {
    #[must_use]
    pub fn function(&self, name: &str) -> Option<&FunctionObs> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Whether a queue could not be read this tick: the ingest-queue listing failed (its
    /// subject is `<prefix>*`) or this queue's own reading did (its URL). A watch kept through
    /// such a tick must not take the gap for "unchanged".
    #[must_use]
    pub fn queue_unread(&self, queue: &str) -> bool {
        self.unobserved
            .iter()
            .any(|u| u.subject.ends_with('*') || u.subject.ends_with(queue))
    }

    /// The current setting of a flow-control target (`Some(None)`: no cap); `None` when it was
    /// not read this tick, or the mapping is no longer listed, so nothing is decided on a guess.
    #[must_use]
    pub fn flow_setting(&self, target: &crate::domain::pause::FlowTarget) -> Option<Option<u32>> {
        match target {
            crate::domain::pause::FlowTarget::Mapping { uuid, .. } => self
                .mappings
                .as_ref()?
                .iter()
                .find(|m| &m.uuid == uuid)
                .map(|m| m.max_concurrency),
            crate::domain::pause::FlowTarget::Reserved { function } => self
                .function(function)
                .filter(|f| f.reservation_read)
                .map(|f| f.reserved_concurrency),
        }
    }
}

impl Observed {
    /// Adds what another part of the same tick's observation saw (observed concurrently).
    pub fn merge(&mut self, other: Observed) {
        self.resources.extend(other.resources);
        self.resources.sort_by(|a, b| a.resource.cmp(&b.resource));
        self.jobs.extend(other.jobs);
        self.functions.extend(other.functions);
        self.functions.sort_by(|a, b| a.name.cmp(&b.name));
        self.deadletter = self.deadletter.take().or(other.deadletter);
        self.caches.extend(other.caches);
        self.mappings = self.mappings.take().or(other.mappings);
        self.unobserved.extend(other.unobserved);
        self.unobserved.sort_by(|a, b| a.subject.cmp(&b.subject));
        self.implausible.extend(other.implausible);
    }

    /// An observation of nothing yet, at `at`; `observe` fills it in, and an operator's order
    /// that needs no observation is judged against it.
    #[must_use]
    pub fn empty(at: Timestamp, period: Duration) -> Self {
        Self {
            at,
            period,
            resources: Vec::new(),
            jobs: Vec::new(),
            functions: Vec::new(),
            deadletter: None,
            caches: Vec::new(),
            mappings: None,
            unobserved: Vec::new(),
            implausible: Vec::new(),
        }
    }
}

/// A signal set aside this tick because one of its readings is impossible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Implausible {
    /// What the signal belongs to: `tileindex.bossdb.boss write`, a function, a cluster.
    pub subject: String,
    /// The CloudWatch metric (`ConsumedWriteCapacityUnits`, `Duration`, ...).
    pub signal: String,
    /// Start of the minute of the first impossible reading.
    pub minute: Timestamp,
    /// The reading, as received (units per second for consumed capacity).
    pub value: f64,
    /// What AWS can produce, in words.
    pub bound: String,
}

impl fmt::Display for Implausible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} = {} in the minute from {}, outside what AWS can produce ({})",
            self.signal,
            self.subject,
            figure(self.value),
            self.minute,
            self.bound
        )
    }
}

/// A reading as a person can read it: `1.0e300` rather than three hundred digits.
#[must_use]
pub fn figure(value: f64) -> String {
    if value.is_finite() && value.abs() < 1e9 {
        let rounded = (value * 100.0).round() / 100.0;
        format!("{rounded}")
    } else {
        format!("{value:e}")
    }
}

/// Approximate message counts of one SQS queue (GetQueueAttributes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    pub name: String,
    pub url: String,
    /// ApproximateNumberOfMessages: waiting to be received.
    pub visible: u64,
    /// ApproximateNumberOfMessagesNotVisible: received, not yet deleted.
    pub in_flight: u64,
    /// ApproximateNumberOfMessagesDelayed.
    pub delayed: u64,
    /// VisibilityTimeout: how long a received message stays hidden before it comes back.
    #[serde(
        default,
        rename = "visibility_timeout_s",
        with = "crate::serde_secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub visibility_timeout: Option<Duration>,
}

impl QueueDepth {
    /// Messages still in the queue: visible, in flight (they come back after their visibility
    /// timeout unless deleted) and delayed.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// An SQS event-source mapping of a function (Lambda polls the queue and invokes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMapping {
    pub uuid: String,
    pub function: String,
    /// The source queue's name (the last part of its ARN).
    pub queue: String,
    /// `Enabled`, `Disabled`, `Creating`, ...
    pub state: String,
    /// ScalingConfig.MaximumConcurrency; `None` when the mapping has no cap.
    pub max_concurrency: Option<u32>,
}

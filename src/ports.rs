//! The capability ports: one small trait per thing the controller reads or changes.
//!
//! AWS adapters and the simulated BOSS implement these; they translate to and from the domain
//! values (`crate::domain`) and decide nothing. [`Ports`] bundles one implementation of each
//! for a tick; it lives here, not in `reconcile`, so that an adapter need not import the tick.

use crate::domain::observed::{QueueDepth, Series};
use crate::domain::resource::{BillingMode, CapacityKey, Dimension, ScalingRange, TableStatus};

/// Kept at their old path for the AWS integration tests (`tests/aws`); the crate itself names
/// them in `crate::domain`.
pub use crate::domain::notice::{Channel, Message};
pub use crate::domain::observed::EventSourceMapping;
pub use crate::domain::port_error::PortError;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// The CloudWatch statistic of a query: sums for counts, averages for durations, maxima for
/// gauges such as ConcurrentExecutions and EngineCPUUtilization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Sum,
    Average,
    Maximum,
}

impl Statistic {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Sum => "Sum",
            Statistic::Average => "Average",
            Statistic::Maximum => "Maximum",
        }
    }
}

/// One CloudWatch metric to fetch, one value per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: &'static str,
    pub metric: &'static str,
    /// Name/value pairs, e.g. `TableName` and, for a GSI, `GlobalSecondaryIndexName`.
    pub dimensions: Vec<(String, String)>,
    pub statistic: Statistic,
}

/// The time range and period of one metrics fetch; `start` and `end` are minute-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub period: Duration,
}

pub trait Metrics {
    /// Fetches every query over the window in one batch; one series per query (the query's
    /// statistic per period), in query order.
    fn fetch(
        &self,
        queries: &[MetricQuery],
        window: MetricWindow,
    ) -> impl Future<Output = Result<Vec<Series>, PortError>> + Send;
}

/// Provisioned read and write units of a table or index (`None` when on-demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throughput {
    pub read: u32,
    pub write: u32,
}

/// Which dimensions of a table or GSI an autoscaler manages. Raising such a dimension means
/// raising the autoscaler's minimum, so the autoscaler and the controller do not fight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaling {
    pub read: Option<ScalingRange>,
    pub write: Option<ScalingRange>,
}

impl Autoscaling {
    #[must_use]
    pub fn get(&self, dimension: Dimension) -> Option<ScalingRange> {
        match dimension {
            Dimension::Read => self.read,
            Dimension::Write => self.write,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDescription {
    pub name: String,
    pub throughput: Option<Throughput>,
    pub autoscaling: Autoscaling,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDescription {
    pub name: String,
    pub billing: BillingMode,
    pub status: TableStatus,
    pub throughput: Option<Throughput>,
    pub autoscaling: Autoscaling,
    pub indexes: Vec<IndexDescription>,
}

/// One UpdateTable: new throughput for the table and/or some of its GSIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUpdate {
    pub table: String,
    pub table_throughput: Option<Throughput>,
    pub indexes: Vec<(String, Throughput)>,
}

/// A new range for the autoscaler of one dimension (RegisterScalableTarget).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingUpdate {
    pub key: CapacityKey,
    pub range: ScalingRange,
}

pub trait Tables {
    /// The table, its GSIs and which of their dimensions an autoscaler manages.
    fn describe(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<TableDescription, PortError>> + Send;
    fn update(&self, update: &TableUpdate) -> impl Future<Output = Result<(), PortError>> + Send;
    fn set_scaling_range(
        &self,
        update: &ScalingUpdate,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait Queues {
    /// URLs of every queue whose name starts with `prefix` (ListQueues, all pages).
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
    /// The URL of a queue by name (GetQueueUrl); `NotFound` when there is no such queue.
    fn url(&self, name: &str) -> impl Future<Output = Result<String, PortError>> + Send;
    fn depth(&self, url: &str) -> impl Future<Output = Result<QueueDepth, PortError>> + Send;
    /// The body of one visible message, left in the queue (ReceiveMessage with visibility
    /// timeout 0); `None` when no message was visible.
    fn peek(&self, url: &str) -> impl Future<Output = Result<Option<String>, PortError>> + Send;
}

/// What the rules need of a Lambda function's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: String,
    /// The function's timeout: a duration near it means invocations are being cut off.
    #[serde(with = "crate::serde_secs")]
    pub timeout: Duration,
    pub memory_mb: u32,
}

pub trait Functions {
    fn configuration(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<FunctionConfig, PortError>> + Send;
    /// Queues one asynchronous invocation (InvocationType `Event`), not retried: a paced caller
    /// decides what a throttled or failed invocation means.
    fn invoke_async(
        &self,
        name: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The function's SQS event-source mappings (ListEventSourceMappings, all pages).
    fn event_source_mappings(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<EventSourceMapping>, PortError>> + Send;
    /// Sets (or, with `None`, removes) a mapping's MaximumConcurrency (UpdateEventSourceMapping).
    fn set_mapping_concurrency(
        &self,
        uuid: &str,
        max: Option<u32>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The function's reserved concurrency; `None` when it has none (GetFunctionConcurrency).
    fn reserved_concurrency(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Option<u32>, PortError>> + Send;
    /// Sets reserved concurrency (PutFunctionConcurrency) or, with `None`, removes it
    /// (DeleteFunctionConcurrency).
    fn set_reserved_concurrency(
        &self,
        function: &str,
        reserved: Option<u32>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The concurrency a function without reserved concurrency can draw on in this region: the
    /// account's unreserved pool (GetAccountSettings), the ceiling of the runbook's capacity
    /// rule for such a function.
    fn account_concurrency(&self) -> impl Future<Output = Result<u32, PortError>> + Send;
}

pub trait Signals {
    /// Delivers one message on one channel, retrying within the call as the channel allows.
    /// The receipt names what was done (`SNS Publish <message id>`, `webhook HTTP 200`).
    fn send(
        &self,
        channel: Channel,
        message: &Message,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// The capability ports one tick needs.
#[derive(Debug)]
pub struct Ports<'a, M, T, Q, F, N> {
    pub metrics: &'a M,
    pub tables: &'a T,
    pub queues: &'a Q,
    pub functions: &'a F,
    pub signals: &'a N,
}

//! The capability ports: one small trait per thing the controller reads or changes.
//!
//! AWS adapters and the simulated BOSS implement these; they translate to and from the domain
//! types here and decide nothing.

use crate::model::{BillingMode, Series, TableStatus};
use crate::time::Timestamp;
use std::future::Future;
use std::time::Duration;

/// A port call that failed, classified so the loop knows whether to retry next tick.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Throttling, 5xx, timeouts: try again next tick.
    #[error("{service} {operation} failed (transient, will retry next tick): {message}")]
    Transient {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// Access denied, validation and the like: the rule is held until a person looks.
    #[error("{service} {operation} failed: {message}")]
    Permanent {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    #[error("{resource} does not exist")]
    NotFound { resource: String },
    /// The resource is being changed and accepts no further change now.
    #[error("{resource} is busy ({message})")]
    Busy { resource: String, message: String },
}

impl PortError {
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Transient { .. } | PortError::Busy { .. })
    }
}

/// One CloudWatch metric to fetch as a `Sum` per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub namespace: &'static str,
    pub metric: &'static str,
    /// Name/value pairs, e.g. `TableName` and, for a GSI, `GlobalSecondaryIndexName`.
    pub dimensions: Vec<(String, String)>,
}

/// The time range and period of one metrics fetch; `start` and `end` are minute-aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub period: Duration,
}

pub trait Metrics {
    /// Fetches every query over the window in one batch; one series (period sums) per query,
    /// in query order.
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDescription {
    pub name: String,
    pub throughput: Option<Throughput>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDescription {
    pub name: String,
    pub billing: BillingMode,
    pub status: TableStatus,
    pub throughput: Option<Throughput>,
    pub indexes: Vec<IndexDescription>,
}

/// One UpdateTable: new throughput for the table and/or some of its GSIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUpdate {
    pub table: String,
    pub table_throughput: Option<Throughput>,
    pub indexes: Vec<(String, Throughput)>,
}

pub trait Tables {
    fn describe(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<TableDescription, PortError>> + Send;
    fn update(&self, update: &TableUpdate) -> impl Future<Output = Result<(), PortError>> + Send;
}
